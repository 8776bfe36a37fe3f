"""Ensembles: a directory of member runs that loads and predicts like one model."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from random_runs import write_random_run
from typer.testing import CliRunner

from aslrec.cli import app
from aslrec.data.labels import LabelEncoder
from aslrec.data.loaders import load_dataset
from aslrec.data.store import ClipStore
from aslrec.errors import ModelError
from aslrec.inference.recognizer import Recognizer
from aslrec.runs.ensemble import ENSEMBLE_FILE, create_ensemble


@pytest.fixture(scope="module")
def other_run_dir(random_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same classes as ``random_run_dir``, different (random) weights and architecture."""
    return write_random_run(
        tmp_path_factory.mktemp("other_run"),
        "isl-hybrid",
        LabelEncoder.load(random_run_dir).classes,
        {"seq_len": 30, "frame_sampling": "span", "dominant_hand": True},
        seed=1,
    )


@pytest.fixture(scope="module")
def clips(shared_data: Path) -> list:
    return load_dataset(shared_data / "wlasl50_mp.npz")[:5]


def test_ensemble_directory_averages_member_logits(
    random_run_dir: Path, other_run_dir: Path, clips: list, tmp_path: Path
) -> None:
    written = create_ensemble([random_run_dir, other_run_dir], tmp_path / "ens")
    members = json.loads(written.read_text())["members"]
    assert all(not Path(m).is_absolute() for m in members)  # the folder can move as a whole
    ensemble = Recognizer.load(tmp_path / "ens")
    expected = (
        Recognizer.load(random_run_dir).logits(clips) + Recognizer.load(other_run_dir).logits(clips)
    ) / 2
    assert np.allclose(ensemble.logits(clips), expected, atol=1e-6)
    assert ensemble.classes == Recognizer.load(random_run_dir).classes
    assert len(ensemble.predict_clips(clips)) == len(clips)


def test_members_that_know_other_signs_are_scored_on_what_they_know(
    random_run_dir: Path, clips: list, tmp_path: Path
) -> None:
    """A member with other classes (a letters model beside a words model): the ensemble knows
    every member's signs; a sign two members know gets the mean of their log-probabilities,
    a sign one knows that member's."""
    from aslrec.numerics import logsumexp

    classes = LabelEncoder.load(random_run_dir).classes
    other_classes = [*classes[2:], "zebra"]
    other = write_random_run(tmp_path / "other", "seed", other_classes,
                             {"seq_len": 30, "frame_sampling": "resample"}, seed=3)  # fmt: skip
    written = create_ensemble([random_run_dir, other], tmp_path / "ens")
    ensemble = Recognizer.load(written.parent)
    assert ensemble.classes == [*classes, "zebra"]
    first, second = (Recognizer.load(run).logits(clips) for run in (random_run_dir, other))
    first, second = (z - logsumexp(z)[:, None] for z in (first, second))
    got = ensemble.logits(clips)
    assert np.allclose(got[:, :2], first[:, :2])  # only the first member knows these
    assert np.allclose(got[:, 2 : len(classes)], (first[:, 2:] + second[:, :-1]) / 2)
    assert np.allclose(got[:, -1], second[:, -1])  # only the second knows zebra
    assert len(ensemble.predict_clips(clips)) == len(clips)


def test_members_that_share_no_sign_are_refused(random_run_dir: Path, tmp_path: Path) -> None:
    other = write_random_run(tmp_path / "other", "seed", ["x", "y"],
                             {"seq_len": 30, "frame_sampling": "resample"}, seed=3)  # fmt: skip
    with pytest.raises(ModelError, match="must share some classes"):
        create_ensemble([random_run_dir, other], tmp_path / "ens")
    assert not (tmp_path / "ens" / ENSEMBLE_FILE).exists()


def test_broken_ensemble_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / ENSEMBLE_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not a readable ensemble file"):
        Recognizer.load(tmp_path)


def test_cli_ensemble_then_evaluate_all_clips(
    random_run_dir: Path, other_run_dir: Path, shared_data: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["ensemble", str(random_run_dir), str(other_run_dir), "--out", str(tmp_path / "e")]
    )
    assert made.exit_code == 0, made.output
    data = tmp_path / "data"
    classes = LabelEncoder.load(random_run_dir).classes
    subset = [c for c in load_dataset(shared_data / "wlasl50_mp.npz") if c.label in classes]
    ClipStore(data, create=True).add_all((f"clip{i}", c) for i, c in enumerate(subset[:12]))
    report = tmp_path / "report"
    result = runner.invoke(
        app,
        ["evaluate", str(tmp_path / "e"), "--data", str(data), "--all", "--tta", "--out", report],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["extra"]["tta"] is True and metrics["n"] == 12
    assert len(metrics["extra"]["model"]) == 1 and 0 <= metrics["top1"] <= 1
    with (report / "predictions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["source"]: r["truth"] for r in rows} == {c.source: c.label for c in subset[:12]}
    right = [r["predicted"] == r["truth"] for r in rows]
    assert right == [r["truth_rank"] == "1" for r in rows]
    assert sum(right) / 12 == pytest.approx(metrics["top1"])
    assert all(r["top_k"].split()[0] == r["predicted"] for r in rows)


def test_members_trained_on_other_splits_have_no_common_held_out_fold(
    random_run_dir: Path, shared_data: Path, tmp_path: Path
) -> None:
    from aslrec.errors import ConfigError
    from aslrec.workflows.evaluate import evaluate_run

    other = tmp_path / "fold1"
    shutil.copytree(random_run_dir, other)
    config = json.loads((other / "model_config.json").read_text())
    (other / "model_config.json").write_text(json.dumps(config | {"split": {"fold": 1}}))
    with pytest.raises(ConfigError, match="different splits"):
        evaluate_run([random_run_dir, other], [shared_data / "wlasl50_mp.npz"])
