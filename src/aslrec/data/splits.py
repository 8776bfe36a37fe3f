"""Leakage-safe, stratified, deterministic folds.

Every split keeps a *group* on one side: WLASL-50 near-duplicate sequences share a group,
letter windows from one contiguous block of frames share a group (random frames leak: consecutive
frames are near-identical), and with ``strategy="signer"`` all clips of one signer/participant
share a group, which is the signer-independent check the card's "next steps" ask for.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.plaindata import PlainData

SplitStrategy = Literal["stratified", "signer"]
Selection = Literal["val-fold", "inner", "fixed"]
"""What picks a run's epoch: the held-out fold itself (the card's recipe), an inner split of the
training folds, or nothing (a fixed schedule)."""
INNER_FOLDS = 8


def clip_groups(clips: Sequence[LandmarkClip], strategy: SplitStrategy) -> np.ndarray:
    """The group id of each clip under ``strategy``."""
    return group_ids(
        [c.group for c in clips], [c.signer for c in clips], strategy, lambda i: clips[i].source
    )


def group_ids(
    groups: Sequence[str | None],
    signers: Sequence[str | None],
    strategy: SplitStrategy,
    source: Callable[[int], str],
) -> np.ndarray:
    """:func:`clip_groups` from the clips' ``group`` and ``signer`` fields alone (a streamed
    data set's table); ``source(i)`` names clip ``i`` in an error."""
    # Object arrays: one pointer per clip (equal strings shared), not a fixed-width copy of
    # the longest id per clip; they sort, and so split, exactly like NumPy strings.
    if strategy == "stratified":
        return _objects([g or f"clip:{i}" for i, g in enumerate(groups)])
    if strategy == "signer":
        unknown = [i for i, s in enumerate(signers) if s is None]
        if unknown:
            raise DataError(
                f"{source(unknown[0])}: no signer id, so --split signer is impossible for this "
                f"data ({len(unknown)} clips without one); use --split stratified"
            )
        names = {s: f"signer:{s}" for s in set(signers)}
        return _objects([names[s] for s in signers])
    raise ConfigError(f"unknown split strategy {strategy!r}; use 'stratified' or 'signer'")


