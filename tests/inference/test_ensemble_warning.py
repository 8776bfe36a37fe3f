"""``aslrec ensemble`` scores the ensemble and its members on their shared held-out fold and
warns on stderr when the ensemble is below its best member (issue #21, item 11)."""

from __future__ import annotations

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
from aslrec.inference.recognizer import Recognizer
from aslrec.runs import artifacts
from aslrec.runs.directory import label_indices
from aslrec.runs.ensemble import held_out_run
from aslrec.workflows.ensemble import EnsembleScore


def record_data(run_dir: Path, dst: Path, data: Path, num_clips: int) -> Path:
    """A copy of ``run_dir`` whose manifest records ``data`` as its training data."""
    shutil.copytree(run_dir, dst)
    config = json.loads((dst / artifacts.CONFIG).read_text())
    config["data"] = {"sources": [str(data)], "num_clips": num_clips}
    (dst / artifacts.CONFIG).write_text(json.dumps(config))
    return dst


@pytest.fixture(scope="module")
def members(
    random_run_dir: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """Two random runs of the same classes that record the same real data and split."""
    root = tmp_path_factory.mktemp("recorded")
    classes = LabelEncoder.load(random_run_dir).classes
    subset = [c for c in load_dataset(shared_data / "wlasl50_mp.npz") if c.label in classes]
    data = root / "data"
    ClipStore(data, create=True).add_all((f"clip{i}", c) for i, c in enumerate(subset))
    other = write_random_run(
        root / "other_random",
        "isl-hybrid",
        classes,
        {"seq_len": 30, "frame_sampling": "span", "dominant_hand": True},
        seed=1,
    )
    return [
        record_data(random_run_dir, root / "a", data, len(subset)),
        record_data(other, root / "b", data, len(subset)),
    ]


def test_ensemble_is_scored_against_its_members(members: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ens"
    result = CliRunner().invoke(app, ["ensemble", *map(str, members), "--out", str(out)])
    assert result.exit_code == 0, result.output
    clips = held_out_run(members).held_out_clips()
    y = label_indices(Recognizer.load(members[0]).classes, clips)

    def top1(model_dir: Path) -> float:
        return float(np.mean(Recognizer.load(model_dir).logits(clips).argmax(axis=1) == y))

    expected = EnsembleScore(top1(out), {str(m): top1(m) for m in members}, len(clips))
    assert result.stderr.strip().splitlines() == [expected.message()]


def test_warning_names_both_numbers() -> None:
    score = EnsembleScore(0.5, {"runs/a": 0.75, "runs/b": 0.25}, 8)
    assert score.message().startswith(
        "warning: the ensemble's held-out top-1 is 50.0%, below its best member runs/a at 75.0%"
    )
    assert not EnsembleScore(0.75, {"runs/a": 0.75}, 8).message().startswith("warning")


def test_members_without_recorded_data_are_not_compared(
    random_run_dir: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["ensemble", str(random_run_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("not compared with its members: ")
    assert "the run records no training data" in line
