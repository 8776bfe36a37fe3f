"""``aslrec collect``: record clips of one sign from a camera (or a video) into a data set.

Each sign is cut out exactly as the live recogniser cuts signs (:class:`Segmenter`, same
settings), so recorded clips look like what the recogniser will later classify, and appended to
an aslrec data set (:class:`~aslrec.data.store.ClipStore`) that ``aslrec train --data`` reads.

Safe to interrupt: every clip is written atomically the moment its sign ends, under a new id
(``<label>-<session>-<n>``), so Ctrl-C, a closed window or a crash leave only complete clips and
never touch clips of earlier sessions. A camera session starts with a countdown; the window (or,
headless, stderr) says which clip is being recorded, whether hands are in view, and what to do
between clips (lower the hands out of view, or hold still).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aslrec.data.labels import canonical_label
from aslrec.data.store import ClipStore
from aslrec.errors import ConfigError, DataError
from aslrec.inference.streaming import Segment, Segmenter, SegmenterConfig
from aslrec.landmarks.clip import safe_clip_id
from aslrec.workflows.live import (
    check_display,
    close_window,
    draw_landmarks,
    draw_overlay,
    open_source,
    show_window,
)

if TYPE_CHECKING:
    import numpy as np

    from aslrec.landmarks.hands import TrackerOptions


@dataclass
class CollectResult:
    label: str
    store: Path
    saved: list[Path] = field(default_factory=list)
    frames: int = 0
    hand_frames: int = 0
    discarded: int = 0
    dropped: int = 0
    stopped_by_user: bool = False

    def summary_line(self) -> str:
        how = " (stopped)" if self.stopped_by_user else ""
        return (
            f"{len(self.saved)} clips of {self.label!r} saved to {self.store}{how}; "
            f"{self.frames} frames, hands in {self.hand_frames}, {self.discarded} too short, "
            f"{self.dropped} dropped"
        )


def run_collect(
    label: str,
    *,
    count: int,
    out: Path,
    camera: int | None = None,
    video: Path | None = None,
    headless: bool = False,
    fast: bool = False,
    countdown_s: float | None = None,
    signer: str | None = None,
    config: SegmenterConfig | None = None,
    tracker_options: TrackerOptions | None = None,
    log: TextIO | None = None,
) -> CollectResult:
    """Record up to ``count`` clips of ``label`` into the data set ``out`` (created if needed).

    ``countdown_s`` (default 3 s for a camera, 0 for a video): frames before it are shown but not
    recorded. Stops after ``count`` clips, at the end of the video, on q/Esc or Ctrl-C.
    """
    from aslrec.landmarks.hands import HandTracker

    name = label.strip()
    if not name or not canonical_label(name):
        raise ConfigError("the label must not be empty")
    if count < 1:
        raise ConfigError(f"--count must be at least 1, not {count}")
    if camera is not None and video is not None:
        raise DataError("give either --camera or --video, not both")
    if not headless:
        check_display()
    log = log or sys.stderr
    store = ClipStore(out, create=True)
    existing = sum(1 for cid in store.clip_ids() if cid.startswith(safe_clip_id(name) + "-"))
    countdown = countdown_s if countdown_s is not None else (0.0 if video is not None else 3.0)
    session = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    result = CollectResult(label=name, store=Path(out))
    segmenter = Segmenter(config)
    tracker = HandTracker(tracker_options)  # before the clock
    try:
        pump = open_source(camera, video, fast=fast)
    except BaseException:
        tracker.close()
        raise
    source = f"camera {camera or 0}" if video is None else str(video)
    print(
        f"collect: recording {count} clips of {name!r} from {source} into {out} "
        f"({existing} recorded before). Sign once per clip, then lower your hands out of view "
        "(or hold still) before the next one.",
        file=log,
    )

    def save(segment: Segment) -> None:
        n = len(result.saved) + 1
        clip_id = f"{safe_clip_id(name)}-{session}-{n:03d}"
        suffix = 1
        while store.has(clip_id):
            suffix += 1
            clip_id = f"{safe_clip_id(name)}-{session}-{n:03d}-{suffix}"
        clip = replace(
            segment.clip,
            label=name,
            signer=signer,
            group=clip_id,
            source=f"{source}#{segment.start_s:.2f}-{segment.end_s:.2f}s",
        )
        result.saved.append(store.add(clip, clip_id))
        print(
            f"clip {n}/{count} saved: {segment.start_s:.2f}-{segment.end_s:.2f} s, "
            f"{int(clip.frame_mask.sum())} frames with hands -> {clip_id}",
            file=log,
        )

    view = None if headless else _GuideWindow(name, count)
    end_of_stream = False
    try:
        for rgb, ts in pump:
            landmarks, presence = tracker.process(rgb, ts)
            result.frames += 1
            result.hand_frames += bool(presence.any())
            if ts >= countdown:
                for segment in segmenter.push(landmarks, presence, ts):
                    save(segment)
                    if len(result.saved) >= count:
                        break
            if len(result.saved) >= count:
                break
            if view is not None and not view.show(
                rgb, landmarks, presence, ts, countdown, len(result.saved), segmenter.in_sign
            ):
                result.stopped_by_user = True
                break
        else:
            end_of_stream = True
    except KeyboardInterrupt:
        result.stopped_by_user = True
    finally:
        pump.stop()
        tracker.close()
        if view is not None:
            view.close()
    if end_of_stream and len(result.saved) < count:
        for segment in segmenter.flush():
            save(segment)
    result.discarded = segmenter.discarded
    result.dropped = pump.dropped
    return result


class _GuideWindow:
    """Countdown and guidance for ``aslrec collect``."""

    def __init__(self, label: str, count: int) -> None:
        self.label = label
        self.count = count
        self.started = time.monotonic()

    def show(
        self,
        rgb: np.ndarray,
        landmarks: Any,
        presence: Any,
        ts: float,
        countdown: float,
        saved: int,
        in_sign: bool,
    ) -> bool:
        import cv2

        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        draw_landmarks(bgr, landmarks, presence)
        if ts < countdown:
            title = f"get ready: {countdown - ts:.0f}"
        elif in_sign:
            title = f"recording {self.label}: clip {saved + 1} of {self.count}"
        elif presence.any():
            title = f"clip {saved + 1} of {self.count}: sign {self.label!r} (or lower hands)"
        else:
            title = f"clip {saved + 1} of {self.count}: raise your hands into view"
        draw_overlay(bgr, [], [], f"{saved}/{self.count} saved", title=title)
        return show_window(bgr)

    def close(self) -> None:
        close_window()
