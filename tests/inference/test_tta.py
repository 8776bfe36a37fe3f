"""Test-time augmentation views: shapes, absent hands, and the Recognizer averaging them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aslrec.data.loaders import load_dataset
from aslrec.inference.recognizer import Recognizer
from aslrec.inference.tta import VIEWS, faster, temporal_crop, views, zoom
from aslrec.landmarks.clip import LandmarkClip


def _clip(frames: int = 20) -> LandmarkClip:
    rng = np.random.default_rng(0)
    landmarks = rng.uniform(0.2, 0.8, size=(frames, 2, 21, 3)).astype(np.float32)
    presence = np.ones((frames, 2), dtype=bool)
    presence[::3, 0] = False
    return LandmarkClip(landmarks, presence, label="hello")


def test_temporal_crop_keeps_the_requested_end() -> None:
    clip = _clip(20)
    start, end = temporal_crop(clip, 0.9, at_start=True), temporal_crop(clip, 0.9, at_start=False)
    assert start.num_frames == end.num_frames == 18
    assert np.array_equal(start.landmarks, clip.landmarks[:18])
    assert np.array_equal(end.landmarks, clip.landmarks[2:])


def test_faster_drops_frames_in_order() -> None:
    clip = _clip(23)
    fast = faster(clip, 1.15)
    assert fast.num_frames == 20
    assert np.array_equal(fast.landmarks[0], clip.landmarks[0])
    assert np.array_equal(fast.landmarks[-1], clip.landmarks[22])


def test_zoom_scales_about_the_hands_and_keeps_absent_hands_zero() -> None:
    clip = _clip()
    zoomed = zoom(clip, 1.1)
    assert np.array_equal(zoomed.presence, clip.presence)
    assert not zoomed.landmarks[~clip.presence].any()
    centre = clip.landmarks[clip.presence][..., :2].reshape(-1, 2).mean(axis=0)
    spread = np.abs(clip.landmarks[clip.presence][..., :2] - centre).mean()
    zoomed_spread = np.abs(zoomed.landmarks[clip.presence][..., :2] - centre).mean()
    assert np.isclose(zoomed_spread, 1.1 * spread, rtol=1e-5)


def test_every_view_copes_with_an_empty_and_a_one_frame_clip() -> None:
    for clip in (_clip(1), _clip(1).select(np.arange(0))):
        for name, view in VIEWS.items():
            out = view(clip)
            assert out.num_frames == clip.num_frames, name


def test_views_is_identity_without_tta() -> None:
    clips = [_clip()]
    assert views(clips, tta=False) == [clips]
    assert len(views(clips, tta=True)) == len(VIEWS)


def test_recognizer_tta_averages_the_views(random_run_dir: Path, shared_data: Path) -> None:
    clips = [c.with_label(None) for c in load_dataset(shared_data / "wlasl50_mp.npz")[:6]]
    plain = Recognizer.load(random_run_dir)
    with_tta = Recognizer.load(random_run_dir, tta=True)
    expected = np.mean([plain.logits(view) for view in views(clips, tta=True)], axis=0)
    assert np.allclose(with_tta.logits(clips), expected, atol=1e-6)
    assert not np.allclose(with_tta.logits(clips), plain.logits(clips))


def test_a_view_never_loses_every_hand() -> None:
    clip = _clip(20)
    presence = np.zeros_like(clip.presence)
    presence[19] = True  # hands in the last frame only: "first 90%" would have none
    late = LandmarkClip(clip.landmarks, presence)
    for view_clips in views([late], tta=True):
        assert view_clips[0].presence.any()
