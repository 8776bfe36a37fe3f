"""``aslrec calibrate``: fit temperature and the unknown threshold on a run's held-out fold.

The fitting itself is :mod:`aslrec.inference.calibration`; this workflow scores the run's own
held-out fold the way ``aslrec evaluate`` does (:func:`~aslrec.workflows.evaluate.score_fold`:
block by block for a shard set, TTA and ensembles included), stores ``calibration.json`` and
draws the reliability and coverage plots.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aslrec.data.remote import Location
from aslrec.data.splits import SplitSpec, split_fields
from aslrec.errors import DataError
from aslrec.evaluation.plots import DEFAULT_DPI, new_figure, plot_reliability_diagram, save_figure
from aslrec.inference.calibration import (
    MIN_ANSWERED,
    CalibrationFit,
    calibrate_logits,
    coverage_curve,
)
from aslrec.inference.recognizer import Recognizer
from aslrec.runs.calibration import DEFAULT_TARGET_ACCURACY, Calibration, write_calibration
from aslrec.runs.ensemble import held_out_run
from aslrec.workflows.evaluate import ScoredClips, score_fold


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


def calibrate_run(
    run_dir: str | os.PathLike[str],
    data: Sequence[Location] | None = None,
    *,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    min_answered: int = MIN_ANSWERED,
    plots_dir: Path | None = None,
    write: bool = True,
    stream: bool | None = None,
) -> CalibrationResult:
    """Fit temperature and threshold on ``run_dir``'s held-out fold and store them.

    ``run_dir`` is a run or an ensemble directory (whose members must share their split); the
    logits are the ones the ``Recognizer`` computes for it, TTA included when it is on.
    ``data`` (paths or store URLs) defaults to the run's recorded training data; ``stream``
    (default: when a ``data`` is a shard set) scores the fold block by block, with the same
    temperature and threshold as in memory (the same logits). Writes ``calibration.json`` in the
    directory (unless ``write=False``) and, in ``plots_dir`` (default
    ``RUN_DIR/calibration``), ``reliability.png`` (before/after, cross-fitted) and
    ``coverage.png``.
    """
    if not 0.0 < target_accuracy <= 1.0:
        raise DataError(f"target accuracy must be in (0, 1], not {target_accuracy}")
    run_dir = Path(run_dir)
    recognizer = Recognizer.load(run_dir)
    run = held_out_run([run_dir])
    data = list(data) if data else run.sources
    scored = score_fold(recognizer, [run_dir], data, stream=stream)
    if len(scored.y) < 4:
        raise DataError(f"{run_dir}: only {len(scored.y)} held-out clips; too few to calibrate")
    y, logits = scored.y, scored.logits
    halves = _halves(scored, [recognizer.classes[i] for i in y], run.split.seed)
    fit = calibrate_logits(
        logits,
        y,
        halves=halves,
        target_accuracy=target_accuracy,
        min_answered=min_answered,
        fitted_on={
            "what": "held-out fold of the run's split (never used for weights)",
            # file names only: calibration.json ships with models, and a path on the machine
            # that fitted it means nothing (and tells too much) anywhere else
            "data": [Path(p).name for p in data],
            "split": run.split.to_dict(),
        },
    )
    path = write_calibration(run_dir, fit.calibration) if write else None
    out = Path(plots_dir) if plots_dir else run_dir / "calibration"
    plots = plot_calibration(fit, out)
    return CalibrationResult(fit.calibration, path, plots)


def _halves(scored: ScoredClips, labels: list[str], seed: int) -> np.ndarray:
    """0/1 per scored clip: two group-safe, stratified halves of the fold, which the
    temperature and threshold are cross-fitted on. Split from the clips' label, group and
    signer alone (as :meth:`SplitSpec.train_held_out` splits clips), so a streamed fold gets
    the halves its clips would get in memory; too few groups for that: alternate instead."""
    try:
        _, second, _ = split_fields(
            labels,
            scored.groups,
            scored.signers,
            SplitSpec(folds=2, fold=0, seed=seed),
            "fixed",
            lambda i: scored.sources[i],
        )
        halves = np.zeros(len(labels), dtype=int)
        halves[second] = 1
    except Exception:  # too few groups for a group-safe halving
        halves = np.arange(len(labels)) % 2
    return halves


def plot_calibration(fit: CalibrationFit, out_dir: Path) -> list[Path]:
    """``reliability.png`` (before / after, cross-fitted) and ``coverage.png``."""
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
    fig = new_figure((6.4, 4.6))
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
    coverage = save_figure(fig, out_dir / "coverage.png", DEFAULT_DPI)
    return [reliability, coverage]
