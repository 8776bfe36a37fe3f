"""The clip: frames x 2 hands x 21 landmarks x 3 coordinates, with explicit presence.

Every source stores "hand not seen" differently (all-zero blocks in MP_Data, NaN in GISLR,
absent in MediaPipe output). Loaders translate all of them into one convention here: a boolean
``presence`` mask per frame and hand, and zeros in ``landmarks`` wherever the hand is absent, so
no NaN can ever reach a model.

A clip may also carry the body (``pose``): the 11 upper-body pose landmarks WLASL-50 stores, so
signs that differ only in where they are made (forehead, chin, chest) can be told apart. A frame
without a pose is all zeros, the WLASL-50 convention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from aslrec.errors import DataError

HANDS = 2
POINTS = 21
COORDS = 3
LEFT, RIGHT = 0, 1
"""Hand slots: the signer's own left (0) and right (1) hand, as Holistic assigns them in the
WLASL-50 and GISLR data (see ``../shared/data/README.md``)."""
MIRRORED_SLOTS = (RIGHT, LEFT)
"""Left/right symmetry: a horizontal mirror turns the signer's left hand into a right hand, so
slot i of the mirror image is slot ``MIRRORED_SLOTS[i]`` of the original (with x negated).
MediaPipe numbers the 21 landmarks of either hand the same way (0 wrist, 4 thumb tip, ...,
20 pinky tip), so within a hand nothing moves; only the slots swap."""

POSE_INDICES = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26)
"""The MediaPipe pose landmarks a clip's ``pose`` holds, in this order: nose, left/right
shoulder, elbow, wrist, hip, knee (the person's own left/right). The landmarks of
``wlasl50_mp.npz``, so extracted and stored data line up."""
POSE_POINTS = len(POSE_INDICES)
POSE_COORDS = 4
"""x, y, z and visibility of each pose landmark."""
POSE_PAIRS = ((11, 12), (13, 14), (15, 16), (23, 24), (25, 26))
"""Left/right pairs among :data:`POSE_INDICES` (MediaPipe numbering); the nose has no pair."""
_POSE_SWAP = {a: b for pair in POSE_PAIRS for a, b in (pair, pair[::-1])}
MIRRORED_POSE = tuple(POSE_INDICES.index(_POSE_SWAP.get(i, i)) for i in POSE_INDICES)
"""Left/right symmetry of the pose landmarks: row i of a mirrored clip's ``pose`` is row
``MIRRORED_POSE[i]`` of the original (left shoulder <-> right shoulder, ...; the nose stays)."""


PHOTO_FRAMES = 30
"""How many frames a photo is held for (:meth:`LandmarkClip.held`; the seed card's clip
length)."""


@dataclass(frozen=True)
class LandmarkClip:
    """One sign (or one stretch of signing) as hand landmarks.

    Attributes:
        landmarks: float32 ``(T, 2, 21, 3)``; x, y in image-normalised units, z MediaPipe's
            relative depth. Zero where the hand is absent.
        presence: bool ``(T, 2)``; True where that hand was detected in that frame.
        timestamps: optional float64 ``(T,)`` seconds from the start of the source.
        label: the sign's gloss, if known.
        signer: signer / participant id, if known (used for signer-held-out splits).
        group: clips sharing a group must stay on one side of any split (near-duplicates,
            blocks of consecutive frames); defaults to the clip's own identity.
        source: where the clip came from (file path or data set id), for error messages.
        pose: optional float32 ``(T, 11, 4)``: the :data:`POSE_INDICES` landmarks as (x, y, z,
            visibility), x and y image-normalised like the hands; all zeros in frames without
            a pose. None when the body was not tracked.
    """

    landmarks: np.ndarray
    presence: np.ndarray
    timestamps: np.ndarray | None = None
    label: str | None = None
    signer: str | None = None
    group: str | None = None
    source: str = field(default="<memory>")
    pose: np.ndarray | None = None

    def __post_init__(self) -> None:
        lm = np.asarray(self.landmarks, dtype=np.float32)
        pr = np.asarray(self.presence, dtype=bool)
        if lm.ndim != 4 or lm.shape[1:] != (HANDS, POINTS, COORDS):
            raise DataError(
                f"{self.source}: landmarks must have shape (frames, 2, 21, 3), got {lm.shape}"
            )
        if pr.shape != lm.shape[:2]:
            raise DataError(
                f"{self.source}: presence must have shape {lm.shape[:2]}, got {pr.shape}"
            )
        if not np.isfinite(lm[pr]).all():
            raise DataError(f"{self.source}: landmarks contain NaN or infinite values")
        lm = np.where(pr[:, :, None, None], lm, 0.0).astype(np.float32)
        object.__setattr__(self, "landmarks", lm)
        object.__setattr__(self, "presence", pr)
        if self.timestamps is not None:
            ts = np.asarray(self.timestamps, dtype=np.float64)
            if ts.shape != (lm.shape[0],):
                raise DataError(
                    f"{self.source}: timestamps must have shape ({lm.shape[0]},), got {ts.shape}"
                )
            object.__setattr__(self, "timestamps", ts)
        if self.pose is not None:
            pose = np.asarray(self.pose, dtype=np.float32)
            _check_pose(self.source, pose, lm.shape[0])
            object.__setattr__(self, "pose", pose)

    @classmethod
    def from_array(
        cls,
        landmarks: np.ndarray,
        *,
        missing: str = "zeros",
        **metadata: object,
    ) -> LandmarkClip:
        """Build a clip from a raw ``(T, 2, 21, 3)`` array, deriving presence.

        ``missing="zeros"``: an all-zero 21x3 block means "not detected" (MP_Data convention).
        ``missing="nan"``: any NaN in a hand's block means "not detected" (GISLR convention; a
        partly NaN hand is unusable anyway).
        """
        source = str(metadata.get("source", "<memory>"))
        arr = np.asarray(landmarks, dtype=np.float32)
        if arr.ndim != 4 or arr.shape[1:] != (HANDS, POINTS, COORDS):
            raise DataError(f"{source}: expected shape (frames, 2, 21, 3), got {arr.shape}")
        if missing == "zeros":
            if np.isnan(arr).any():
                raise DataError(f"{source}: landmarks contain NaN values")
            presence = np.abs(arr).sum(axis=(2, 3)) > 0
        elif missing == "nan":
            presence = ~np.isnan(arr).any(axis=(2, 3))
            arr = np.nan_to_num(arr, nan=0.0)
        else:
            raise ValueError(f"missing must be 'zeros' or 'nan', not {missing!r}")
        return cls(landmarks=arr, presence=presence, **metadata)  # type: ignore[arg-type]

    @property
    def num_frames(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def frame_mask(self) -> np.ndarray:
        """bool ``(T,)``: True where at least one hand is present."""
        return self.presence.any(axis=1)

    @property
    def hand_rate(self) -> float:
        """Fraction of frames with at least one hand (0 for an empty clip)."""
        return float(self.frame_mask.mean()) if self.num_frames else 0.0

    @property
    def pose_mask(self) -> np.ndarray:
        """bool ``(T,)``: True where a pose was found (all False without ``pose``)."""
        if self.pose is None:
            return np.zeros(self.num_frames, dtype=bool)
        return np.abs(self.pose).sum(axis=(1, 2)) > 0

    def with_label(self, label: str | None) -> LandmarkClip:
        return replace(self, label=label)

    def trimmed(self) -> LandmarkClip:
        """The sign span: leading and trailing frames without any hand removed."""
        idx = np.flatnonzero(self.frame_mask)
        if idx.size == 0:
            return self.select(np.arange(0))
        return self.select(np.arange(idx[0], idx[-1] + 1))

    def mirrored(self) -> LandmarkClip:
        """The clip of the left-right mirrored video, as a tracker that labels hands from the
        picture gives it: x -> 1 - x for present hands and the slots swapped
        (:data:`MIRRORED_SLOTS`); absent hands stay zero. The pose, if any, likewise: x -> 1 - x
        in frames with a pose and left/right landmarks swapped (:data:`MIRRORED_POSE`)."""
        landmarks = self.landmarks.copy()
        landmarks[..., 0] = np.where(self.presence[..., None], 1.0 - landmarks[..., 0], 0.0)
        order = list(MIRRORED_SLOTS)
        pose = None
        if self.pose is not None:
            pose = self.pose[:, list(MIRRORED_POSE)]
            pose[..., 0] = np.where(self.pose_mask[:, None], 1.0 - pose[..., 0], 0.0)
        return replace(
            self, landmarks=landmarks[:, order], presence=self.presence[:, order], pose=pose
        )

    def held(self, frames: int, fps: float) -> LandmarkClip:
        """This one-frame clip (a photo) held still for ``frames`` frames at ``fps``: what a
        sequence model sees when someone holds a letter before a camera, and how photo data
        sets are trained on (:func:`~aslrec.data.loaders.load_fingerspelling_npz`)."""
        if self.num_frames != 1:
            raise ValueError(f"only a one-frame clip can be held, not {self.num_frames} frames")
        start = 0.0 if self.timestamps is None else float(self.timestamps[0])
        return replace(
            self.select(np.zeros(frames, dtype=int)),
            timestamps=start + np.arange(frames) / fps,
        )

    def select(self, frames: np.ndarray) -> LandmarkClip:
        """A clip of the given frame indices (in that order)."""
        ts = None if self.timestamps is None else self.timestamps[frames]
        pose = None if self.pose is None else self.pose[frames]
        return replace(
            self,
            landmarks=self.landmarks[frames],
            presence=self.presence[frames],
            timestamps=ts,
            pose=pose,
        )


def _check_pose(where: str, pose: np.ndarray, frames: int) -> None:
    if pose.shape != (frames, POSE_POINTS, POSE_COORDS):
        raise DataError(
            f"{where}: pose must have shape ({frames}, {POSE_POINTS}, {POSE_COORDS}), "
            f"got {pose.shape}"
        )
    if not np.isfinite(pose).all():
        raise DataError(f"{where}: pose contains NaN or infinite values")


def check_stored_arrays(
    where: str,
    landmarks: np.ndarray,
    presence: np.ndarray,
    timestamps: np.ndarray | None,
    pose: np.ndarray | None = None,
) -> None:
    """Refuse clip arrays read from a file unless they are what :class:`LandmarkClip` holds.

    The constructor converts whatever it is given (it also wraps arrays code just computed), so
    a file's arrays are checked first: int32 landmarks would become large floats and a garbage
    label, strings or complex numbers would be parsed or truncated, a 0..255 presence would
    count as present, and decreasing timestamps would break every time span. ``pose`` (absent
    from files written without body tracking) must be finite floats of shape (frames, 11, 4).
    ``where`` (the file) starts each one-line message.
    """
    if landmarks.dtype.kind != "f":
        raise DataError(f"{where}: landmarks must be floating point, got dtype {landmarks.dtype}")
    if landmarks.ndim != 4 or landmarks.shape[1:] != (HANDS, POINTS, COORDS):
        raise DataError(
            f"{where}: landmarks must have shape (frames, 2, 21, 3), got {landmarks.shape}"
        )
    if landmarks.shape[0] == 0:
        raise DataError(f"{where}: the clip has no frames")
    if not np.isfinite(landmarks).all():
        raise DataError(f"{where}: landmarks contain NaN or infinite values")
    if presence.shape != landmarks.shape[:2]:
        raise DataError(
            f"{where}: presence must have shape {landmarks.shape[:2]} (one flag per frame and "
            f"hand), got {presence.shape}"
        )
    if presence.dtype != bool and (
        presence.dtype.kind not in "iuf" or not np.isin(presence, (0, 1)).all()
    ):
        raise DataError(f"{where}: presence must be booleans or 0/1, got dtype {presence.dtype}")
    if pose is not None:
        if pose.dtype.kind != "f":
            raise DataError(f"{where}: pose must be floating point, got dtype {pose.dtype}")
        _check_pose(where, pose, landmarks.shape[0])
    if timestamps is None:
        return
    if timestamps.dtype.kind not in "iuf":
        raise DataError(f"{where}: timestamps must be numbers, got dtype {timestamps.dtype}")
    if timestamps.shape != (landmarks.shape[0],):
        raise DataError(
            f"{where}: timestamps must have shape ({landmarks.shape[0]},), got {timestamps.shape}"
        )
    if not np.isfinite(timestamps).all():
        raise DataError(f"{where}: timestamps contain NaN or infinite values")
    if (np.diff(timestamps) <= 0).any():
        first = int(np.flatnonzero(np.diff(timestamps) <= 0)[0]) + 1
        raise DataError(
            f"{where}: timestamps must increase, but frame {first} is at "
            f"{timestamps[first]:g} s after {timestamps[first - 1]:g} s"
        )


_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


def safe_clip_id(name: str) -> str:
    """A file-name-safe clip id derived from ``name`` (e.g. a video's relative path)."""
    cleaned = _SAFE_ID.sub("_", name).strip("._")
    return cleaned or "clip"
