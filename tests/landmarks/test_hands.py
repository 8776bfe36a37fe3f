"""HandTracker on real video: shapes, slot convention (both backends), stability; slot logic."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import LEFT, RIGHT
from aslrec.landmarks.hands import (
    LABEL_SLOTS,
    HandDetection,
    HandLinker,
    HandSlotter,
    HandTracker,
    TrackerOptions,
    hand_landmarker_task,
    label_slot,
    resolve_slots,
    same_hand,
)
from aslrec.landmarks.video import read_frames

Frames = list[tuple[np.ndarray, float]]


@pytest.fixture(scope="module")
def hello(shared_data: Path) -> Frames:
    # 30 frames, one hand: the signer waves her right hand (on the image's left).
    return list(read_frames(shared_data / "videos" / "hello.mp4", max_side=640))


@pytest.fixture(scope="module")
def table(shared_data: Path) -> Frames:
    # 70 frames, 256x256: the right forearm (upper, image left) taps on the still left forearm.
    return list(read_frames(shared_data / "videos" / "table.mp4"))


def _motion(landmarks: np.ndarray, presence: np.ndarray, slot: int) -> float:
    """Mean per-frame movement of one slot's wrist over the frames where it is present."""
    wrist = landmarks[presence[:, slot], slot, 0, :2]
    return float(np.abs(np.diff(wrist, axis=0)).sum(axis=1).mean()) if len(wrist) > 1 else 0.0


# -- real video -----------------------------------------------------------------------------
def test_process_shapes_and_values(hello: Frames) -> None:
    with HandTracker() as tracker:
        out = [tracker.process(rgb, ts) for rgb, ts in hello]
    landmarks = np.stack([lm for lm, _ in out])
    presence = np.stack([p for _, p in out])
    assert landmarks.shape == (30, 2, 21, 3) and landmarks.dtype == np.float32
    assert presence.shape == (30, 2) and presence.dtype == bool
    assert presence[:, RIGHT].all() and not presence[:, LEFT].any()
    xy = landmarks[:, RIGHT, :, :2]
    assert 0.1 < xy[..., 0].mean() < 0.5  # image left: her right hand, facing the camera
    assert np.all((xy > -0.1) & (xy < 1.1))
    assert np.all(landmarks[:, LEFT] == 0)
    assert np.abs(landmarks[:, RIGHT, 0, 2]).max() < 1e-4  # z is relative to the wrist


@pytest.mark.parametrize(
    ("backend", "model"), [("tasks", "full"), ("tasks", "lite"), ("legacy", "full")]
)
def test_slot_convention_single_right_hand(hello: Frames, backend: str, model: str) -> None:
    # Holistic (the training data's extractor) puts this hand in right_hand on all 30 frames;
    # Tasks labels it "Right" (one flicker to "Left" at score 0.79), legacy labels it "Left"
    # (mirror assumption), so the legacy backend must swap.
    with HandTracker(TrackerOptions(backend, landmark_model=model)) as tracker:  # type: ignore[arg-type]
        _, presence, _ = tracker.process_video(hello)
    assert presence[:, RIGHT].sum() >= 29
    assert not presence[:, LEFT].any()


@pytest.mark.parametrize("backend", ["tasks", "legacy"])
def test_slot_convention_dominant_hand_moves(table: Frames, backend: str) -> None:
    with HandTracker(TrackerOptions(backend)) as tracker:  # type: ignore[arg-type]
        landmarks, presence, ts = tracker.process_video(table)
    assert np.all(np.diff(ts) > 0)
    assert presence[:, RIGHT].sum() >= 40 and presence[:, LEFT].sum() >= 35
    # the dominant right hand is the moving one; it is on the image's left (smaller x)
    assert _motion(landmarks, presence, RIGHT) > 1.2 * _motion(landmarks, presence, LEFT)
    both = presence.all(axis=1)
    assert both.sum() >= 30
    assert np.mean(landmarks[both, RIGHT, 0, 0] < landmarks[both, LEFT, 0, 0]) > 0.95


def test_backends_agree_frame_by_frame(table: Frames) -> None:
    results = {}
    for backend in ("tasks", "legacy"):
        with HandTracker(TrackerOptions(backend)) as tracker:  # type: ignore[arg-type]
            results[backend] = tracker.process_video(table)
    (lt, pt, _), (ll, pl, _) = results["tasks"], results["legacy"]
    both = pt & pl
    assert both.sum() >= 70
    wrist_gap = np.abs(lt[..., 0, :2] - ll[..., 0, :2]).sum(axis=-1)[both]
    assert np.median(wrist_gap) < 0.02  # same hand in the same slot, never swapped
    assert wrist_gap.max() < 0.1


