"""MediaPipe hand extraction on the real sign videos: speed, detection rate, our overhead.

For each variant (Tasks HandLandmarker full detector + full or lite landmarks; legacy
``mp.solutions.hands`` model_complexity 1 or 0) and each video in ``../shared/data/videos``:

- ``raw``: the bare MediaPipe call alone on the decoded RGB frames (Tasks: ``mp.Image`` +
  ``detect_for_video``; legacy: ``Hands.process``), one fresh graph per video;
- ``ours``: ``HandTracker.process`` on the same frames (the raw call plus duplicate removal,
  track linking, handedness votes and slot filling), timed frame by frame alternating with
  ``raw`` so that load from other processes hits both alike;
- the fraction of frames with at least one hand (from ``ours``).

Then ``max_side=640`` for the Tasks full variant (a third tracker fed downscaled frames in the
same interleaved loop; the resize is timed), the decode speed of ``FrameSource``, and
``run_extraction`` over all videos with 1 and 2 worker processes. Decoding is excluded from the
per-variant figures. Times are wall-clock; on a shared machine compare ratios within one run.
Usage::

    python -m benchmarks.extraction            # ~2-3 min on 2 cores; writes RESULTS.md
    python -m benchmarks.extraction --no-write # print only
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aslrec.landmarks.hands import HandTracker, TrackerOptions, hand_landmarker_task
from aslrec.landmarks.video import FrameSource, _downscale
from aslrec.workflows.extract import run_extraction
from benchmarks._common import (
    command_line,
    header,
    load_note,
    real_videos,
    video_arguments,
    write_section,
)

VARIANTS: dict[str, TrackerOptions] = {
    "tasks full/full": TrackerOptions(backend="tasks", landmark_model="full"),
    "tasks full/lite": TrackerOptions(backend="tasks", landmark_model="lite"),
    "legacy complexity 1": TrackerOptions(backend="legacy", landmark_model="full"),
    "legacy complexity 0": TrackerOptions(backend="legacy", landmark_model="lite"),
}
MAX_SIDE = 640


@dataclass
class Tally:
    raw_s: float = 0.0
    ours_s: float = 0.0
    frames: int = 0
    hand_frames: int = 0
    per_video: dict[str, float] = field(default_factory=dict)


class RawGraph:
    """The bare MediaPipe call, configured like the variant (max 2 hands, default thresholds)."""

    def __init__(self, options: TrackerOptions) -> None:
        import mediapipe as mp

        self.mp = mp
        self.tasks = options.backend == "tasks"
        if self.tasks:
            from mediapipe.tasks.python import BaseOptions, vision

            task = hand_landmarker_task(options.landmark_model)
            self.graph = vision.HandLandmarker.create_from_options(
                vision.HandLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(task)),
                    running_mode=vision.RunningMode.VIDEO,
                    num_hands=2,
                )
            )
        else:
            self.graph = mp.solutions.hands.Hands(
                static_image_mode=False,
                max_num_hands=2,
                model_complexity=1 if options.landmark_model == "full" else 0,
            )

    def __call__(self, rgb: np.ndarray, ts: float) -> None:
        if self.tasks:
            image = self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=rgb)
            self.graph.detect_for_video(image, round(ts * 1000))
        else:
            self.graph.process(rgb)

    def close(self) -> None:
        self.graph.close()


def measure(
    options: TrackerOptions,
    tracker: HandTracker,
    frames: list[tuple[np.ndarray, float]],
    max_side: int | None = None,
) -> tuple[float, float, int, float, int]:
    """Raw and ours on the same frames, interleaved frame by frame so that load from other
    processes hits both alike. Returns (raw_s, ours_s, ours_hand_frames, small_s,
    small_hand_frames); the ``small`` pass (a second tracker fed frames downscaled to
    ``max_side``, resize timed) runs only when ``max_side`` is given.

    ``ours`` is :meth:`HandTracker.process` (detect, de-duplicate, link, vote, fill slots), the
    per-frame work of ``process_video``; graph creation is outside the timing for all.
    """
    raw = RawGraph(options)
    tracker.reset()
    small_tracker = HandTracker(options) if max_side else None
    raw_s = ours_s = small_s = 0.0
    hands = small_hands = 0
    for rgb, ts in frames:
        t0 = time.perf_counter()
        raw(rgb, ts)
        t1 = time.perf_counter()
        _, present = tracker.process(rgb, ts)
        t2 = time.perf_counter()
        raw_s += t1 - t0
        ours_s += t2 - t1
        hands += bool(present.any())
        if small_tracker is not None:
            t3 = time.perf_counter()
            _, present = small_tracker.process(_downscale(rgb, max_side), ts)
            small_s += time.perf_counter() - t3
            small_hands += bool(present.any())
    raw.close()
    if small_tracker is not None:
        small_tracker.close()
    return raw_s, ours_s, hands, small_s, small_hands


def main() -> None:
    parser = video_arguments(__doc__ or "")
    args = parser.parse_args()
    videos = real_videos(args.videos)
    load_before = os.getloadavg()[0]
    t_all = time.perf_counter()
    tallies = {name: Tally() for name in [*VARIANTS, f"tasks full/full, max_side={MAX_SIDE}"]}
    trackers = {name: HandTracker(opt) for name, opt in VARIANTS.items()}
    decode_s = 0.0
    total_frames = 0
    for video in videos:
        start = time.perf_counter()
        frames = list(FrameSource(video))
        decode_s += time.perf_counter() - start
        total_frames += len(frames)
        for name, options in VARIANTS.items():
            side = MAX_SIDE if name == "tasks full/full" else None
            raw_s, ours_s, hands, small_s, small_hands = measure(
                options, trackers[name], frames, side
            )
            for key, took, found, raw_took in [
                (name, ours_s, hands, raw_s),
                (f"tasks full/full, max_side={MAX_SIDE}", small_s, small_hands, 0.0),
            ]:
                if key != name and side is None:
                    continue
                tally = tallies[key]
                tally.raw_s += raw_took
                tally.ours_s += took
                tally.frames += len(frames)
                tally.hand_frames += found
                tally.per_video[video.stem] = found / len(frames)
        print(f"{video.name}: {len(frames)} frames done", flush=True)
    for tracker in trackers.values():
        tracker.close()

    scaling: dict[int, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix="aslrec-bench-"))
    try:
        for workers in (1, 2):
            out = tmp / f"w{workers}"
            summary = run_extraction(videos, out, workers=workers, resume=False, progress=False)
            assert summary.errors == 0, summary.to_rows()
            scaling[workers] = summary.wall_seconds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t_all
    load_after = os.getloadavg()[0]

    names = [v.stem for v in videos]
    lines = [
        "| variant | raw MediaPipe ms/frame | ours ms/frame | ours frames/s | overhead "
        "(ours/raw) | frames with >=1 hand | per video (" + ", ".join(names) + ") |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in tallies.items():
        raw = f"{1000 * t.raw_s / t.frames:.1f}" if t.raw_s else "-"
        ratio = f"{t.ours_s / t.raw_s:.3f}" if t.raw_s else "-"
        per = " / ".join(f"{100 * t.per_video[n]:.0f}" for n in names)
        lines.append(
            f"| {name} | {raw} | {1000 * t.ours_s / t.frames:.1f} | {t.frames / t.ours_s:.1f} "
            f"| {ratio} | {100 * t.hand_frames / t.frames:.1f}% | {per} |"
        )
    table = "\n".join(lines)
    scale = (
        "| run_extraction (default options, all videos, decode included) | wall s | frames/s |\n"
        "|---|---|---|\n"
        + "\n".join(
            f"| workers={w} | {s:.1f} | {total_frames / s:.1f} |" for w, s in scaling.items()
        )
        + f"\n\nSpeed-up with 2 workers: {scaling[1] / scaling[2]:.2f}x."
    )
    notes = (
        f"{len(videos)} videos, {total_frames} frames. Decoding alone (FrameSource, BGR->RGB): "
        f"{1000 * decode_s / total_frames:.1f} ms/frame. "
        f"{load_note(load_before, load_after)} Benchmark took {elapsed:.0f} s."
    )
    plain = {k: t for k, t in tallies.items() if k in VARIANTS}
    best = max(plain, key=lambda k: (plain[k].hand_frames, -plain[k].ours_s))
    fastest = min(plain, key=lambda k: plain[k].ours_s)
    choice = (
        f"Most frames with a hand: {best}; fastest: {fastest}. The default "
        f"(`TrackerOptions()`: {TrackerOptions().backend} / {TrackerOptions().landmark_model}) "
        "is chosen by detection rate first, then speed."
    )
    report = f"{table}\n\n{choice}\n\n{scale}\n\n{notes}"
    print(report)
    if not args.no_write:
        write_section("Extraction (MediaPipe variants)", header(command_line()) + "\n" + report)


if __name__ == "__main__":
    main()
