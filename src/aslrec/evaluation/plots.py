"""Evaluation figures: confusion matrix, training history, reliability diagram.

matplotlib is imported inside each function, never at module level, so ``import aslrec`` (and
the CLI's start-up) does not pay for it. Figures are drawn on an explicit Agg canvas rather than
through ``pyplot``: no global backend switch, no window, no figure left open in a long-running
process, and safe on headless machines. Every file is written through
:func:`aslrec.atomic.atomic_path`, so a crash mid-save never leaves a truncated PNG behind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from aslrec.atomic import atomic_path
from aslrec.errors import DataError
from aslrec.evaluation.metrics import DEFAULT_BINS, ReliabilityCurve, reliability_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_DPI = 120

_CELL_IN = 0.18
"""Confusion-matrix cell size in inches (about 22 px at 120 dpi): room for a 7-8 pt tick label
per class, so 50-80 classes stay legible without zooming."""

_MAX_MATRIX_IN = 30.0
"""Cap on the matrix side in inches so hundreds of classes do not produce a gigantic PNG."""

_ANNOTATE_MAX_CLASSES = 25
"""Write the value in each cell only up to this many classes; beyond it the text is unreadable."""


def new_figure(figsize: tuple[float, float], *, constrained: bool = True) -> Figure:
    """A figure on its own Agg canvas (the lazy import and backend choice live here)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def save_figure(
    fig: Figure, path: str | os.PathLike[str], dpi: int, *, tight: bool = False
) -> Path:
    """Save atomically; the format follows the suffix (``.png`` unless told otherwise).

    ``tight`` crops to the drawn content, which guarantees long tick labels are never clipped
    at the cost of an image size that depends on the label lengths.
    """
    target = Path(path)
    with atomic_path(target) as tmp:
        if tight:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", pad_inches=0.15)
        else:
            fig.savefig(tmp, dpi=dpi)
    return target


# --------------------------------------------------------------------------- confusion matrix


