from __future__ import annotations

import numpy as np
import pytest

from aslrec.data import preprocessing as pp
from aslrec.data.preprocessing import (
    PreprocessingSpec,
    arrays_for_model,
    clips_to_arrays,
    normalise,
    sample_frames,
    to_model_input,
)
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip


def make_clip(frames: int, seed: int = 0) -> LandmarkClip:
    rng = np.random.default_rng(seed)
    landmarks = rng.uniform(0.2, 0.8, size=(frames, 2, 21, 3)).astype(np.float32)
    presence = np.ones((frames, 2), dtype=bool)
    presence[:, 0] = rng.random(frames) > 0.5
    return LandmarkClip(landmarks=landmarks, presence=presence, label="x")


def test_frame_normalisation_maps_the_picture_to_minus_one_one() -> None:
    clip = make_clip(12)
    out = normalise(clip.landmarks, clip.presence, "frame")
    present = clip.presence
    assert np.allclose(out[present][..., :2], clip.landmarks[present][..., :2] * 2 - 1)
    assert np.allclose(out[present][..., 2], clip.landmarks[present][..., 2])
    assert (out[~present] == 0).all()
    corner = LandmarkClip(landmarks=np.full((1, 2, 21, 3), 1.3), presence=np.ones((1, 2), bool))
    assert normalise(corner.landmarks, corner.presence).max() == 1.0  # off-picture: clipped


def test_clip_normalise_range_centre_and_absent_hands() -> None:
    clip = make_clip(12)
    out = normalise(clip.landmarks, clip.presence, "clip")
    present = out[clip.presence]
    assert np.abs(present).max() <= 1.0 + 1e-6
    assert np.isclose(np.abs(present[..., :2]).max(), 1.0)
    assert np.allclose(present[..., :2].reshape(-1, 2).mean(axis=0), 0.0, atol=1e-5)
    assert (out[~clip.presence] == 0).all()


def test_clip_normalise_is_invariant_to_position_and_distance() -> None:
    clip = make_clip(8)
    moved = clip.landmarks.copy()
    moved[..., :2] = moved[..., :2] * 0.5 + 0.3
    moved[..., 2] *= 0.5
    a = normalise(clip.landmarks, clip.presence, "clip")
    b = normalise(moved, clip.presence, "clip")
    assert np.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("method", ["resample", "truncate"])
def test_sample_frames(method: str) -> None:
    assert sample_frames(10, 30, method).tolist() == list(range(10))  # type: ignore[arg-type]
    idx = sample_frames(90, 30, method)  # type: ignore[arg-type]
    assert len(idx) == 30 and np.all(np.diff(idx) > 0)
    if method == "resample":
        assert idx[0] == 0 and idx[-1] == 89
    else:
        assert idx[-1] == 29


def test_model_input_pads_drops_handless_frames_and_masks() -> None:
    clip = make_clip(10)
    presence = clip.presence.copy()
    presence[3] = False
    clip = LandmarkClip(landmarks=clip.landmarks, presence=presence)
    x, mask = to_model_input(clip)
    assert x.shape == (30, 2, 21, 3) and mask.shape == (30,)
    assert mask.sum() == 9 and (mask[:9] == 1).all()
    assert (x[9:] == 0).all()


def test_long_clip_is_resampled_to_30() -> None:
    _, mask = to_model_input(make_clip(100))
    assert mask.sum() == 30


def test_clip_without_hands_is_an_error() -> None:
    clip = LandmarkClip(
        landmarks=np.zeros((5, 2, 21, 3)), presence=np.zeros((5, 2), bool), source="empty.npz"
    )
    with pytest.raises(DataError, match=r"empty\.npz: no hands"):
        to_model_input(clip)


def test_empty_dataset_is_an_error() -> None:
    with pytest.raises(DataError, match="empty data set"):
        clips_to_arrays([])


