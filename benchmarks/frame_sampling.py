"""Fixing clip length to 30 frames: resample vs truncate vs the WLASL-50 "span" sampling.

Only GISLR has clips longer than 30 frames with a hand (median 18, up to 272 frames), so the
comparison runs there: the seed model with the seed recipe, participant-held-out folds, epoch
chosen on an inner split. WLASL-50 and the letters clips are at most 30 frames long, where the
three methods give identical input.

    python benchmarks/frame_sampling.py --jobs 2
"""

from __future__ import annotations

import argparse

from _cells import Cell, cached, run_cells
from _common import command_line, header, mean_std, write_section

TABLE = "frame_sampling"
METHODS = ("resample", "truncate", "span")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds-run", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    cells = [
        Cell(TABLE, method, "gislr", "seed", fold, overrides={"frame_sampling": method})
        for fold in args.folds_run
        for method in METHODS
    ]
    if not args.table_only:
        run_cells(cells, args.jobs)
    rows = cached(TABLE)
    lines = ["| frame sampling | folds | top-1 | top-5 |", "|---|---|---|---|"]
    for method in METHODS:
        part = [r for r in rows if r["row"] == method]
        if part:
            lines.append(
                f"| {method} | {len(part)} | {mean_std([r['top1'] for r in part])} | "
                f"{mean_std([r['top5'] for r in part])} |"
            )
    body = (
        header(command_line())
        + "\nGISLR hello/thank_you, 5-fold participant-held-out, seed model and recipe, epoch "
        "chosen on an inner split, seed 42; mean ± std over folds.\n\n" + "\n".join(lines)
    )
    write_section("Frame sampling (issue #3)", body)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
