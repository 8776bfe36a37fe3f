"""Loaders on the real data sets in ``../shared/data`` and on broken files made in tmp_path."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import (
    letter_windows,
    load_dataset,
    load_datasets,
    load_fingerspelling_npz,
    load_gislr_csv,
    load_gislr_npz,
    load_letters_npz,
    load_mp_data_dir,
    load_store,
    load_wlasl_npz,
)
from aslrec.data.store import ClipStore
from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import LEFT, RIGHT, LandmarkClip
from aslrec.landmarks.geometry import track_chirality

DATA = Path(os.environ.get("ASLREC_SHARED_DATA", Path(__file__).parents[3] / "shared" / "data"))
WLASL = DATA / "wlasl50_mp.npz"
GISLR = DATA / "gislr_hello_thankyou.npz"
LETTERS = DATA / "letters_static.npz"
MP_DATA = DATA / "samples" / "MP_Data"
GISLR_DIR = DATA / "samples" / "gislr"

if not (WLASL.is_file() and GISLR.is_file() and LETTERS.is_file() and MP_DATA.is_dir()):
    pytest.skip(f"real data sets not found under {DATA}", allow_module_level=True)


@pytest.fixture(scope="module")
def wlasl() -> list[LandmarkClip]:
    return load_wlasl_npz(WLASL)


@pytest.fixture(scope="module")
def gislr() -> list[LandmarkClip]:
    return load_gislr_npz(GISLR)


@pytest.fixture(scope="module")
def letters() -> list[LandmarkClip]:
    return load_letters_npz(LETTERS)


def _raise_data_error(call: Callable[[], object], path: Path) -> str:
    """Run ``call``; it must raise a one-line DataError naming ``path``. Returns the message."""
    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    assert str(path) in message, message
    assert "\n" not in message, message
    return message


# --------------------------------------------------------------------------- WLASL


def test_wlasl_shapes_labels_groups(wlasl: list[LandmarkClip]) -> None:
    assert len(wlasl) == 1500
    assert {c.landmarks.shape for c in wlasl} == {(30, 2, 21, 3)}
    counts = Counter(c.label for c in wlasl)
    assert len(counts) == 50 and set(counts.values()) == {30}
    assert {"book", "drink", "yes", "thanksgiving", "apple"} <= counts.keys()
    groups = {c.group for c in wlasl}
    assert len(groups) == 1498  # one pair of near-duplicates shares a group (README)
    assert all(g.startswith("wlasl:") for g in groups)
    assert all(c.signer is None and c.timestamps is None for c in wlasl)
    assert wlasl[7].source == f"{WLASL}#7"


def test_wlasl_presence_rates(wlasl: list[LandmarkClip]) -> None:
    presence = np.stack([c.presence for c in wlasl])  # (N, 30, 2)
    overall = presence.reshape(-1, 2).mean(axis=0)
    # README: right (slot 1) in 92% of frames, left (slot 0) in 79%, padding included.
    assert overall[RIGHT] == pytest.approx(0.92, abs=0.01)
    assert overall[LEFT] == pytest.approx(0.79, abs=0.01)
    with_hand = presence.any(axis=2)
    # Over frames that have a hand at all (padding excluded): right 98.8%, left 85.0%.
    assert presence[with_hand].mean(axis=0)[RIGHT] == pytest.approx(0.988, abs=0.005)
    assert presence[with_hand].mean(axis=0)[LEFT] == pytest.approx(0.850, abs=0.005)
    # README: 588 sequences contain hand-less frames, 2.1 per sequence on average.
    assert (~with_hand).any(axis=1).sum() == 588
    assert (~with_hand).sum() / len(wlasl) == pytest.approx(2.1, abs=0.05)
    for c in wlasl[:50]:
        assert np.all(c.landmarks[~c.presence] == 0)


def test_mp_data_sample_equals_wlasl_npz(wlasl: list[LandmarkClip]) -> None:
    """The README says the MP_Data sample files are byte-exact copies of the npz's source."""
    clips = load_mp_data_dir(MP_DATA)
    assert len(clips) == 15
    assert Counter(c.label for c in clips) == {"book": 5, "drink": 5, "yes": 5}
    with np.load(WLASL, allow_pickle=False) as z:
        labels, sequences = z["label"], z["sequence"]
    for clip in clips:
        gloss, seq = clip.group.split("/")  # type: ignore[union-attr]
        assert clip.source == str(MP_DATA / gloss / seq)
        (i,) = np.flatnonzero((labels == gloss) & (sequences == int(seq)))
        assert clip.label == wlasl[i].label
        np.testing.assert_array_equal(clip.landmarks, wlasl[i].landmarks)
        np.testing.assert_array_equal(clip.presence, wlasl[i].presence)
        np.testing.assert_allclose(clip.pose, wlasl[i].pose, atol=1e-6)  # type: ignore[arg-type]


