"""Benchmark cells: one training run (data set x recipe x fold), cached as JSON.

Every cross-validated table (seed recipe, model comparison, ablations, learning curves) is a
set of cells run by :func:`run_cells`: in parallel processes with one CPU thread each, each
finished cell written to ``benchmarks/results/<table>/<cell>.json``, so a run can stop at any
point and resume, and tables are rebuilt from the cache alone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import REPO, SHARED_DATA, file_slug

from aslrec.atomic import write_text

DATASETS = {
    "wlasl50": ("wlasl50_mp.npz", "stratified"),
    "gislr": ("gislr_hello_thankyou.npz", "signer"),
    "letters": ("letters_static.npz", "stratified"),
}


FOLDS = 5  # every table's cross-validation: 5 folds (the issues' protocol)


@dataclass(frozen=True)
class Cell:
    """One training run; ``row`` names the table row it belongs to."""

    table: str
    row: str
    dataset: str
    preset: str
    fold: int
    folds: int = FOLDS
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.dataset}-{file_slug(self.row)}-fold{self.fold}"

    @property
    def cache(self) -> Path:
        return REPO / "benchmarks" / "results" / self.table / f"{self.key}.json"

    @property
    def run_dir(self) -> Path:
        return REPO / "benchmarks" / "runs" / self.table / self.key


def run_cell(cell: Cell) -> dict[str, Any]:
    import numpy as np

    from aslrec.runs.artifacts import load_history
    from aslrec.runs.config import preset
    from aslrec.workflows.train import train

    filename, split = DATASETS[cell.dataset]
    config = preset(cell.preset).updated(
        **{
            "folds": cell.folds,
            "fold": cell.fold,
            "split": split,
            "selection": "inner",
            "threads": 1,
            **cell.overrides,
        }
    )
    if config.teachers:  # cells name teachers' run directories relative to the repository
        config = config.updated(teachers=[str(REPO / t) for t in config.teachers])
    shutil.rmtree(cell.run_dir, ignore_errors=True)
    result = train([SHARED_DATA / filename], cell.run_dir, config, progress=False)
    history = load_history(cell.run_dir)
    run_config = json.loads((cell.run_dir / "model_config.json").read_text())
    test_acc = [v for v in history["test_acc"] if not np.isnan(v)]
    return {
        **asdict(cell),
        "split": split,
        "selection": config.selection,
        "top1": result.val_top1,
        "top5": result.val_top5,
        "oracle_top1": max(test_acc) if test_acc else None,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "wall_time_s": result.wall_time_s,
        "num_parameters": result.num_parameters,
        "num_train": run_config["data"]["num_train"],
        "num_val": run_config["data"]["num_val"],
        "seed": config.seed,
    }


def run_cells(
    cells: Sequence[Cell],
    jobs: int = 1,
    runner: Callable[[Cell], dict[str, Any]] = run_cell,
) -> None:
    """Run every cell that is not cached yet, ``jobs`` at a time, with a progress bar.

    ``runner`` trains one cell and returns its cached row (with ``top1``, ``best_epoch`` and
    ``wall_time_s``); tables that score more than the held-out fold pass their own."""
    from rich.progress import Progress

    todo = [c for c in cells if not c.cache.exists()]
    if not todo:
        return
    with Progress() as progress, ProcessPoolExecutor(jobs) as pool:
        task = progress.add_task(f"{len(todo)} training runs", total=len(todo))
        futures = {pool.submit(runner, cell): cell for cell in todo}
        for future in as_completed(futures):
            cell = futures[future]
            row = future.result()
            write_text(cell.cache, json.dumps(row, indent=1))
            progress.console.print(
                f"{cell.key}: top-1 {row['top1']:.2%} (epoch {row['best_epoch']}, "
                f"{row['wall_time_s']:.0f} s)"
            )
            progress.advance(task)


def cached(table: str) -> list[dict[str, Any]]:
    folder = REPO / "benchmarks" / "results" / table
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
