"""Figures and the report writer: files appear whole, readable, and only once finished."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest
from synthetic import synthetic_probs

from aslrec.errors import DataError
from aslrec.evaluation import (
    EvaluationReport,
    classification_report,
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_training_history,
    write_evaluation,
)

HISTORY = {
    "train_loss": [2.0, 1.5, 1.1, 0.9, 0.8],
    "val_loss": [2.1, 1.6, 1.3, 1.35],
    "train_acc": [0.3, 0.5, 0.65, 0.72, 0.8],
    "val_acc": [0.28, 0.45, 0.6, float("nan")],
}


def _only(folder: Path, *names: str) -> None:
    """The folder holds exactly these files: no temporary leftovers."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def _png(path: Path) -> np.ndarray:
    assert path.stat().st_size > 1000
    return matplotlib.image.imread(path)


@pytest.fixture(scope="module")
def report77() -> EvaluationReport:
    c = 77
    y, p = synthetic_probs(800, c, margin=3.0)
    classes = [f"sign_{i:02d}" if i % 5 else f"long_gloss_name_{i}" for i in range(c)]
    return classification_report(y, p, classes)


def test_confusion_matrix_77_classes_is_large_enough(
    tmp_path: Path, report77: EvaluationReport
) -> None:
    out = plot_confusion_matrix(report77.confusion, report77.classes, tmp_path / "cm.png")
    assert out == tmp_path / "cm.png"
    img = _png(out)
    h, w = img.shape[:2]
    # ~0.18 in per class at 120 dpi: at least ~20 px per cell, without becoming gigantic.
    assert 77 * 18 < h < 4000 and 77 * 18 < w < 4000
    assert 0.7 < h / w < 1.4
    _only(tmp_path, "cm.png")


def test_confusion_matrix_small_counts_and_empty_row(tmp_path: Path) -> None:
    cm = np.array([[3, 1, 0], [0, 0, 0], [1, 0, 4]])  # class 1 has no samples
    plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "n.png")
    plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "c.png", normalize=False, title="T")
    assert _png(tmp_path / "n.png").shape[0] > 300
    _only(tmp_path, "n.png", "c.png")


def test_confusion_matrix_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(DataError, match="class names"):
        plot_confusion_matrix(np.zeros((2, 2)), ["a"], tmp_path / "x.png")
    assert not any(tmp_path.iterdir())


def test_exception_mid_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_savefig(self: matplotlib.figure.Figure, fname: Path, **kwargs: object) -> None:
        Path(fname).write_bytes(b"\x89PNG half a file")
        raise OSError("disk full")

    target = tmp_path / "cm.png"
    target_old = tmp_path / "old.png"
    plot_confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"], target_old)
    before = target_old.read_bytes()
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"], target)
    with pytest.raises(OSError, match="disk full"):
        plot_confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"], target_old)
    _only(tmp_path, "old.png")
    assert target_old.read_bytes() == before  # the previous file survives intact


@pytest.mark.parametrize(
    "history",
    [
        HISTORY,
        {"train_loss": [1.0, 0.5], "train_acc": [0.5, 0.7]},  # no validation
        {"train_loss": [1.0, 0.5, 0.4], "val_loss": [1.1]},  # no accuracy at all
        {"train_loss": [], "val_acc": [0.1, 0.2]},
    ],
)
def test_training_history(tmp_path: Path, history: dict[str, list[float]]) -> None:
    out = plot_training_history(history, tmp_path / "h.png")
    h, w = _png(out).shape[:2]
    assert w > h > 200  # two panels side by side
    _only(tmp_path, "h.png")


def test_training_history_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        plot_training_history({}, tmp_path / "h.png")
    with pytest.raises(DataError, match="monitor"):
        plot_training_history({"train_loss": [1.0]}, tmp_path / "h.png", monitor="val_acc")
    assert not any(tmp_path.iterdir())


def test_reliability_diagram(tmp_path: Path) -> None:
    y, p = synthetic_probs(300, 10, margin=3.0)
    p_soft = np.exp(np.log(p) / 2.0)
    p_soft /= p_soft.sum(axis=1, keepdims=True)
    plot_reliability_diagram(y, p, tmp_path / "one.png")
    plot_reliability_diagram(y, p, tmp_path / "two.png", probs_after=p_soft)
    for name in ("one.png", "two.png"):
        h, w = _png(tmp_path / name).shape[:2]
        assert h > 400 and w > 400
    _only(tmp_path, "one.png", "two.png")


def test_write_evaluation(tmp_path: Path) -> None:
    c = 6
    y, p = synthetic_probs(120, c, margin=3.0)
    classes = ["hello", "thank you", "yes, please", "no", "mother", "father"]
    report = classification_report(y, p, classes)
    extra = {
        "model": "tcn",
        "temperature": np.float32(1.5),
        "checkpoint": Path("runs/x/best.ckpt"),
        "seeds": np.arange(3),
        "missing": float("nan"),
    }
    out = tmp_path / "eval"
    paths = write_evaluation(report, out, history=HISTORY, extra=extra)
    assert set(paths) == {
        "metrics",
        "per_class",
        "confusion_matrix",
        "reliability_diagram",
        "training_history",
    }
    _only(
        out,
        "metrics.json",
        "per_class.csv",
        "confusion_matrix.png",
        "reliability_diagram.png",
        "training_history.png",
    )
    data = json.loads(paths["metrics"].read_text(encoding="utf-8"))
    assert data["top1"] == pytest.approx(report.top1)
    assert data["confusion_matrix"] == report.confusion.tolist()
    assert data["extra"] == {
        "model": "tcn",
        "temperature": 1.5,
        "checkpoint": str(Path("runs/x/best.ckpt")),
        "seeds": [0, 1, 2],
        "missing": None,
    }
    with paths["per_class"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["class"] for r in rows] == classes
    assert sum(int(r["support"]) for r in rows) == 120
    for key in ("confusion_matrix", "reliability_diagram", "training_history"):
        _png(paths[key])

    # Without history no history figure is written.
    paths2 = write_evaluation(report, tmp_path / "plain")
    assert "training_history" not in paths2
    assert "extra" not in json.loads(paths2["metrics"].read_text(encoding="utf-8"))


def test_import_does_not_load_matplotlib() -> None:
    code = "import sys, aslrec.evaluation; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
