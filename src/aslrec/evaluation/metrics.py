"""Classification metrics computed from softmax probabilities.

Everything here works on three plain inputs, so any model (PyTorch, scikit-learn, a saved
``predictions.npz``) can be evaluated the same way:

* ``y_true``: ``(N,)`` integer class indices;
* ``probs``: ``(N, C)`` softmax probabilities (rows sum to 1);
* ``classes``: the ``C`` class names, index-aligned with ``probs``' columns.

Only NumPy is imported, so ``import aslrec.evaluation`` stays cheap. Probabilities rather than
hard predictions are required on purpose: calibration (ECE, reliability curve) and negative
log-likelihood need them, and temperature scaling (fitted later) is judged by them.

Conventions, chosen to match scikit-learn where it has an answer:

* the predicted class is ``argmax`` (first index on ties); top-k ranks ties by lower index
  first, so top-1 accuracy always equals the confusion matrix's trace / N;
* a per-class ratio whose denominator is zero (precision of a class never predicted, recall of a
  class absent from ``y_true``) is 0.0, like ``zero_division=0``; ``support`` tells them apart;
* macro F1 averages over the classes that occur in ``y_true`` or in the predictions (sklearn's
  default ``labels``), so a class missing from a small test split neither helps nor hurts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from aslrec.errors import DataError

DEFAULT_BINS = 15
"""Equal-width confidence bins for ECE, as in Guo et al. (2017), "On Calibration of Modern
Neural Networks"; comparable with most published numbers."""

_NLL_EPS = 1e-12
"""Probabilities are clipped to this before ``log`` so one zero cannot make NLL infinite."""

_ROW_SUM_TOL = 1e-2
"""How far a row of ``probs`` may sum from 1; loose enough for float16 softmax, tight enough to
catch logits passed by mistake."""


# --------------------------------------------------------------------------- validation


