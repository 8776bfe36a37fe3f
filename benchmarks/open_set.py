"""How well does a model know what it does not know? Signs it never saw, scored like known ones.

aslrec's streaming recogniser and the service answer "unknown" below the model's stored
threshold on the top-1 probability. ``aslrec calibrate``'s default (the lowest threshold whose
answers are 90% right) lets a model more accurate than that answer everything: the bundled
model had threshold 0, and every sign outside the vocabulary got a label (streaming benchmark:
0 of 24 kept quiet). This measures how far known and unseen signs can be told apart at all, and
what each threshold costs; the bundled model's threshold is chosen from it.

Cells (:func:`benchmarks.rows.open_set_cell`): for each fold ``f`` of WLASL-50's 5-fold
stratified split, 10 of the 50 signs (drawn with seed ``f``) are removed from the data; the
``best-fast`` recipe trains on the training folds of the other 40 signs. Scored: the held-out
fold of the 40 known signs and every clip of the 10 unseen signs (none was trained on). Scores,
higher = "known": the top-1 probability (what aslrec thresholds) and the negative energy
``logsumexp(logits)`` (Liu et al. 2020, "Energy-based Out-of-distribution Detection"). Both are
rank-only here, so temperature scaling changes nothing. Finished cells are cached under
``benchmarks/results/open_set/`` with the per-clip scores. Usage::

    python -m benchmarks.open_set --jobs 2     # 5 training runs (~10 min each, 1 thread)
    python -m benchmarks.report                # rebuild RESULTS.md and the plot from the cache
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import report
from benchmarks._cells import FOLDS, Cell, run_cells
from benchmarks._common import record_measurement
from benchmarks.rows import open_set_cell


def unseen_signs(cell: Cell, clips: list) -> list[str]:  # type: ignore[type-arg]
    """The cell's ``unseen_signs`` labels of ``clips``, drawn with its ``unseen_draw_seed``."""
    labels = sorted({c.label or "" for c in clips})
    rng = np.random.default_rng(cell.protocol["unseen_draw_seed"])
    return sorted(str(x) for x in rng.choice(labels, cell.protocol["unseen_signs"], replace=False))


def write_store(folder: Path, clips: list) -> Path:  # type: ignore[type-arg]
    """``clips`` as a fresh aslrec data set in ``folder`` (what a cell trains on)."""
    from aslrec.data.store import ClipStore

    shutil.rmtree(folder, ignore_errors=True)
    ClipStore(folder, create=True).add_all((f"{i:05d}", c) for i, c in enumerate(clips))
    return folder


def run_open_set_cell(cell: Cell) -> dict[str, Any]:
    """Train on the known signs of the cell's fold; score its held-out known clips and every
    unseen clip (top-1 probability and negative energy per clip)."""
    from aslrec.data.labels import canonical_clips
    from aslrec.data.loaders import load_dataset
    from aslrec.inference.recognizer import Recognizer
    from aslrec.numerics import logsumexp, softmax
    from aslrec.runs.directory import RunDirectory
    from aslrec.workflows.train import train

    clips = canonical_clips(load_dataset(cell.data))
    unseen = unseen_signs(cell, clips)
    known = [c for c in clips if c.label not in unseen]
    known_data = write_store(cell.run_dir.with_name(cell.run_dir.name + "-data"), known)
    shutil.rmtree(cell.run_dir, ignore_errors=True)
    result = train([known_data], cell.run_dir, cell.config(), progress=False)

    run = RunDirectory(cell.run_dir)
    known_test = run.held_out_clips()
    unseen_test = [c for c in clips if c.label in unseen]
    recognizer = Recognizer.load(cell.run_dir)
    known_logits = recognizer.logits(known_test)
    unseen_logits = recognizer.logits(unseen_test)
    correct = known_logits.argmax(1) == run.label_indices(known_test)
    if not np.isclose(correct.mean(), result.val_top1):
        raise RuntimeError(f"{cell.key}: rebuilt held-out fold does not match the training run")

    return {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds-run", type=int, nargs="+", default=list(range(FOLDS)))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rerun-stale", action="store_true", help="retrain stale cached cells")
    args = parser.parse_args()
    cells = [open_set_cell(f) for f in args.folds_run]
    if run_cells(cells, args.jobs, runner=run_open_set_cell, rerun_stale=args.rerun_stale):
        record_measurement(report.OPEN_SET_TITLE)
    print(report.write(report.OPEN_SET_TITLE))


if __name__ == "__main__":
    main()
