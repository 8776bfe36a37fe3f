"""``aslrec live`` and ``aslrec transcribe``: the streaming recogniser on a camera or a video.

- :func:`transcribe_video` runs a whole video through :class:`StreamingRecognizer` as fast as
  possible (no frame dropped) and returns the events; :func:`to_srt` / :func:`to_jsonl` format
  them.
- :func:`run_live` plays a camera (or a video as if it were one: in real time, dropping frames
  when processing falls behind, or as fast as possible with ``fast=True``) through the
  recogniser, printing events as JSON lines (``headless``) or showing an OpenCV window with the
  hand landmarks, the current top-3 with bars and the running transcript. With
  ``fingerspelling=True`` the tracked frames go to the
  :class:`~aslrec.inference.fingerspelling.FingerspellingDecoder` instead: each letter and each
  closed word is a JSON line, and the window shows the words so far and the word in progress.

Bad input never hangs: a camera that cannot be opened or stops delivering frames, an unreadable
or truncated video are :class:`~aslrec.errors.DataError` s with one-line messages (events
recognised before a video broke are still printed); no window system gives a message pointing
at ``--headless``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from aslrec.errors import AslrecError, DataError, NoHandsError
from aslrec.inference.fingerspelling import FingerspellingDecoder, Letter, Word
from aslrec.inference.streaming import FramePump, SegmenterConfig, SignEvent, StreamingRecognizer
from aslrec.workflows.output import track_progress

if TYPE_CHECKING:
    from aslrec.inference.recognizer import Recognizer

CAMERA_FAILURES = 30
"""Consecutive failed camera reads (about a second) after which the camera counts as gone."""

WINDOW = "aslrec live"


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------
def open_camera(index: int) -> Any:
    """An opened ``cv2.VideoCapture`` for camera ``index``, or a one-line :class:`DataError`."""
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        cap.release()
        raise DataError(
            f"camera {index}: cannot be opened (no camera, no permission, or in use by another "
            "program); use --video FILE to play a file instead"
        )
    return cap


def camera_frames(cap: Any, index: int) -> Iterator[tuple[np.ndarray, float]]:
    """RGB frames of an opened camera, timestamped by the wall clock from the first frame."""
    import cv2

    t0: float | None = None
    failures = 0
    last = -1.0
    while True:
        ok, bgr = cap.read()
        if not ok or bgr is None:
            failures += 1
            if failures >= CAMERA_FAILURES:
                raise DataError(f"camera {index}: stopped delivering frames")
            time.sleep(0.03)
            continue
        failures = 0
        now = time.monotonic()
        t0 = now if t0 is None else t0
        ts = max(now - t0, last + 1e-3)
        last = ts
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts


def open_source(camera: int | None, video: Path | None, *, fast: bool) -> FramePump:
    """A :class:`FramePump` on the camera (dropping) or the video (paced unless ``fast``)."""
    if video is not None:
        from aslrec.landmarks.video import FrameSource

        source = FrameSource(video)
        return FramePump(source, pace=not fast, drop=not fast, on_close=source.close)
    index = 0 if camera is None else camera
    cap = open_camera(index)
    return FramePump(camera_frames(cap, index), pace=False, drop=True, on_close=cap.release)


# --------------------------------------------------------------------------------------------
# Output formats
# --------------------------------------------------------------------------------------------
def srt_time(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(events: list[SignEvent], *, min_show_s: float = 0.7) -> str:
    """Subtitles: one cue per sign, shown over its span (at least ``min_show_s``, never past
    the next sign's start)."""
    cues = []
    for i, event in enumerate(events):
        end = max(event.end_s, event.start_s + min_show_s)
        if i + 1 < len(events):
            end = max(min(end, events[i + 1].start_s), event.start_s + 0.05)
        text = event.label if event.known else "?"
        cues.append(
            f"{len(cues) + 1}\n{srt_time(event.start_s)} --> {srt_time(end)}\n"
            f"{text} ({event.probability:.0%})\n"
        )
    return "\n".join(cues)


def to_jsonl(events: list[SignEvent]) -> str:
    return "".join(json.dumps(e.to_dict()) + "\n" for e in events)


def to_text(events: list[SignEvent]) -> str:
    lines = []
    for e in events:
        alternatives = ", ".join(f"{lab} {p:.0%}" for lab, p in e.top_k[1:])
        lines.append(
            f"{e.start_s:7.2f} - {e.end_s:7.2f} s  {e.label:<14s} {e.probability:6.1%}"
            + (f"   ({alternatives})" if alternatives else "")
        )
    return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------------------------
# Transcribe
# --------------------------------------------------------------------------------------------
@dataclass
class Transcript:
    source: str
    events: list[SignEvent]
    summary: str
    hand_frames: int
    frames: int
    error: AslrecError | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def transcribe_video(
    recognizer: Recognizer,
    video: str | os.PathLike[str],
    *,
    config: SegmenterConfig | None = None,
    threshold: float | None = None,
    emit_unknown: bool = False,
    top_k: int = 3,
) -> Transcript:
    """Every sign in ``video`` with its time span (frames tracked as the live recogniser does;
    in both views when the recogniser's ``both_views`` is on, as for ``aslrec predict``).

    A video that breaks part-way keeps the events found before the break and reports the
    problem in ``error``; a video without any hand raises :class:`NoHandsError`.
    """
    from aslrec.landmarks.video import FrameSource

    path = Path(video)
    source = FrameSource(path)
    error: AslrecError | None = None
    with StreamingRecognizer(
        recognizer,
        config=config,
        threshold=threshold,
        emit_unknown=emit_unknown,
        top_k=top_k,
        both_views=recognizer.both_views,
    ) as stream:
        try:
            for rgb, ts in track_progress(source):
                stream.push_frame(rgb, ts)
        except DataError as exc:
            error = exc
        finally:
            source.close()
        stream.flush()
        stats = stream.stats
        if stats.frames and not stats.hand_frames and error is None:
            raise NoHandsError(f"{path}: no hands in any of its {stats.frames} frames")
        return Transcript(
            str(path), list(stream.events), stats.summary(), stats.hand_frames, stats.frames, error
        )


# --------------------------------------------------------------------------------------------
# Live
# --------------------------------------------------------------------------------------------
@dataclass
class LiveResult:
    events: list[SignEvent]
    summary: str
    frames: int
    hand_frames: int
    dropped: int
    stopped_by_user: bool = False
    words: list[Word] = field(default_factory=list)


def check_display() -> None:
    """Fail early, with a hint, where no window can be opened (instead of an abort in Qt/GTK)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise DataError("cannot open a window: no display (DISPLAY is not set); use --headless")


def run_live(
    recognizer: Recognizer,
    *,
    camera: int | None = None,
    video: Path | None = None,
    headless: bool = False,
    fast: bool = False,
    config: SegmenterConfig | None = None,
    threshold: float | None = None,
    out: TextIO | None = None,
    on_event: Callable[[SignEvent], None] | None = None,
    fingerspelling: bool = False,
    lexicon: list[str] | None = None,
) -> LiveResult:
    """Run the live recogniser until the video ends, the camera fails, or the user quits (q/Esc
    in the window, Ctrl-C). Events go to ``out`` as JSON lines when ``headless``;
    ``fingerspelling``: letters and words instead of signs (``lexicon``: words to snap to)."""
    if camera is not None and video is not None:
        raise DataError("give either --camera or --video, not both")
    if not headless:
        check_display()
    out = out or sys.stdout
    pump = open_source(camera, video, fast=fast)
    stopped = False
    error: AslrecError | None = None
    speller = FingerspellingDecoder(recognizer, lexicon=lexicon) if fingerspelling else None
    with StreamingRecognizer(
        recognizer, config=config, threshold=threshold, both_views=recognizer.both_views
    ) as stream:

        def emit(events: list[SignEvent] | list[Letter | Word]) -> None:
            for event in events:
                if headless:
                    out.write(json.dumps(event.to_dict()) + "\n")
                    out.flush()
                if on_event is not None and isinstance(event, SignEvent):
                    on_event(event)

        def spell(rgb: np.ndarray, ts: float) -> list[Letter | Word]:
            """Track one frame as :meth:`StreamingRecognizer.push_frame` does, then spell it."""
            assert speller is not None
            landmarks, presence = stream.tracker.process(rgb, ts)
            stream.last_landmarks = (landmarks, presence)
            stream.stats.frames += 1
            stream.stats.hand_frames += bool(presence.any())
            return speller.push(landmarks, presence, ts)

        view = None if headless else _Window()
        stream.warm_up()  # before the first frame is due
        try:
            for rgb, ts in pump:
                emit(stream.push_frame(rgb, ts) if speller is None else spell(rgb, ts))
                stream.stats.dropped = pump.dropped
                if view is not None and not view.show(rgb, stream, speller):
                    stopped = True
                    break
        except DataError as exc:
            error = exc
        except KeyboardInterrupt:
            stopped = True
        finally:
            pump.stop()
            if view is not None:
                view.close()
        emit(stream.flush() if speller is None else speller.flush())
        stream.stats.dropped = pump.dropped
        stats = stream.stats
        summary = stats.summary()
        if speller is not None:
            letters = sum(len(w.letters) for w in speller.words)
            summary = f"{stats.frames} frames, {len(speller.words)} words, {letters} letters"
        result = LiveResult(
            list(stream.events), summary, stats.frames, stats.hand_frames, pump.dropped
        )
        result.stopped_by_user = stopped
        result.words = list(speller.words) if speller is not None else []
    if error is not None:
        raise error
    return result


# --------------------------------------------------------------------------------------------
# The window
# --------------------------------------------------------------------------------------------
HAND_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
    (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (17, 18), (18, 19), (19, 20),
    (0, 17),
)  # fmt: skip
SLOT_COLOURS = ((255, 140, 0), (0, 200, 255))  # BGR: signer's left orange, right yellow-blue


def draw_landmarks(bgr: np.ndarray, landmarks: np.ndarray, presence: np.ndarray) -> None:
    """Draw the hands of one frame onto ``bgr`` in place (slot colours as in the legend)."""
    import cv2

    h, w = bgr.shape[:2]
    for slot in np.flatnonzero(presence):
        pts = [(int(x * w), int(y * h)) for x, y in landmarks[slot, :, :2]]
        colour = SLOT_COLOURS[slot]
        for a, b in HAND_CONNECTIONS:
            cv2.line(bgr, pts[a], pts[b], colour, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(bgr, p, 3, (255, 255, 255), -1, cv2.LINE_AA)


def draw_overlay(
    bgr: np.ndarray,
    top: list[tuple[str, float]],
    transcript: list[str],
    status: str,
    *,
    title: str = "",
) -> None:
    """Top-k bars (upper left), status line (top) and the running transcript (bottom)."""
    import cv2

    h, w = bgr.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    if title:
        cv2.putText(bgr, title, (10, 24), font, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    for i, (label, p) in enumerate(top[:3]):
        y = 50 + i * 28
        cv2.rectangle(bgr, (10, y - 16), (10 + int(200 * p), y + 4), (80, 200, 80), -1)
        cv2.putText(bgr, f"{label} {p:.0%}", (14, y), font, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.rectangle(bgr, (0, h - 36), (w, h), (0, 0, 0), -1)
    text = " ".join(transcript[-8:])
    cv2.putText(bgr, text, (10, h - 11), font, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.putText(bgr, status, (w - 260, 24), font, 0.5, (200, 200, 200), 1, cv2.LINE_AA)


def show_window(bgr: np.ndarray) -> bool:
    """Show a frame in aslrec's window; False once the user pressed q or Esc."""
    import cv2

    try:
        cv2.imshow(WINDOW, bgr)
        key = cv2.waitKey(1) & 0xFF
    except cv2.error as exc:
        raise DataError(f"cannot show the window ({exc.err}); use --headless") from None
    return key not in (ord("q"), 27)


def close_window() -> None:
    import cv2

    try:
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)
    except cv2.error:
        pass


