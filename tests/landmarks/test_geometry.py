"""Chirality from 3D hand shape, on the real data sets whose views are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import load_dataset
from aslrec.landmarks.clip import LEFT, RIGHT
from aslrec.landmarks.geometry import chirality, track_chirality


def mirrored(hands: np.ndarray) -> np.ndarray:
    out = hands.copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> np.ndarray:
    """The 2,880 photos of fingerspelling16: un-mirrored, the signers' right hands."""
    return np.load(shared_data / "fingerspelling16.npz", allow_pickle=False)["hand"]


def test_right_hands_score_positive_and_their_mirror_images_negative(photos: np.ndarray) -> None:
    scores = chirality(photos)
    assert (scores > 0).mean() > 0.99
    assert np.allclose(chirality(mirrored(photos)), -scores, atol=1e-9)


def test_score_survives_positive_axis_scaling_and_absent_hands_score_zero(
    photos: np.ndarray,
) -> None:
    stretched = photos * np.array([2.0, 0.5, 3.0]) + 7.0  # frame normalisation, other aspect
    assert np.array_equal(np.sign(chirality(stretched)), np.sign(chirality(photos)))
    assert chirality(np.zeros((3, 21, 3))).tolist() == [0.0, 0.0, 0.0]


def test_gislr_slots_agree_with_geometry(shared_data: Path) -> None:
    """GISLR keeps Holistic's hands in the signer's own slots: geometry agrees on nearly every
    clip, so it can check (and correct) sources whose labels are the other way round."""
    clips = load_dataset(shared_data / "gislr_hello_thankyou.npz")
    scores = np.array([track_chirality(c.landmarks, c.presence) for c in clips])
    seen = np.array([c.presence.any(axis=0) for c in clips])
    assert (scores[seen[:, RIGHT], RIGHT] > 0).mean() > 0.95
    assert (scores[seen[:, LEFT], LEFT] < 0).mean() > 0.9


def test_track_score_is_the_mean_over_present_frames() -> None:
    hands = np.zeros((4, 2, 21, 3))
    presence = np.zeros((4, 2), dtype=bool)
    assert track_chirality(hands, presence).tolist() == [0.0, 0.0]


def test_a_mirrored_clip_swaps_slots_and_handedness(shared_data: Path) -> None:
    clip = load_dataset(shared_data / "gislr_hello_thankyou.npz")[0]
    mirror = clip.mirrored()
    assert np.allclose(mirror.mirrored().landmarks, clip.landmarks, atol=1e-6)
    assert np.array_equal(mirror.presence, clip.presence[:, ::-1])
    assert not mirror.landmarks[~mirror.presence].any()  # absent hands stay zero
    before = track_chirality(clip.landmarks, clip.presence)
    after = track_chirality(mirror.landmarks, mirror.presence)
    assert np.allclose(after, -before[::-1], atol=1e-4)
