"""Test-time augmentation (TTA): a model's logits averaged over fixed views of each clip.

The card's "next steps" list TTA next to ensembles: a prediction that survives small, label-
preserving changes of the input is more reliable than one that does not, and averaging over
them smooths out a model's sensitivity to where a sign starts, how fast it is and how far the
signer stands from the camera. The views are fixed (not chosen on any evaluation data) and are
the gentle ends of what the training augmentations already cover:

- the clip itself;
- the first and the last 90% of its frames (where the sign starts and stops is uncertain in
  the training data and in live segmentation alike);
- played 15% faster (every frame index scaled by 1.15; slower views would be resampled back
  to the model's fixed frame count and add nothing);
- zoomed by 0.9 and 1.1 about the hands' mean position (camera distance).

Views work on :class:`LandmarkClip` (NumPy), before each model's own preprocessing, so TTA
works with every backend (ONNX Runtime included) and with ensembles whose members preprocess
differently. Cost: the Recognizer runs all views as one batch, 2.2-2.9x the time of one pass
at batch 1 (not ``len(VIEWS)`` times: single-clip inference is dispatch-bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from aslrec.landmarks.clip import LandmarkClip

ClipView = Callable[[LandmarkClip], LandmarkClip]


def temporal_crop(clip: LandmarkClip, keep: float, at_start: bool) -> LandmarkClip:
    """The first (``at_start``) or last ``keep`` fraction of the frames (at least one)."""
    n = clip.num_frames
    kept = max(1, round(n * keep)) if n else 0
    frames = np.arange(kept) if at_start else np.arange(n - kept, n)
    return clip.select(frames)


def faster(clip: LandmarkClip, factor: float) -> LandmarkClip:
    """Played ``factor`` times as fast: ``round(T / factor)`` frames, nearest source frame."""
    n = clip.num_frames
    if n == 0:
        return clip
    count = max(1, round(n / factor))
    frames = np.minimum(np.round(np.arange(count) * factor).astype(int), n - 1)
    return clip.select(frames)


def zoom(clip: LandmarkClip, factor: float) -> LandmarkClip:
    """x, y (and z) scaled by ``factor`` about the mean position of all present landmarks."""
    if not clip.presence.any():
        return clip
    centre = clip.landmarks[clip.presence][..., :2].reshape(-1, 2).mean(axis=0)
    landmarks = clip.landmarks.copy()
    landmarks[..., :2] = (landmarks[..., :2] - centre) * factor + centre
    landmarks[..., 2] *= factor
    return replace(clip, landmarks=landmarks)


VIEWS: dict[str, ClipView] = {
    "identity": lambda clip: clip,
    "first 90%": lambda clip: temporal_crop(clip, 0.9, at_start=True),
    "last 90%": lambda clip: temporal_crop(clip, 0.9, at_start=False),
    "faster 1.15x": lambda clip: faster(clip, 1.15),
    "zoom 0.9": lambda clip: zoom(clip, 0.9),
    "zoom 1.1": lambda clip: zoom(clip, 1.1),
}


def views(clips: list[LandmarkClip], tta: bool) -> list[list[LandmarkClip]]:
    """One list of clips per view (just the clips themselves without TTA).

    A view that would lose every hand of a clip (a crop of a clip whose hands show only in
    its first or last frames) gives the clip itself instead.
    """
    if not tta:
        return [clips]
    return [[_keeping_hands(view, clip) for clip in clips] for view in VIEWS.values()]


def _keeping_hands(view: ClipView, clip: LandmarkClip) -> LandmarkClip:
    out = view(clip)
    return out if out.presence.any() or not clip.presence.any() else clip