def test_nan_never_reaches_the_model() -> None:
    raw = make_clip(6).landmarks
    raw[2, 1] = np.nan
    clip = LandmarkClip.from_array(raw, missing="nan")
    x, _ = to_model_input(clip)
    assert np.isfinite(x).all()
    with pytest.raises(DataError, match="NaN"):
        LandmarkClip.from_array(raw, missing="zeros", source="bad.npz")


def test_span_sampling_follows_the_wlasl_collection_script() -> None:
    frame_mask = np.zeros(90, dtype=bool)
    frame_mask[10:80] = True
    frame_mask[40:50] = False  # hands lost mid-sign
    from aslrec.data.preprocessing import select_frames

    picked = select_frames(frame_mask, 30, "span")
    assert picked[0] == 10 and picked[-1] == 79
    assert frame_mask[picked].all()
    assert 25 <= picked.size < 30  # frames without hands dropped, not replaced
    assert np.all(np.diff(picked) > 0)


def test_dominant_hand_canonicalisation_makes_mirrors_identical(shared_data) -> None:  # type: ignore[no-untyped-def]
    from aslrec.data.loaders import load_dataset

    two_handed = load_dataset(shared_data / "samples" / "MP_Data")[0]
    # One-handed signing (the right hand only), so the dominant hand is clear.
    presence = two_handed.presence.copy()
    presence[:, 0] = False
    clip = LandmarkClip(two_handed.landmarks, presence)
    mirrored = LandmarkClip(
        landmarks=np.where(
            clip.presence[:, ::-1, None, None],
            clip.landmarks[:, ::-1] * [-1, 1, 1] + [1, 0, 0],
            0,
        ),
        presence=clip.presence[:, ::-1],
    )
    plain, _ = to_model_input(clip)
    flipped, _ = to_model_input(mirrored)
    assert not np.allclose(plain, flipped)
    a, mask_a = to_model_input(clip, dominant_hand=True)
    b, mask_b = to_model_input(mirrored, dominant_hand=True)
    assert np.allclose(a, b, atol=1e-5) and np.array_equal(mask_a, mask_b)


def test_two_handed_signing_is_never_mirrored_on_a_hunch() -> None:
    """Both hands in every frame: no cue says which leads, so neither the clip nor its mirror
    image is mirrored (the old wrist-path tie-break flipped 27% of WLASL-50 at random)."""
    from aslrec.data.preprocessing import LEFT, RIGHT, dominant_slot

    both = np.ones((30, 2), dtype=bool)
    assert dominant_slot(both) == RIGHT
    left_mostly = both.copy()
    left_mostly[:10, RIGHT] = False  # right hand seen in 20 frames, left in 30
    assert dominant_slot(left_mostly) == LEFT
    assert dominant_slot(left_mostly[:, ::-1]) == RIGHT
    slightly = both.copy()
    slightly[:3, RIGHT] = False  # 30 vs 27: within the margin
    assert dominant_slot(slightly) == RIGHT


def test_a_still_hand_is_never_the_dominant_one_under_the_moving_rule() -> None:
    """GISLR participant 29302: a still left hand in view in every frame, the right hand signing
    in some. Frame counts call the left dominant; the ``"moving"`` rule does not."""
    from aslrec.data.preprocessing import LEFT, RIGHT, dominant_slot, hand_motion

    rng = np.random.default_rng(0)
    frames = 30
    landmarks = np.zeros((frames, 2, 21, 3), dtype=np.float32)
    presence = np.zeros((frames, 2), dtype=bool)
    landmarks[:, LEFT, :, :2] = 0.5 + rng.normal(0, 0.002, (frames, 21, 2))  # at rest
    presence[:, LEFT] = True
    path = np.linspace(-0.5, 0.5, frames)[:, None]
    landmarks[:, RIGHT, :, 0] = path + rng.normal(0, 0.002, (frames, 21))  # signing
    presence[10:20, RIGHT] = True
    motion = hand_motion(landmarks, presence)
    assert motion[LEFT] < 0.01 < motion[RIGHT]
    assert dominant_slot(presence) == LEFT
    assert dominant_slot(presence, landmarks) == RIGHT
    # A left hand that signs (moves as much as the right) still leads when seen more often.
    landmarks[:, LEFT, :, 0] = path[::-1] + 0.2
    assert dominant_slot(presence, landmarks) == LEFT
    # One-handed left signing: the right hand, never seen, moves 0; the clip is mirrored.
    presence[:, RIGHT] = False
    assert dominant_slot(presence, landmarks) == LEFT
    x, _ = to_model_input(LandmarkClip(landmarks, presence), dominant_hand=True, dominance="moving")
    assert np.abs(x[:, LEFT]).sum() == 0 and np.abs(x[:, RIGHT]).sum() > 0


