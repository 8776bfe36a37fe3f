"""How well does a model know what it does not know? Signs it never saw, scored like known ones.

aslrec's streaming recogniser and the service answer "unknown" below the model's stored
threshold on the top-1 probability. ``aslrec calibrate``'s default (the lowest threshold whose
answers are 90% right) lets a model more accurate than that answer everything: the bundled
model had threshold 0, and every sign outside the vocabulary got a label (streaming benchmark:
0 of 24 kept quiet). This measures how far known and unseen signs can be told apart at all, and
what each threshold costs; the bundled model's threshold is chosen from it.

Cells: for each fold ``f`` of WLASL-50's 5-fold stratified split, 10 of the 50 signs (drawn
with seed ``f``) are removed from the data; the ``best-fast`` recipe trains on the training
folds of the other 40 signs. Scored: the held-out fold of the 40 known signs and every clip of
the 10 unseen signs (none was trained on). Scores, higher = "known": the top-1 probability
(what aslrec thresholds) and the negative energy ``logsumexp(logits)`` (Liu et al. 2020,
"Energy-based Out-of-distribution Detection"). Both are rank-only here, so temperature scaling
changes nothing. Finished cells are cached under ``benchmarks/results/open_set/`` with the
per-clip scores. Usage::

    python benchmarks/open_set.py --jobs 2        # 5 training runs (~10 min each, 1 thread)
    python benchmarks/open_set.py --table-only    # rebuild RESULTS.md and the plot from the cache
"""

from __future__ import annotations

import argparse
import shutil
from typing import Any

import numpy as np
from _cells import FOLDS, Cell, cached, run_cells
from _common import REPO, SHARED_DATA, command_line, header, mean_std, write_section

TABLE = "open_set"
PRESET = "best-fast"
UNSEEN = 10
ROW = f"{PRESET}, {UNSEEN} of 50 signs unseen"
ANSWERED = (0.95, 0.90, 0.80, 0.50)
PLOT = REPO / "benchmarks" / "open_set.png"


def run_open_set_cell(cell: Cell) -> dict[str, Any]:
    from aslrec.data.loaders import load_dataset
    from aslrec.data.store import ClipStore
    from aslrec.inference.recognizer import Recognizer
    from aslrec.numerics import softmax
    from aslrec.runs.config import preset
    from aslrec.workflows.train import canonical_clips, split_indices, train

    clips = canonical_clips(load_dataset(SHARED_DATA / "wlasl50_mp.npz"))
    labels = sorted({c.label or "" for c in clips})
    rng = np.random.default_rng(cell.fold)
    unseen = sorted(str(x) for x in rng.choice(labels, UNSEEN, replace=False))
    known_data = cell.run_dir.with_name(cell.run_dir.name + "-data")
    shutil.rmtree(known_data, ignore_errors=True)
    known = [c for c in clips if c.label not in unseen]
    ClipStore(known_data, create=True).add_all((f"{i:05d}", c) for i, c in enumerate(known))
    config = preset(cell.preset).updated(
        folds=cell.folds, fold=cell.fold, split="stratified", threads=1
    )
    shutil.rmtree(cell.run_dir, ignore_errors=True)
    result = train([known_data], cell.run_dir, config, progress=False)

    _, heldout, _ = split_indices(known, config)  # the store keeps this order (sorted ids)
    known_test = [known[i] for i in heldout]
    unseen_test = [c for c in clips if c.label in unseen]
    recognizer = Recognizer.load(cell.run_dir)
    known_logits = recognizer.logits(known_test)
    unseen_logits = recognizer.logits(unseen_test)
    truth = np.array([recognizer.classes.index(c.label) for c in known_test])
    correct = known_logits.argmax(1) == truth
    if not np.isclose(correct.mean(), result.val_top1):
        raise RuntimeError(f"{cell.key}: rebuilt held-out fold does not match the training run")

    return {
        "table": cell.table,
        "row": cell.row,
        "dataset": cell.dataset,
        "preset": cell.preset,
        "fold": cell.fold,
        "folds": cell.folds,
        "unseen_signs": unseen,
        "top1": result.val_top1,
        "best_epoch": result.best_epoch,
        "wall_time_s": result.wall_time_s,
        "known_correct": correct.tolist(),
        "known_probability": softmax(known_logits).max(axis=1).tolist(),
        "unseen_probability": softmax(unseen_logits).max(axis=1).tolist(),
        "known_energy": logsumexp(known_logits).tolist(),
        "unseen_energy": logsumexp(unseen_logits).tolist(),
    }


def logsumexp(logits: np.ndarray) -> np.ndarray:
    """Per-row ``log(sum(exp(logits)))``, shifted by the row maximum so it cannot overflow."""
    peak = logits.max(axis=1)
    return peak + np.log(np.exp(logits - peak[:, None]).sum(axis=1))


