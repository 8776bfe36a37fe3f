"""`train`, `evaluate` and `predict` given a data set's URL (fsspec's `memory://` here, as
`s3://` would be): the store there gives what the same folder gives, and a run trained on a
URL records it, so `evaluate` finds it again (loading itself: tests/data/test_url_loading.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

fsspec = pytest.importorskip("fsspec")

from typer.testing import CliRunner  # noqa: E402

from aslrec.cli import app  # noqa: E402
from aslrec.data.loaders import load_dataset  # noqa: E402
from aslrec.data.store import ClipStore, RemoteClipStore  # noqa: E402
from aslrec.runs.directory import RunDirectory  # noqa: E402
from aslrec.workflows.evaluate import evaluate_run  # noqa: E402


def stores(shared_data: Path, url: str, folder: Path) -> tuple[str, Path]:
    """The 15 MP_Data clips in a store at ``url`` and in a local store ``folder``."""
    clips = load_dataset(shared_data / "samples" / "MP_Data")
    named = [(f"clip-{i:02d}", clip) for i, clip in enumerate(clips)]
    RemoteClipStore(url, create=True).add_all(named)
    ClipStore(folder, create=True).add_all(named)
    return url, folder


def test_train_evaluate_predict_take_a_url(
    shared_data: Path, memory_url: str, tmp_path: Path
) -> None:
    url, folder = stores(shared_data, memory_url, tmp_path / "local")
    run_dir = tmp_path / "run"
    cli = CliRunner()
    options = ["--epochs", "1", "--batch-size", "8", "--folds", "3", "--threads", "1"]
    trained = cli.invoke(app, ["train", "--data", url, "--out", str(run_dir), *options])
    assert trained.exit_code == 0, trained.output
    assert RunDirectory(run_dir).sources == [url]  # as given, not folded into a path
    plan = json.loads((run_dir / "checkpoints" / "train_config.json").read_text("utf-8"))
    assert plan["data"] == [url]

    recorded = cli.invoke(app, ["evaluate", str(run_dir), "--out", str(tmp_path / "a")])
    assert recorded.exit_code == 0, recorded.output
    assert "5 clips (held-out fold)" in recorded.output
    local = evaluate_run(run_dir, [folder], out=tmp_path / "b")
    streamed = evaluate_run(run_dir, [url], out=tmp_path / "c", stream=True)  # 256 files a read
    reports = [(tmp_path / d / "predictions.csv").read_text("utf-8") for d in "abc"]
    assert reports[0] == reports[1] == reports[2]
    assert local.report.top1 == streamed.report.top1

    predicted = cli.invoke(app, ["predict", url, "--model", str(run_dir), "--csv"])
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.output.strip().splitlines()) == 1 + 15  # a header, a row a clip
