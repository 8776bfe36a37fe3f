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

Where it is fitted: :func:`calibrate_run` reproduces the run's own split (same data, folds,
fold, strategy and seed as ``model_config.json``, like ``aslrec evaluate``) and fits on the
held-out fold, which training never used for weights. The before/after numbers it reports are
cross-fitted: the held-out fold is split in two halves (group-safe), ``T`` and ``t`` fitted on
one half are applied to the other, and vice versa, so the "after" ECE is not measured on the
clips it was fitted to. The stored ``T`` and ``t`` are then fitted on the whole fold.

``calibration.json`` in the run directory::

    {"temperature": T, "threshold": t, "target_accuracy": 0.9, "ece_before": ..,
     "ece_after": .., "nll_before": .., "nll_after": .., "accuracy_at_threshold": ..,
     "coverage_at_threshold": .., "target_reached": true, "fitted_on": {...}}

:class:`~aslrec.inference.recognizer.Recognizer` divides logits by ``T`` when the file exists
and exposes ``threshold``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aslrec.atomic import write_text
from aslrec.errors import DataError, ModelError

CALIBRATION_FILE = "calibration.json"
DEFAULT_TARGET_ACCURACY = 0.9
MIN_ANSWERED = 20
_T_RANGE = (0.05, 20.0)


