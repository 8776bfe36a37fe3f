"""Calibrated probabilities and an "unknown" threshold, stored with the model.

Temperature scaling (Guo et al., 2017): the logits are divided by one number ``T`` fitted to
minimise the negative log-likelihood on held-out data. It changes no prediction (the ranking of
classes within a clip is unchanged), only how confident the probabilities are, so a probability
can be read as a chance of being right and compared with a threshold.

The unknown threshold is read off the coverage-vs-accuracy curve of the calibrated top-1
probability: answering only clips whose top-1 probability is at least ``t`` covers a fraction
of them (coverage) with some accuracy among those answered. **Rule**: the lowest ``t`` whose
answered clips reach ``target_accuracy`` (default 90 %), i.e. the most coverage at that
accuracy; thresholds answering fewer than ``min_answered`` clips are not considered (their
accuracy is noise). If no threshold reaches the target, the one with the best accuracy is taken
and ``target_reached`` is false. The held-out clips are all signs the model knows, so the
threshold guards against unsure answers; signs outside the vocabulary are only caught insofar
as the model is unsure about them (measured in ``benchmarks/segmentation.py``).

Where it is fitted: :func:`aslrec.workflows.calibrate.calibrate_run` fits on the run's own
held-out fold (the same clips, split as training split them, like ``aslrec evaluate``), which
training never used for weights. The before/after numbers it reports are
cross-fitted: the held-out fold is split in two halves (group-safe), ``T`` and ``t`` fitted on
one half are applied to the other, and vice versa, so the "after" ECE is not measured on the
clips it was fitted to. The stored ``T`` and ``t`` are then fitted on the whole fold.

The result is stored as ``calibration.json`` (:mod:`aslrec.runs.calibration`).
:class:`~aslrec.inference.recognizer.Recognizer` divides logits by ``T`` when the file exists
and exposes ``threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from aslrec.errors import DataError
from aslrec.numerics import nll, softmax
from aslrec.runs.calibration import DEFAULT_TARGET_ACCURACY, Calibration

MIN_ANSWERED = 20
_T_RANGE = (0.05, 20.0)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------
def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """``T`` in [0.05, 20] minimising NLL on ``(logits, y)``.

    The NLL of ``softmax(beta * z)`` is convex in ``beta = 1 / T`` (log-sum-exp of a linear
    function minus a linear function), hence unimodal in ``log beta``: a golden-section search
    finds the global minimum (to ~1e-6 relative) without gradients or a dependency.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if z.ndim != 2 or y.shape != (z.shape[0],) or z.shape[0] == 0:
        raise DataError(f"need (N, C) logits and (N,) labels, got {z.shape} and {y.shape}")
    if not np.isfinite(z).all():
        raise DataError("logits contain NaN or infinite values")
    lo, hi = math.log(1.0 / _T_RANGE[1]), math.log(1.0 / _T_RANGE[0])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0

    def f(log_beta: float) -> float:
        return nll(z, y, 1.0 / math.exp(log_beta))

    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(80):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return float(1.0 / math.exp((a + b) / 2.0))


@dataclass(frozen=True)
class CoverageCurve:
    """Answer only when the top-1 probability >= threshold: coverage and accuracy per threshold.

    ``thresholds`` are the distinct top-1 probabilities, descending; entry ``i`` answers the
    clips with confidence >= ``thresholds[i]``.
    """

    thresholds: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray
    answered: np.ndarray


def coverage_curve(probs: np.ndarray, y: np.ndarray) -> CoverageCurve:
    p = np.asarray(probs, dtype=np.float64)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == np.asarray(y)).astype(np.float64)
    order = np.argsort(-conf, kind="stable")
    conf, correct = conf[order], correct[order]
    answered = np.arange(1, len(conf) + 1)
    cum = np.cumsum(correct)
    last = np.r_[conf[1:] != conf[:-1], True]  # the last index of each run of equal confidence
    return CoverageCurve(
        thresholds=conf[last],
        coverage=answered[last] / len(conf),
        accuracy=cum[last] / answered[last],
        answered=answered[last],
    )


