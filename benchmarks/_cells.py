"""Benchmark cells: one training run (data set x recipe x fold), cached as JSON by fingerprint.

Every cross-validated table (seed recipe, model comparison, ablations, learning curves, open
set) is a set of cells run by :func:`run_cells`: in parallel processes with one CPU thread each,
each finished cell written to ``benchmarks/results/<table>/<cell>.json``, so a run can stop at
any point and resume, and tables are rebuilt from the cache alone (``python -m
benchmarks.report``).

A cached file is only ever reused for what produced it. It stores the *inputs* of its
measurement (for a trained cell: the data set file, the protocol, the resolved
:class:`~aslrec.runs.config.TrainConfig` as nested JSON, teachers replaced by their own
fingerprints, and :data:`TRAINING_CODE_VERSION`) and their ``fingerprint`` (sha256 of the
canonical JSON). Reading a cell recomputes what its row resolves to now; a different fingerprint
(a preset changed, a row's overrides changed, the training code version was bumped) raises
:class:`StaleResultError` naming the fields that differ, never a silent reuse of old numbers.
Measurements made from trained runs (ensembles, latency, error lists: :class:`Cached`) fingerprint
their members' fingerprints, so they go stale with them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aslrec.atomic import write_text
from benchmarks._common import REPO, SHARED_DATA, file_slug

if TYPE_CHECKING:
    from aslrec.runs.config import TrainConfig

TRAINING_CODE_VERSION = 1
"""Version of what aslrec's training code does, part of every trained cell's fingerprint.

