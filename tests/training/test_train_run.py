"""A tiny real training run: loss falls, artifacts load back and reproduce the predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aslrec.data.loaders import load_dataset
from aslrec.data.preprocessing import arrays_for_model, clips_to_arrays
from aslrec.errors import ConfigError, DataError
from aslrec.runs import artifacts
from aslrec.runs.config import preset
from aslrec.runs.directory import RunDirectory
from aslrec.training.module import HistoryCallback
from aslrec.workflows.train import predict_proba, train

CONFIG = preset("seed").updated(epochs=6, patience=6, batch_size=8, lr=3e-3, threads=1)


@pytest.fixture(scope="module")
def run_dir(mp_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "seed"
    train([mp_data], out, CONFIG, progress=False)
    return out


def test_artifacts_are_the_cards(run_dir: Path) -> None:
    for name in (
        "best_model.pth",
        "model.safetensors",
        "label_encoder_classes.npy",
        "model_config.json",
        "training_history.npy",
        "training_history.png",
        "evaluation/confusion_matrix.png",
        "evaluation/metrics.json",
    ):
        assert (run_dir / name).is_file(), name
    checkpoint = torch.load(run_dir / "best_model.pth", weights_only=True)
    assert "model_state_dict" in checkpoint
    classes = np.load(run_dir / "label_encoder_classes.npy", allow_pickle=False)
    assert classes.tolist() == ["book", "drink", "yes"]
    config = json.loads((run_dir / "model_config.json").read_text())
    assert config["architecture"] == "seed"
    assert config["num_parameters"] == sum(
        v.numel() for v in checkpoint["model_state_dict"].values() if v.dtype.is_floating_point
    ) - sum(v.numel() for k, v in checkpoint["model_state_dict"].items() if "running" in k)
    assert 1 <= config["best_epoch"] <= config["epochs_run"] <= CONFIG.optim.epochs
    assert config["training"]["optim"]["lr"] == CONFIG.optim.lr


def test_training_loss_falls(run_dir: Path) -> None:
    history = artifacts.load_history(run_dir)
    assert len(history["train_loss"]) == CONFIG.optim.epochs
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_artifacts_reproduce_predictions(run_dir: Path, mp_data: Path) -> None:
    run = RunDirectory(run_dir)
    x, mask = clips_to_arrays(load_dataset(mp_data))
    probs = predict_proba(run.model, x, mask)
    again = predict_proba(RunDirectory(run_dir).model, x, mask)
    assert np.array_equal(probs, again)
    # The .pth and the safetensors copy hold the same weights.
    state = torch.load(run_dir / "best_model.pth", weights_only=True)["model_state_dict"]
    for key, value in artifacts.load_state_dict(run_dir).items():
        assert torch.equal(value, state[key])
    # The recorded accuracy is the model's on the held-out fold, rebuilt from the manifest.
    held_out = run.held_out_clips()
    assert 0 < len(held_out) < len(load_dataset(mp_data))
    held_probs = predict_proba(run.model, *arrays_for_model(held_out, run.preprocessing))
    accuracy = float(np.mean(held_probs.argmax(1) == run.label_indices(held_out)))
    metrics = json.loads((run_dir / "model_config.json").read_text())["metrics"]
    assert metrics["val_top1"] == pytest.approx(accuracy)


def test_same_seed_same_metrics(run_dir: Path, mp_data: Path, tmp_path: Path) -> None:
    again = train([mp_data], tmp_path / "again", CONFIG, progress=False)
    first = artifacts.load_history(run_dir)
    second = artifacts.load_history(again.run_dir)
    assert np.allclose(first["train_loss"], second["train_loss"])
    assert first["val_acc"] == second["val_acc"]


def test_existing_run_is_not_overwritten(run_dir: Path, mp_data: Path) -> None:
    before = (run_dir / "best_model.pth").read_bytes()
    with pytest.raises(ConfigError, match="already holds a trained model"):
        train([mp_data], run_dir, CONFIG, progress=False)
    assert (run_dir / "best_model.pth").read_bytes() == before


def test_bad_data_leaves_no_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, hands=np.zeros((2, 30, 2, 21)), label=np.array(["a", "b"]))
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"bad\.npz"):
        train([bad], out, CONFIG, progress=False)
    assert not out.exists()


def test_resume_continues_from_last_checkpoint(
    mp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CONFIG.updated(epochs=4, patience=4)
    out = tmp_path / "resumable"
    record = HistoryCallback.on_train_epoch_end

    def crash_in_epoch_3(self: HistoryCallback, trainer, pl_module) -> None:  # type: ignore[no-untyped-def]
        if trainer.current_epoch == 2:
            raise RuntimeError("power cut")
        record(self, trainer, pl_module)

    monkeypatch.setattr(HistoryCallback, "on_train_epoch_end", crash_in_epoch_3)
    with pytest.raises(RuntimeError, match="power cut"):
        train([mp_data], out, config, progress=False)
    assert not (out / "model_config.json").exists()
    monkeypatch.setattr(HistoryCallback, "on_train_epoch_end", record)
    result = train([mp_data], out, config, resume=True, progress=False)
    assert result.epochs_run == 4
    history = artifacts.load_history(out)
    assert len(history["train_loss"]) == 4
    uninterrupted = artifacts.load_history(
        train([mp_data], tmp_path / "straight", config, progress=False).run_dir
    )
    assert np.allclose(history["train_loss"][:2], uninterrupted["train_loss"][:2])


def test_last_batch_of_one_clip_does_not_break_batchnorm(mp_data: Path, tmp_path: Path) -> None:
    # 12 training clips in batches of 11 would leave a batch of 1 for BatchNorm.
    result = train(
        [mp_data], tmp_path / "odd", CONFIG.updated(epochs=1, batch_size=11), progress=False
    )
    assert result.epochs_run == 1


def test_ema_weights_are_the_ones_saved(mp_data: Path, tmp_path: Path) -> None:
    """With EMA on, the saved model is the averaged copy, and it reproduces the held-out
    predictions written in the run's report."""
    config = CONFIG.updated(model="isl-hybrid", epochs=3, patience=3, ema=0.9)
    result = train([mp_data], tmp_path / "ema", config, progress=False)
    run = RunDirectory(result.run_dir)
    saved = torch.load(result.run_dir / "best_model.pth", weights_only=True)
    assert not any(
        k.startswith("ema.") or k.startswith("module.") for k in saved["model_state_dict"]
    )
    manifest = json.loads((result.run_dir / "model_config.json").read_text())
    assert manifest["training"]["optim"]["ema"] == 0.9
    clips = load_dataset(mp_data)
    x, mask = clips_to_arrays(clips, seq_len=30)
    assert predict_proba(run.model, x, mask).shape == (len(clips), 3)