def test_dominance_rule_is_checked() -> None:
    from aslrec.errors import ConfigError

    clip = LandmarkClip(np.zeros((5, 2, 21, 3), np.float32), np.ones((5, 2), bool))
    with pytest.raises(ConfigError, match="dominance"):
        to_model_input(clip, dominant_hand=True, dominance="loudest")  # type: ignore[arg-type]


def test_chirality_moves_a_hand_to_the_slot_its_shape_says(shared_data) -> None:  # type: ignore[no-untyped-def]
    from aslrec.data.loaders import load_dataset
    from aslrec.landmarks.geometry import track_chirality

    photos = load_dataset(shared_data / "fingerspelling16.npz")  # right hands, RIGHT slot
    right = next(c for c in photos if track_chirality(c.landmarks, c.presence)[1] > 0.5)
    wrong_slot = LandmarkClip(right.landmarks[:, ::-1], right.presence[:, ::-1])
    a, _ = to_model_input(right, handedness="chirality")
    b, _ = to_model_input(wrong_slot, handedness="chirality")
    assert np.array_equal(a, b) and np.abs(a[:, 1]).sum() > 0 and not a[:, 0].any()
    slots, _ = to_model_input(wrong_slot)  # the default trusts the source's slots
    assert not slots[:, 1].any()


def test_canonical_input_is_the_same_for_a_clip_and_its_mirror_image(shared_data) -> None:  # type: ignore[no-untyped-def]
    """Geometry checks the slots, the dominant hand is mirrored onto the right: a clip and its
    mirror image (as a tracker that labels hands from the picture gives it) become the same
    model input."""
    from aslrec.data.loaders import load_dataset

    spec = PreprocessingSpec(handedness="chirality", dominant_hand=True, dominance="moving")
    clips = load_dataset(shared_data / "gislr_hello_thankyou.npz")[:120]
    clips += load_dataset(shared_data / "fingerspelling16.npz")[::60]
    same = [
        np.allclose(
            arrays_for_model([c], spec)[0],
            arrays_for_model([c.mirrored()], spec)[0],
            atol=1e-5,
        )
        for c in clips
    ]
    assert np.mean(same) >= 0.95, f"{np.mean(same):.1%} of {len(clips)} clips"


def test_the_symmetric_rule_makes_two_handed_clips_and_their_mirrors_one_input(shared_data) -> None:  # type: ignore[no-untyped-def]
    """WLASL-50 is mostly two-handed: the ``moving`` rule keeps such a clip and its mirror image
    apart (both stay in the RIGHT-leads orientation they arrived in); ``symmetric`` lets the
    hand that moves more lead, which a mirror swaps with the slots."""
    from aslrec.data.loaders import load_dataset

    clips = load_dataset(shared_data / "wlasl50_mp.npz")[::10]

    def identical(dominance: str) -> float:
        spec = PreprocessingSpec(handedness="chirality", dominant_hand=True, dominance=dominance)  # type: ignore[arg-type]
        return float(
            np.mean(
                [
                    np.allclose(
                        arrays_for_model([c], spec)[0],
                        arrays_for_model([c.mirrored()], spec)[0],
                        atol=1e-5,
                    )
                    for c in clips
                ]
            )
        )

    assert identical("moving") < 0.5
    assert identical("symmetric") == 1.0


