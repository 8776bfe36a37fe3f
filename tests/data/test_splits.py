from __future__ import annotations

import numpy as np
import pytest

from aslrec.data.splits import make_folds, train_val_split
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip


def clips(n_classes: int = 3, per_class: int = 10, signers: int = 5) -> list[LandmarkClip]:
    out = []
    for c in range(n_classes):
        for i in range(per_class):
            out.append(
                LandmarkClip(
                    landmarks=np.zeros((1, 2, 21, 3)),
                    presence=np.zeros((1, 2), bool),
                    label=f"c{c}",
                    signer=str(i % signers),
                    group=f"g{c}-{i // 2}",
                )
            )
    return out


def test_folds_partition_and_keep_groups_together() -> None:
    data = clips()
    labels = [c.label or "" for c in data]
    groups = [c.group or "" for c in data]
    folds = make_folds(labels, groups, 5, seed=1)
    seen = np.concatenate([val for _, val in folds])
    assert sorted(seen.tolist()) == list(range(len(data)))
    for train, val in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in val}


def test_split_is_deterministic_and_stratified() -> None:
    data = clips()
    a = train_val_split(data, folds=5, fold=2, seed=7)
    b = train_val_split(data, folds=5, fold=2, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    val_labels = [data[i].label for i in a[1]]
    assert {val_labels.count(f"c{c}") for c in range(3)} == {2}


def test_signer_split_holds_signers_out() -> None:
    data = clips()
    train, val = train_val_split(data, folds=5, fold=0, strategy="signer")
    assert not {data[i].signer for i in train} & {data[i].signer for i in val}


def test_signer_split_without_ids_is_an_error() -> None:
    data = [
        c.__class__(landmarks=c.landmarks, presence=c.presence, label=c.label, source="x.npz")
        for c in clips()
    ]
    with pytest.raises(DataError, match=r"x\.npz: no signer id"):
        train_val_split(data, strategy="signer")


def test_class_with_one_example_is_an_error() -> None:
    labels = ["a"] * 10 + ["b"]
    groups = [str(i) for i in range(11)]
    with pytest.raises(DataError, match="class 'b' has only one clip"):
        make_folds(labels, groups, 5, seed=0)


def test_too_few_clips_per_class_for_the_folds_is_an_error() -> None:
    labels = ["a"] * 4 + ["b"] * 4
    groups = [str(i) for i in range(8)]
    with pytest.raises(DataError, match="every class has fewer than 5 clips"):
        make_folds(labels, groups, 5, seed=0)
