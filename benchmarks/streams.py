"""Test streams made of real sign videos: the generator the streaming benchmark measures on and
the streaming tests use as fixtures.

Concatenates the real sign videos of ``../shared/data/videos`` with pauses between them (grey
frames, or the previous video's last frame frozen), resampled to 30 fps and letterboxed into
640x480, written with OpenCV (mp4v) so decoding is part of any measurement on them; the truth of
each sign is the span in which offline tracking finds a hand in its own source video.
:func:`track_stream` then tracks a stream causally, as the live recogniser does, timed per frame.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FPS = 30.0
SIZE = (640, 480)
SIGN_VIDEOS = ("apple", "deaf", "friend", "happy", "hello", "learn", "school", "table")


# --------------------------------------------------------------------------------------------
# Building test streams
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrueSign:
    word: str
    start_s: float
    end_s: float


@dataclass
class Stream:
    path: Path
    signs: list[TrueSign]
    duration_s: float
    plan: list[tuple[str, float, str]] = field(default_factory=list)


def letterbox(rgb: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Fit ``rgb`` into ``size`` (w, h) keeping its aspect ratio, grey bars around."""
    import cv2

    w, h = size
    scale = min(w / rgb.shape[1], h / rgb.shape[0])
    nw, nh = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
    out = np.full((h, w, 3), 127, np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y : y + nh, x : x + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


def sign_frames(path: Path, fps: float = FPS) -> list[np.ndarray]:
    """The video's frames resampled to ``fps`` (nearest earlier frame) and letterboxed."""
    from aslrec.landmarks.video import FrameSource

    with FrameSource(path) as source:
        frames = [(rgb, ts) for rgb, ts in source]
    times = np.array([ts for _, ts in frames])
    duration = times[-1] + 1.0 / source.fps
    out = []
    for k in range(round(duration * fps)):
        i = int(np.searchsorted(times, k / fps + 1e-6, side="right")) - 1
        out.append(letterbox(frames[max(i, 0)][0]))
    return out


def hand_span(frames: list[np.ndarray], fps: float = FPS) -> tuple[float, float]:
    """Truth span (seconds from the clip start): first to last frame with a hand, offline."""
    from aslrec.landmarks.hands import HandTracker

    with HandTracker() as tracker:
        _, presence, _ = tracker.process_video((f, i / fps) for i, f in enumerate(frames))
    idx = np.flatnonzero(presence.any(axis=1))
    if idx.size == 0:
        raise RuntimeError("a sign video without hands")
    return idx[0] / fps, idx[-1] / fps


def build_stream(
    plan: Sequence[tuple[str, float, str]],
    out: Path,
    *,
    videos: Path,
    spans: dict[str, tuple[float, float]] | None = None,
    lead_s: float = 0.8,
    fps: float = FPS,
) -> Stream:
    """Write ``plan`` = [(word, pause_after_s, "blank"|"still"), ...] to ``out`` (mp4v).

    The stream starts with ``lead_s`` of grey. ``spans`` (word -> truth span in the clip) is
    computed when missing (and filled in, so it can be reused).
    """
    import cv2

    spans = {} if spans is None else spans
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"{out}: OpenCV cannot write mp4v video")
    grey = np.full((SIZE[1], SIZE[0], 3), 127, np.uint8)
    n = 0
    signs = []

    def put(rgb: np.ndarray) -> None:
        nonlocal n
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        n += 1

    try:
        for _ in range(round(lead_s * fps)):
            put(grey)
        for word, pause_s, kind in plan:
            frames = sign_frames(videos / f"{word}.mp4", fps)
            if word not in spans:
                spans[word] = hand_span(frames, fps)
            offset = n / fps
            signs.append(TrueSign(word, offset + spans[word][0], offset + spans[word][1]))
            for f in frames:
                put(f)
            for _ in range(round(pause_s * fps)):
                put(frames[-1] if kind == "still" else grey)
    finally:
        writer.release()
    return Stream(out, signs, n / fps, list(plan))


def random_plans(
    streams: int, seed: int, words: Sequence[str] = SIGN_VIDEOS
) -> list[list[tuple[str, float, str]]]:
    """Each stream: every sign video once in a random order, pauses 0.6-1.5 s; the pauses of
    even-numbered streams freeze the last frame, those of odd-numbered ones are grey."""
    rng = np.random.default_rng(seed)
    plans = []
    for k in range(streams):
        order = rng.permutation(list(words))
        kind = "still" if k % 2 == 0 else "blank"
        plans.append([(str(w), float(rng.uniform(0.6, 1.5)), kind) for w in order])
    return plans


@dataclass
class Tracked:
    landmarks: np.ndarray
    presence: np.ndarray
    timestamps: np.ndarray
    track_ms: np.ndarray


def track_stream(path: Path) -> Tracked:
    """Causal tracking of a stream file, as the live recogniser does it, timed per frame."""
    from aslrec.landmarks.hands import HandTracker
    from aslrec.landmarks.video import FrameSource

    lms, prs, tss, ms = [], [], [], []
    with HandTracker() as tracker, FrameSource(path) as source:
        for rgb, ts in source:
            t0 = time.perf_counter()
            lm, pr = tracker.process(rgb, ts)
            ms.append((time.perf_counter() - t0) * 1000.0)
            lms.append(lm)
            prs.append(pr)
            tss.append(ts)
    return Tracked(np.stack(lms), np.stack(prs), np.array(tss), np.array(ms))


def write_grey_video(path: Path, frames: int = 30) -> Path:
    """``frames`` frames (30 fps, 320x240) of a grey picture with a little noise: a video in
    which nobody is in view, so every tracker finds no hands."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(110, 140, size=(240, 320, 3), dtype=np.uint8))
    writer.release()
    return path
