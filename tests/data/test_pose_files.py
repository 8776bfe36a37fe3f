"""pose-format ``.pose`` files: read files pose-format itself made from a real video, write
ours with its writer, and round-trip aslrec -> .pose -> aslrec (within one float32 ulp)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import load_dataset, load_wlasl_npz
from aslrec.data.pose_files import (
    BODY_POINT_NAMES,
    PoseFolder,
    read_pose_file,
    write_pose_file,
)
from aslrec.errors import DataError
from aslrec.landmarks.clip import LEFT, POSE_INDICES, RIGHT, LandmarkClip

pytest.importorskip("pose_format")


@pytest.fixture(scope="module")
def hello_pose(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``hello.mp4`` (1280x720, 30 frames, the signer's right hand waving) as pose-format's
    ``video_to_pose`` writes it: MediaPipe Holistic, model_complexity 1 (runs offline)."""
    from pose_format.bin.pose_estimation import pose_video

    out = tmp_path_factory.mktemp("pose") / "hello.pose"
    pose_video(str(videos / "hello.mp4"), str(out), "mediapipe", {"model_complexity": 1}, False)
    return out


def _raw(path: Path) -> tuple[object, np.ndarray, np.ndarray]:
    from pose_format import Pose

    pose = Pose.read(path.read_bytes())
    return pose, np.asarray(pose.body.data.data), np.asarray(pose.body.confidence)


def test_a_holistic_file_maps_hands_to_the_signers_own_slots(hello_pose: Path) -> None:
    pose, data, confidence = _raw(hello_pose)
    names = [c.name for c in pose.header.components]  # type: ignore[attr-defined]
    assert names[:4] == [
        "POSE_LANDMARKS",
        "FACE_LANDMARKS",
        "LEFT_HAND_LANDMARKS",
        "RIGHT_HAND_LANDMARKS",
    ]
    clip = read_pose_file(hello_pose)
    assert clip.num_frames == data.shape[0] == 30
    # Holistic saw only the waving right hand: it lands in slot 1, as aslrec's own tracker
    # puts it (the module docstring of aslrec.landmarks.hands)
    assert clip.presence[:, RIGHT].sum() == 30 and clip.presence[:, LEFT].sum() == 0
    right = 33 + 468 + 21  # POSE, FACE, LEFT_HAND come first
    assert (confidence[:, 0, right : right + 21] == 1).all()
    w, h = pose.header.dimensions.width, pose.header.dimensions.height  # type: ignore[attr-defined]
    assert (w, h) == (1280, 720)
    expected = data[:, 0, right : right + 21] / np.array([w, h, 1.0])
    np.testing.assert_allclose(clip.landmarks[:, RIGHT], expected, rtol=1e-6)
    np.testing.assert_allclose(clip.timestamps, np.arange(30) / pose.body.fps)  # type: ignore[attr-defined]


def test_a_holistic_file_agrees_with_aslrecs_own_tracker(hello_pose: Path, videos: Path) -> None:
    """Same video, two trackers (Holistic via pose-format, aslrec's Tasks HandLandmarker): the
    same slot, and wrists within a fraction of the image, so pixels were normalised right."""
    from aslrec.landmarks.extract import extract_video

    ours = extract_video(videos / "hello.mp4", trim=False)
    theirs = read_pose_file(hello_pose)
    both = ours.presence[:, RIGHT] & theirs.presence[:, RIGHT]
    assert both.sum() >= 25
    gap = np.abs(ours.landmarks[both, RIGHT, :, :2] - theirs.landmarks[both, RIGHT, :, :2])
    assert gap.mean() < 0.01


def test_the_pose_keeps_the_named_points_with_visibility(hello_pose: Path) -> None:
    pose, data, confidence = _raw(hello_pose)
    points = pose.header.components[0].points  # type: ignore[attr-defined]
    assert [points[i] for i in POSE_INDICES] == list(BODY_POINT_NAMES)
    clip = read_pose_file(hello_pose)
    assert clip.pose is not None and clip.pose_mask.all()
    np.testing.assert_allclose(clip.pose[..., 0], data[:, 0, POSE_INDICES, 0] / 1280, rtol=1e-6)
    np.testing.assert_array_equal(clip.pose[..., 3], confidence[:, 0, POSE_INDICES])


def test_a_hands_only_file_made_by_pose_format(hello_pose: Path, tmp_path: Path) -> None:
    from pose_format import Pose

    pose = Pose.read(hello_pose.read_bytes())
    hands = pose.get_components(["LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"])
    path = tmp_path / "hands.pose"
    with open(path, "wb") as fh:
        hands.write(fh)
    clip, full = read_pose_file(path), read_pose_file(hello_pose)
    assert clip.pose is None
    np.testing.assert_array_equal(clip.landmarks, full.landmarks)
    np.testing.assert_array_equal(clip.presence, full.presence)


