"""The bar every later model must beat: the seed model and its baseline, seed recipe, real data.

Cells: {WLASL-50 (5-fold stratified, near-duplicate groups kept together), GISLR hello/thankyou
(5-fold participant-held-out), letters A-Z (5-fold, contiguous frame blocks held out)} x
{seed, seed-baseline} x folds. Each cell trains with the seed preset on one CPU thread.

Honest selection: the epoch is picked on an inner 1/8 validation split of the training folds
(``selection=inner``) and the held-out fold is scored once. The table also shows the
"oracle" top-1 (best epoch chosen on the scored fold, the card's way), which is optimistic and
only there to compare with figures measured that way.

Finished cells are cached under ``benchmarks/results/seed_recipe/`` (resumable). Usage::

    python benchmarks/seed_recipe.py --jobs 2            # all cells (hours on 2 CPU cores)
    python benchmarks/seed_recipe.py --table-only        # rebuild RESULTS.md from the cache
"""

from __future__ import annotations

import argparse

from _cells import DATASETS, Cell, cached, run_cells
from _common import command_line, header, mean_std, write_section

TABLE = "seed_recipe"
MODELS = ("seed", "seed-baseline")


def table() -> str:
    rows = cached(TABLE)
    lines = [
        "| data (split) | model | folds done | top-1 | top-5 | oracle top-1 | best epoch | "
        "s/fold | params |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, (_, split) in DATASETS.items():
        for model in MODELS:
            cell = [r for r in rows if r["dataset"] == dataset and r["row"] == model]
            if not cell:
                continue
            n = len(cell)
            lines.append(
                f"| {dataset} ({split}) | {model} | {n}/{cell[0]['folds']} | "
                f"{mean_std([r['top1'] for r in cell])} | {mean_std([r['top5'] for r in cell])} | "
                f"{mean_std([r['oracle_top1'] for r in cell])} | "
                f"{sum(r['best_epoch'] for r in cell) / n:.0f} | "
                f"{sum(r['wall_time_s'] for r in cell) / n:.0f} | {cell[0]['num_parameters']:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="parallel cells, one thread each")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()

    # Cheap data sets first, so an interrupted run leaves complete rows rather than scraps.
    order = sorted(args.datasets, key=["letters", "gislr", "wlasl50"].index)
    cells = [
        Cell(TABLE, model, dataset, "seed", fold, args.folds, {"model": model})
        for dataset in order
        for model in args.models
        for fold in range(args.folds)
    ]
    if not args.table_only:
        run_cells(cells, args.jobs)
    body = (
        header(command_line())
        + "\nSeed preset (AdamW 1e-3/1e-4, OneCycleLR, class-weighted CE, Gaussian noise 0.02, "
        "dropout 0.3, clip 1.0, batch 32, <=100 epochs, patience 15), per-frame [-1, 1] "
        "normalisation, one CPU thread per cell, seed 42. Top-1/top-5: mean ± std (sample std) "
        "over folds, scored on the held-out fold with the epoch chosen on an inner 1/8 split of "
        "the training folds. Oracle top-1: the best held-out accuracy over epochs (epoch chosen "
        "on the scored fold, as the card did; optimistic). Splits: wlasl50 stratified 5-fold "
        "with near-duplicate groups together (no signer ids exist); gislr participant-held-out "
        "5-fold (21 participants); letters 5-fold holding out contiguous blocks of each "
        "letter's frames (one signer).\n\n" + table()
    )
    write_section("Seed recipe (issue #3)", body)
    print(table())


if __name__ == "__main__":
    main()
