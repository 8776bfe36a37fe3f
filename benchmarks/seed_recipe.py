"""The bar every later model must beat: the seed model and its baseline, seed recipe, real data.

Cells: {WLASL-50 (5-fold stratified, near-duplicate groups kept together), GISLR hello/thankyou
(5-fold participant-held-out), letters A-Z (5-fold, contiguous frame blocks held out)} x
{seed, seed-baseline} x folds (:mod:`benchmarks.rows`). Each cell trains with the seed preset on
one CPU thread.

Honest selection: the epoch is picked on an inner 1/8 validation split of the training folds
(``selection=inner``) and the held-out fold is scored once. The table also shows the
"oracle" top-1 (best epoch chosen on the scored fold, the card's way), which is optimistic and
only there to compare with figures measured that way.

Finished cells are cached under ``benchmarks/results/seed_recipe/`` (resumable). Usage::

    python -m benchmarks.seed_recipe --jobs 2     # all cells (hours on 2 CPU cores)
    python -m benchmarks.report                   # rebuild RESULTS.md from the cache
"""

from __future__ import annotations

import argparse

from benchmarks import report
from benchmarks._cells import DATASETS, FOLDS, run_cells
from benchmarks._common import record_measurement
from benchmarks.rows import SEED_MODELS, TRAIN_ORDER, seed_recipe_cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(SEED_MODELS), choices=SEED_MODELS)
    parser.add_argument("--folds-run", type=int, nargs="+", default=list(range(FOLDS)))
    parser.add_argument("--jobs", type=int, default=1, help="parallel cells, one thread each")
    parser.add_argument("--rerun-stale", action="store_true", help="retrain stale cached cells")
    args = parser.parse_args()

    cells = [
        seed_recipe_cell(model, dataset, fold)
        for dataset in sorted(args.datasets, key=TRAIN_ORDER.index)
        for model in args.models
        for fold in args.folds_run
    ]
    if run_cells(cells, args.jobs, rerun_stale=args.rerun_stale):
        record_measurement(report.SEED_RECIPE_TITLE)
    print(report.write(report.SEED_RECIPE_TITLE))


if __name__ == "__main__":
    main()