def test_mirrored_input_is_flipped_back(hello: Frames) -> None:
    mirrored = [(np.ascontiguousarray(rgb[:, ::-1]), ts) for rgb, ts in hello[:10]]
    with HandTracker() as plain, HandTracker(TrackerOptions(mirrored=True)) as flip:
        lm_a, pr_a, _ = plain.process_video(hello[:10])
        lm_b, pr_b, _ = flip.process_video(mirrored)
    np.testing.assert_array_equal(pr_a, pr_b)
    np.testing.assert_allclose(lm_a[..., :2], lm_b[..., :2], atol=0.02)


def test_reset_and_non_increasing_timestamps(hello: Frames) -> None:
    with HandTracker() as tracker:
        rgb, _ = hello[0]
        for _ in range(3):  # same timestamp again: VIDEO mode would reject it without care
            _, presence = tracker.process(rgb, 0.0)
            assert presence[RIGHT]
        tracker.reset()
        _, presence = tracker.process(rgb, 0.0)
        assert presence[RIGHT]
    with pytest.raises(RuntimeError, match="closed"):
        tracker.process(rgb, 1.0)


def test_rejects_non_rgb_frames() -> None:
    with (
        HandTracker(TrackerOptions("legacy")) as tracker,
        pytest.raises(ValueError, match="RGB uint8"),
    ):
        tracker.process(np.zeros((10, 10), np.uint8), 0.0)


def test_max_hands_one(table: Frames) -> None:
    with HandTracker(TrackerOptions(max_hands=1)) as tracker:
        _, presence, _ = tracker.process_video(table)
    assert presence.sum(axis=1).max() == 1


# -- model bundle and import hygiene ---------------------------------------------------------
def test_task_bundle_is_stored_zip_built_once(tmp_path: Path) -> None:
    path = hand_landmarker_task("lite", directory=tmp_path)
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i.compress_type for i in zf.infolist()}
    assert infos == {
        "hand_detector.tflite": zipfile.ZIP_STORED,
        "hand_landmarks_detector.tflite": zipfile.ZIP_STORED,
    }
    mtime = path.stat().st_mtime_ns
    assert hand_landmarker_task("lite", directory=tmp_path) == path
    assert path.stat().st_mtime_ns == mtime
    assert hand_landmarker_task("full", directory=tmp_path) != path
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_damaged_cached_bundle_is_rebuilt(tmp_path: Path, hello: Frames) -> None:
    path = hand_landmarker_task("full", directory=tmp_path)
    path.write_bytes(b"garbage")
    with HandTracker(task_dir=tmp_path) as tracker:
        _, presence = tracker.process(*hello[0])
    assert presence[RIGHT]
    assert zipfile.is_zipfile(path)