def test_mp_data_frames_sorted_numerically() -> None:
    clip = next(c for c in load_mp_data_dir(MP_DATA) if c.group == "book/3")
    for frame in (2, 10, 29):
        raw = np.load(MP_DATA / "book" / "3" / f"{frame}.npy", allow_pickle=False)
        expected = raw[44:].reshape(2, 21, 3).astype(np.float32)
        np.testing.assert_array_equal(clip.landmarks[frame], expected)


def _copy_sequence(tmp_path: Path, gloss: str = "book", seq: str = "0") -> Path:
    root = tmp_path / "MP_Data"
    shutil.copytree(MP_DATA / gloss / seq, root / gloss / seq)
    return root


def test_mp_data_wrong_length_names_file(tmp_path: Path) -> None:
    root = _copy_sequence(tmp_path)
    bad = root / "book" / "0" / "5.npy"
    np.save(bad, np.zeros(169))
    message = _raise_data_error(lambda: load_mp_data_dir(root), bad)
    assert "170" in message


def test_mp_data_corrupt_and_empty(tmp_path: Path) -> None:
    root = _copy_sequence(tmp_path)
    bad = root / "book" / "0" / "7.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    _raise_data_error(lambda: load_mp_data_dir(root), bad)
    bad.unlink()
    (root / "book" / "1").mkdir()
    _raise_data_error(lambda: load_mp_data_dir(root), root / "book" / "1")
    empty = tmp_path / "empty"
    empty.mkdir()
    _raise_data_error(lambda: load_mp_data_dir(empty), empty)
    _raise_data_error(lambda: load_mp_data_dir(tmp_path / "nope"), tmp_path / "nope")


# --------------------------------------------------------------------------- GISLR


def test_gislr_npz(gislr: list[LandmarkClip]) -> None:
    assert len(gislr) == 747
    assert Counter(c.label for c in gislr) == {"hello": 390, "thankyou": 357}
    assert len({c.signer for c in gislr}) == 21
    assert len({c.group for c in gislr}) == 747
    assert all(c.group.startswith("gislr:") for c in gislr)  # type: ignore[union-attr]
    lengths = [c.num_frames for c in gislr]
    assert (min(lengths), max(lengths), int(np.median(lengths))) == (2, 272, 18)
    presence = np.concatenate([c.presence for c in gislr])
    assert len(presence) == 23435
    # README: left hand present in 29% of frames, right in 30%.
    assert presence.mean(axis=0)[LEFT] == pytest.approx(0.29, abs=0.01)
    assert presence.mean(axis=0)[RIGHT] == pytest.approx(0.30, abs=0.01)
    assert all(np.isfinite(c.landmarks).all() for c in gislr)
    # the body: GISLR's pose rows 0, 11-16, 23-26 in every frame Holistic found one
    pose = np.concatenate([c.pose for c in gislr])  # type: ignore[misc]
    assert pose.shape == (23435, 11, 4) and np.isfinite(pose).all()
    nose, left, right = pose[:, 0, :2], pose[:, 1, :2], pose[:, 2, :2]
    seen = pose[:, 0, 3] > 0
    assert seen.mean() > 0.9
    assert (nose[seen, 1] < (left[seen, 1] + right[seen, 1]) / 2).mean() > 0.99  # nose above


def test_gislr_csv_equals_npz(gislr: list[LandmarkClip]) -> None:
    by_group = {c.group: c for c in gislr}
    clips = load_gislr_csv(GISLR_DIR)
    assert len(clips) == 12
    for clip in clips:
        ref = by_group[clip.group]
        assert (clip.label, clip.signer) == (ref.label, ref.signer)
        np.testing.assert_array_equal(clip.presence, ref.presence)
        np.testing.assert_array_equal(clip.landmarks, ref.landmarks)
    # The csv file itself works as well as its folder.
    again = load_gislr_csv(GISLR_DIR / "train.csv")
    assert [c.group for c in again] == [c.group for c in clips]


