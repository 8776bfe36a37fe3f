"""Loaders: every landmark data set format aslrec reads, turned into ``list[LandmarkClip]``.

One function per on-disk format (see ``../shared/data/README.md`` for the data sets), plus
:func:`load_dataset`, which looks at a path and picks the right one, so the CLI and training code
never need to know which format a user handed them.

What all loaders share, and why:

- Every failure caused by the input (missing file, corrupt or truncated archive, missing key,
  wrong shape, NaN where the format has no NaN, an empty data set) is a :class:`DataError` with a
  one-line message that names the file, so the CLI can print it without a traceback.
- Archives are read with ``allow_pickle=False``: a data file must never be able to run code.
- Labels are kept exactly as the source spells them (``thankyou``, not ``thank_you``);
  mapping them onto the card's vocabulary is :func:`aslrec.data.labels.canonical_label`'s job,
  so the loaders stay faithful, byte-for-byte comparable views of their sources.
- Array work is done once per file, vectorised, and only the cheap per-clip wrapping happens in
  Python, so the bundled sets load in a fraction of a second.

Clip counts on the bundled data (``/work/shared/data``):

- ``wlasl50_mp.npz``: 1,500 clips of 30 frames, 50 labels, 1,498 groups.
- ``gislr_hello_thankyou.npz``: 747 clips (hello 390, thankyou 357), 2..272 frames, 21 signers.
- ``letters_static.npz`` with the defaults (``window=30, stride=15, blocks=5``): 520 clips,
  20 per letter (4 windows in each of 5 blocks of 80-83 frames).
- ``fingerspelling16.npz``: 2,880 clips of 30 frames (one per photo), 24 letters, 12 signers,
  288 groups (person x letter).
- ``samples/MP_Data``: 15 clips (book, drink, yes; sequences 0-4), identical to the matching
  ``wlasl50_mp.npz`` entries.
- ``samples/gislr``: 12 clips, identical to the matching ``gislr_hello_thankyou.npz`` entries.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aslrec.data.remote import local_path
from aslrec.data.store import ClipStore, RemoteClipStore, is_store, load_clip
from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import (
    COORDS,
    HANDS,
    PHOTO_FRAMES,
    POINTS,
    POSE_COORDS,
    POSE_INDICES,
    POSE_POINTS,
    RIGHT,
    LandmarkClip,
)

if TYPE_CHECKING:
    import pandas as pd

PathLike = str | os.PathLike[str]

MP_FRAME_SIZE = 170
"""One MP_Data frame: 11x4 pose, then 21x3 left hand, then 21x3 right hand (float64)."""
_MP_POSE_SIZE = 11 * 4
_FRAME_FILE = re.compile(r"^(\d+)\.npy$")

GISLR_CSV = "train.csv"
_GISLR_CSV_COLUMNS = ("path", "participant_id", "sequence_id", "sign")
_GISLR_PARQUET_COLUMNS = ["frame", "type", "landmark_index", "x", "y", "z"]
_GISLR_HAND_SLOTS = {"left_hand": 0, "right_hand": 1}
_GISLR_HANDS_END = HANDS * POINTS
"""GISLR npz rows 0-20 are the left hand, 21-41 the right hand, 42-74 the pose."""

_HAND_SHAPE = (HANDS, POINTS, COORDS)


# --------------------------------------------------------------------------- helpers


def _one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one line (CLI errors are one line)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _unreadable(path: Path, what: str, exc: BaseException) -> DataError:
    """The DataError for a file NumPy could not read.

    NumPy answers unknown bytes and object arrays alike with advice to pass ``allow_pickle``;
    that advice is wrong for a data file (unpickling can run code), so it is replaced.
    """
    reason = _one_line(exc)
    if "pickle" in reason.lower():
        reason = "unknown content or Python objects; pickled data is never loaded"
    return DataError(f"{path}: not a readable {what} ({reason})")


def _existing(path: PathLike, *, kind: str = "file") -> Path:
    """``path`` as a Path, or DataError if it does not exist (or is the wrong kind)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such {kind}")
    if kind == "file" and not p.is_file():
        raise DataError(f"{p}: not a file")
    if kind == "folder" and not p.is_dir():
        raise DataError(f"{p}: not a folder")
    return p