@pytest.mark.parametrize(
    ("canonical", "answer"),
    [
        (False, "mean"),
        (True, "mean"),
        (False, "confident"),
        (False, "one_view"),
        (True, "one_view"),
    ],
)
def test_a_mirror_invariant_model_answers_every_clip_and_its_mirror_alike(
    shared_data,  # type: ignore[no-untyped-def]
    canonical: bool,
    answer: str,
) -> None:
    """Preprocessing gives a mirrored clip either the mirrored input or (dominant hand mirrored
    back) the same input; a mirror-invariant model maps both to one answer, so agreement holds
    for two-handed WLASL-50 signs too, where the inputs themselves differ. With canonical
    mirrored views as well: the pair {input, view} is the same for a clip and its mirror."""
    import torch

    from aslrec.data.loaders import load_dataset
    from aslrec.models import create_model

    spec = PreprocessingSpec(handedness="chirality", dominant_hand=True, dominance="moving")
    clips = load_dataset(shared_data / "wlasl50_mp.npz")[::50]
    clips += load_dataset(shared_data / "gislr_hello_thankyou.npz")[::50]
    torch.manual_seed(0)
    model = create_model(
        "isl-hybrid",
        num_classes=9,
        mirror_invariant=True,
        mirror_canonical=canonical,
        mirror_answer=answer,
    ).eval()
    x, mask = (torch.from_numpy(a) for a in arrays_for_model(clips, spec))
    mirrors = [c.mirrored() for c in clips]
    xm, mask_m = (torch.from_numpy(a) for a in arrays_for_model(mirrors, spec))
    assert not torch.allclose(x, xm)  # the inputs differ for some clips...
    with torch.no_grad():  # ...the answers never do
        assert torch.allclose(model(x, mask), model(xm, mask_m), atol=1e-4)


def test_canonical_mirror_views_leave_one_handed_clips_to_the_bare_model(shared_data) -> None:  # type: ignore[no-untyped-def]
    """GISLR's one-handed clips are their own mirrored view: the canonical wrapper answers them
    exactly as the wrapped model does (no left-hand view averaged in), and the torch rule picks
    the clips NumPy's dominant_slot would mirror back, on real two- and one-handed clips."""
    import torch

    from aslrec.data.augment import mirror_batch
    from aslrec.data.loaders import load_dataset
    from aslrec.models import create_model
    from aslrec.models.symmetry import led_by_the_right_hand

    spec = PreprocessingSpec(handedness="chirality", dominant_hand=True, dominance="moving")
    clips = load_dataset(shared_data / "gislr_hello_thankyou.npz")[::25]
    clips += load_dataset(shared_data / "wlasl50_mp.npz")[::25]
    x, mask = (torch.from_numpy(a) for a in arrays_for_model(clips, spec))
    own = led_by_the_right_hand(x, mask)
    expected = [
        pp.dominant_slot(view.abs().sum(dim=(-1, -2)).numpy() > 0, view.numpy()) == pp.LEFT
        for view in mirror_batch(x)
    ]
    assert own.tolist() == expected
    assert 0 < int(own.sum()) < len(clips)
    torch.manual_seed(0)
    model = create_model("isl-hybrid", 9, mirror_invariant=True, mirror_canonical=True).eval()
    with torch.no_grad():
        assert torch.allclose(model(x, mask)[own], model.model(x, mask)[own], atol=1e-5)


def test_canonical_mirror_views_need_the_rule_they_mirror() -> None:
    from aslrec.errors import ConfigError
    from aslrec.runs.config import resolve_config

    with pytest.raises(ConfigError, match="mirror_canonical needs mirror_invariant"):
        resolve_config("best-fast", overrides={"mirror_canonical": True})
    with pytest.raises(ConfigError, match="dominance=moving"):
        resolve_config(
            "best-fast",
            overrides={"mirror_invariant": True, "mirror_canonical": True, "dominance": "seen"},
        )