def _gislr_copy(tmp_path: Path) -> Path:
    """A one-row GISLR layout with a real parquet file."""
    row = "train_landmark_files/37779/1033181756.parquet"
    (tmp_path / row).parent.mkdir(parents=True)
    shutil.copy(GISLR_DIR / row, tmp_path / row)
    (tmp_path / "train.csv").write_text(
        f"path,participant_id,sequence_id,sign\n{row},37779,1033181756,hello\n"
    )
    return tmp_path / row


def test_gislr_csv_bad_inputs(tmp_path: Path) -> None:
    parquet = _gislr_copy(tmp_path)
    csv = tmp_path / "train.csv"
    assert len(load_gislr_csv(tmp_path)) == 1
    parquet.write_bytes(os.urandom(256))
    _raise_data_error(lambda: load_gislr_csv(tmp_path), parquet)
    parquet.unlink()
    _raise_data_error(lambda: load_gislr_csv(tmp_path), parquet)
    csv.write_text("path,sign\nx.parquet,hello\n")
    message = _raise_data_error(lambda: load_gislr_csv(csv), csv)
    assert "participant_id" in message
    csv.write_text("path,participant_id,sequence_id,sign\n")
    _raise_data_error(lambda: load_gislr_csv(csv), csv)
    csv.write_bytes(b"")
    _raise_data_error(lambda: load_gislr_csv(csv), csv)
    _raise_data_error(lambda: load_gislr_csv(tmp_path / "none"), tmp_path / "none")


