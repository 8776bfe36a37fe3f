"""Cut one sign out of a tracked video, given an approximate window (a video index's
``start``/``end``).

An annotated window is rarely the sign's exact span: MS-ASL's times are in the original video
and a cut download starts at an unknown keyframe, and hand-written windows are rounded. Hands
tell where the sign really is, so the window only chooses among the signs the live segmenter
finds (:class:`~aslrec.inference.streaming.Segmenter`, default settings: a sign starts when a
hand appears or moves, ends when hands leave or hold still). The clip runs from the first to the
last segment that overlaps the window, kept within ``slack_s`` of it (so a segment running on
into the next sign of a vocabulary list is cut there). Without any segment in the window (hands
in view but never moving, or a dropout) the window itself is the clip, less the frames without
hands at either end.
"""

from __future__ import annotations

import numpy as np

from aslrec.errors import NoHandsError
from aslrec.inference.streaming import Segment, Segmenter, SegmenterConfig
from aslrec.landmarks.clip import LandmarkClip

SLACK_S = 0.5
"""How far outside the window a chosen segment may reach: about the window's uncertainty for
MS-ASL downloads (frame rounding of the cut, sign spans annotated slightly tight)."""
_EPS = 1e-6


def segments_of(clip: LandmarkClip, config: SegmenterConfig | None = None) -> list[Segment]:
    """The signs the streaming segmenter finds in a whole clip (which needs timestamps)."""
    if clip.timestamps is None:
        raise ValueError(f"{clip.source}: segmenting needs timestamps")
    segmenter = Segmenter(config)
    found: list[Segment] = []
    for landmarks, presence, ts in zip(clip.landmarks, clip.presence, clip.timestamps, strict=True):
        found += segmenter.push(landmarks, presence, float(ts))
    return found + segmenter.flush(float(clip.timestamps[-1]))


def cut_sign(
    clip: LandmarkClip,
    window: tuple[float, float],
    *,
    config: SegmenterConfig | None = None,
    slack_s: float = SLACK_S,
) -> tuple[LandmarkClip, str]:
    """The sign in ``window`` (seconds in the clip's own timestamps) and a short note of how it
    was found (``"2 segments 1.20-3.40 s"`` or ``"window 1.00-3.00 s"``).

    Raises NoHandsError (naming the source and window) when fewer frames with a hand than the
    segmenter's ``min_hand_frames`` lie in the result.
    """
    start, end = window
    ts = clip.timestamps
    if ts is None:
        raise ValueError(f"{clip.source}: cutting a window needs timestamps")
    cfg = config or SegmenterConfig()
    lo, hi = start - slack_s, end + slack_s
    chosen = [
        s
        for s in segments_of(clip, cfg)
        if s.clip.timestamps is not None
        and s.clip.timestamps[-1] > start
        and s.clip.timestamps[0] < end
    ]
    if chosen:
        first = max(lo, min(float(s.clip.timestamps[0]) for s in chosen))  # type: ignore[index]
        last = min(hi, max(float(s.clip.timestamps[-1]) for s in chosen))  # type: ignore[index]
        plural = "s" if len(chosen) > 1 else ""
        how = f"{len(chosen)} segment{plural}"
    else:
        first, last = start, end
        how = "window"
    part = clip.select(np.flatnonzero((ts >= first - _EPS) & (ts <= last + _EPS))).trimmed()
    if int(part.frame_mask.sum()) < cfg.min_hand_frames:
        raise NoHandsError(
            f"{clip.source}: fewer than {cfg.min_hand_frames} frames with hands in the window "
            f"{start:.2f}-{end:.2f} s"
        )
    assert part.timestamps is not None
    return part, f"{how} {part.timestamps[0]:.2f}-{part.timestamps[-1]:.2f} s"