def auroc(known: np.ndarray, unseen: np.ndarray) -> float:
    """Chance that a random known clip scores above a random unseen one (ties count half)."""
    above = (known[:, None] > unseen[None, :]).mean()
    ties = (known[:, None] == unseen[None, :]).mean()
    return float(above + ties / 2)


def operating_point(row: dict[str, Any], answered: float) -> tuple[float, float]:
    """At the threshold that answers ``answered`` of the known held-out clips: (share of unseen
    clips rejected, top-1 among the known clips answered). Descriptive: the threshold is read off
    the scored clips themselves."""
    known = np.asarray(row["known_probability"])
    threshold = np.quantile(known, 1 - answered)
    kept = known >= threshold
    rejected = float((np.asarray(row["unseen_probability"]) < threshold).mean())
    return rejected, float(np.asarray(row["known_correct"])[kept].mean())


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| score | folds | AUROC known vs unseen | median top-1 probability: known right / "
        "known wrong / unseen |",
        "|---|---|---|---|",
    ]
    for name, key in (("top-1 probability", "probability"), ("negative energy", "energy")):
        aurocs = [
            auroc(np.asarray(r[f"known_{key}"]), np.asarray(r[f"unseen_{key}"])) for r in rows
        ]
        medians = ""
        if key == "probability":
            known = np.concatenate([r["known_probability"] for r in rows])
            right = np.concatenate([r["known_correct"] for r in rows]).astype(bool)
            unseen = np.concatenate([r["unseen_probability"] for r in rows])
            medians = " / ".join(
                f"{np.median(v):.2f}" for v in (known[right], known[~right], unseen)
            )
        spread = f"{np.mean(aurocs):.3f} ± {np.std(aurocs, ddof=1):.3f}" if len(rows) > 1 else ""
        lines.append(
            f"| {name} | {len(rows)} | {spread or f'{aurocs[0]:.3f}'} | {medians or '-'} |"
        )
    lines += [
        "",
        "| known clips answered | unseen clips rejected | top-1 among known answered |",
        "|---|---|---|",
    ]
    for answered in ANSWERED:
        points = [operating_point(r, answered) for r in rows]
        lines.append(
            f"| {answered:.0%} | {mean_std([p[0] for p in points])} | "
            f"{mean_std([p[1] for p in points])} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    known = np.concatenate([r["known_probability"] for r in rows])
    right = np.concatenate([r["known_correct"] for r in rows]).astype(bool)
    unseen = np.concatenate([r["unseen_probability"] for r in rows])
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, 1, 26)
    for values, label in (
        (known[right], "known sign, right"),
        (known[~right], "known sign, wrong"),
        (unseen, "unseen sign"),
    ):
        ax.hist(values, bins=bins, histtype="step", density=True, linewidth=2, label=label)
    ax.set_xlabel("top-1 probability")
    ax.set_ylabel("density")
    ax.set_title(f"WLASL-50, {PRESET}, {UNSEEN} signs left out of training ({len(rows)} folds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds-run", type=int, nargs="+", default=list(range(FOLDS)))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    cells = [Cell(TABLE, ROW, "wlasl50", PRESET, f) for f in args.folds_run]
    if not args.table_only:
        run_cells(cells, args.jobs, runner=run_open_set_cell)
    rows = [r for r in cached(TABLE) if r["row"] == ROW]
    if not rows:
        raise SystemExit("no open-set cells cached yet: run without --table-only")
    plot(rows)
    known_top1 = mean_std([r["top1"] for r in rows])
    body = "\n".join(
        [
            header(command_line()),
            f"WLASL-50, 5-fold stratified split; in fold f, {UNSEEN} of the 50 signs (drawn with "
            f"seed f) are removed and `{PRESET}` (fixed schedule, seed 42) trains on the "
            "training folds of the other 40. Known: the held-out fold of the 40 signs (top-1 "
            f"{known_top1}). Unseen: every clip of the {UNSEEN} removed signs. AUROC: chance "
            "that a known clip scores above an unseen one (0.5 = no better than chance). The "
            "operating points read the threshold off the scored clips, so they describe the "
            "trade-off, they are not a tuned result.",
            "",
            table(rows),
            "",
            "Reading: the top-1 probability, which aslrec thresholds, separates unseen signs at "
            "least as well as the energy score, so aslrec keeps it. A model unsure of a sign it "
            "knows looks like one that never saw the sign (similar medians), so any threshold "
            "trades answered known signs for rejected unseen ones. The bundled model's threshold "
            "(`tools/build_default_model.py`, target accuracy 99% on its held-out known signs) "
            "answers 91% of them, the 90% operating point here.",
            "",
            f"![open set]({PLOT.name})",
        ]
    )
    print(body)
    write_section("Unseen signs (open set)", body)


if __name__ == "__main__":
    main()