# --------------------------------------------------------------------------------------------
# The stored result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """What ``calibration.json`` holds."""

    temperature: float
    threshold: float
    target_accuracy: float = DEFAULT_TARGET_ACCURACY
    target_reached: bool = True
    ece_before: float | None = None
    ece_after: float | None = None
    nll_before: float | None = None
    nll_after: float | None = None
    accuracy_at_threshold: float | None = None
    coverage_at_threshold: float | None = None
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ModelError(f"temperature must be a positive number, not {self.temperature}")
        if not (math.isfinite(self.threshold) and 0.0 <= self.threshold <= 1.0):
            raise ModelError(f"threshold must be between 0 and 1, not {self.threshold}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        known = {f for f in cls.__dataclass_fields__}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ModelError(f"bad calibration data ({exc})") from None


def read_calibration(model_dir: str | os.PathLike[str]) -> Calibration | None:
    """The model's calibration, or None when it has no ``calibration.json``."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        temperature = float(data["temperature"])
        threshold = float(data.get("threshold", 0.0))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable calibration ({exc!r})") from None
    try:
        return Calibration.from_dict(data | {"temperature": temperature, "threshold": threshold})
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def write_calibration(model_dir: str | os.PathLike[str], calibration: Calibration) -> Path:
    path = Path(model_dir) / CALIBRATION_FILE
    write_text(path, json.dumps(calibration.to_dict(), indent=2) + "\n")
    return path


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------
def softmax_t(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of ``softmax(logits / T)``, computed stably."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(lse - z[np.arange(len(y)), y]))


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
    probs_before = softmax_t(z)
    probs_after = np.zeros_like(probs_before)
    covered = correct = 0.0
    cross_thresholds = []
    for h in (0, 1):
        fit, score = halves != h, halves == h
        if not fit.any() or not score.any():
            raise DataError("need held-out clips in both halves to cross-fit the calibration")
        t_h = fit_temperature(z[fit], y[fit])
        probs_after[score] = softmax_t(z[score], t_h)
        thr, _ = choose_threshold(softmax_t(z[fit], t_h), y[fit], target_accuracy, min_answered)
        cross_thresholds.append(thr)
        cov, acc = selective_scores(probs_after[score], y[score], thr)
        covered += cov * score.sum()
        correct += acc * cov * score.sum()
    temperature = fit_temperature(z, y)
    threshold, reached = choose_threshold(
        softmax_t(z, temperature), y, target_accuracy, min_answered
    )
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


# --------------------------------------------------------------------------------------------
# A run directory
# --------------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    calibration: Calibration
    path: Path | None
    """``calibration.json`` as written (None with ``write=False``)."""
    plots: list[Path]

    def summary_line(self) -> str:
        c = self.calibration
        reached = "" if c.target_reached else " (target not reached)"
        return (
            f"T={c.temperature:.3f}: ECE {c.ece_before:.3f} -> {c.ece_after:.3f}, "
            f"NLL {c.nll_before:.3f} -> {c.nll_after:.3f} on {c.fitted_on.get('clips')} held-out "
            f"clips; unknown below {c.threshold:.3f}: {c.coverage_at_threshold:.0%} answered at "
            f"{c.accuracy_at_threshold:.1%} accuracy (target {c.target_accuracy:.0%}){reached} "
            f"-> {self.path or 'not written'}; plots: {self.plots[0].parent}"
        )


def _held_out(
    config: dict[str, Any], where: Path, data: Sequence[Path] | None
) -> tuple[list[Any], list[str]]:
    """The held-out clips of the training split recorded in a run's ``model_config.json``."""
    from aslrec.data.loaders import load_datasets
    from aslrec.training.config import TrainConfig
    from aslrec.training.run import canonical_clips, split_indices

    recorded = [str(p) for p in config.get("data", {}).get("sources", [])]
    sources = [str(p) for p in data] if data else recorded
    if not sources:
        raise DataError(f"{where}: the run records no training data; pass --data")
    missing = [s for s in sources if not Path(s).exists()]
    if missing:
        raise DataError(f"{missing[0]}: no such file (the run's data; pass --data to locate it)")
    known = TrainConfig.__dataclass_fields__
    training = {k: v for k, v in config.get("training", {}).items() if k in known}
    try:
        train_config = TrainConfig(**training)
    except Exception as exc:  # an old or hand-edited config
        raise ModelError(f"{where}: cannot rebuild the training split ({exc})") from None
    clips = canonical_clips(load_datasets([Path(s) for s in sources]))
    expected = config.get("data", {}).get("num_clips")
    if expected is not None and int(expected) != len(clips):
        raise DataError(
            f"{sources[0]}: {len(clips)} clips, but the run trained on {expected}; pass the "
            "run's own --data so its held-out fold can be reproduced"
        )
    _, heldout_idx, _ = split_indices(clips, train_config)
    return [clips[i] for i in heldout_idx], sources


def calibrate_run(
    run_dir: str | os.PathLike[str],
    data: Sequence[Path] | None = None,
    *,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    min_answered: int = MIN_ANSWERED,
    plots_dir: Path | None = None,
    write: bool = True,
) -> CalibrationResult:
    """Fit temperature and threshold on ``run_dir``'s held-out fold and store them.

    ``run_dir`` is a run or an ensemble directory (whose members must share their split); the
    logits are the ones the ``Recognizer`` computes for it, TTA included when it is on.
    ``data`` defaults to the run's recorded training data. Writes ``calibration.json`` in the
    directory (unless ``write=False``) and, in ``plots_dir`` (default
    ``RUN_DIR/calibration``), ``reliability.png`` (before/after, cross-fitted) and
    ``coverage.png``.
    """
    from aslrec.data.splits import train_val_split
    from aslrec.inference.ensemble import shared_split
    from aslrec.inference.recognizer import Recognizer

    if not 0.0 < target_accuracy <= 1.0:
        raise DataError(f"target accuracy must be in (0, 1], not {target_accuracy}")
    run_dir = Path(run_dir)
    recognizer = Recognizer.load(run_dir)
    split = shared_split([m.config for m in recognizer.members], run_dir)
    config = recognizer.backend.config
    clips, sources = _held_out(config, run_dir, data)
    index = {name: i for i, name in enumerate(recognizer.classes)}
    unknown = sorted({c.label for c in clips if c.label not in index})
    if unknown:
        raise DataError(f"label {unknown[0]!r} of the held-out data is not a class of the model")
    if len(clips) < 4:
        raise DataError(f"{run_dir}: only {len(clips)} held-out clips; too few to calibrate")
    y = np.array([index[c.label] for c in clips])  # type: ignore[index]
    logits = recognizer.logits(clips)
    try:
        _, second = train_val_split(clips, folds=2, fold=0, seed=int(config.get("seed", 42)))
        halves = np.zeros(len(clips), dtype=int)
        halves[second] = 1
    except Exception:  # too few groups for a group-safe halving: alternate instead
        halves = np.arange(len(clips)) % 2
    fit = calibrate_logits(
        logits,
        y,
        halves=halves,
        target_accuracy=target_accuracy,
        min_answered=min_answered,
        fitted_on={
            "what": "held-out fold of the run's split (never used for weights)",
            "data": sources,
            "split": split,
        },
    )
    path = write_calibration(run_dir, fit.calibration) if write else None
    out = Path(plots_dir) if plots_dir else run_dir / "calibration"
    plots = plot_calibration(fit, out)
    return CalibrationResult(fit.calibration, path, plots)


def plot_calibration(fit: CalibrationFit, out_dir: Path) -> list[Path]:
    """``reliability.png`` (before / after, cross-fitted) and ``coverage.png``."""
    from aslrec.evaluation.plots import (
        DEFAULT_DPI,
        _new_figure,
        _save,
        plot_reliability_diagram,
    )

    out_dir = Path(out_dir)
    c = fit.calibration
    reliability = plot_reliability_diagram(
        fit.y,
        fit.probs_before,
        out_dir / "reliability.png",
        fit.probs_after,
        labels=("before (T=1)", f"after (T={c.temperature:.2f}, cross-fitted)"),
        title=f"Reliability on {len(fit.y)} held-out clips",
    )
    fig = _new_figure((6.4, 4.6))
    ax = fig.subplots()
    for probs, name, color in (
        (fit.probs_before, "before", "#1f77b4"),
        (fit.probs_after, "after", "#ff7f0e"),
    ):
        curve = coverage_curve(probs, fit.y)
        ax.plot(curve.coverage, curve.accuracy, color=color, label=f"{name} scaling")
    ax.axhline(
        c.target_accuracy,
        color="#555555",
        linestyle="--",
        linewidth=1.0,
        label=f"target accuracy {c.target_accuracy:.0%}",
    )
    if c.coverage_at_threshold is not None and c.accuracy_at_threshold is not None:
        ax.scatter(
            [c.coverage_at_threshold],
            [c.accuracy_at_threshold],
            marker="*",
            s=160,
            color="#d62728",
            zorder=5,
            label=f"threshold {c.threshold:.2f} (cross-fitted)",
        )
    ax.set_xlabel("coverage (fraction of clips answered)")
    ax.set_ylabel("accuracy of the answered clips")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("Coverage vs accuracy: answer only above a threshold")
    coverage = _save(fig, out_dir / "coverage.png", DEFAULT_DPI)
    return [reliability, coverage]