def choose_threshold(
    probs: np.ndarray,
    y: np.ndarray,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    min_answered: int = MIN_ANSWERED,
) -> tuple[float, bool]:
    """``(threshold, target_reached)`` by the rule in the module docstring."""
    curve = coverage_curve(probs, y)
    if curve.accuracy[-1] >= target_accuracy:
        return 0.0, True  # answering everything already reaches the target
    enough = curve.answered >= min(min_answered, int(curve.answered[-1]))
    ok = np.flatnonzero(enough & (curve.accuracy >= target_accuracy))
    if ok.size:
        return float(curve.thresholds[ok[-1]]), True
    candidates = np.flatnonzero(enough)
    best = candidates[np.argmax(curve.accuracy[candidates])]
    return float(curve.thresholds[best]), False


def selective_scores(probs: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    """``(coverage, accuracy among answered)`` at ``threshold`` (accuracy 0 if none answered)."""
    p = np.asarray(probs)
    answered = p.max(axis=1) >= threshold
    if not answered.any():
        return 0.0, 0.0
    correct = p.argmax(axis=1)[answered] == np.asarray(y)[answered]
    return float(answered.mean()), float(correct.mean())


@dataclass
class CalibrationFit:
    """A fitted calibration plus the cross-fitted held-out probabilities behind its numbers."""

    calibration: Calibration
    y: np.ndarray
    probs_before: np.ndarray
    probs_after: np.ndarray
    cross_thresholds: list[float]


def calibrate_logits(
    logits: np.ndarray,
    y: np.ndarray,
    *,
    halves: np.ndarray | None = None,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    min_answered: int = MIN_ANSWERED,
    fitted_on: dict[str, Any] | None = None,
) -> CalibrationFit:
    """Fit ``T`` and the threshold on all of ``(logits, y)``; report cross-fitted numbers.

    ``halves``: 0/1 per sample (default: alternate samples); each half is scored with the ``T``
    and threshold fitted on the other.
    """
    from aslrec.evaluation.metrics import expected_calibration_error

    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if halves is None:
        halves = np.arange(len(y)) % 2
    halves = np.asarray(halves)
    probs_before = softmax(z)
    probs_after = np.zeros_like(probs_before)
    covered = correct = 0.0
    cross_thresholds = []
    for h in (0, 1):
        fit, score = halves != h, halves == h
        if not fit.any() or not score.any():
            raise DataError("need held-out clips in both halves to cross-fit the calibration")
        t_h = fit_temperature(z[fit], y[fit])
        probs_after[score] = softmax(z[score], t_h)
        thr, _ = choose_threshold(softmax(z[fit], t_h), y[fit], target_accuracy, min_answered)
        cross_thresholds.append(thr)
        cov, acc = selective_scores(probs_after[score], y[score], thr)
        covered += cov * score.sum()
        correct += acc * cov * score.sum()
    temperature = fit_temperature(z, y)
    threshold, reached = choose_threshold(softmax(z, temperature), y, target_accuracy, min_answered)
    calibration = Calibration(
        temperature=temperature,
        threshold=threshold,
        target_accuracy=target_accuracy,
        target_reached=reached,
        ece_before=expected_calibration_error(y, probs_before),
        ece_after=expected_calibration_error(y, probs_after),
        nll_before=nll(z, y),
        nll_after=float(-np.mean(np.log(np.clip(probs_after[np.arange(len(y)), y], 1e-12, 1)))),
        accuracy_at_threshold=float(correct / covered) if covered else 0.0,
        coverage_at_threshold=float(covered / len(y)),
        fitted_on=(fitted_on or {}) | {"clips": len(y), "cross_fitted_halves": 2},
    )
    return CalibrationFit(calibration, y, probs_before, probs_after, cross_thresholds)