def _npz_keys(path: Path) -> list[str]:
    """The array names in an ``.npz`` archive, without reading the arrays."""
    _existing(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(path, ".npz archive", exc) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array, not an .npz archive of named arrays")
    with archive:
        return list(archive.files)


def _read_npz(path: Path, required: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Read the ``required`` arrays (name -> number of dimensions) of an ``.npz``.

    Arrays are read eagerly inside one ``try`` because a truncated archive often opens fine and
    only fails when a member is decompressed.
    """
    keys = _npz_keys(path)
    missing = [k for k in required if k not in keys]
    if missing:
        raise DataError(
            f"{path}: missing array(s) {', '.join(missing)} (has: {', '.join(keys) or 'none'})"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: np.asarray(archive[k]) for k in required}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise _unreadable(path, ".npz archive", exc) from None
    for key, ndim in required.items():
        if arrays[key].ndim != ndim:
            raise DataError(
                f"{path}: array '{key}' must have {ndim} dimension(s), "
                f"got shape {arrays[key].shape}"
            )
    return arrays


def _check_length(
    path: Path, arrays: Mapping[str, np.ndarray], keys: Sequence[str], n: int
) -> None:
    """Every per-item array must have one entry per item."""
    for key in keys:
        if arrays[key].shape[0] != n:
            raise DataError(
                f"{path}: array '{key}' has {arrays[key].shape[0]} entries, expected {n}"
            )


def _check_landmarks(path: Path, name: str, values: np.ndarray) -> None:
    """Landmark coordinates are floats: an integer array would be taken as coordinates and give
    a confident wrong label; then as :func:`_check_finite`."""
    if values.dtype.kind != "f":
        raise DataError(f"{path}: array '{name}' must be floating point, got dtype {values.dtype}")
    _check_finite(path, name, values)


def _check_finite(path: Path, name: str, values: np.ndarray) -> None:
    """Formats that mark absence with zeros must not contain NaN (or inf) at all."""
    if not np.issubdtype(values.dtype, np.number):
        raise DataError(f"{path}: array '{name}' must be numeric, got dtype {values.dtype}")
    if not np.isfinite(values).all():
        raise DataError(f"{path}: array '{name}' contains NaN or infinite values")


def _strings(values: np.ndarray) -> list[str]:
    """Label-like arrays (unicode, bytes or numbers) as Python strings."""
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8")
    return [str(v) for v in values.tolist()]


def _non_empty(path: PathLike, clips: list[LandmarkClip]) -> list[LandmarkClip]:
    if not clips:
        raise DataError(f"{path}: data set is empty (no clips)")
    return clips


def _clips_from_batch(
    landmarks: np.ndarray,
    presence: np.ndarray,
    metadata: Sequence[Mapping[str, object]],
) -> list[LandmarkClip]:
    """Wrap a ``(N, T, 2, 21, 3)`` batch whose presence was derived once, vectorised."""
    return [
        LandmarkClip(landmarks=lm, presence=pr, **meta)  # type: ignore[arg-type]
        for lm, pr, meta in zip(landmarks, presence, metadata, strict=True)
    ]


# --------------------------------------------------------------------------- WLASL-50 npz


def load_wlasl_npz(path: PathLike) -> list[LandmarkClip]:
    """Load ``wlasl50_mp.npz``: one 30-frame clip per sequence.

    All 30 frames are kept, end padding included: padded frames simply have no hand present,
    and dropping them would make the clips differ from the source's own MP_Data files. An
    all-zero 21x3 block is an undetected hand (MP_Data's convention). ``group`` is the source's
    near-duplicate group, prefixed so it cannot collide with other data sets' groups. ``pose``
    is the file's 11 upper-body landmarks, the :data:`~aslrec.landmarks.clip.POSE_INDICES`
    in that order (zeros where Holistic found no pose), when the file has them.
    """
    p = Path(path)
    with_pose = "pose" in _npz_keys(p)
    arrays = _read_npz(
        p, {"hands": 5, "label": 1, "group": 1, **({"pose": 4} if with_pose else {})}
    )
    hands = arrays["hands"]
    if hands.shape[2:] != _HAND_SHAPE:
        raise DataError(f"{p}: array 'hands' must have shape (N, T, 2, 21, 3), got {hands.shape}")
    n = hands.shape[0]
    _check_length(p, arrays, ("label", "group", *(["pose"] if with_pose else [])), n)
    _check_landmarks(p, "hands", hands)
    pose = arrays.get("pose")
    if pose is not None:
        if pose.shape[1:] != (hands.shape[1], POSE_POINTS, POSE_COORDS):
            raise DataError(f"{p}: array 'pose' must have shape (N, T, 11, 4), got {pose.shape}")
        _check_landmarks(p, "pose", pose)
        pose = pose.astype(np.float32, copy=False)
    hands = hands.astype(np.float32, copy=False)
    presence = np.abs(hands).sum(axis=(3, 4)) > 0
    labels = _strings(arrays["label"])
    groups = _strings(arrays["group"])
    metadata = [
        {
            "label": labels[i],
            "signer": None,
            "group": f"wlasl:{groups[i]}",
            "source": f"{p}#{i}",
            "pose": pose[i] if pose is not None else None,
        }
        for i in range(n)
    ]
    return _non_empty(p, _clips_from_batch(hands, presence, metadata))


# --------------------------------------------------------------------------- MP_Data tree


def _numbered_frames(folder: Path) -> list[Path]:
    """The ``<n>.npy`` files of one sequence folder in numeric order (0, 1, ..., 10, not 0, 1, 10).

    Other ``.npy`` names are an error rather than silently skipped: they would mean the tree is
    not MP_Data or frames are misnamed. Non-``.npy`` files (``.DS_Store``) are ignored.
    """
    numbered: list[tuple[int, Path]] = []
    for f in folder.iterdir():
        if f.suffix != ".npy":
            continue
        m = _FRAME_FILE.match(f.name)
        if m is None:
            raise DataError(f"{f}: frame files must be named <number>.npy")
        numbered.append((int(m.group(1)), f))
    numbered.sort()
    return [f for _, f in numbered]


def _natural_key(p: Path) -> tuple[int, int, str]:
    """Sort numbered folders numerically, any others after them by name."""
    return (0, int(p.name), "") if p.name.isdigit() else (1, 0, p.name)


def _read_mp_frame(f: Path) -> np.ndarray:
    """One MP_Data frame file, checked: readable, exactly 170 finite numbers."""
    try:
        vec = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _unreadable(f, ".npy frame", exc) from None
    if not isinstance(vec, np.ndarray):
        vec.close()
        raise DataError(f"{f}: an .npz archive, expected one .npy vector of {MP_FRAME_SIZE}")
    if vec.shape != (MP_FRAME_SIZE,):
        raise DataError(
            f"{f}: expected a vector of {MP_FRAME_SIZE} values "
            f"(11x4 pose, 21x3 left hand, 21x3 right hand), got shape {vec.shape}"
        )
    _check_landmarks(f, "frame", vec)
    return vec


def load_mp_data_dir(path: PathLike) -> list[LandmarkClip]:
    """Load an original ``MP_Data/<gloss>/<seq>/<frame>.npy`` tree: one clip per ``<seq>``.

    This is the on-disk format ``wlasl50_mp.npz`` was built from; the two load to identical
    arrays. The MP_Data tree has no near-duplicate groups, so ``group`` is the sequence folder
    (``book/3``) and ``source`` the folder path.
    """
    root = _existing(path, kind="folder")
    clips: list[LandmarkClip] = []
    for gloss_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        for seq_dir in sorted((d for d in gloss_dir.iterdir() if d.is_dir()), key=_natural_key):
            files = _numbered_frames(seq_dir)
            if not files:
                raise DataError(f"{seq_dir}: sequence folder holds no <number>.npy frames")
            frames = np.stack([_read_mp_frame(f) for f in files])
            hands = frames[:, _MP_POSE_SIZE:].reshape(-1, *_HAND_SHAPE)
            pose = frames[:, :_MP_POSE_SIZE].reshape(-1, POSE_POINTS, POSE_COORDS)
            clips.append(
                LandmarkClip.from_array(
                    hands,
                    missing="zeros",
                    label=gloss_dir.name,
                    signer=None,
                    group=f"{gloss_dir.name}/{seq_dir.name}",
                    source=str(seq_dir),
                    pose=pose.astype(np.float32),
                )
            )
    return _non_empty(root, clips)


# --------------------------------------------------------------------------- GISLR npz


def load_gislr_npz(path: PathLike) -> list[LandmarkClip]:
    """Load ``gislr_hello_thankyou.npz``: variable-length clips cut out by ``offsets``.

    NaN marks an undetected hand (GISLR's convention); a hand with any NaN counts as absent.
    ``signer`` is the participant id, which is what makes signer-held-out splits possible.
    Presence and NaN removal are computed once over all frames, then sliced per clip.
    """
    p = Path(path)
    arrays = _read_npz(
        p, {"frames": 3, "offsets": 1, "label": 1, "participant_id": 1, "sequence_id": 1}
    )
    frames, offsets = arrays["frames"], arrays["offsets"]
    if frames.shape[1] < _GISLR_HANDS_END or frames.shape[2] != COORDS:
        raise DataError(
            f"{p}: array 'frames' must have shape (F, 75, 3) with both hands in rows 0-41, "
            f"got {frames.shape}"
        )
    if not np.issubdtype(frames.dtype, np.floating):
        raise DataError(f"{p}: array 'frames' must be floating point, got {frames.dtype}")
    n = offsets.shape[0] - 1
    if (
        n < 0
        or not np.issubdtype(offsets.dtype, np.integer)
        or offsets[0] != 0
        or offsets[-1] != frames.shape[0]
        or (np.diff(offsets) < 0).any()
    ):
        raise DataError(
            f"{p}: array 'offsets' must rise from 0 to the number of frames ({frames.shape[0]})"
        )
    _check_length(p, arrays, ("label", "participant_id", "sequence_id"), n)
    hands = frames[:, :_GISLR_HANDS_END].reshape(-1, *_HAND_SHAPE).astype(np.float32)
    presence = ~np.isnan(hands).any(axis=(2, 3))
    hands = np.nan_to_num(hands, nan=0.0)
    pose = _gislr_pose(frames)
    labels = _strings(arrays["label"])
    signers = _strings(arrays["participant_id"])
    sequences = _strings(arrays["sequence_id"])
    bounds = zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    clips = [
        LandmarkClip(
            landmarks=hands[a:b],
            presence=presence[a:b],
            label=labels[i],
            signer=signers[i],
            group=f"gislr:{sequences[i]}",
            source=f"{p}#{i}",
            pose=pose[a:b] if pose is not None else None,
        )
        for i, (a, b) in enumerate(bounds)
    ]
    return _non_empty(p, clips)


def _gislr_pose(frames: np.ndarray) -> np.ndarray | None:
    """``(F, 11, 4)`` from GISLR's pose rows (42-74 are MediaPipe pose 0-32), the
    :data:`~aslrec.landmarks.clip.POSE_INDICES` as (x, y, z, 1); a frame whose pose has any
    NaN is all zeros (no pose). None when the file holds no pose rows."""
    rows = _GISLR_HANDS_END + np.asarray(POSE_INDICES)
    if frames.shape[1] <= rows.max():
        return None
    xyz = frames[:, rows].astype(np.float32)
    found = ~np.isnan(xyz).any(axis=(1, 2))
    pose = np.zeros((len(frames), POSE_POINTS, POSE_COORDS), dtype=np.float32)
    pose[found, :, :3] = xyz[found]
    pose[found, :, 3] = 1.0
    return pose


# --------------------------------------------------------------------------- GISLR csv


def _gislr_parquet_hands(f: Path) -> np.ndarray:
    """One GISLR parquet file as a ``(T, 2, 21, 3)`` float32 array, NaN where undetected.

    Frames are the file's distinct ``frame`` values, sorted, counted over all rows (face and
    pose too), so a frame is never lost even if its hand rows were missing; hand rows are
    scattered into place in one vectorised assignment.
    """
    import pandas as pd  # deferred: pandas/pyarrow take a while to import

    _existing(f)
    try:
        df = pd.read_parquet(f, columns=_GISLR_PARQUET_COLUMNS)
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, KeyError...)
        raise DataError(f"{f}: not a readable GISLR parquet file ({_one_line(exc)})") from None
    frame_numbers = df["frame"].to_numpy()
    unique_frames = np.unique(frame_numbers)
    out = np.full((unique_frames.size, *_HAND_SHAPE), np.nan, dtype=np.float32)
    types = df["type"].to_numpy(dtype=object)
    slot = np.full(len(df), -1, dtype=np.int64)
    for name, s in _GISLR_HAND_SLOTS.items():
        slot[types == name] = s
    rows = slot >= 0
    index = df["landmark_index"].to_numpy()[rows]
    if index.size and (index.min() < 0 or index.max() >= POINTS):
        raise DataError(f"{f}: hand landmark_index outside 0..{POINTS - 1}")
    xyz = df[["x", "y", "z"]].to_numpy(dtype=np.float32)[rows]
    frame_pos = np.searchsorted(unique_frames, frame_numbers[rows])
    out[frame_pos, slot[rows], index] = xyz
    return out


def gislr_csv_table(path: PathLike) -> tuple[Path, pd.DataFrame]:
    """``train.csv`` of the GISLR layout (``path`` is the file or its folder), read and checked
    without opening a parquet file: the csv's path and its rows (all columns as strings)."""
    import pandas as pd  # deferred: pandas/pyarrow take a while to import

    p = Path(path)
    csv = p / GISLR_CSV if p.is_dir() else p
    _existing(csv)
    try:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except Exception as exc:  # parser errors, encoding errors, empty file
        raise DataError(f"{csv}: not a readable csv file ({_one_line(exc)})") from None
    missing = [c for c in _GISLR_CSV_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"{csv}: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(_GISLR_CSV_COLUMNS)})"
        )
    return csv, table


def gislr_clip(csv: Path, row: Mapping[str, str]) -> LandmarkClip:
    """The clip of one ``train.csv`` row: its parquet file (relative to the csv's folder)."""
    f = csv.parent / str(row["path"])
    return LandmarkClip.from_array(
        _gislr_parquet_hands(f),
        missing="nan",
        label=str(row["sign"]),
        signer=str(row["participant_id"]),
        group=f"gislr:{row['sequence_id']}",
        source=str(f),
    )


def load_gislr_csv(path: PathLike) -> list[LandmarkClip]:
    """Load the original Kaggle GISLR layout: ``train.csv`` plus one parquet per sequence.

    ``path`` is the ``train.csv`` file or the folder holding it; parquet paths in the csv are
    relative to the csv's folder. Only hand rows are used; the result equals
    :func:`load_gislr_npz` for the same ``sequence_id`` (same frames, same NaN = absent rule),
    so either form of the data set can be used interchangeably. Training can also read it
    file by file (:class:`aslrec.data.shards.GislrFiles`), for sets that do not fit in memory.
    """
    csv, table = gislr_csv_table(path)
    return _non_empty(csv, [gislr_clip(csv, row) for row in table.to_dict("records")])


# --------------------------------------------------------------------------- letters npz


def letter_windows(n: int, *, window: int, stride: int, blocks: int) -> list[tuple[int, int]]:
    """``(block, start)`` of every window over ``n`` sorted frames of one letter.

    The frames are cut into ``blocks`` contiguous blocks of nearly equal size (sizes differ by
    at most one, like ``np.array_split``), and windows are laid inside each block only: a window
    crossing a block boundary would put near-identical frames on both sides of a block-held-out
    split. Frames after a block's last full window are in no window.
    """
    base, extra = divmod(n, blocks)
    out: list[tuple[int, int]] = []
    first = 0
    for block in range(blocks):
        size = base + (1 if block < extra else 0)
        out.extend((block, first + s) for s in range(0, size - window + 1, stride))
        first += size
    return out


def load_letters_npz(
    path: PathLike, *, window: int = 30, stride: int = 15, blocks: int = 5
) -> list[LandmarkClip]:
    """Load ``letters_static.npz`` as windows of consecutive frames, grouped by contiguous block.

    Source view: MIRRORED, and un-mirrored here (x -> 1 - x). The source recorded one hand
    from a webcam without handedness; its 3D shape is a left hand in 99.1% of the frames
    (:func:`aslrec.landmarks.geometry.chirality`; ``benchmarks/handedness.py``), i.e. a
    right-handed signer seen in a selfie (mirror) view, as webcam apps show it. Stored the
    other way round, a model learns mirrored letters: trained on it, the bundled model read
    13.5% of ``fingerspelling16``'s un-mirrored photos of 12 new people, 47% once they were
    mirrored. Un-mirrored, the hand is the signer's right hand and goes in the RIGHT slot (1),
    where the other sets keep the signer's right hand, the dominant hand of most signers.

    Consecutive frames are near-identical, so a random split would leak. Each letter's frames,
    sorted by ``frame_index``, are cut into ``blocks`` contiguous blocks; windows of ``window``
    frames every ``stride`` frames are formed inside each block only, and all windows of one
    block share ``group=f"letters:{letter}:{block}"``, so a group-aware split holds out whole
    stretches of recording. With the defaults (400-411 frames per letter -> blocks of 80-83
    frames) that is 4 windows per block, 20 per letter, 520 clips; the last 5-8 frames of each
    block are in no window. Timestamps are unknown (frame numbers, not times), so None.
    """
    if window < 1 or stride < 1 or blocks < 1:
        raise ConfigError(
            f"window, stride and blocks must be at least 1, got {window}, {stride}, {blocks}"
        )
    p = Path(path)
    arrays = _read_npz(p, {"hand": 3, "label": 1, "frame_index": 1})
    hand = arrays["hand"]
    if hand.shape[1:] != (POINTS, COORDS):
        raise DataError(f"{p}: array 'hand' must have shape (N, 21, 3), got {hand.shape}")
    _check_length(p, arrays, ("label", "frame_index"), hand.shape[0])
    _check_landmarks(p, "hand", hand)
    _check_finite(p, "frame_index", arrays["frame_index"])
    labels = np.asarray(_strings(arrays["label"]))
    frame_index = arrays["frame_index"]

    window_rows: list[np.ndarray] = []
    metadata: list[dict[str, str | None]] = []
    for letter in np.unique(labels).tolist():
        rows = np.flatnonzero(labels == letter)
        rows = rows[np.argsort(frame_index[rows], kind="stable")]
        for block, start in letter_windows(rows.size, window=window, stride=stride, blocks=blocks):
            picked = rows[start : start + window]
            window_rows.append(picked)
            first, last = frame_index[picked[0]], frame_index[picked[-1]]
            metadata.append(
                {
                    "label": letter,
                    "signer": None,
                    "group": f"letters:{letter}:{block}",
                    "source": f"{p}#{letter}:frames {first}-{last}",
                }
            )
    if not window_rows:
        raise DataError(
            f"{p}: data set is empty (no window of {window} frames fits in any of "
            f"{blocks} blocks; use fewer blocks or a shorter window)"
        )
    index = np.stack(window_rows)  # (N, window) rows of the source arrays
    return _right_hand_clips(_unmirrored(hand)[index], metadata)


def _unmirrored(hand: np.ndarray) -> np.ndarray:
    """Hands of a mirrored (selfie) view as the camera saw them: x -> 1 - x where present."""
    out = hand.copy()
    present = np.abs(hand).sum(axis=(-1, -2)) > 0
    out[present, :, 0] = 1.0 - out[present, :, 0]
    return out


def _right_hand_clips(
    hands: np.ndarray, metadata: Sequence[Mapping[str, str | None]]
) -> list[LandmarkClip]:
    """``(N, T, 21, 3)`` right hands -> clips with the hand in the RIGHT slot."""
    landmarks = np.zeros((*hands.shape[:2], *_HAND_SHAPE), dtype=np.float32)
    landmarks[:, :, RIGHT] = hands
    presence = np.abs(landmarks).sum(axis=(3, 4)) > 0
    return _clips_from_batch(landmarks, presence, metadata)


# --------------------------------------------------------------------------- fingerspelling16

FINGERSPELLING_FRAMES = PHOTO_FRAMES


def load_fingerspelling_npz(
    path: PathLike, *, frames: int = FINGERSPELLING_FRAMES
) -> list[LandmarkClip]:
    """Load ``fingerspelling16.npz``: one photo of a held letter -> a ``frames``-frame clip.

    The photos are stills of 12 people holding a static letter, so a clip is the letter held
    still: the photo's landmarks repeated for ``frames`` frames (the seed card's 30), which is
    what a sequence model sees when someone holds a letter in front of a camera; motion comes
    from augmentation in training. ``signer`` is the ``person`` (leave-signers-out splits);
    the 10 near-identical photos of one person and letter share a ``group`` (they are one
    "take"), so even a stratified split never puts one take on both sides.

    Source view: un-mirrored photos, the signer's right hand (3D chirality: a right hand in
    99.9% of photos; MediaPipe's legacy Hands labelled them "Left" because it assumes a
    selfie image): RIGHT slot, coordinates as stored.
    """
    if frames < 1:
        raise ConfigError(f"frames must be at least 1, got {frames}")
    p = Path(path)
    arrays = _read_npz(p, {"hand": 3, "label": 1, "person": 1, "path": 1})
    hand = arrays["hand"]
    if hand.shape[1:] != (POINTS, COORDS):
        raise DataError(f"{p}: array 'hand' must have shape (N, 21, 3), got {hand.shape}")
    _check_length(p, arrays, ("label", "person", "path"), hand.shape[0])
    _check_landmarks(p, "hand", hand)
    labels, people = _strings(arrays["label"]), _strings(arrays["person"])
    names = _strings(arrays["path"])
    metadata = [
        {"label": label, "signer": person, "group": f"{person}:{label}", "source": f"{p}#{name}"}
        for label, person, name in zip(labels, people, names, strict=True)
    ]
    held = np.repeat(hand[:, None], frames, axis=1)
    return _non_empty(p, _right_hand_clips(held, metadata))


# --------------------------------------------------------------------------- store, dispatch


def load_store(path: PathLike) -> list[LandmarkClip]:
    """Load a folder in aslrec's own format (:class:`aslrec.data.store.ClipStore`)."""
    root = _existing(path, kind="folder")
    return _non_empty(root, ClipStore(root).clips())


def _is_mp_data_dir(root: Path) -> bool:
    """True if some ``<gloss>/<seq>/`` folder holds a ``<number>.npy`` frame."""
    return any(_FRAME_FILE.match(f.name) and f.is_file() for f in root.glob("*/*/*.npy"))


_EXPECTED_FOLDER = (
    "expected an aslrec data set folder (aslrec_dataset.json), a GISLR folder with train.csv, "
    "an MP_Data tree <gloss>/<seq>/<frame>.npy, or a folder of pose-format .pose files"
)


def load_dataset(path: PathLike) -> list[LandmarkClip]:
    """Load any supported data set, recognising its format from the path and its contents.

    Folders: aslrec store (marker file) -> :func:`load_store`; holding ``train.csv`` ->
    :func:`load_gislr_csv`; ``<gloss>/<seq>/<n>.npy`` -> :func:`load_mp_data_dir`; any
    ``*.pose`` below it -> :func:`~aslrec.data.pose_files.load_pose_folder` (labels from
    sub-folder names). Files: ``*.pose`` -> :func:`~aslrec.data.pose_files.read_pose_file`
    (unlabelled); ``*.csv`` -> :func:`load_gislr_csv`; ``*.npz`` by its array names: ``hands`` +
    ``group`` -> WLASL, ``frames`` + ``offsets`` -> GISLR, ``hand`` + ``frame_index`` -> letters,
    ``hand`` + ``person`` -> fingerspelling16, ``landmarks`` + ``presence`` -> one clip file
    (:func:`aslrec.data.store.load_clip`, as ``aslrec extract`` writes them).
    The letters set is cut with the default windows; call :func:`load_letters_npz` for others.
    A URL (``s3://bucket/DATA``, ``memory://...``; :mod:`aslrec.data.remote`) is an aslrec
    store there, the one format ``aslrec extract --out URL`` writes; ``file://`` is the local
    path it names.
    """
    local = local_path(path)
    if local is None:
        return _non_empty(path, RemoteClipStore(str(path)).clips())
    p = local
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    if p.is_dir():
        if is_store(p):
            return load_store(p)
        from aslrec.data import shards  # imports this module

        if shards.is_shard_set(p):
            return _non_empty(p, shards.load_shards(p))
        if (p / GISLR_CSV).is_file():
            return load_gislr_csv(p)
        if _is_mp_data_dir(p):
            return load_mp_data_dir(p)
        from aslrec.data import pose_files  # imports this module

        if pose_files.pose_files_under(p):
            return pose_files.load_pose_folder(p)
        raise DataError(f"{p}: not a recognised data set folder ({_EXPECTED_FOLDER})")
    suffix = p.suffix.lower()
    if suffix == ".pose":
        from aslrec.data.pose_files import read_pose_file

        return [read_pose_file(p)]
    if suffix == ".csv":
        return load_gislr_csv(p)
    if suffix == ".npz":
        keys = set(_npz_keys(p))
        if {"landmarks", "presence"} <= keys:
            return [load_clip(p)]
        if {"hands", "group"} <= keys:
            return load_wlasl_npz(p)
        if {"frames", "offsets"} <= keys:
            return load_gislr_npz(p)
        if {"hand", "frame_index"} <= keys:
            return load_letters_npz(p)
        if {"hand", "person"} <= keys:
            return load_fingerspelling_npz(p)
        raise DataError(
            f"{p}: unrecognised .npz (arrays: {', '.join(sorted(keys)) or 'none'}; expected "
            "landmarks+presence (one aslrec clip), hands+group (WLASL), frames+offsets "
            "(GISLR), hand+frame_index (letters) or hand+person (fingerspelling16))"
        )
    raise DataError(
        f"{p}: unsupported data set file (expected a .npz, .csv or .pose file, or a folder: "
        f"{_EXPECTED_FOLDER}; videos and photos ({_media_suffixes()}) are tracked by `aslrec "
        "predict` and made into data sets by `aslrec extract`)"
    )


def _media_suffixes() -> str:
    from aslrec.landmarks.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    return " ".join(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))


def load_datasets(paths: Sequence[PathLike]) -> list[LandmarkClip]:
    """Load several data sets (each as :func:`load_dataset`) and concatenate them in order.

    A single path is accepted too (a ``str`` is a Sequence, and must not be split into letters).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if not paths:
        raise DataError("no data set paths given")
    clips: list[LandmarkClip] = []
    for p in paths:
        clips.extend(load_dataset(p))
    return clips
