"""From a :class:`LandmarkClip` to the seed model's fixed input ``(30, 2, 21, 3)`` + ``(30,)`` mask.

Three steps, the same for training, evaluation and prediction (one function, so they cannot
drift apart):

1. Keep only frames with at least one hand. The WLASL-50 clips were collected this way (frames
   spread evenly over the sign, only frames with a detected hand kept), so fresh video and the
   other data sets must look the same to the model.
2. Fix the length: clips longer than ``seq_len`` are resampled uniformly over their whole span
   (``"resample"``), cut to their first ``seq_len`` frames (``"truncate"``), or sampled the way
   the WLASL-50 data was collected (``"span"``, see :func:`select_frames`); shorter clips are
   zero-padded at the end with ``mask = 0``. ``benchmarks/frame_sampling.py`` compares them on
   GISLR, the only set with clips over 30 frames (seed recipe, 5 participant-held-out folds):
   span 97.7 ± 1.1%, resample 96.8 ± 1.9%, truncate 96.1 ± 1.2% top-1. Resampling beats
   truncation (a sign's end matters as much as its start) and stays the seed preset's default,
   which the seed-recipe table was measured with; the ``best`` preset uses ``"span"``.
3. Normalise to [-1, 1] (the card's "landmarks normalized to [-1, 1]"): see :func:`normalise`.
4. Optionally put each hand in the slot its 3D shape says it belongs to
   (:func:`slots_by_chirality`), whatever the tracker or data set labelled it.
5. Optionally mirror left-handed signing onto the right hand (:func:`canonicalise_dominant_hand`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import LEFT, MIRRORED_SLOTS, POSE_INDICES, RIGHT, LandmarkClip
from aslrec.landmarks.geometry import track_chirality
from aslrec.plaindata import PlainData

SEQ_LEN = 30
MAX_SEQ_LEN = 10_000
"""The longest model input a run may ask for (5.5 minutes at 30 fps; the longest clip in the
data here has 272 frames): every clip is padded or resampled to ``seq_len`` frames, so a typo
such as ``1e9`` in ``model_config.json`` would otherwise ask for a 469 GiB array."""
FrameSampling = Literal["resample", "truncate", "span"]
Normalisation = Literal["frame", "clip", "body"]
NOSE, LEFT_SHOULDER, RIGHT_SHOULDER = (POSE_INDICES.index(i) for i in (0, 11, 12))
BODY_VISIBILITY = 0.5
BODY_SPAN = (3.0, 3.5)
"""Half the signing space the body frame maps to [-1, 1], in shoulder widths across and in
nose-to-shoulder heights down/up: hands out to the side, from above the head to the waist."""


@dataclass(frozen=True)
class BodyFrame:
    """Where a clip's signer is: the shoulders' midpoint and the body's own scales, in the
    tracker's image-normalised units.

    x is scaled by the shoulder width and y by the nose-to-shoulder height, each measured
    along its own image axis, so the frame needs no aspect ratio (image-normalised x and y are
    fractions of different lengths) and is the same for a near and a far camera."""

    centre: np.ndarray  # (2,)
    scale: np.ndarray  # (2,)

    @classmethod
    def of(cls, pose: np.ndarray | None) -> BodyFrame | None:
        """The median over the frames where the nose and both shoulders are clearly seen;
        None without pose, or when the body is not seen well enough to measure."""
        if pose is None:
            return None
        points = pose[:, [NOSE, LEFT_SHOULDER, RIGHT_SHOULDER]]
        seen = (points[..., 3] > BODY_VISIBILITY).all(axis=1) & (np.abs(points).sum((1, 2)) > 0)
        if not seen.any():
            return None
        nose, left, right = np.median(points[seen, :, :2], axis=0)
        middle = (left + right) / 2
        scale = np.array([abs(left[0] - right[0]), middle[1] - nose[1]])
        if (scale < 1e-3).any():  # side-on or upside-down: no frame to measure by
            return None
        return cls(centre=middle, scale=scale * np.asarray(BODY_SPAN))


def normalise(
    landmarks: np.ndarray,
    presence: np.ndarray,
    mode: Normalisation = "frame",
    body: BodyFrame | None = None,
) -> np.ndarray:
    """Map one clip's present coordinates into [-1, 1]; absent hands stay exactly zero.

    ``"frame"`` (default, the card's "landmarks normalized to [-1, 1]"): ``2v - 1`` for x and y,
    MediaPipe's relative z as is, clipped to [-1, 1]. It keeps *where in the picture* the hands
    are, and in signing videos (signer centred, upper body in view) that is where they are
    relative to the body: location is one of the parameters that tell ASL signs apart
    (MOTHER at the chin, FATHER at the forehead). Measured on WLASL-50 fold 0 with the seed
    recipe, 40 epochs, epoch picked on the fold (benchmarks/normalisation.py): 88.7% top-1
    with "frame" against 80.0% with "clip".

    ``"clip"``: centre on the mean present (x, y) of the clip and divide by the largest x/y
    deviation. Removes the signer's position and distance to the camera, but also that
    location information, and a single outlying detection shrinks the whole clip.

    ``"body"``: x and y relative to the signer's shoulders (:class:`BodyFrame`): where the
    hands are relative to the body whatever the framing or camera distance (signs that
    differ only by place: forehead, chin, chest), z as in ``"frame"``. Without a ``body``
    (no pose tracked, or not seen well enough) it is ``"frame"``.
    """
    out = np.zeros_like(landmarks, dtype=np.float32)
    if not presence.any():
        return out
    shifted = landmarks.astype(np.float32).copy()
    if mode == "body" and body is not None:
        shifted[..., :2] = (shifted[..., :2] - body.centre) / body.scale
    elif mode in ("frame", "body"):
        shifted[..., :2] = shifted[..., :2] * 2.0 - 1.0
    elif mode == "clip":
        present = landmarks[presence]  # (n, 21, 3)
        centre = present[..., :2].reshape(-1, 2).mean(axis=0)
        scale = max(float(np.abs(present[..., :2] - centre).max()), 1e-6)
        shifted[..., :2] -= centre
        shifted /= scale
    else:
        raise ConfigError(f"normalisation must be 'frame', 'clip' or 'body', not {mode!r}")
    np.clip(shifted, -1.0, 1.0, out=shifted)
    out[presence] = shifted[presence]
    return out


def sample_frames(num_frames: int, seq_len: int, method: FrameSampling) -> np.ndarray:
    """Indices of the frames to keep when a clip is longer than ``seq_len``."""
    if num_frames <= seq_len:
        return np.arange(num_frames)
    if method == "resample":
        return np.linspace(0, num_frames - 1, seq_len).round().astype(np.int64)
    if method == "truncate":
        return np.arange(seq_len)
    raise ConfigError(f"frame sampling must be resample, truncate or span, not {method!r}")


def select_frames(frame_mask: np.ndarray, seq_len: int, method: FrameSampling) -> np.ndarray:
    """Indices of the frames that become the model's input, in time order.

    ``"resample"`` / ``"truncate"``: among frames with a hand, sampled evenly / the first
    ``seq_len``. ``"span"``: the WLASL-50 collection script's way, ``seq_len`` frames spread
    evenly over the span from the first to the last frame with a hand, keeping those that have
    one (so a clip can end up with fewer than ``seq_len`` valid frames).
    """
    hand_frames = np.flatnonzero(frame_mask)
    if hand_frames.size == 0:
        return hand_frames
    if method == "span":
        span = np.arange(hand_frames[0], hand_frames[-1] + 1)
        picked = np.unique(span[sample_frames(span.size, seq_len, "resample")])
        return picked[frame_mask[picked]]
    return hand_frames[sample_frames(hand_frames.size, seq_len, method)]


DOMINANCE_MARGIN = 1.2
RESTING_MOTION = 0.5
Dominance = Literal["seen", "moving", "symmetric"]


def hand_motion(landmarks: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """``(2,)``: how far each hand's centre wanders over the frames it is seen in (the root of
    the summed x/y variances of its mean landmark); 0 for a hand seen in under two frames."""
    motion = np.zeros(2, dtype=np.float64)
    for slot in (LEFT, RIGHT):
        centres = landmarks[presence[:, slot], slot, :, :2].mean(axis=1)
        if len(centres) > 1:
            motion[slot] = float(np.sqrt(centres.var(axis=0).sum()))
    return motion


def dominant_slot(presence: np.ndarray, landmarks: np.ndarray | None = None) -> int:
    """The slot of the signing (dominant) hand: LEFT only when the left hand is seen in clearly
    more frames (over ``DOMINANCE_MARGIN`` = 1.2 times the right's), RIGHT otherwise.

    Why a margin and a right-handed default: in a two-handed sign both hands are usually seen
    in every frame, and no cheap cue says which one leads; an earlier rule (more frames, ties
    broken by the longer wrist path) mirrored 408 of the 1,500 WLASL-50 clips (27%, nearly all
    two-handed signs by right-handed signers), i.e. flipped the same sign at random. With the
    margin, 22 WLASL-50 clips are mirrored, and the GISLR clips of left-handed participants
    (321 of 747, one-handed signs, right hand absent) are mirrored exactly as before.

    With ``landmarks`` (the ``"moving"`` rule), a left hand seen more often is still not the
    dominant one when it moves less than ``RESTING_MOTION`` (half) as much as the right
    (:func:`hand_motion`): a hand that stays put while the other signs is resting or is the
    base of a two-handed sign. Why: GISLR participant 29302 has a still left hand in view
    (its wrist within ~0.01 of one spot) while the right hand signs; by frame counts alone
    8 of that participant's clips were mirrored, turning the still hand into the signer's, and
    3 of them were missed by every model. Their motion ratios (left / right) are 0.10-0.49;
    WLASL-50 SCHOOL clip 1050 (a still base hand, 0.42) is the only WLASL-50 clip it changes,
    the other left-seen-more ones move 0.62-5.3 times as much as the right.
    """
    seen = presence.sum(axis=0)
    if seen[LEFT] <= DOMINANCE_MARGIN * seen[RIGHT]:
        return RIGHT
    if landmarks is not None:
        motion = hand_motion(landmarks, presence)
        if motion[LEFT] < RESTING_MOTION * motion[RIGHT]:
            return RIGHT
    return LEFT


def symmetric_dominant_slot(seen: np.ndarray, motion: np.ndarray) -> int:
    """The ``"moving"`` rule without its right-handed default, so a clip and its mirror image
    get the mirrored answer: a hand seen in clearly more frames leads unless it rests (moves
    under ``RESTING_MOTION`` as much as the other), and when both are seen about as often the
    one that moves more leads.

    Why: the default sends every two-handed clip to RIGHT, so a mirrored two-handed clip stays
    mirrored and reads differently (WLASL-50 held out, a best-fast model with chirality slots:
    a clip and its mirror agreed on 46% of fold 4). Only exact ties (two hands that do not move
    at all) still go to RIGHT either way.
    """
    for hand, other in ((LEFT, RIGHT), (RIGHT, LEFT)):
        if seen[hand] > DOMINANCE_MARGIN * seen[other]:
            return other if motion[hand] < RESTING_MOTION * motion[other] else hand
    return LEFT if motion[LEFT] > motion[RIGHT] else RIGHT


def mirror(landmarks: np.ndarray, presence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal mirror of normalised (centred) landmarks: negate x and swap the hand slots
    (the symmetry table :data:`~aslrec.landmarks.clip.MIRRORED_SLOTS`)."""
    out = landmarks[:, list(MIRRORED_SLOTS)].copy()
    out[..., 0] = -out[..., 0]
    return out, presence[:, list(MIRRORED_SLOTS)]


Handedness = Literal["slots", "chirality"]
"""Which hand is which: the slots as the source gave them, or the hands' 3D chirality."""
CHIRALITY_MARGIN = 0.3


def slots_by_chirality(
    landmarks: np.ndarray, presence: np.ndarray, margin: float = CHIRALITY_MARGIN
) -> tuple[np.ndarray, np.ndarray]:
    """Swap the slots when the hands' geometry clearly says they are the other way round.

    Sources disagree about left and right (MediaPipe's legacy Hands labels for a mirrored
    selfie view, a data set may store a webcam's mirror image, trackers flicker), so the slot
    a hand arrived in is only a hint. :func:`~aslrec.landmarks.geometry.track_chirality` (mean
    over the clip: > 0 right hand) decides when the evidence is clear: two hands are swapped
    when the LEFT slot's hand is more right-handed than the RIGHT slot's by over ``margin``; a
    lone hand moves to the other slot when its score is over ``margin`` on the other side.
    Weaker evidence (flat hands, noisy tracks) keeps the source's slots: per clip, geometry
    disagrees with Holistic's pose-based slots on 3% of GISLR's right hands and 9% of its left
    ones, more than the labels err. The rule is mirror equivariant: mirroring a clip negates
    every score, so a mirrored clip's hands end up in the mirrored slots. Takes the tracker's
    coordinates (before :func:`normalise`, which rescales x and y but not z).
    """
    score = track_chirality(landmarks, presence)
    seen = presence.any(axis=0)
    if seen.all():
        swap = score[LEFT] - score[RIGHT] > margin
    elif seen[RIGHT]:
        swap = score[RIGHT] < -margin
    else:
        swap = bool(seen[LEFT]) and score[LEFT] > margin
    if not swap:
        return landmarks, presence
    return landmarks[:, list(MIRRORED_SLOTS)], presence[:, list(MIRRORED_SLOTS)]


def canonicalise_dominant_hand(
    landmarks: np.ndarray, presence: np.ndarray, dominance: Dominance = "seen"
) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-handed signing so the dominant hand is always in the RIGHT slot.

    Most signers in the data are right-handed (WLASL-50: right hand in 99% of frames with a
    hand, left in 85%); a left-handed signer's clip is the mirror image of a right-handed one,
    so mirroring it lets a model trained mostly on right-handers recognise it. Works on
    normalised (centred) landmarks, where a mirror is ``x -> -x``. ``dominance`` picks the rule
    of :func:`dominant_slot`: ``"seen"`` (frame counts), ``"moving"`` (a still hand is never
    the dominant one) or ``"symmetric"`` (``"moving"`` without the right-handed default, so a
    mirrored clip is canonicalised to the same input).
    """
    if dominance not in get_args(Dominance):
        raise ConfigError(f"dominance must be 'seen', 'moving' or 'symmetric', not {dominance!r}")
    if dominance == "symmetric":
        slot = symmetric_dominant_slot(presence.sum(axis=0), hand_motion(landmarks, presence))
    else:
        slot = dominant_slot(presence, landmarks if dominance == "moving" else None)
    if slot == LEFT:
        return mirror(landmarks, presence)
    return landmarks, presence


def to_model_input(
    clip: LandmarkClip,
    seq_len: int = SEQ_LEN,
    method: FrameSampling = "resample",
    *,
    dominant_hand: bool = False,
    normalisation: Normalisation = "frame",
    dominance: Dominance = "seen",
    handedness: Handedness = "slots",
) -> tuple[np.ndarray, np.ndarray]:
    """``(seq_len, 2, 21, 3)`` float32 landmarks and ``(seq_len,)`` float32 frame mask.

    ``handedness="chirality"`` first puts the hands in the slots their geometry says
    (:func:`slots_by_chirality`); ``dominant_hand=True`` then mirrors left-handed clips
    (:func:`canonicalise_dominant_hand`, by the ``dominance`` rule).
    """
    keep = select_frames(clip.frame_mask, seq_len, method)
    if keep.size == 0:
        raise DataError(f"{clip.source}: no hands in any frame")
    landmarks, presence = clip.landmarks[keep], clip.presence[keep]
    if handedness == "chirality":  # on the tracker's coordinates: normalising rescales x and y
        landmarks, presence = slots_by_chirality(landmarks, presence)
    body = (
        BodyFrame.of(clip.pose[keep]) if normalisation == "body" and clip.pose is not None else None
    )
    landmarks = normalise(landmarks, presence, normalisation, body)
    if dominant_hand:
        landmarks, presence = canonicalise_dominant_hand(landmarks, presence, dominance)
    x = np.zeros((seq_len, *landmarks.shape[1:]), dtype=np.float32)
    mask = np.zeros(seq_len, dtype=np.float32)
    x[: keep.size] = landmarks
    mask[: keep.size] = 1.0
    return x, mask


def clips_to_arrays(
    clips: Sequence[LandmarkClip],
    seq_len: int = SEQ_LEN,
    method: FrameSampling = "resample",
    *,
    dominant_hand: bool = False,
    normalisation: Normalisation = "frame",
    dominance: Dominance = "seen",
    handedness: Handedness = "slots",
) -> tuple[np.ndarray, np.ndarray]:
    """Stack clips into ``(N, seq_len, 2, 21, 3)`` and ``(N, seq_len)`` arrays."""
    if not clips:
        raise DataError("no clips to convert (empty data set)")
    pairs = [
        to_model_input(
            c,
            seq_len,
            method,
            dominant_hand=dominant_hand,
            normalisation=normalisation,
            dominance=dominance,
            handedness=handedness,
        )
        for c in clips
    ]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


@dataclass(frozen=True)
class PreprocessingSpec(PlainData):
    """How a model's input is made from a clip: the ``preprocessing`` block of its run.

    Stored with every run (``model_config.json``) and exported model (ONNX metadata), so the
    preprocessing a model was trained with is the one it is used with. Missing keys take the
    seed card's values, so older run directories still load.
    """

    seq_len: int = SEQ_LEN
    frame_sampling: FrameSampling = "resample"
    dominant_hand: bool = False
    dominance: Dominance = "seen"
    normalisation: Normalisation = "frame"
    handedness: Handedness = "slots"
    hand_frames_only: bool = True

    def __post_init__(self) -> None:
        self.check_types()
        if not 1 <= self.seq_len <= MAX_SEQ_LEN:
            raise ConfigError(
                f"seq_len must be between 1 and {MAX_SEQ_LEN:,} frames, not {self.seq_len:,}"
            )


def arrays_for_model(
    clips: Sequence[LandmarkClip], spec: PreprocessingSpec
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`clips_to_arrays` as ``spec`` says: the one way trained models get their input
    (training, evaluation, every backend)."""
    return clips_to_arrays(
        clips,
        spec.seq_len,
        spec.frame_sampling,
        dominant_hand=spec.dominant_hand,
        normalisation=spec.normalisation,
        dominance=spec.dominance,
        handedness=spec.handedness,
    )
