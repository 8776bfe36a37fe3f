"""Write one evaluation to a folder: metrics, per-class table and figures.

One function so every entry point (training's final test, ``aslrec evaluate``, notebooks)
produces the same files with the same names, which later tools (run comparison, the model
card) can rely on. Every file goes through :func:`aslrec.atomic.atomic_path`, so an
interrupted run leaves the previous files intact, never half-written ones.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aslrec.atomic import atomic_path
from aslrec.evaluation.metrics import EvaluationReport

METRICS_JSON = "metrics.json"
CONFUSION_PNG = "confusion_matrix.png"
RELIABILITY_PNG = "reliability_diagram.png"
PER_CLASS_CSV = "per_class.csv"
PREDICTIONS_CSV = "predictions.csv"
HISTORY_PNG = "training_history.png"


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths and tuples to JSON types; NaN/inf become null.

    ``extra`` metadata comes from many places (configs, numpy results, paths), and strict JSON
    (no ``NaN`` tokens) is what other tools parse without surprises.
    """
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot write {type(value).__name__} to metrics.json: {value!r}")


def write_per_class_csv(report: EvaluationReport, path: str | os.PathLike[str]) -> Path:
    """``class,precision,recall,f1,support`` per class, in class-index order.

    A CSV because it is what people open in a spreadsheet to sort the worst classes.
    """
    target = Path(path)
    with atomic_path(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class", "precision", "recall", "f1", "support"])
        for row in report.per_class:
            writer.writerow(
                [
                    row.name,
                    f"{row.precision:.6f}",
                    f"{row.recall:.6f}",
                    f"{row.f1:.6f}",
                    row.support,
                ]
            )
    return target


def write_predictions_csv(
    path: str | os.PathLike[str],
    sources: Sequence[str],
    y_true: Sequence[int] | np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    top_k: int = 5,
) -> Path:
    """``source,truth,predicted,probability,truth_rank,top_k`` per clip.

    Aggregates hide which clips fail; this file lets people open the failures (``source``
    names the file and the clip in it), see what they were taken for and how far down the
    truth was (``truth_rank`` 1 = right), and compare models clip by clip.
    """
    target = Path(path)
    order = np.argsort(-probs, axis=1, kind="stable")
    with atomic_path(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "truth", "predicted", "probability", "truth_rank", "top_k"])
        for source, truth, row, ranked in zip(sources, y_true, probs, order, strict=True):
            writer.writerow(
                [
                    source,
                    classes[int(truth)],
                    classes[ranked[0]],
                    f"{row[ranked[0]]:.6f}",
                    int(np.flatnonzero(ranked == truth)[0]) + 1,
                    " ".join(classes[j] for j in ranked[:top_k]),
                ]
            )
    return target


def write_evaluation(
    report: EvaluationReport,
    out_dir: str | os.PathLike[str],
    *,
    history: Mapping[str, Sequence[float]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``metrics.json``, ``per_class.csv``, ``confusion_matrix.png`` and
    ``reliability_diagram.png`` (plus ``training_history.png`` when ``history`` is given).

    ``metrics.json`` holds ``report.to_dict()`` with ``extra`` (model name, split, checkpoint,
    temperature, ...) under the ``"extra"`` key, kept apart so metadata can never overwrite a
    metric. Returns the written paths keyed ``metrics``, ``per_class``, ``confusion_matrix``,
    ``reliability_diagram`` and, if written, ``training_history``.
    """
    from aslrec.evaluation.plots import (
        plot_confusion_matrix,
        plot_reliability_curves,
        plot_training_history,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = report.to_dict()
    if extra:
        payload["extra"] = _jsonable(extra)
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"

    paths: dict[str, Path] = {}
    paths["metrics"] = out / METRICS_JSON
    with atomic_path(paths["metrics"]) as tmp:
        tmp.write_text(text, encoding="utf-8")
    paths["per_class"] = write_per_class_csv(report, out / PER_CLASS_CSV)
    paths["confusion_matrix"] = plot_confusion_matrix(
        report.confusion, report.classes, out / CONFUSION_PNG
    )
    paths["reliability_diagram"] = plot_reliability_curves(
        {"model": report.reliability}, out / RELIABILITY_PNG
    )
    if history is not None:
        paths["training_history"] = plot_training_history(history, out / HISTORY_PNG)
    return paths