Bump it in the same commit as a change to training, models, preprocessing, augmentation or
splits that changes what a cell measures (not for refactors that train bit-identical models):
every cached cell is then refused as stale until it is retrained (``--rerun-stale``)."""

DATASETS = {
    "wlasl50": ("wlasl50_mp.npz", "stratified"),
    "gislr": ("gislr_hello_thankyou.npz", "signer"),
    "letters": ("letters_static.npz", "stratified"),
}
"""The data sets of the cross-validated tables (seed recipe, model comparison): name -> (file,
split)."""
SIGNER_DATASETS = {
    "fingerspelling16": ("fingerspelling16.npz", "signer"),
    "msasl6": ("data/msasl6", "signer"),  # extracted by aslrec (tools/extract_msasl6.py)
}
"""Data sets only the new-signers tables train on."""
CELL_DATASETS = {**DATASETS, **SIGNER_DATASETS}


def dataset_path(name: str) -> Path:
    """Where a cell data set lies: ``../shared/data``, or this repository for ``data/...``."""
    file = CELL_DATASETS[name][0]
    return REPO / file if file.startswith("data/") else SHARED_DATA / file


FOLDS = 5  # every table's cross-validation: 5 folds (the issues' protocol)
RESULTS_DIR = REPO / "benchmarks" / "results"
RUNS_DIR = REPO / "benchmarks" / "runs"


class StaleResultError(RuntimeError):
    """A cached result whose stored inputs differ from what its row resolves to now."""


def fingerprint(inputs: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace) of ``inputs``."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def differences(stored: Any, current: Any, path: str = "") -> list[str]:
    """Dotted paths where two JSON values differ, each with both values."""
    if isinstance(stored, dict) and isinstance(current, dict):
        return [
            line
            for key in sorted(set(stored) | set(current), key=str)
            for line in differences(
                stored.get(key, "<absent>"), current.get(key, "<absent>"), f"{path}{key}."
            )
        ]
    if stored == current:
        return []
    return [f"{path.rstrip('.') or '(all)'}: cached {stored!r}, now {current!r}"]


def without_new_fields(inputs: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """``inputs`` without the TrainConfig fields that ``stored`` (a cached result's inputs)
    predates: a field added to the config since counts as its default, which must reproduce
    the old behaviour (if it does not, bump :data:`TRAINING_CODE_VERSION`). Free-form values
    (``augment``, model kwargs) are compared whole, so a row that adds an augmentation is not
    mistaken for a new field."""
    from aslrec.runs.config import FLAT_NAMES

    if not isinstance(inputs.get("config"), dict) or not isinstance(stored.get("config"), dict):
        return dict(inputs)
    config = copy.deepcopy(inputs["config"])
    old = stored["config"]
    for path in FLAT_NAMES.values():
        if path[0] not in old:
            config.pop(path[0], None)
            continue
        node, old_node = config, old
        for part in path[:-1]:
            node, old_node = node.get(part, {}), old_node.get(part, {})
        if isinstance(node, dict) and isinstance(old_node, dict) and path[-1] not in old_node:
            node.pop(path[-1], None)
    return {**inputs, "config": config}


@dataclass(frozen=True)
class Cached:
    """One cached measurement: its file, what it belongs to, and the inputs it was made from."""

    path: Path
    label: str  # e.g. "row 'best', wlasl50 fold 0": named in every error about it
    inputs: Mapping[str, Any]

    def _stored(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        return json.loads(self.path.read_text(encoding="utf-8"))

    @cached_property
    def fingerprint(self) -> str:
        """What the cached file must carry to be reused: the fingerprint of :attr:`inputs`,
        leaving out config fields added since the file was written (:func:`without_new_fields`),
        so that adding a field with a behaviour-preserving default keeps the cache valid."""
        stored = self._stored()
        if stored is None:
            return fingerprint(self.inputs)
        return fingerprint(without_new_fields(self.inputs, stored.get("inputs", {})))

    def status(self) -> str:
        """``"missing"``, ``"stale"`` (cached from other inputs) or ``"fresh"``."""
        stored = self._stored()
        if stored is None:
            return "missing"
        return "fresh" if stored.get("fingerprint") == self.fingerprint else "stale"

    def read(self) -> dict[str, Any] | None:
        """The cached result; None if there is none; :class:`StaleResultError` if it was made
        from other inputs than this row resolves to now."""
        stored = self._stored()
        if stored is None:
            return None
        if stored.get("fingerprint") != self.fingerprint:
            raise StaleResultError(self.stale_message(stored))
        return stored

    def stale_message(self, stored: Mapping[str, Any]) -> str:
        cached = stored.get("inputs", {})
        diff = differences(cached, without_new_fields(self.inputs, cached))
        shown = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path
        return (
            f"{shown} ({self.label}) is stale: its row now resolves to "
            f"other inputs ({'; '.join(diff) or 'fingerprint differs'}). Rerun it (the "
            "benchmark's --rerun-stale) or change the row back; it is not reused."
        )

    def write(self, measured: Mapping[str, Any]) -> None:
        """Store ``measured`` with the inputs and fingerprint it was made from (all of them:
        a new result predates no field)."""
        data = {**measured, "fingerprint": fingerprint(self.inputs), "inputs": self.inputs}
        write_text(self.path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        self.__dict__.pop("fingerprint", None)  # computed from the file it replaced


@dataclass(frozen=True)
class Cell:
    """One training run; ``row`` names the table row it belongs to.

    ``overrides`` change the preset (flat or dotted :class:`TrainConfig` names); ``teachers``
    are the cells whose runs a distilled cell learns from (trained first); ``protocol`` holds
    what else changes what the cell measures (e.g. the open-set benchmark's removed signs).
    """

    table: str
    row: str
    dataset: str
    preset: str
    fold: int
    folds: int = FOLDS
    overrides: Mapping[str, Any] = field(default_factory=dict)
    teachers: tuple[Cell, ...] = ()
    protocol: Mapping[str, Any] = field(default_factory=dict)
    train_only: tuple[str, ...] = ()
    """Data sets (names) trained on in every fold, never held out (``train --train-only``)."""

    @property
    def key(self) -> str:
        return f"{self.dataset}-{file_slug(self.row)}-fold{self.fold}"

    @property
    def run_dir(self) -> Path:
        return RUNS_DIR / self.table / self.key

    @property
    def data(self) -> Path:
        return dataset_path(self.dataset)

    def config(self) -> TrainConfig:
        """The config the cell trains with: the preset, the cell's fold and split, epoch
        selection on an inner split unless the row says otherwise, one thread, its overrides,
        and its teachers' run directories."""
        from aslrec.runs.config import preset

        config = preset(self.preset).updated(
            **{
                "folds": self.folds,
                "fold": self.fold,
                "split": CELL_DATASETS[self.dataset][1],
                "selection": "inner",
                "threads": 1,
                **self.overrides,
            }
        )
        if self.teachers:
            config = config.updated(teachers=[str(t.run_dir) for t in self.teachers])
        return config

    @cached_property
    def cached(self) -> Cached:
        """The cache entry; its inputs name teachers by fingerprint, not by (machine-specific)
        path, so a retrained teacher makes its students stale too."""
        config = self.config().to_dict()
        config["distill"]["teachers"] = [t.cached.fingerprint for t in self.teachers]
        inputs = {
            "training_code_version": TRAINING_CODE_VERSION,
            "data": CELL_DATASETS[self.dataset][0],
            "protocol": dict(self.protocol),
            "config": config,
        }
        if self.train_only:  # only then: the cells cached before it existed stay fresh
            inputs["train_only"] = [CELL_DATASETS[name][0] for name in self.train_only]
        label = f"row {self.row!r}, {self.dataset} fold {self.fold}"
        return Cached(RESULTS_DIR / self.table / f"{self.key}.json", label, inputs)

    def identity(self) -> dict[str, Any]:
        """What the cached file says about the cell itself (readable next to its numbers)."""
        return {
            "table": self.table,
            "row": self.row,
            "dataset": self.dataset,
            "preset": self.preset,
            "fold": self.fold,
            "folds": self.folds,
            "overrides": dict(self.overrides),
            "teachers": [t.key for t in self.teachers],
        }

    def read(self) -> dict[str, Any] | None:
        return self.cached.read()


def run_cell(cell: Cell) -> dict[str, Any]:
    """Train one cell; its held-out scores and what the run was, for the cache."""
    import numpy as np

    from aslrec.runs.artifacts import load_history
    from aslrec.runs.directory import RunDirectory
    from aslrec.workflows.train import train

    config = cell.config()
    shutil.rmtree(cell.run_dir, ignore_errors=True)
    extra = [dataset_path(name) for name in cell.train_only]
    result = train([cell.data], cell.run_dir, config, train_only=extra, progress=False)
    history = load_history(cell.run_dir)
    data = RunDirectory(cell.run_dir).config["data"]
    test_acc = [v for v in history["test_acc"] if not np.isnan(v)]
    return {
        "split": config.split.strategy,
        "selection": config.selection,
        "top1": result.val_top1,
        "top5": result.val_top5,
        "oracle_top1": max(test_acc) if test_acc else None,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "wall_time_s": result.wall_time_s,
        "num_parameters": result.num_parameters,
        "num_train": data["num_train"],
        "num_val": data["num_val"],
        "seed": config.split.seed,
    }


def pending(entries: Sequence[Cached], *, rerun_stale: bool) -> list[int]:
    """Indices of ``entries`` to (re)compute: the missing ones, and the stale ones when
    ``rerun_stale``; without it a stale entry stops the run (all of them named at once)."""
    status = [e.status() for e in entries]
    stale = [e for e, s in zip(entries, status, strict=True) if s == "stale"]
    if stale and not rerun_stale:
        messages = [e.stale_message(json.loads(e.path.read_text(encoding="utf-8"))) for e in stale]
        raise StaleResultError(
            f"{len(stale)} cached result(s) are stale (pass --rerun-stale to recompute them):\n"
            + "\n".join(messages)
        )
    return [i for i, s in enumerate(status) if s != "fresh"]


def run_cells(
    cells: Sequence[Cell],
    jobs: int = 1,
    runner: Callable[[Cell], dict[str, Any]] = run_cell,
    *,
    rerun_stale: bool = False,
) -> int:
    """Train every cell that is not cached (or is stale, with ``rerun_stale``), ``jobs`` at a
    time, with a progress bar; returns how many were trained.

    ``runner`` trains one cell and returns its measured values (with ``top1``, ``best_epoch``
    and ``wall_time_s``); tables that score more than the held-out fold pass their own."""
    from rich.progress import Progress

    todo = [cells[i] for i in pending([c.cached for c in cells], rerun_stale=rerun_stale)]
    if not todo:
        return 0
    with Progress() as progress, ProcessPoolExecutor(jobs) as pool:
        task = progress.add_task(f"{len(todo)} training runs", total=len(todo))
        futures = {pool.submit(runner, cell): cell for cell in todo}
        for future in as_completed(futures):
            cell = futures[future]
            row = future.result()
            cell.cached.write({**cell.identity(), **row})
            progress.console.print(
                f"{cell.key}: top-1 {row['top1']:.2%} (epoch {row['best_epoch']}, "
                f"{row['wall_time_s']:.0f} s)"
            )
            progress.advance(task)
    return len(todo)


def measure(
    entry: Cached, compute: Callable[[], dict[str, Any] | None], *, rerun_stale: bool
) -> bool:
    """Compute and cache one measurement made from trained runs unless it is cached fresh;
    ``compute`` returns None while its runs are not trained yet. True if it computed one."""
    if not pending([entry], rerun_stale=rerun_stale):
        return False
    result = compute()
    if result is None:
        return False
    entry.write(result)
    return True
