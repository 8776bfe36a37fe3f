"""Every command that takes a data set given its URL (fsspec's `memory://` here, as `s3://`
would be): the store there gives what the same folder gives (`train`, `evaluate`, `predict`,
`calibrate`, `add-sign`, `remove-sign`, `export`), a run trained on a URL records it, so
`evaluate` finds it again, and a URL whose package is missing is one line naming both (loading
itself: tests/data/test_url_loading.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

fsspec = pytest.importorskip("fsspec")

from typer.testing import CliRunner  # noqa: E402

from aslrec.cli import app  # noqa: E402
from aslrec.data.loaders import load_dataset  # noqa: E402
from aslrec.data.store import ClipStore, RemoteClipStore  # noqa: E402
from aslrec.errors import ConfigError  # noqa: E402
from aslrec.runs.directory import RunDirectory  # noqa: E402
from aslrec.workflows.evaluate import evaluate_run  # noqa: E402


def stores(
    shared_data: Path, url: str, folder: Path, data: str = "samples/MP_Data"
) -> tuple[str, Path]:
    """The clips of ``data`` (default the 15 MP_Data clips) in a store at ``url`` and in a
    local store ``folder``."""
    clips = load_dataset(shared_data / data)
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


OPTIONS = ["--epochs", "1", "--batch-size", "8", "--folds", "3", "--threads", "1"]


def cli(*args: str | Path) -> int:
    """``aslrec ARGS`` run in-process; its exit code (0, or 5: a calibration target missed)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 5), result.output
    return result.exit_code


@pytest.fixture(scope="module")
def local_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(run, its data)``: one epoch on a local store of the 15 MP_Data clips, calibrated."""
    root = tmp_path_factory.mktemp("url-commands")
    folder = root / "local"  # the URL's store is `data`: calibration.json names which was read
    ClipStore(folder, create=True).add_all(named_clips(shared_data / "samples" / "MP_Data"))
    run = root / "run"
    cli("train", "--data", folder, "--out", run, *OPTIONS)
    cli("calibrate", run)
    return run, folder


def named_clips(path: Path) -> list[tuple[str, Any]]:
    return [(f"clip-{i:02d}", clip) for i, clip in enumerate(load_dataset(path))]


def calibration(run_dir: Path, read: str | None = None) -> dict[str, Any]:
    """``calibration.json`` without the name of the data it was fitted on, checked to be
    ``read`` when given (``data``: the URL's store, ``local``: the folder)."""
    payload = json.loads((run_dir / "calibration.json").read_text("utf-8"))
    name = payload["fitted_on"].pop("data")
    assert read is None or name == [read]
    return payload


def same_weights(a: Path, b: Path) -> bool:
    import torch

    first, second = RunDirectory(a).model.state_dict(), RunDirectory(b).model.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_calibrate_add_remove_sign_and_export_take_a_url(
    shared_data: Path, local_run: tuple[Path, Path], memory_url: str, tmp_path: Path
) -> None:
    """The run's data (15 MP_Data clips) and a new sign's examples (the 12 GISLR sample clips,
    6 of `hello`) given as URLs and as local folders: the same calibration, weights and
    parity check."""
    run, folder = local_run
    url = memory_url
    RemoteClipStore(url, create=True).add_all(named_clips(shared_data / "samples" / "MP_Data"))
    examples = shared_data / "samples" / "gislr"
    examples_url = memory_url.rsplit("/", 1)[0] + "/examples"
    RemoteClipStore(examples_url, create=True).add_all(named_clips(examples))

    from_path = calibration(run, "local")  # the fixture calibrated it on the recorded folder
    code = cli("calibrate", run, "--data", url)
    assert calibration(run, "data") == from_path
    assert cli("calibrate", run, "--data", folder) == code
    assert calibration(run, "local") == from_path
    assert from_path["fitted_on"]["clips"] == 5

    added, removed = {}, {}
    for name, data, example in (("url", url, examples_url), ("path", folder, examples)):
        added[name], removed[name] = tmp_path / f"added-{name}", tmp_path / f"removed-{name}"
        cli("add-sign", "hello", example, "--model", run, "--out", added[name], "--data", data)
        cli("remove-sign", "hello", "--model", added[name], "--out", removed[name], "--data", data)
    assert same_weights(added["url"], added["path"])
    refitted = calibration(added["url"], "data")  # the old signs' fold of --data
    assert refitted == calibration(added["path"], "local") != from_path
    assert [RunDirectory(added[n]).added_signs[0]["examples"] for n in added] == [6, 6]
    assert same_weights(removed["url"], removed["path"])
    assert same_weights(removed["url"], run)  # back to the run's own head
    assert calibration(removed["url"], "data") == calibration(removed["path"], "local") == from_path

    checks = []
    for name, data in (("url", url), ("path", str(folder))):
        out = tmp_path / f"{name}.onnx"
        result = CliRunner().invoke(app, ["export", str(run), "--out", str(out), "--data", data])
        assert result.exit_code == 0, result.output
        checks.append(result.output.replace(Path(data).name, "DATA").replace(str(out), "OUT"))
    assert checks[0] == checks[1]
    assert "on 15 DATA clips" in checks[0]  # the data's clips, not synthetic ones


@pytest.mark.parametrize(
    "command",
    [
        ["calibrate", "RUN", "--data", "s3://b/data"],
        ["add-sign", "hello", "s3://b/data", "--model", "RUN", "--out", "NEW"],
        [
            "add-sign",
            "hello",
            "EXAMPLES",
            "--model",
            "RUN",
            "--out",
            "NEW",
            "--data",
            "s3://b/data",
        ],
        ["remove-sign", "hello", "--model", "ADDED", "--out", "NEW", "--data", "s3://b/data"],
        ["export", "RUN", "--out", "NEW", "--data", "s3://b/data"],
    ],
)
def test_a_missing_package_is_one_line(
    command: list[str],
    local_run: tuple[Path, Path],
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A URL whose fsspec package is not installed (s3fs here) fails with one line naming the
    URL and the package, and nothing is written (remove-sign does not fall back to the old
    calibration, as it does when the data is not at hand)."""
    run, _ = local_run
    examples = shared_data / "samples" / "gislr"
    names = {"RUN": run, "NEW": tmp_path / "new", "EXAMPLES": examples}
    if "ADDED" in command:
        names["ADDED"] = tmp_path / "added"
        cli("add-sign", "hello", examples, "--model", run, "--out", names["ADDED"])
    monkeypatch.setitem(sys.modules, "s3fs", None)
    result = CliRunner().invoke(app, [str(names.get(arg, arg)) for arg in command])
    assert isinstance(result.exception, ConfigError), result.output
    assert str(result.exception) == "s3://b/data: s3:// URLs need s3fs (pip install s3fs)"
    assert not (tmp_path / "new").exists()
