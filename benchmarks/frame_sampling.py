"""Fixing clip length to 30 frames: resample vs truncate vs the WLASL-50 "span" sampling.

Only GISLR has clips longer than 30 frames with a hand (median 18, up to 272 frames), so the
comparison runs there: the seed model with the seed recipe, participant-held-out folds, epoch
chosen on an inner split (cells: :mod:`benchmarks.rows`). WLASL-50 and the letters clips are at
most 30 frames long, where the three methods give identical input.

    python -m benchmarks.frame_sampling --jobs 2
"""

from __future__ import annotations

import argparse

from benchmarks import report
from benchmarks._cells import FOLDS, run_cells
from benchmarks._common import record_measurement
from benchmarks.rows import SAMPLING_METHODS, frame_sampling_cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds-run", type=int, nargs="+", default=list(range(FOLDS)))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rerun-stale", action="store_true", help="retrain stale cached cells")
    args = parser.parse_args()
    cells = [frame_sampling_cell(m, fold) for fold in args.folds_run for m in SAMPLING_METHODS]
    if run_cells(cells, args.jobs, rerun_stale=args.rerun_stale):
        record_measurement(report.FRAME_SAMPLING_TITLE)
    print(report.write(report.FRAME_SAMPLING_TITLE))


if __name__ == "__main__":
    main()
