"""Distillation: teacher probabilities from real runs, the loss, and the guard against leakage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aslrec.data.labels import canonical_clips
from aslrec.data.loaders import load_dataset
from aslrec.errors import ConfigError
from aslrec.models.registry import create_model
from aslrec.runs import artifacts
from aslrec.runs.config import preset
from aslrec.runs.directory import RunDirectory
from aslrec.training.distill import (
    distillation_loss,
    load_teachers,
    online_teacher_probabilities,
    teacher_probabilities,
)
from aslrec.training.module import ClassifierModule
from aslrec.workflows.train import predict_proba, train

TEACHER = preset("seed").updated(epochs=3, patience=3, batch_size=8, threads=1)


@pytest.fixture(scope="module")
def teacher_dir(mp_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "seed"
    train([mp_data], out, TEACHER, progress=False)
    return out


def test_teacher_probabilities_are_the_teachers_softened_predictions(
    teacher_dir: Path, mp_data: Path
) -> None:
    from aslrec.data.preprocessing import arrays_for_model

    clips = canonical_clips(load_dataset(mp_data))
    run = RunDirectory(teacher_dir)
    [teacher] = load_teachers([str(teacher_dir)], run.classes, TEACHER.split, "val-fold")
    plain = teacher_probabilities([teacher], clips, 1.0)
    x, mask = arrays_for_model(clips, run.preprocessing)
    assert np.allclose(plain, predict_proba(run.model, x, mask), atol=1e-6)
    softened = teacher_probabilities([teacher, teacher], clips, 4.0)
    assert np.allclose(softened.sum(axis=1), 1, atol=1e-5)
    assert softened.max(axis=1).mean() < plain.max(axis=1).mean()  # softer
    online = online_teacher_probabilities(
        [teacher.model], torch.from_numpy(x), torch.from_numpy(mask), 4.0
    )
    assert np.allclose(online.numpy(), softened, atol=1e-5)


def test_teacher_that_saw_the_held_out_clips_or_other_classes_is_refused(
    teacher_dir: Path,
) -> None:
    classes = RunDirectory(teacher_dir).classes
    same_fold, other_fold = TEACHER.split, TEACHER.updated(fold=1).split
    with pytest.raises(ConfigError, match="another split"):
        load_teachers([str(teacher_dir)], classes, other_fold, "val-fold")
    with pytest.raises(ConfigError, match="classes differ"):
        load_teachers([str(teacher_dir)], [*classes, "zebra"], same_fold, "val-fold")
    # The teacher picked its epoch on the held-out fold: not a teacher for an honest student.
    for honest in ("inner", "fixed"):
        with pytest.raises(ConfigError, match="chose its epoch on the held-out fold"):
            load_teachers([str(teacher_dir)], classes, same_fold, honest)


def test_distillation_loss_is_zero_only_when_the_student_agrees() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]])
    for temperature in (1.0, 2.0, 4.0):
        agreeing = torch.softmax(logits / temperature, dim=1)
        assert distillation_loss(logits, agreeing, temperature).abs() < 1e-6
        disagreeing = agreeing.flip(dims=[1])
        assert distillation_loss(logits, disagreeing, temperature) > 0.1


def test_training_step_learns_from_the_teacher() -> None:
    """With ``distill_weight=1`` the training loss is the distillation loss alone; at 0.5 it
    is halfway between that and the label loss; online teachers predict on the batch itself
    and are not part of what is saved."""
    config = preset("best-fast").updated(augment={}, distill_weight=1.0, teachers=["t"])
    torch.manual_seed(0)
    model = create_model("isl-hybrid", num_classes=3, **config.model.kwargs)
    module = ClassifierModule(model, config, None)
    module.log = lambda *args, **kwargs: None  # type: ignore[method-assign]
    landmarks, mask = torch.randn(4, 30, 2, 21, 3), torch.ones(4, 30)
    labels = torch.tensor([0, 1, 2, 0])
    teacher = torch.softmax(torch.randn(4, 3), dim=1)
    model.eval()  # no dropout: the same logits in every call
    logits = model(landmarks, mask)
    temperature = config.distill.temperature
    expected = distillation_loss(logits, teacher, temperature)
    pure = module._step((landmarks, mask, labels, teacher), "train")
    assert torch.allclose(pure, expected, atol=1e-5)
    module.config = config.updated(distill_weight=0.5)
    label_loss = module._step((landmarks, mask, labels), "train")
    half = module._step((landmarks, mask, labels, teacher), "train")
    assert torch.allclose(half, (label_loss + expected) / 2, atol=1e-5)

    teacher_model = create_model("seed", num_classes=3)
    online = ClassifierModule(model, config.updated(distill_online=True), None, [teacher_model])
    online.log = module.log  # type: ignore[method-assign]
    soft = online_teacher_probabilities([teacher_model], landmarks, mask, temperature)
    expected = distillation_loss(logits, soft, temperature)
    assert torch.allclose(online._step((landmarks, mask, labels), "train"), expected, atol=1e-5)
    assert not teacher_model.training
    assert all(key.startswith(("model.", "loss.")) for key in online.state_dict())


@pytest.mark.parametrize("online", [False, True])
def test_distilled_run_records_its_teachers(
    teacher_dir: Path, mp_data: Path, tmp_path: Path, online: bool
) -> None:
    config = preset("best-fast").updated(
        epochs=2,
        patience=2,
        batch_size=8,
        threads=1,
        selection="val-fold",  # 4 clips per class: too few for an inner split
        teachers=[str(teacher_dir)],
        distill_online=online,
    )
    result = train([mp_data], tmp_path / "student", config, progress=False)
    saved = json.loads((result.run_dir / "model_config.json").read_text())
    assert saved["training"]["distill"]["teachers"] == [str(teacher_dir)]
    assert saved["training"]["distill"]["online"] is online
    assert saved["model_kwargs"]["conv_per_stage"] == 1
    assert np.isfinite(artifacts.load_history(result.run_dir)["train_loss"]).all()


def test_bad_distillation_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="distill_weight"):
        preset("best-fast").updated(distill_weight=0.0)
    with pytest.raises(ConfigError, match="teachers"):
        preset("best-fast").updated(teachers="runs/seed")
