"""Body context: PoseTracker on a real frame, the clip's optional pose (validation, select,
mirror), the store round trip with and without pose, and extraction with ``body``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aslrec.data.store import load_clip, save_clip
from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import MIRRORED_POSE, POSE_INDICES, POSE_PAIRS, LandmarkClip
from aslrec.landmarks.video import read_frames

FRAMES = 6
NOSE, L_SHOULDER, R_SHOULDER = (POSE_INDICES.index(i) for i in (0, 11, 12))


def _clip(pose: np.ndarray | None = None, frames: int = FRAMES) -> LandmarkClip:
    rng = np.random.default_rng(0)
    presence = np.ones((frames, 2), bool)
    presence[0, 1] = False
    return LandmarkClip(
        landmarks=rng.uniform(0.1, 0.9, (frames, 2, 21, 3)).astype(np.float32),
        presence=presence,
        timestamps=np.arange(frames) / 30.0,
        label="hello",
        pose=pose,
    )


def _pose(frames: int = FRAMES) -> np.ndarray:
    pose = np.random.default_rng(1).uniform(0.1, 0.9, (frames, 11, 4)).astype(np.float32)
    pose[2] = 0.0  # a frame without a pose
    return pose


@pytest.fixture(scope="module")
def hello_frame(shared_data: Path) -> np.ndarray:
    pytest.importorskip("mediapipe")
    rgb, _ = next(iter(read_frames(shared_data / "videos" / "hello.mp4", max_side=640)))
    return rgb


def test_pose_on_a_real_frame(hello_frame: np.ndarray) -> None:
    from aslrec.landmarks.pose import PoseOptions, PoseTracker

    with PoseTracker() as tracker:
        pose = tracker.process(hello_frame)
    assert pose.shape == (11, 4) and pose.dtype == np.float32
    nose, left, right = pose[NOSE], pose[L_SHOULDER], pose[R_SHOULDER]
    assert min(nose[3], left[3], right[3]) > 0.9  # all three visible
    assert nose[1] < left[1] - 0.1 and nose[1] < right[1] - 0.1  # the nose above the shoulders
    # facing the camera, the signer's own left shoulder is on the image's right
    assert right[0] < nose[0] < left[0]
    assert 0.1 < left[0] - right[0] < 0.5
    # a mirrored (selfie) frame is flipped back: the same person, the same sides
    with PoseTracker(PoseOptions(mirrored=True)) as tracker:
        flipped = tracker.process(np.ascontiguousarray(hello_frame[:, ::-1]))
    np.testing.assert_allclose(flipped[:, :2], pose[:, :2], atol=0.02)


def test_pose_holds_skipped_frames_and_finds_nothing_in_grey(hello_frame: np.ndarray) -> None:
    from aslrec.landmarks.pose import PoseOptions, PoseTracker

    grey = np.full_like(hello_frame, 128)
    with PoseTracker(PoseOptions(every=2)) as tracker:
        first = tracker.process(hello_frame)
        np.testing.assert_array_equal(tracker.process(grey), first)  # held
        tracker.reset()
        assert not tracker.process(grey).any()  # zeros without a person
    with pytest.raises(RuntimeError, match="closed"):
        tracker.process(hello_frame)
    with pytest.raises(ConfigError, match="every"):
        PoseOptions(every=0)


def test_extract_with_body(shared_data: Path) -> None:
    pytest.importorskip("mediapipe")
    from aslrec.landmarks.extract import extract_video
    from aslrec.landmarks.hands import TrackerOptions
    from aslrec.landmarks.pose import PoseOptions

    video = shared_data / "videos" / "hello.mp4"
    clip = extract_video(video, max_side=320, body=True)
    assert clip.pose is not None and clip.pose.shape == (clip.num_frames, 11, 4)
    assert clip.pose_mask.all()
    with pytest.raises(ConfigError, match="mirrored"):
        extract_video(video, options=TrackerOptions(mirrored=True), body=PoseOptions())


def test_symmetry_table() -> None:
    assert len(POSE_INDICES) == 11 and MIRRORED_POSE[NOSE] == NOSE
    assert (MIRRORED_POSE[L_SHOULDER], MIRRORED_POSE[R_SHOULDER]) == (R_SHOULDER, L_SHOULDER)
    assert all(MIRRORED_POSE[MIRRORED_POSE[i]] == i for i in range(11))
    for a, b in POSE_PAIRS:
        assert MIRRORED_POSE[POSE_INDICES.index(a)] == POSE_INDICES.index(b)


@pytest.mark.parametrize(
    ("pose", "problem"),
    [
        (np.zeros((FRAMES, 11, 3)), "shape"),
        (np.zeros((FRAMES - 1, 11, 4)), "shape"),
        (np.full((FRAMES, 11, 4), np.nan), "NaN"),
    ],
)
def test_clip_validates_pose(pose: np.ndarray, problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        _clip(pose)


def test_clip_without_pose_is_unchanged() -> None:
    clip = _clip()
    assert clip.pose is None and not clip.pose_mask.any()
    assert clip.mirrored().pose is None and clip.select(np.arange(3)).pose is None


def test_select_and_mirror_carry_pose() -> None:
    clip = _clip(_pose())
    assert clip.pose is not None and clip.pose.dtype == np.float32
    picked = clip.select(np.array([4, 1]))
    np.testing.assert_array_equal(picked.pose, clip.pose[[4, 1]])
    mirror = clip.mirrored()
    assert mirror.pose is not None
    np.testing.assert_allclose(mirror.mirrored().pose, clip.pose, atol=1e-6)  # an involution
    seen = clip.pose_mask
    np.testing.assert_allclose(
        mirror.pose[seen, L_SHOULDER, 0], 1.0 - clip.pose[seen, R_SHOULDER, 0]
    )
    assert not mirror.pose[2].any()  # no pose stays no pose, not x = 1
    np.testing.assert_array_equal(mirror.pose[0, NOSE, 1:], clip.pose[0, NOSE, 1:])


@pytest.mark.parametrize("with_pose", [False, True])
def test_store_round_trip(tmp_path: Path, with_pose: bool) -> None:
    clip = _clip(_pose() if with_pose else None)
    path = tmp_path / "clip.npz"
    save_clip(clip, path)
    loaded = load_clip(path)
    np.testing.assert_array_equal(loaded.landmarks, clip.landmarks)
    if with_pose:
        np.testing.assert_array_equal(loaded.pose, clip.pose)
    else:
        assert loaded.pose is None and "pose" not in np.load(path).files


@pytest.mark.parametrize(
    ("pose", "problem"),
    [
        (np.zeros((FRAMES, 11, 4), np.int16), "floating point"),
        (np.zeros((FRAMES, 33, 4), np.float32), "shape"),
    ],
)
def test_store_refuses_a_broken_pose(tmp_path: Path, pose: np.ndarray, problem: str) -> None:
    clip = _clip()
    path = tmp_path / "clip.npz"
    np.savez(path, landmarks=clip.landmarks, presence=clip.presence, pose=pose)
    with pytest.raises(DataError, match=f"^{path}: pose .*{problem}"):
        load_clip(path)