def plot_confusion_matrix(
    cm: npt.ArrayLike,
    classes: Sequence[str],
    path: str | os.PathLike[str],
    *,
    normalize: bool = True,
    title: str = "Confusion matrix",
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Draw a confusion matrix (rows = truth) that stays readable for 50-80+ classes.

    The figure grows with the class count (fixed cell size, capped) and the tick font is sized
    to the cell, so every class is labelled. With ``normalize`` each row is divided by its total,
    so the diagonal reads as per-class recall and classes with few samples are not drowned out.
    The colour scale is a square-root (gamma 0.5) so that rare confusions (a few percent) are
    visible, diagonal cells are outlined so the diagonal can be followed even where recall is
    low, and a faint grid helps trace a row or column across the matrix.
    """
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Rectangle

    m = np.asarray(cm)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise DataError(f"confusion matrix must be square (C, C), got shape {m.shape}")
    c = m.shape[0]
    if c == 0:
        raise DataError("confusion matrix is empty")
    if len(classes) != c:
        raise DataError(f"{len(classes)} class names given for a {c}x{c} confusion matrix")
    if not np.all(np.isfinite(m)) or (m < 0).any():
        raise DataError("confusion matrix must hold non-negative finite counts")

    values = m.astype(np.float64)
    if normalize:
        row_sums = values.sum(axis=1, keepdims=True)
        values = np.divide(values, row_sums, out=np.zeros_like(values), where=row_sums > 0)
        vmax = 1.0
        bar_label = "fraction of true class (row-normalised; diagonal = recall)"
    else:
        vmax = max(float(values.max()), 1.0)
        bar_label = "samples"

    side = min(max(c * _CELL_IN, 4.0), _MAX_MATRIX_IN)
    cell_in = side / c
    tick_pt = float(np.clip(cell_in * 72 * 0.6, 3.5, 10.0))
    longest = max((len(str(name)) for name in classes), default=1)
    label_in = min(longest, 30) * tick_pt * 0.6 / 72 + 0.6  # room for the rotated tick labels
    width, height = side + label_in + 1.8, side + label_in + 0.8
    fig = new_figure((width, height), constrained=False)
    # Fixed margins (the tight save below trims any excess) keep the cells square and sized
    # exactly ``cell_in``; constrained layout would squeeze them to fit the labels instead.
    ax = fig.add_axes((label_in / width, label_in / height, side / width, side / height))

    im = ax.imshow(
        values,
        cmap="Blues",
        norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax),
        interpolation="nearest",
        aspect="equal",
    )
    ticks = np.arange(c)
    ax.set_xticks(ticks, [str(name) for name in classes], rotation=90, fontsize=tick_pt)
    ax.set_yticks(ticks, [str(name) for name in classes], fontsize=tick_pt)
    ax.tick_params(length=2, pad=1)
    ax.set_xticks(ticks - 0.5, minor=True)
    ax.set_yticks(ticks - 0.5, minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color="#bbbbbb", linewidth=0.25, alpha=0.6)
    ax.grid(which="major", visible=False)
    for i in range(c):
        ax.add_patch(
            Rectangle(
                (i - 0.5, i - 0.5),
                1.0,
                1.0,
                fill=False,
                edgecolor="#e6550d",
                linewidth=max(0.4, min(1.2, cell_in * 4)),
            )
        )
    if c <= _ANNOTATE_MAX_CLASSES:
        text_pt = float(np.clip(cell_in * 72 * 0.35, 5.0, 9.0))
        for (i, j), v in np.ndenumerate(values):
            if v <= 0:
                continue
            text = f"{v:.2f}".lstrip("0") if normalize else f"{v:.0f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=text_pt,
                color="white" if v > 0.45 * vmax else "#222222",
            )

    label_pt = max(tick_pt + 2, 9.0)
    ax.set_xlabel("Predicted", fontsize=label_pt)
    ax.set_ylabel("True", fontsize=label_pt)
    total = int(m.sum())
    acc = float(np.trace(m) / total) if total else 0.0
    ax.set_title(f"{title}  ({c} classes, n={total}, accuracy {acc:.1%})", fontsize=label_pt + 2)
    # An inset colourbar is exactly as tall as the matrix whatever the class count.
    cax = ax.inset_axes((1.0 + 0.12 / side, 0.0, 0.25 / side, 1.0))
    cbar = fig.colorbar(im, cax=cax)
    cbar.set_label(bar_label, fontsize=label_pt)
    cbar.ax.tick_params(labelsize=max(tick_pt, 7.0))
    return save_figure(fig, path, dpi, tight=True)


# --------------------------------------------------------------------------- training history


def _series(history: Mapping[str, Sequence[float]], key: str) -> npt.NDArray[np.float64]:
    values = history.get(key)
    if values is None:
        return np.zeros(0, dtype=np.float64)
    arr = np.asarray(list(values), dtype=np.float64).ravel()
    return arr


def _best_epoch(
    history: Mapping[str, Sequence[float]], monitor: str | None
) -> tuple[str, int] | None:
    """``(key, 0-based index)`` of the best validation epoch, or None without validation data.

    Accuracy (max) is preferred when no monitor is named because it is what checkpoints are
    usually selected on here; validation loss (min) is the fallback.
    """
    candidates = [monitor] if monitor else ["val_acc", "val_loss"]
    for key in candidates:
        arr = _series(history, key)
        if arr.size == 0 or not np.isfinite(arr).any():
            continue
        masked = np.where(np.isfinite(arr), arr, np.nan)
        idx = int(np.nanargmin(masked)) if "loss" in key else int(np.nanargmax(masked))
        return key, idx
    if monitor:
        raise DataError(f"history has no finite values for monitor {monitor!r}")
    return None


def plot_training_history(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    monitor: str | None = None,
    title: str = "Training history",
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Loss and accuracy per epoch (train and validation), best validation epoch marked.

    Reads ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``; any may be missing or
    shorter than the others (validation lists are taken to cover epochs 1..len), so an
    interrupted run or one without a validation split still gets a plot. ``monitor`` picks the
    series that defines "best" (``val_acc`` by maximum, else ``val_loss`` by minimum).
    """
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    keys = ("train_loss", "val_loss", "train_acc", "val_acc")
    series = {key: _series(history, key) for key in keys}
    if not any(arr.size for arr in series.values()):
        raise DataError("training history is empty: expected at least one of " + ", ".join(keys))
    best = _best_epoch(history, monitor)

    fig = new_figure((11.0, 4.2))
    ax_loss, ax_acc = fig.subplots(1, 2)
    style = {"train": {"color": "#1f77b4"}, "val": {"color": "#d62728"}}
    for ax, metric, label in ((ax_loss, "loss", "Loss"), (ax_acc, "acc", "Accuracy")):
        drawn = False
        for split in ("train", "val"):
            arr = series[f"{split}_{metric}"]
            if arr.size == 0:
                continue
            epochs = np.arange(1, arr.size + 1)
            marker = "o" if arr.size <= 30 else None
            ax.plot(epochs, arr, marker=marker, markersize=3, label=split, **style[split])
            drawn = True
        if best is not None:
            key, idx = best
            ax.axvline(idx + 1, color="#555555", linestyle="--", linewidth=1.0)
            if key.endswith(metric):
                value = series[key][idx]
                ax.scatter([idx + 1], [value], marker="*", s=140, zorder=5, color="#d62728")
                text = f"{value:.1%}" if metric == "acc" and value <= 1.0 else f"{value:.4g}"
                ax.plot([], [], " ", label=f"best {key} = {text} (epoch {idx + 1})")
            else:
                ax.plot([], [], "--", color="#555555", label=f"best {key} (epoch {idx + 1})")
        if not drawn:
            ax.text(
                0.5,
                0.5,
                f"no {label.lower()} recorded",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#777777",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
        if metric == "acc" and drawn:
            acc_values = np.concatenate([series["train_acc"], series["val_acc"]])
            finite = acc_values[np.isfinite(acc_values)]
            if finite.size and finite.max() <= 1.0:
                ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    fig.suptitle(title)
    return save_figure(fig, path, dpi)


# --------------------------------------------------------------------------- reliability


def plot_reliability_curves(
    curves: Mapping[str, ReliabilityCurve],
    path: str | os.PathLike[str],
    *,
    title: str = "Reliability diagram",
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Reliability diagram from already-binned curves (one bar series per entry).

    Kept separate from :func:`plot_reliability_diagram` so a saved report (which stores the
    curve, not the raw probabilities) can be re-plotted. Bars show accuracy per confidence
    bin against the diagonal of perfect calibration; bars below it mean over-confidence. The
    lower panel shows how many samples fall in each bin, since a bin's gap only matters in
    proportion to its population.
    """
    if not curves:
        raise DataError("no reliability curves to plot")
    items = list(curves.items())
    edges = items[0][1].edges
    for name, curve in items[1:]:
        if curve.edges.shape != edges.shape or not np.allclose(curve.edges, edges):
            raise DataError(f"reliability curve {name!r} uses different bins from the first")

    fig = new_figure((6.4, 7.0))
    ax, ax_n = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
    width = np.diff(edges)
    m = len(items)
    ax.plot(
        [0, 1], [0, 1], linestyle="--", color="#555555", linewidth=1.0, label="perfect calibration"
    )
    for i, (name, curve) in enumerate(items):
        color = colors[i % len(colors)]
        w = width / m
        left = edges[:-1] + i * w
        mask = curve.count > 0
        ax.bar(
            left[mask],
            curve.accuracy[mask],
            width=w[mask],
            align="edge",
            color=color,
            alpha=0.75,
            edgecolor="white",
            linewidth=0.5,
            label=f"{name} (ECE {curve.ece:.3f})",
        )
        ax_n.bar(left, curve.count, width=w, align="edge", color=color, alpha=0.75)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(alpha=0.3)
    ax_n.set_xlabel("confidence (top-1 probability)")
    ax_n.set_ylabel("samples")
    ax_n.grid(alpha=0.3)
    return save_figure(fig, path, dpi)


def plot_reliability_diagram(
    y_true: npt.ArrayLike,
    probs_before: npt.ArrayLike,
    path: str | os.PathLike[str],
    probs_after: npt.ArrayLike | None = None,
    *,
    bins: int = DEFAULT_BINS,
    labels: tuple[str, str] = ("before scaling", "after scaling"),
    title: str = "Reliability diagram",
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Reliability diagram of top-1 confidence, optionally before and after temperature scaling.

    With ``probs_after`` both series are drawn side by side in each bin, each with its ECE in
    the legend, so the effect of calibration is visible at a glance.
    """
    if probs_after is None:
        curves = {"model": reliability_curve(y_true, probs_before, bins)}
    else:
        curves = {
            labels[0]: reliability_curve(y_true, probs_before, bins),
            labels[1]: reliability_curve(y_true, probs_after, bins),
        }
    return plot_reliability_curves(curves, path, title=title, dpi=dpi)


__all__ = [
    "DEFAULT_DPI",
    "plot_confusion_matrix",
    "plot_reliability_curves",
    "plot_reliability_diagram",
    "plot_training_history",
]