def test_importing_does_not_import_mediapipe() -> None:
    code = (
        "import sys, aslrec.landmarks.hands, aslrec.landmarks.extract, aslrec.landmarks.video; "
        "assert 'mediapipe' not in sys.modules and 'cv2' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_options_validation() -> None:
    with pytest.raises(ConfigError, match="backend"):
        TrackerOptions(backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_hands"):
        TrackerOptions(max_hands=3)
    with pytest.raises(ConfigError, match="landmark_model"):
        TrackerOptions(landmark_model="heavy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="min_detection_confidence"):
        TrackerOptions(min_detection_confidence=1.5)


# -- slot logic without MediaPipe ------------------------------------------------------------
def _hand(x: float, y: float, side: int, score: float, size: float = 0.1) -> HandDetection:
    rng = np.random.default_rng(int(x * 1000 + y * 100))
    pts = np.zeros((21, 3), np.float32)
    pts[:, :2] = np.array([x, y]) + rng.uniform(-size / 2, size / 2, (21, 2))
    return HandDetection(pts, side, score)


def test_resolve_slots() -> None:
    assert resolve_slots([3.0], [0.2]) == [RIGHT]
    assert resolve_slots([-3.0, 2.0], [0.7, 0.3]) == [LEFT, RIGHT]
    # both vote right: the stronger (established) track keeps it
    assert resolve_slots([5.0, 0.1], [0.3, 0.6]) == [RIGHT, LEFT]
    assert resolve_slots([0.1, 5.0], [0.3, 0.6]) == [LEFT, RIGHT]
    # a tie: the hand further left in the image is the signer's right
    assert resolve_slots([1.0, 1.0], [0.7, 0.3]) == [LEFT, RIGHT]
    assert resolve_slots([], []) == []


def test_linker_rides_out_a_handedness_flicker() -> None:
    linker = HandLinker()
    ids = [linker.link([_hand(0.3 + 0.01 * t, 0.5, RIGHT, 0.99)], t / 30)[0] for t in range(10)]
    flicker = linker.link([_hand(0.40, 0.5, LEFT, 0.79)], 10 / 30)[0]  # as in hello.mp4
    assert set(ids) == {flicker}
    assert linker.votes()[flicker] > 5
    assert resolve_slots([linker.votes()[flicker]], [0.4]) == [RIGHT]


def test_linker_both_labelled_right_keeps_two_slots() -> None:
    # table.mp4 frame 28: both hands labelled "Right" (the left one at score 0.54)
    linker = HandLinker()
    for t in range(10):
        linker.link([_hand(0.6, 0.5, RIGHT, 0.95), _hand(0.4, 0.6, LEFT, 0.99)], t / 25)
    ids = linker.link([_hand(0.6, 0.5, RIGHT, 0.84), _hand(0.4, 0.6, RIGHT, 0.54)], 10 / 25)
    votes = linker.votes()
    slots = resolve_slots([votes[i] for i in ids], [0.6, 0.4])
    assert slots == [RIGHT, LEFT]


def test_linker_does_not_hand_a_track_to_the_other_hand() -> None:
    # friend.mp4, legacy: the left hand vanishes, the right hand leaves, the left hand comes
    # back nearer to where the right hand was; its confident label must keep it apart.
    linker = HandLinker()
    for t in range(10):
        left, right = _hand(0.45, 0.46, LEFT, 1.0), _hand(0.39, 0.43, RIGHT, 1.0)
        _, right_id = linker.link([left, right], t / 30)
    linker.link([_hand(0.39, 0.48, RIGHT, 0.98)], 12 / 30)
    (back,) = linker.link([_hand(0.42, 0.56, LEFT, 0.99)], 14 / 30)
    assert back != right_id
    assert resolve_slots([linker.votes()[back]], [0.42]) == [LEFT]


def test_duplicate_detection() -> None:
    a = _hand(0.5, 0.5, RIGHT, 0.85)
    twin = HandDetection(a.landmarks + 0.005, RIGHT, 0.54)
    assert same_hand(a, twin)
    # hooked hands close together with confident opposite labels are two hands
    b = HandDetection(a.landmarks + np.float32([0.03, 0.0, 0.0]), LEFT, 1.0)
    assert not same_hand(HandDetection(a.landmarks, RIGHT, 1.0), b)
    assert same_hand(HandDetection(a.landmarks, RIGHT, 0.8), HandDetection(b.landmarks, LEFT, 0.8))
    assert not same_hand(a, _hand(0.2, 0.5, LEFT, 0.99))


def test_label_slots() -> None:
    # MediaPipe Hands JS and the legacy Python graph label for a mirror image
    assert label_slot("Left", "selfie") == RIGHT and label_slot("Right", "selfie") == LEFT
    # Tasks on un-mirrored video: the label is the signer's own hand
    assert label_slot("Left", "signer") == LEFT and label_slot("Right", "signer") == RIGHT
    assert set(LABEL_SLOTS) == {"selfie", "signer"}
    with pytest.raises(DataError, match="hand label"):
        label_slot("left", "signer")
    with pytest.raises(DataError, match="handedness"):
        label_slot("Left", "mirror")  # type: ignore[arg-type]
    det = HandDetection.from_label(np.zeros((21, 3)), "Left", 0.9, "selfie")
    assert det.side == RIGHT and det.landmarks.dtype == np.float32


def test_slotter_drops_duplicates_and_caps_the_hands() -> None:
    a = _hand(0.3, 0.5, RIGHT, 0.85)
    twin = HandDetection(a.landmarks + 0.005, LEFT, 0.6)
    other = _hand(0.7, 0.5, LEFT, 0.99)
    landmarks, presence = HandSlotter().assign([twin, a, other], 0.0)
    assert presence.tolist() == [True, True]
    np.testing.assert_array_equal(landmarks[RIGHT], a.landmarks)  # the more confident twin
    np.testing.assert_array_equal(landmarks[LEFT], other.landmarks)
    _, presence = HandSlotter(max_hands=1).assign([a, other], 0.0)
    assert presence.sum() == 1
    assert HandSlotter().assign([], 0.0)[1].tolist() == [False, False]


def test_slotter_video_votes_over_whole_tracks() -> None:
    # one hand, first labelled "left" weakly, then confidently "right" for many frames:
    # causal slotting starts it in the left slot, the whole-video vote puts it right throughout
    frames = [
        ([_hand(0.4 + 0.01 * t, 0.5, LEFT if t < 2 else RIGHT, 0.7 if t < 2 else 0.99)], t / 30)
        for t in range(10)
    ]
    slotter = HandSlotter()
    causal = [slotter.assign(dets, ts)[1] for dets, ts in frames]
    assert causal[0].tolist() == [True, False] and causal[-1].tolist() == [False, True]
    _, presence = slotter.assign_video(frames)
    assert presence[:, RIGHT].all() and not presence[:, LEFT].any()
