"""Balanced clip weights: within a class every data set (``source_balanced``) or every signer
(``signer_balanced``) weighs the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aslrec.errors import ConfigError
from aslrec.models.registry import create_model
from aslrec.runs.config import preset
from aslrec.runs.directory import RunDirectory
from aslrec.training.module import (
    ClassifierModule,
    balanced_weights,
    class_weights,
    signer_units,
)
from aslrec.workflows.convert import convert
from aslrec.workflows.train import train

CONFIG = preset("seed").updated(epochs=1, batch_size=8, threads=1, source_balanced=True)


def test_each_source_gets_an_equal_share_of_its_class_and_classes_keep_their_weight() -> None:
    y = np.array([0] * 90 + [0] * 10 + [1] * 20 + [2] * 5)
    origin = np.array([0] * 90 + [1] * 10 + [0] * 20 + [1] * 5)
    weights = balanced_weights(y, origin, 3, class_weighted=True)
    per_class = class_weights(y, 3).numpy()
    for c in range(3):
        assert weights[y == c].sum() == pytest.approx(per_class[c] * (y == c).sum(), rel=1e-5)
    # class 0: 90 clips of source 0 and 10 of source 1 share its weight half and half
    assert weights[:90].sum() == pytest.approx(weights[90:100].sum(), rel=1e-5)
    assert weights[95] == pytest.approx(9 * weights[5], rel=1e-5)
    unweighted = balanced_weights(y, origin, 3, class_weighted=False)
    assert unweighted[y == 1] == pytest.approx(np.ones(20))
    assert unweighted[:100].sum() == pytest.approx(100)


def test_signer_units_name_people_per_data_set_then_recordings_then_clips() -> None:
    origin = np.array([0, 0, 0, 1, 1, 1, 1])
    signers = ["a", "a", "b", "a", None, None, None]
    groups = ["v1", "v2", "v3", "v4", "rec1", "rec1", None]
    units = signer_units(origin, signers, groups)
    assert units[0] == units[1] != units[2]  # one signer's two videos are one person
    assert units[3] != units[0]  # another data set's "a" is someone else
    assert units[4] == units[5]  # no signer id: one recording is one unit
    assert len({*units.tolist()}) == 5  # a clip with neither is its own unit


def test_signer_balancing_gives_each_person_an_equal_share_of_a_class() -> None:
    # class 0: one signer with 40 clips (one recording set), 8 people with one clip each
    y = np.zeros(48, dtype=np.int64)
    origin = np.array([0] * 40 + [1] * 8)
    signers = ["solo"] * 40 + [f"p{i}" for i in range(8)]
    units = signer_units(origin, signers, [None] * 48)
    weights = balanced_weights(y, units, 1, class_weighted=False)
    assert weights[:40].sum() == pytest.approx(weights[40]) == pytest.approx(48 / 9)
    assert weights.sum() == pytest.approx(48)
    # source balancing would have given the one signer half of the class
    by_source = balanced_weights(y, origin, 1, class_weighted=False)
    assert by_source[:40].sum() == pytest.approx(24)


def test_source_and_signer_balancing_are_exclusive() -> None:
    with pytest.raises(ConfigError, match="choose one"):
        preset("seed").updated(source_balanced=True, signer_balanced=True)


def test_the_loss_is_the_weighted_mean_of_each_clips_loss() -> None:
    config = preset("seed").updated(label_smoothing=0.1, source_balanced=True)
    module = ClassifierModule(create_model("seed", num_classes=4), config, None)
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    weight = torch.tensor([1.0, 2.0, 0.5, 0.5, 3.0, 1.0])
    per_clip = F.cross_entropy(logits, target, reduction="none", label_smoothing=0.1)
    expected = (per_clip * weight).sum() / weight.sum()
    assert module._loss(logits, target, weight).item() == pytest.approx(expected.item())
    # equal weights: the plain mean, as without them
    assert module._loss(logits, target, torch.ones(6)).item() == pytest.approx(
        module._loss(logits, target, None).item()
    )


def test_a_source_balanced_run_trains_and_records_it(
    mp_data: Path, shared_data: Path, tmp_path: Path
) -> None:
    extra = shared_data / "samples" / "gislr" / "train.csv"
    result = train([mp_data], tmp_path / "run", CONFIG, train_only=[extra], progress=False)
    run = RunDirectory(result.run_dir)
    assert run.training.optim.source_balanced is True
    assert {"hello", "thank_you"} < set(run.classes)


def test_a_signer_balanced_run_trains_and_records_it(
    mp_data: Path, shared_data: Path, tmp_path: Path
) -> None:
    extra = shared_data / "samples" / "gislr" / "train.csv"
    config = CONFIG.updated(source_balanced=False, signer_balanced=True)
    result = train([mp_data], tmp_path / "run", config, train_only=[extra], progress=False)
    optim = RunDirectory(result.run_dir).training.optim
    assert optim.signer_balanced is True and optim.source_balanced is False


def test_streamed_data_refuses_source_balancing(mp_data: Path, tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    convert([mp_data], shards)
    with pytest.raises(ConfigError, match="source_balanced"):
        train([shards], tmp_path / "run", CONFIG, progress=False)
    assert not (tmp_path / "run").exists()