def _objects(values: Sequence[object]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def make_folds(
    labels: Sequence[str], groups: Sequence[str], folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train_idx, val_idx) pairs; each group on one side, classes stratified."""
    return list(_fold_pairs(labels, groups, folds, seed))


def make_fold(
    labels: Sequence[str], groups: Sequence[str], folds: int, seed: int, fold: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pair ``fold`` of :func:`make_folds`, the others dropped as they are made: 50 folds of a
    200,000-clip streamed set hold 80 MB of indices."""
    for i, pair in enumerate(_fold_pairs(labels, groups, folds, seed)):
        if i == fold:
            return pair
    raise ConfigError(f"--fold must be in 0..{folds - 1}, got {fold}")


def _fold_pairs(
    labels: Sequence[str], groups: Sequence[str], folds: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    labels_arr = np.asarray(labels)
    groups_arr = np.asarray(groups)
    # Distinct (class, group) pairs per class, counted on integer codes: a set of 200,000
    # (label, group) tuples of NumPy strings would cost ~40 MB of a streamed set's training run.
    classes, label_codes = np.unique(labels_arr, return_inverse=True)
    _, group_codes = np.unique(groups_arr, return_inverse=True)
    width = int(group_codes.max(initial=0)) + 1
    pairs = np.unique(label_codes.astype(np.int64) * width + group_codes)
    per_class = np.bincount(pairs // width, minlength=len(classes))
    groups_per_class = Counter({str(c): int(n) for c, n in zip(classes, per_class, strict=True)})
    if len(groups_per_class) < 2:
        raise DataError("need at least 2 classes to train a classifier")
    too_small = sorted(c for c, n in groups_per_class.items() if n < 2)
    if too_small:
        raise DataError(
            f"class {too_small[0]!r} has only one clip (or one group of clips), so it cannot be "
            f"on both sides of a train/validation split ({len(too_small)} such classes)"
        )
    if width < folds:  # group codes are 0..width - 1
        raise DataError(f"only {width} groups, fewer than --folds {folds}")
    if max(groups_per_class.values()) < folds:
        # sklearn's own error for this names n_splits, not what the user can change.
        raise DataError(
            f"every class has fewer than {folds} clips (or groups of clips), too few for "
            f"{folds} folds; use fewer folds (an inner selection split needs 8 per class)"
        )
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # sklearn warns when a class has fewer groups than folds; some folds then lack that
        # class in validation, which is expected for small classes and not an error.
        warnings.simplefilter("ignore", UserWarning)
        for train, val in splitter.split(np.zeros(len(labels_arr)), labels_arr, groups_arr):
            yield np.sort(train), np.sort(val)


def train_val_split(
    clips: Sequence[LandmarkClip],
    *,
    folds: int = 5,
    fold: int = 0,
    strategy: SplitStrategy = "stratified",
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``fold`` of ``folds``: with the default 5 folds this is the card's 80/20 split."""
    if not 0 <= fold < folds:
        raise ConfigError(f"--fold must be in 0..{folds - 1}, got {fold}")
    labels = [c.label or "" for c in clips]
    return make_fold(labels, clip_groups(clips, strategy), folds, seed, fold)


@dataclass(frozen=True)
class SplitSpec(PlainData):
    """Which clips a run holds out: fold ``fold`` of ``folds`` under ``strategy`` and ``seed``.

    The ``split`` block of a run's ``model_config.json``; with the same clips it reproduces the
    run's held-out fold exactly, which is what makes evaluation and calibration honest.
    """

    strategy: SplitStrategy = "stratified"
    folds: int = 5
    fold: int = 0
    seed: int = 42

    def __post_init__(self) -> None:
        self.check_types()
        if self.folds < 2:
            raise ConfigError(f"folds must be >= 2, got {self.folds}")
        if not 0 <= self.fold < self.folds:
            raise ConfigError(f"fold must be in 0..{self.folds - 1}, got {self.fold}")

    def train_held_out(self, clips: Sequence[LandmarkClip]) -> tuple[np.ndarray, np.ndarray]:
        """``(train, held_out)`` indices of ``clips``."""
        return train_val_split(
            clips, folds=self.folds, fold=self.fold, strategy=self.strategy, seed=self.seed
        )


def split_indices(
    clips: Sequence[LandmarkClip], split: SplitSpec, selection: Selection
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, held_out, selection)`` indices.

    The held-out part is ``split``'s fold. With ``selection="inner"`` the epoch is chosen on
    1/8 of the training part (same group and stratification rules) and the model trains on the
    other 7/8; with ``"fixed"`` nothing is chosen (empty selection); with ``"val-fold"``
    selection uses the held-out fold itself.
    """
    return split_fields(
        [c.label or "" for c in clips],
        [c.group for c in clips],
        [c.signer for c in clips],
        split,
        selection,
        lambda i: clips[i].source,
    )


def split_fields(
    labels: Sequence[str],
    groups: Sequence[str | None],
    signers: Sequence[str | None],
    split: SplitSpec,
    selection: Selection,
    source: Callable[[int], str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`split_indices` from the clips' label, group and signer fields alone: how a
    streamed data set holds out a fold without reading its landmarks (same folds)."""

    def folds(subset: np.ndarray, spec: SplitSpec) -> tuple[np.ndarray, np.ndarray]:
        ids = group_ids(
            [groups[i] for i in subset],
            [signers[i] for i in subset],
            spec.strategy,
            lambda i: source(int(subset[i])),
        )
        train, held = make_fold([labels[i] for i in subset], ids, spec.folds, spec.seed, spec.fold)
        return subset[train], subset[held]

    train_idx, heldout_idx = folds(np.arange(len(labels)), split)
    if selection == "fixed":
        return train_idx, heldout_idx, heldout_idx[:0]
    if selection != "inner":
        return train_idx, heldout_idx, heldout_idx
    inner = dataclasses.replace(split, folds=INNER_FOLDS, fold=0, seed=split.seed + 1)
    fit, select = folds(train_idx, inner)
    return fit, heldout_idx, select


def limit_per_class(
    indices: np.ndarray, labels: Sequence[str], limit: int, seed: int
) -> np.ndarray:
    """At most ``limit`` of ``indices`` per class, chosen reproducibly (learning curves)."""
    rng = np.random.default_rng(seed)
    chosen = np.asarray(labels)[indices]
    keep = [rng.permutation(indices[chosen == label])[:limit] for label in sorted(set(chosen))]
    return np.sort(np.concatenate(keep))