def _assert_same(a: LandmarkClip, b: LandmarkClip) -> None:
    np.testing.assert_array_equal(a.presence, b.presence)
    np.testing.assert_array_max_ulp(a.landmarks, b.landmarks, maxulp=1)
    if a.pose is None:
        assert b.pose is None
    else:
        assert b.pose is not None
        np.testing.assert_array_max_ulp(a.pose, b.pose, maxulp=1)


def test_aslrec_to_pose_to_aslrec_round_trips(shared_data: Path, tmp_path: Path) -> None:
    """Real WLASL-50 clips (hands and pose, hands missing in some frames), at a 1280x720 size
    whose pixel scaling is not exact in binary."""
    clips = load_wlasl_npz(shared_data / "wlasl50_mp.npz")[:40:8]
    for i, clip in enumerate(clips):
        for kept in (clip, LandmarkClip(clip.landmarks, clip.presence)):  # with and w/o pose
            path = write_pose_file(kept, tmp_path / f"{i}.pose", width=1280, height=720, fps=30)
            back = read_pose_file(path)
            _assert_same(kept, back)
            assert back.num_frames == kept.num_frames


def test_pose_format_to_aslrec_to_pose_format_keeps_hands_and_body(
    hello_pose: Path, tmp_path: Path
) -> None:
    clip = read_pose_file(hello_pose)
    path = write_pose_file(clip, tmp_path / "again.pose", width=1280, height=720, fps=29.97)
    pose, data, confidence = _raw(path)
    assert [c.name for c in pose.header.components] == [  # type: ignore[attr-defined]
        "POSE_LANDMARKS",
        "LEFT_HAND_LANDMARKS",
        "RIGHT_HAND_LANDMARKS",
    ]
    _, original, original_conf = _raw(hello_pose)
    right = 33 + 468 + 21
    np.testing.assert_array_max_ulp(data[:, 0, 33 + 21 :], original[:, 0, right : right + 21], 2)
    np.testing.assert_array_equal(confidence[:, 0, 33 + 21 :], 1.0)
    np.testing.assert_array_equal(confidence[:, 0, POSE_INDICES], original_conf[:, 0, POSE_INDICES])
    _assert_same(clip, read_pose_file(path))


def test_bad_pose_files_are_one_line_errors_naming_the_file(
    hello_pose: Path, tmp_path: Path
) -> None:
    from pose_format import Pose

    cut = tmp_path / "cut.pose"
    cut.write_bytes(hello_pose.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"cut\.pose: not a readable \.pose file"):
        read_pose_file(cut)
    body_only = tmp_path / "body.pose"
    with open(body_only, "wb") as fh:
        Pose.read(hello_pose.read_bytes()).get_components(["POSE_LANDMARKS"]).write(fh)
    with pytest.raises(DataError, match=r"body\.pose: no hand component \(has POSE_LANDMARKS"):
        read_pose_file(body_only)


def test_a_folder_of_pose_files_is_a_data_set_labelled_by_sub_folder(
    hello_pose: Path, tmp_path: Path
) -> None:
    (tmp_path / "hello").mkdir()
    shutil.copy(hello_pose, tmp_path / "hello" / "01.pose")
    shutil.copy(hello_pose, tmp_path / "hi.pose")
    clips = load_dataset(tmp_path)
    assert [c.label for c in clips] == ["hello", "hi"]
    assert load_dataset(hello_pose)[0].label is None


def test_pose_folder_writes_label_folders_with_the_videos_size(
    hello_pose: Path, videos: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    clip = replace(read_pose_file(hello_pose), label="hello", source=str(videos / "hello.mp4"))
    folder = PoseFolder(tmp_path / "out")
    path = folder.add(clip, "hello_take1")
    assert path == tmp_path / "out" / "hello" / "hello_take1.pose"
    assert folder.has("hello_take1") and len(folder) == 1
    assert PoseFolder(tmp_path / "out").has("hello_take1")  # found again by a new run
    pose, _, _ = _raw(path)
    assert pose.header.dimensions.width == 1280  # type: ignore[attr-defined]
    np.testing.assert_allclose(pose.body.fps, 29.97, rtol=1e-3)  # type: ignore[attr-defined]
    [back] = load_dataset(tmp_path / "out")
    assert back.label == "hello"
    _assert_same(clip, back)