def test_ema_out_of_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ema"):
        CONFIG.updated(ema=1.5)


def test_fixed_schedule_keeps_the_last_epoch_and_never_selects_on_held_out_clips(
    mp_data: Path, tmp_path: Path
) -> None:
    config = CONFIG.updated(epochs=3, selection="fixed")
    result = train([mp_data], tmp_path / "fixed", config, progress=False)
    assert result.best_epoch == result.epochs_run == 3
    saved = json.loads((result.run_dir / "model_config.json").read_text())
    assert saved["data"]["num_inner_val"] == 0
    assert saved["data"]["num_train"] + saved["data"]["num_val"] == saved["data"]["num_clips"]
    assert "fixed number of epochs" in saved["metrics"]["epoch_selected_on"]
    history = artifacts.load_history(result.run_dir)
    assert np.isnan(history["val_acc"]).all()  # nothing to select on
    assert len(history["test_acc"]) == 3 and np.isfinite(history["test_acc"]).all()
    # The kept weights are the last epoch's: they reproduce the held-out score.
    last = torch.load(result.run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    state = artifacts.load_state_dict(result.run_dir)
    for key, value in state.items():
        assert torch.equal(value, last["state_dict"][f"model.{key}"])


def test_min_steps_lengthens_short_runs_only() -> None:
    config = CONFIG.updated(epochs=10, min_steps=100)
    assert config.optim.epochs_for(batches_per_epoch=4) == 25  # 10 epochs would be only 40 steps
    assert config.optim.epochs_for(batches_per_epoch=50) == 10  # already 500 steps
    assert CONFIG.optim.epochs_for(batches_per_epoch=4) == CONFIG.optim.epochs  # off by default
    with pytest.raises(ConfigError, match="min_steps"):
        CONFIG.updated(min_steps=-1)


def test_min_steps_sets_the_epochs_a_run_trains(mp_data: Path, tmp_path: Path) -> None:
    config = CONFIG.updated(epochs=1, selection="fixed", min_steps=1)
    saved_one = train([mp_data], tmp_path / "one", config, progress=False)
    batches = -(
        -json.loads((saved_one.run_dir / "model_config.json").read_text())["data"]["num_train"]
        // config.optim.batch_size
    )
    result = train(
        [mp_data], tmp_path / "longer", config.updated(min_steps=2 * batches + 1), progress=False
    )
    assert saved_one.epochs_run == 1
    assert result.epochs_run == result.best_epoch == 3


def test_train_only_data_is_trained_on_but_never_held_out(
    mp_data: Path, shared_data: Path, tmp_path: Path
) -> None:
    """The held-out fold comes from --data alone; every --train-only clip trains, so a small
    signer-labelled set can be scored signer-held-out by a model that also learned the big
    sets."""
    extra = shared_data / "samples" / "gislr" / "train.csv"
    config = CONFIG.updated(epochs=1)
    alone = tmp_path / "alone"
    train([mp_data], alone, config, progress=False)
    both = tmp_path / "both"
    train([mp_data], both, config, train_only=[extra], progress=False)
    run, run_alone = RunDirectory(both), RunDirectory(alone)
    data = run.config["data"]
    assert data["train_only"] == [str(extra)]
    assert "train_only" not in run_alone.config["data"]
    assert data["num_val"] == run_alone.config["data"]["num_val"]
    assert data["num_train"] == run_alone.config["data"]["num_train"] + len(load_dataset(extra))
    assert {"hello", "thank_you"} < set(run.classes)
    held_out = [c.source for c in run.held_out_clips()]
    assert held_out == [c.source for c in run_alone.held_out_clips()]