def _body_clip(pose: np.ndarray | None) -> LandmarkClip:
    """One right hand with its wrist at the shoulders' midpoint, then one shoulder width to the
    image's right, under a signer whose nose is at (0.5, 0.3), shoulders at y 0.5."""
    landmarks = np.zeros((2, 2, 21, 3), dtype=np.float32)
    landmarks[:, 1, :, :2] = 0.5
    landmarks[1, 1, :, 0] = 0.7
    landmarks[:, 1, 1:, 1] += 0.05  # some hand below the wrist
    presence = np.array([[False, True], [False, True]])
    return LandmarkClip(landmarks, presence, pose=pose)


def _pose() -> np.ndarray:
    pose = np.zeros((2, 11, 4), dtype=np.float32)
    pose[:, 0] = (0.5, 0.3, 0.0, 1.0)  # nose
    pose[:, 1] = (0.6, 0.5, 0.0, 1.0)  # the person's left shoulder, on the image's right
    pose[:, 2] = (0.4, 0.5, 0.0, 1.0)
    return pose


def test_body_normalisation_places_the_hands_relative_to_the_shoulders() -> None:
    from aslrec.data.preprocessing import BODY_SPAN

    x, _ = to_model_input(_body_clip(_pose()), seq_len=2, normalisation="body")
    assert x[0, 1, 0, :2] == pytest.approx([0.0, 0.0])  # the wrist at the shoulders' middle
    # one shoulder width (0.2) to the right; 0.05 below is a quarter of the nose height (0.2)
    assert x[1, 1, 0, 0] == pytest.approx(1 / BODY_SPAN[0])
    assert x[0, 1, 5, 1] == pytest.approx(0.25 / BODY_SPAN[1])
    # the same signer filmed from twice as far, elsewhere in the picture: the same input
    far_pose, far = _pose(), _body_clip(None)
    far_pose[..., :2] = far_pose[..., :2] / 2 + 0.1
    far_landmarks = far.landmarks.copy()
    far_landmarks[..., :2] = far_landmarks[..., :2] / 2 + 0.1
    moved = LandmarkClip(far_landmarks, far.presence, pose=far_pose)
    x_far, _ = to_model_input(moved, seq_len=2, normalisation="body")
    assert np.allclose(x_far, x, atol=1e-5)


def test_body_normalisation_without_a_body_is_frame_normalisation() -> None:
    hidden = _pose()
    hidden[:, :, 3] = 0.1  # the shoulders not clearly seen
    frame, _ = to_model_input(_body_clip(None), seq_len=2, normalisation="frame")
    for clip in (_body_clip(None), _body_clip(hidden)):
        body, _ = to_model_input(clip, seq_len=2, normalisation="body")
        assert np.array_equal(body, frame)


def test_body_normalisation_is_mirror_equivariant(shared_data) -> None:  # type: ignore[no-untyped-def]
    """A mirrored clip (pose mirrored with it) is the mirrored input: x negated, slots swapped."""
    from aslrec.data.loaders import load_dataset

    spec = PreprocessingSpec(normalisation="body")
    clips = load_dataset(shared_data / "wlasl50_mp.npz")[::100]
    clips += load_dataset(shared_data / "gislr_hello_thankyou.npz")[::100]
    x, _ = arrays_for_model(clips, spec)
    xm, _ = arrays_for_model([c.mirrored() for c in clips], spec)
    expected = x[:, :, ::-1].copy()
    expected[..., 0] = -expected[..., 0]
    assert np.allclose(xm, expected, atol=1e-5)
    assert not np.allclose(x, arrays_for_model(clips, PreprocessingSpec())[0])
