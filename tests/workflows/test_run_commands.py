"""`aslrec evaluate`, `calibrate` and `models` on a tiny real run: evaluate finds the data the
run records, calibrate says loudly (and in its exit status) when it misses its target, models
says for how many classes its parameter counts are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aslrec.errors import ExitCode
from aslrec.runs.config import preset
from aslrec.workflows.evaluate import evaluate_run
from aslrec.workflows.train import train


@pytest.fixture(scope="module")
def run_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch on the 15 MP_Data clips, 3 folds (5 held-out clips)."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    config = preset("seed").updated(epochs=1, batch_size=8, folds=3, threads=1)
    train([shared_data / "samples" / "MP_Data"], out, config, progress=False)
    return out


def test_evaluate_defaults_to_the_recorded_data(
    run_dir: Path, shared_data: Path, aslrec_cli: Callable[..., Any]
) -> None:
    recorded = evaluate_run(run_dir, out=run_dir / "a")
    given = evaluate_run(run_dir, [shared_data / "samples" / "MP_Data"], out=run_dir / "b")
    assert recorded.num_clips == given.num_clips == 5
    assert recorded.report.top1 == given.report.top1
    everything = evaluate_run(run_dir, out=run_dir / "c", held_out_only=False)
    assert everything.num_clips == 15
    result = aslrec_cli("evaluate", run_dir, "--out", run_dir / "d")
    assert result.returncode == 0, result.stderr
    assert "5 clips (held-out fold)" in result.stdout


def test_calibrate_missing_its_target_exits_non_zero(
    run_dir: Path, aslrec_cli: Callable[..., Any]
) -> None:
    result = aslrec_cli("calibrate", run_dir, "--target-accuracy", "1.0")
    assert result.returncode == ExitCode.TARGET_NOT_REACHED, result.stderr
    assert "NOT reached" in result.stderr
    assert (run_dir / "calibration.json").is_file()  # written anyway, and said so
    reachable = aslrec_cli("calibrate", run_dir, "--target-accuracy", "0.01")
    assert reachable.returncode == 0, reachable.stderr
    assert "NOT reached" not in reachable.stderr


def test_models_says_for_how_many_classes(aslrec_cli: Callable[..., Any]) -> None:
    result = aslrec_cli("models")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert "77 classes" in header
    assert any(row.split() == ["seed", "3,258,574"] for row in rows)