class _Window:
    """The OpenCV window of ``aslrec live``."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._fps = 0.0

    def show(
        self,
        rgb: np.ndarray,
        stream: StreamingRecognizer,
        speller: FingerspellingDecoder | None = None,
    ) -> bool:
        """Draw one frame; False when the user asked to quit."""
        import cv2

        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if stream.last_landmarks is not None:
            draw_landmarks(bgr, *stream.last_landmarks)
        provisional = stream.provisional()
        if provisional is not None:
            top = provisional.top_k
        elif stream.events:
            top = stream.events[-1].top_k
        else:
            top = []
        now = time.monotonic()
        self._fps = 0.9 * self._fps + 0.1 / max(now - self._last, 1e-3)
        self._last = now
        status = f"{self._fps:4.1f} fps  dropped {stream.stats.dropped}"
        title = "signing..." if stream.segmenter.in_sign else ""
        transcript = stream.transcript()
        pending = stream.pending
        if pending is not None:  # the sign's word, shown before the segmenter is sure it is over
            transcript = [*transcript, f"{pending.label}?"]
        if speller is not None:  # spelled words (snapped where the lexicon has one), then this one
            transcript = [w.snapped or w.text for w in speller.words] + [speller.current + "_"]
            title = "spelling"
        draw_overlay(bgr, top, transcript, status, title=title)
        return show_window(bgr)

    def close(self) -> None:
        close_window()