def _check_inputs(
    y_true: npt.ArrayLike, probs: npt.ArrayLike, classes: Sequence[str] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Coerce and validate inputs once, so every metric fails with the same clear message."""
    y = np.asarray(y_true)
    p = np.asarray(probs)
    if y.ndim != 1:
        raise DataError(f"y_true must be a 1-D array of class indices, got shape {y.shape}")
    if p.ndim != 2:
        raise DataError(f"probs must be a 2-D (samples, classes) array, got shape {p.shape}")
    if y.shape[0] != p.shape[0]:
        raise DataError(
            f"y_true has {y.shape[0]} samples but probs has {p.shape[0]} rows; they must match"
        )
    if y.shape[0] == 0:
        raise DataError("cannot evaluate on zero samples")
    if p.shape[1] == 0:
        raise DataError("probs has zero columns (classes)")
    if classes is not None and len(classes) != p.shape[1]:
        raise DataError(
            f"{len(classes)} class names given but probs has {p.shape[1]} columns; they must match"
        )
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise DataError(f"y_true must hold integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise DataError(
            f"y_true holds class indices outside [0, {p.shape[1] - 1}] "
            f"(min {int(y.min())}, max {int(y.max())})"
        )
    p = p.astype(np.float64, copy=False)
    if not np.all(np.isfinite(p)):
        raise DataError("probs contains NaN or infinite values")
    if p.min() < 0.0:
        raise DataError("probs contains negative values; pass softmax probabilities, not logits")
    sums = p.sum(axis=1)
    worst = float(np.max(np.abs(sums - 1.0)))
    if worst > _ROW_SUM_TOL:
        raise DataError(
            f"probs rows must sum to 1 (softmax probabilities, not logits); "
            f"one row sums to {float(sums[np.argmax(np.abs(sums - 1.0))]):.4g}"
        )
    return y, p


def _true_class_rank(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """0-based rank of the true class in each row, ties broken by lower index first.

    Counting rather than sorting is O(N*C) and makes ties deterministic and consistent with
    ``argmax`` (rank 0 <=> argmax == y).
    """
    p_true = p[np.arange(len(y)), y][:, None]
    idx = np.arange(p.shape[1])[None, :]
    higher = p > p_true
    tied_before = (p == p_true) & (idx < y[:, None])
    return (higher | tied_before).sum(axis=1).astype(np.int64)


# --------------------------------------------------------------------------- basic metrics


def topk_accuracy(y_true: npt.ArrayLike, probs: npt.ArrayLike, k: int) -> float:
    """Fraction of samples whose true class is among the ``k`` most probable.

    ``k`` larger than the number of classes is clipped (the answer is then 1.0), so a
    "top-5" figure can be requested for any class count without special cases.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise DataError(f"k must be a positive integer, got {k!r}")
    y, p = _check_inputs(y_true, probs)
    k = min(int(k), p.shape[1])
    return float(np.mean(_true_class_rank(y, p) < k))


def confusion_matrix(y_true: npt.ArrayLike, probs: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``(C, C)`` counts, rows = true class, columns = predicted (``argmax``) class."""
    y, p = _check_inputs(y_true, probs)
    c = p.shape[1]
    pred = p.argmax(axis=1)
    return np.bincount(y * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)


def negative_log_likelihood(y_true: npt.ArrayLike, probs: npt.ArrayLike) -> float:
    """Mean ``-log p(true class)`` in nats, i.e. the cross-entropy the model was trained on.

    It punishes confident mistakes that accuracy ignores, and is what temperature scaling
    minimises. Probabilities are clipped at 1e-12 so one zero does not make it infinite.
    """
    y, p = _check_inputs(y_true, probs)
    p_true = np.clip(p[np.arange(len(y)), y], _NLL_EPS, 1.0)
    return float(-np.mean(np.log(p_true)))


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True, eq=False)
class ReliabilityCurve:
    """Top-1 confidence vs accuracy in equal-width bins over [0, 1].

    Bins are right-closed, ``(lo, hi]`` (the first also takes 0), as in Guo et al. Empty bins
    have ``count`` 0 and report 0.0 confidence and accuracy, keeping everything JSON-safe;
    use ``count > 0`` to mask them.

    Attributes:
        edges: ``(bins + 1,)`` bin edges from 0 to 1.
        confidence: ``(bins,)`` mean top-1 probability of the samples in each bin.
        accuracy: ``(bins,)`` fraction of those samples whose ``argmax`` is right.
        count: ``(bins,)`` number of samples in each bin.
    """

    edges: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float64]
    accuracy: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]

    @property
    def bins(self) -> int:
        return len(self.count)

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """Expected calibration error: ``sum_b |acc_b - conf_b| * n_b / N``."""
        total = self.count.sum()
        if total == 0:
            return 0.0
        return float(np.sum(np.abs(self.accuracy - self.confidence) * self.count) / total)

    @property
    def max_calibration_error(self) -> float:
        """Largest ``|acc_b - conf_b|`` over non-empty bins (MCE), the worst-case gap."""
        mask = self.count > 0
        if not mask.any():
            return 0.0
        return float(np.max(np.abs(self.accuracy[mask] - self.confidence[mask])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bins": self.bins,
            "edges": [float(v) for v in self.edges],
            "confidence": [float(v) for v in self.confidence],
            "accuracy": [float(v) for v in self.accuracy],
            "count": [int(v) for v in self.count],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReliabilityCurve:
        return cls(
            edges=np.asarray(data["edges"], dtype=np.float64),
            confidence=np.asarray(data["confidence"], dtype=np.float64),
            accuracy=np.asarray(data["accuracy"], dtype=np.float64),
            count=np.asarray(data["count"], dtype=np.int64),
        )


def reliability_curve(
    y_true: npt.ArrayLike, probs: npt.ArrayLike, bins: int = DEFAULT_BINS
) -> ReliabilityCurve:
    """Bin samples by top-1 confidence and compare mean confidence with accuracy per bin.

    The basis of both ECE and the reliability diagram; a well-calibrated model's bins lie on
    the diagonal (70% confident => right 70% of the time).
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise DataError(f"bins must be a positive integer, got {bins!r}")
    y, p = _check_inputs(y_true, probs)
    bins = int(bins)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    # Right-closed bins: ceil(conf * bins) - 1, with 0 going to the first bin.
    idx = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(idx, minlength=bins).astype(np.int64)
    conf_sum = np.bincount(idx, weights=conf, minlength=bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=bins)
    safe = np.maximum(count, 1)
    return ReliabilityCurve(
        edges=np.linspace(0.0, 1.0, bins + 1),
        confidence=np.where(count > 0, conf_sum / safe, 0.0),
        accuracy=np.where(count > 0, acc_sum / safe, 0.0),
        count=count,
    )


def expected_calibration_error(
    y_true: npt.ArrayLike, probs: npt.ArrayLike, bins: int = DEFAULT_BINS
) -> float:
    """Expected calibration error of the top-1 confidence, ``bins`` equal-width bins.

    0 means the model's confidence can be read as a probability of being right; large values
    mean it is over- (or under-) confident, which temperature scaling can fix.
    """
    return reliability_curve(y_true, probs, bins).ece


# --------------------------------------------------------------------------- full report


@dataclass(frozen=True)
class ClassMetrics:
    """One row of the per-class table."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """Everything ``classification_report`` measures, in one JSON-serialisable object.

    Arrays are index-aligned with ``classes``. ``top5_k`` is the ``k`` actually used for
    ``top5`` (smaller than 5 when there are fewer than 5 classes).
    """

    classes: tuple[str, ...]
    n: int
    top1: float
    top5: float
    top5_k: int
    precision: npt.NDArray[np.float64]
    recall: npt.NDArray[np.float64]
    f1: npt.NDArray[np.float64]
    support: npt.NDArray[np.int64]
    macro_f1: float
    weighted_f1: float
    confusion: npt.NDArray[np.int64]
    ece: float
    nll: float
    reliability: ReliabilityCurve = field(repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def per_class(self) -> list[ClassMetrics]:
        """Per-class rows in class-index order (zero-support classes included)."""
        return [
            ClassMetrics(
                name=name,
                precision=float(self.precision[i]),
                recall=float(self.recall[i]),
                f1=float(self.f1[i]),
                support=int(self.support[i]),
            )
            for i, name in enumerate(self.classes)
        ]

    def most_confused(self, n: int = 10) -> list[tuple[str, str, int]]:
        """The ``n`` largest off-diagonal confusion counts as ``(truth, predicted, count)``.

        Sorted by count (descending), then by truth and predicted index, so the list is
        stable; pairs that never happen are left out. This is the list to read first when
        deciding which signs need more data or a better feature.
        """
        if n <= 0:
            return []
        cm = self.confusion.copy()
        np.fill_diagonal(cm, 0)
        rows, cols = np.nonzero(cm)
        counts = cm[rows, cols]
        order = np.lexsort((cols, rows, -counts))[:n]
        return [(self.classes[rows[i]], self.classes[cols[i]], int(counts[i])) for i in order]

    def summary_line(self) -> str:
        """One terminal line with the headline numbers."""
        return (
            f"n={self.n}  top1={self.top1:.2%}  top{self.top5_k}={self.top5:.2%}  "
            f"macro-F1={self.macro_f1:.3f}  weighted-F1={self.weighted_f1:.3f}  "
            f"ECE={self.ece:.3f}  NLL={self.nll:.3f}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, ints, floats and strings only, ready for ``json.dumps``."""
        return {
            "n": int(self.n),
            "num_classes": self.num_classes,
            "classes": list(self.classes),
            "top1": float(self.top1),
            "top5": float(self.top5),
            "top5_k": int(self.top5_k),
            "macro_f1": float(self.macro_f1),
            "weighted_f1": float(self.weighted_f1),
            "ece": float(self.ece),
            "nll": float(self.nll),
            "per_class": [
                {
                    "class": row.name,
                    "precision": row.precision,
                    "recall": row.recall,
                    "f1": row.f1,
                    "support": row.support,
                }
                for row in self.per_class
            ],
            "most_confused": [
                {"truth": t, "predicted": p, "count": c} for t, p, c in self.most_confused(20)
            ],
            "confusion_matrix": [[int(v) for v in row] for row in self.confusion],
            "reliability": self.reliability.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """Rebuild a report from ``to_dict()`` output (e.g. a run's ``metrics.json``)."""
        try:
            rows = data["per_class"]
            return cls(
                classes=tuple(str(c) for c in data["classes"]),
                n=int(data["n"]),
                top1=float(data["top1"]),
                top5=float(data["top5"]),
                top5_k=int(data["top5_k"]),
                precision=np.asarray([r["precision"] for r in rows], dtype=np.float64),
                recall=np.asarray([r["recall"] for r in rows], dtype=np.float64),
                f1=np.asarray([r["f1"] for r in rows], dtype=np.float64),
                support=np.asarray([r["support"] for r in rows], dtype=np.int64),
                macro_f1=float(data["macro_f1"]),
                weighted_f1=float(data["weighted_f1"]),
                confusion=np.asarray(data["confusion_matrix"], dtype=np.int64),
                ece=float(data["ece"]),
                nll=float(data["nll"]),
                reliability=ReliabilityCurve.from_dict(data["reliability"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"not an evaluation report (bad or missing field: {exc})") from exc


def _safe_div(num: npt.NDArray[np.float64], den: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    """Element-wise ``num / den`` with 0 where ``den`` is 0 (sklearn's ``zero_division=0``)."""
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def classification_report(
    y_true: npt.ArrayLike,
    probs: npt.ArrayLike,
    classes: Sequence[str],
    *,
    bins: int = DEFAULT_BINS,
) -> EvaluationReport:
    """Compute every metric the project reports for one split, in one pass over the data.

    See the module docstring for the conventions (argmax ties, zero division, which classes
    enter macro F1).
    """
    if isinstance(classes, str):
        raise DataError("classes must be a sequence of class names, not a single string")
    y, p = _check_inputs(y_true, probs, classes)
    c = p.shape[1]
    cm = np.bincount(y * c + p.argmax(axis=1), minlength=c * c).reshape(c, c).astype(np.int64)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.int64)
    predicted = cm.sum(axis=0).astype(np.float64)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support.astype(np.float64))
    f1 = _safe_div(2.0 * precision * recall, precision + recall)
    present = (support > 0) | (predicted > 0)
    macro_f1 = float(f1[present].mean()) if present.any() else 0.0
    weighted_f1 = float(np.sum(f1 * support) / support.sum())
    rank = _true_class_rank(y, p)
    k5 = min(5, c)
    curve = reliability_curve(y, p, bins)
    p_true = np.clip(p[np.arange(len(y)), y], _NLL_EPS, 1.0)
    return EvaluationReport(
        classes=tuple(str(name) for name in classes),
        n=len(y),
        top1=float(np.mean(rank < 1)),
        top5=float(np.mean(rank < k5)),
        top5_k=k5,
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        macro_f1=macro_f1,
        weighted_f1=weighted_f1,
        confusion=cm,
        ece=curve.ece,
        nll=float(-np.mean(np.log(p_true))),
        reliability=curve,
    )
