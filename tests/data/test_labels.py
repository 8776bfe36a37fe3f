"""The card's vocabulary, label spelling normalisation and the pickle-free label encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aslrec.data.labels import (
    CARD_CLASSES,
    SYNONYMS,
    LabelEncoder,
    canonical_label,
)
from aslrec.errors import DataError

LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]


def test_card_classes() -> None:
    assert len(CARD_CLASSES) == 77
    assert len(set(CARD_CLASSES)) == 77
    assert list(CARD_CLASSES[:26]) == LETTERS
    assert CARD_CLASSES[26:30] == ("hello", "goodbye", "please", "thank_you")
    assert CARD_CLASSES[-1] == "tired"
    assert all(canonical_label(c) == c for c in CARD_CLASSES)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a", "A"),
        (" z ", "Z"),
        ("A", "A"),
        ("Hello", "hello"),
        ("thankyou", "thank_you"),
        ("thank you", "thank_you"),
        ("Thank-You", "thank_you"),
        ("THANKS", "thank_you"),
        ("thank_you", "thank_you"),
        ("bye", "goodbye"),
        ("good bye", "goodbye"),
        ("good-bye", "goodbye"),
        ("hi", "hello"),
        ("apple", "apple"),
        ("Apple", "apple"),
        ("thanks  giving", "thanks_giving"),
        ("thanksgiving", "thanksgiving"),  # a WLASL class of its own, not thank_you
    ],
)
def test_canonical_label(raw: str, expected: str) -> None:
    assert canonical_label(raw) == expected


def test_synonyms_table_is_consistent() -> None:
    for key, value in SYNONYMS.items():
        assert value in CARD_CLASSES, value
        assert key not in CARD_CLASSES, key
        assert canonical_label(key) == value
        assert key == key.lower() and " " not in key and "-" not in key  # normalised keys


def test_canonical_label_empty() -> None:
    with pytest.raises(DataError):
        canonical_label("  ")


def test_encoder_sorted_like_sklearn() -> None:
    encoder = LabelEncoder.fit(CARD_CLASSES)
    assert len(encoder) == 77
    assert encoder.classes == sorted(CARD_CLASSES)
    assert encoder.classes[:26] == LETTERS and encoder.classes[26] == "afternoon"
    assert encoder.classes == np.unique(np.asarray(CARD_CLASSES)).tolist()


def test_encoder_round_trip() -> None:
    encoder = LabelEncoder.fit(["yes", "no", "A", "no", "hello"])
    assert encoder.classes == ["A", "hello", "no", "yes"]
    codes = encoder.encode(["yes", "A", "no"])
    assert codes.dtype == np.int64
    assert codes.tolist() == [3, 0, 2]
    assert encoder.decode(codes) == ["yes", "A", "no"]
    assert encoder.decode(np.int64(1)) == ["hello"]
    assert encoder.decode([]) == []
    assert encoder.encode([]).shape == (0,)


def test_encoder_errors() -> None:
    encoder = LabelEncoder.fit(CARD_CLASSES)
    with pytest.raises(DataError, match=r"unknown label 'xyz' \(known: A, B, C"):
        encoder.encode(["A", "xyz"])
    with pytest.raises(DataError, match="out of range"):
        encoder.decode([77])
    with pytest.raises(DataError, match="out of range"):
        encoder.decode([-1])
    with pytest.raises(DataError):
        LabelEncoder.fit([])
    with pytest.raises(DataError, match="duplicate"):
        LabelEncoder(["a", "b", "a"])


def test_save_load(tmp_path: Path) -> None:
    encoder = LabelEncoder.fit(CARD_CLASSES)
    written = encoder.save(tmp_path / "model")
    assert written == tmp_path / "model" / "label_encoder_classes.npy"
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]  # no temp left
    raw = np.load(written, allow_pickle=False)
    assert raw.dtype.kind == "U"
    assert raw.tolist() == encoder.classes
    # The card's own loading code passes allow_pickle=True; that must work too.
    assert np.load(written, allow_pickle=True).tolist() == encoder.classes
    assert LabelEncoder.load(tmp_path / "model") == encoder
    assert LabelEncoder.load(written) == encoder
    other = encoder.save(tmp_path / "elsewhere.npy")
    assert LabelEncoder.load(other) == encoder


def test_load_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match="no such"):
        LabelEncoder.load(missing)
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array(["a", "b"], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="string array"):
        LabelEncoder.load(pickled)
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not a numpy file at all")
    with pytest.raises(DataError, match=r"not a \.npy file") as info:
        LabelEncoder.load(garbage)
    assert str(garbage) in str(info.value)
    numbers = tmp_path / "numbers.npy"
    np.save(numbers, np.arange(3))
    with pytest.raises(DataError, match="class names"):
        LabelEncoder.load(numbers)


def test_real_labels_map_onto_card() -> None:
    """GISLR's and WLASL's spellings, canonicalised, land on the card's classes (README)."""
    gislr = ["hello", "thankyou"]
    wlasl_on_card = ["book", "drink", "family", "go", "help", "no", "school", "yes"]
    for label in gislr + wlasl_on_card:
        assert canonical_label(label) in CARD_CLASSES
    assert canonical_label("mother") == "mother"  # not on the card; stays its own class