def test_gislr_npz_bad_offsets(tmp_path: Path) -> None:
    with np.load(GISLR, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["offsets"] = arrays["offsets"].copy()
    arrays["offsets"][-1] += 5
    bad = tmp_path / "gislr.npz"
    np.savez(bad, **arrays)
    _raise_data_error(lambda: load_gislr_npz(bad), bad)


# --------------------------------------------------------------------------- letters


def test_letters_counts_and_slots(letters: list[LandmarkClip]) -> None:
    assert len(letters) == 520
    counts = Counter(c.label for c in letters)
    assert sorted(counts) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert set(counts.values()) == {20}
    assert len({c.group for c in letters}) == 26 * 5
    assert {c.landmarks.shape for c in letters} == {(30, 2, 21, 3)}
    for c in letters:
        assert c.presence[:, RIGHT].all() and not c.presence[:, LEFT].any()
        assert c.timestamps is None and c.signer is None
    # Un-mirrored, the recorded hand is a right hand (a left one as stored in the source).
    scores = [track_chirality(c.landmarks, c.presence)[RIGHT] for c in letters]
    assert np.mean(np.array(scores) > 0) > 0.95


# --------------------------------------------------------------------------- fingerspelling16


def test_fingerspelling16_photos_become_held_letters_by_person(shared_data: Path) -> None:
    path = shared_data / "fingerspelling16.npz"
    clips = load_dataset(path)
    assert len(clips) == 2880
    assert len({c.signer for c in clips}) == 12 and len({c.group for c in clips}) == 12 * 24
    assert Counter(c.label for c in clips) == {chr(c): 120 for c in b"ABCDEFGHIKLMNOPQRSTUVWXY"}
    first = clips[0]
    with np.load(path, allow_pickle=False) as z:
        photo, where = z["hand"][0], str(z["path"][0])
    assert first.landmarks.shape == (30, 2, 21, 3) and first.source == f"{path}#{where}"
    assert (first.landmarks[:, RIGHT] == photo).all() and not first.presence[:, LEFT].any()
    scores = [track_chirality(c.landmarks, c.presence)[RIGHT] for c in clips]
    assert np.mean(np.array(scores) > 0) > 0.99  # the signers' right hands, as photographed


def test_fingerspelling16_without_people_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "no_people.npz"
    np.savez(bad, hand=np.zeros((2, 21, 3), np.float32), label=np.array(["A", "B"]),
             person=np.array(["u1", "u2"]))  # fmt: skip
    _raise_data_error(lambda: load_fingerspelling_npz(bad), bad)


def test_letters_windows_stay_inside_contiguous_blocks(letters: list[LandmarkClip]) -> None:
    with np.load(LETTERS, allow_pickle=False) as z:
        hand, label, frame_index = z["hand"], z["label"], z["frame_index"]
    for letter in ("A", "J", "Q"):
        rows = np.flatnonzero(label == letter)
        rows = rows[np.argsort(frame_index[rows])]
        raw = hand[rows].copy()
        raw[..., 0] = 1.0 - raw[..., 0]  # the loader un-mirrors the selfie view
        bounds = np.cumsum([0] + [len(b) for b in np.array_split(np.arange(len(rows)), 5)])
        clips = [c for c in letters if c.label == letter]
        for clip in clips:
            block = int(clip.group.rsplit(":", 1)[1])  # type: ignore[union-attr]
            matches = [
                s
                for s in range(len(raw) - 29)
                if np.array_equal(raw[s : s + 30], clip.landmarks[:, RIGHT])
            ]
            assert len(matches) == 1
            start = matches[0]
            assert bounds[block] <= start and start + 30 <= bounds[block + 1]


def test_letter_windows_unit() -> None:
    assert letter_windows(10, window=3, stride=2, blocks=2) == [(0, 0), (0, 2), (1, 5), (1, 7)]
    # Blocks of 4, 3, 3 frames: windows of 3 fit once per block, never across.
    assert letter_windows(10, window=3, stride=1, blocks=3) == [
        (0, 0),
        (0, 1),
        (1, 4),
        (2, 7),
    ]
    assert letter_windows(5, window=6, stride=1, blocks=1) == []


def test_letters_options(tmp_path: Path) -> None:
    one_block = load_letters_npz(LETTERS, window=100, stride=100, blocks=1)
    assert Counter(c.label for c in one_block)["A"] == 4  # 404 frames -> starts 0..300
    _raise_data_error(lambda: load_letters_npz(LETTERS, window=100, blocks=5), LETTERS)
    with pytest.raises(ConfigError):
        load_letters_npz(LETTERS, stride=0)


# --------------------------------------------------------------------------- store, dispatch


def test_load_store_round_trip(tmp_path: Path, wlasl: list[LandmarkClip]) -> None:
    store = ClipStore(tmp_path / "store", create=True)
    store.add(wlasl[0], "a")
    store.add(wlasl[1], "b")
    clips = load_store(tmp_path / "store")
    assert [c.group for c in clips] == [wlasl[0].group, wlasl[1].group]
    np.testing.assert_array_equal(clips[1].landmarks, wlasl[1].landmarks)
    assert [c.group for c in load_dataset(tmp_path / "store")] == [c.group for c in clips]
    empty = tmp_path / "empty_store"
    ClipStore(empty, create=True)
    _raise_data_error(lambda: load_store(empty), empty)


@pytest.mark.parametrize(
    ("path", "count", "first_group"),
    [
        (WLASL, 1500, None),
        (GISLR, 747, None),
        (LETTERS, 520, "letters:A:0"),
        (MP_DATA, 15, "book/0"),
        (GISLR_DIR, 12, "gislr:1031693648"),
        (GISLR_DIR / "train.csv", 12, "gislr:1031693648"),
    ],
)
def test_load_dataset_dispatch(path: Path, count: int, first_group: str | None) -> None:
    clips = load_dataset(str(path))
    assert len(clips) == count
    if first_group is not None:
        assert clips[0].group == first_group


def test_load_datasets_concatenates() -> None:
    clips = load_datasets([MP_DATA, GISLR_DIR])
    assert len(clips) == 27
    assert clips[0].label == "book" and clips[-1].label == "thankyou"
    assert len(load_datasets(str(MP_DATA))) == 15  # one path, not its characters
    with pytest.raises(DataError):
        load_datasets([])


# --------------------------------------------------------------------------- bad inputs


def _write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def _wlasl_arrays(n: int = 2) -> dict[str, np.ndarray]:
    """The first ``n`` real WLASL sequences, to be broken one way or another."""
    with np.load(WLASL, allow_pickle=False) as z:
        return {k: z[k][:n].copy() for k in z.files}


def test_missing_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.npz"
    for loader in (load_wlasl_npz, load_gislr_npz, load_letters_npz, load_dataset):
        _raise_data_error(lambda loader=loader: loader(missing), missing)
    _raise_data_error(lambda: load_store(tmp_path / "nostore"), tmp_path / "nostore")


def test_corrupt_npz(tmp_path: Path) -> None:
    noise = tmp_path / "noise.npz"
    noise.write_bytes(os.urandom(2048))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(LETTERS.read_bytes()[: LETTERS.stat().st_size // 2])
    single = tmp_path / "single.npz"
    with open(single, "wb") as fh:
        np.save(fh, np.zeros(3))
    for bad in (noise, truncated, single):
        message = _raise_data_error(lambda bad=bad: load_dataset(bad), bad)
        assert "allow_pickle" not in message  # never advise unpickling a data file
        _raise_data_error(lambda bad=bad: load_wlasl_npz(bad), bad)
        _raise_data_error(lambda bad=bad: load_letters_npz(bad), bad)


def test_pickled_npz_refused(tmp_path: Path) -> None:
    arrays = _wlasl_arrays()
    arrays["label"] = arrays["label"].astype(object)
    bad = _write_npz(tmp_path / "pickled.npz", **arrays)
    message = _raise_data_error(lambda: load_wlasl_npz(bad), bad)
    assert "never loaded" in message


def test_missing_keys_and_wrong_shapes(tmp_path: Path) -> None:
    arrays = _wlasl_arrays()
    no_group = _write_npz(tmp_path / "no_group.npz", hands=arrays["hands"], label=arrays["label"])
    message = _raise_data_error(lambda: load_wlasl_npz(no_group), no_group)
    assert "group" in message
    wrong = dict(arrays, hands=arrays["hands"][:, :, :, :20])
    bad_shape = _write_npz(tmp_path / "bad_shape.npz", **wrong)
    _raise_data_error(lambda: load_wlasl_npz(bad_shape), bad_shape)
    short = _write_npz(tmp_path / "short.npz", **dict(arrays, label=arrays["label"][:1]))
    _raise_data_error(lambda: load_wlasl_npz(short), short)
    with np.load(LETTERS, allow_pickle=False) as z:
        flat = _write_npz(
            tmp_path / "flat.npz",
            hand=z["hand"][:100].reshape(100, 63),
            label=z["label"][:100],
            frame_index=z["frame_index"][:100],
        )
    _raise_data_error(lambda: load_letters_npz(flat), flat)


def test_nan_refused_where_format_has_none(tmp_path: Path) -> None:
    arrays = _wlasl_arrays()
    arrays["hands"][1, 3, 1, 0, 0] = np.nan
    bad = _write_npz(tmp_path / "nan_wlasl.npz", **arrays)
    _raise_data_error(lambda: load_wlasl_npz(bad), bad)
    with np.load(LETTERS, allow_pickle=False) as z:
        hand = z["hand"].copy()
        hand[5, 0, 0] = np.nan
        bad = _write_npz(
            tmp_path / "nan_letters.npz", hand=hand, label=z["label"], frame_index=z["frame_index"]
        )
    _raise_data_error(lambda: load_letters_npz(bad), bad)


def test_empty_data_set(tmp_path: Path) -> None:
    empty = _write_npz(tmp_path / "empty.npz", **_wlasl_arrays(0))
    message = _raise_data_error(lambda: load_dataset(empty), empty)
    assert "empty" in message


def test_unrecognised_inputs(tmp_path: Path) -> None:
    other = _write_npz(tmp_path / "other.npz", x=np.zeros(3))
    message = _raise_data_error(lambda: load_dataset(other), other)
    assert "hands+group" in message
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    _raise_data_error(lambda: load_dataset(text), text)
    folder = tmp_path / "folder"
    (folder / "a" / "b").mkdir(parents=True)
    _raise_data_error(lambda: load_dataset(folder), folder)
    _raise_data_error(lambda: load_datasets([MP_DATA, text]), text)


def test_integer_landmarks_refused(tmp_path: Path) -> None:
    arrays = _wlasl_arrays()
    arrays["hands"] = (arrays["hands"] * 1000).astype(np.int32)
    bad = _write_npz(tmp_path / "int_wlasl.npz", **arrays)
    message = _raise_data_error(lambda: load_dataset(bad), bad)
    assert "floating point" in message
    with np.load(LETTERS, allow_pickle=False) as z:
        bad = _write_npz(
            tmp_path / "int_letters.npz",
            hand=z["hand"].astype(np.int64),
            label=z["label"],
            frame_index=z["frame_index"],
        )
    assert "floating point" in _raise_data_error(lambda: load_letters_npz(bad), bad)


def test_a_file_of_no_known_kind_says_what_is_read(tmp_path: Path) -> None:
    """A photo format aslrec does not read (HEIC), given as data: the error lists the data
    set files, and the videos and photos that predict and extract take instead."""
    heic = tmp_path / "IMG_0001.heic"
    heic.write_bytes(b"\0\0\0\x18ftypheic")
    with pytest.raises(DataError, match=r"unsupported data set file .* \.jpg .*aslrec extract"):
        load_dataset(heic)
