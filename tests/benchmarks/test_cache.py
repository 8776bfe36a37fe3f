"""The benchmark cache matches its row definitions: a preset or row changed without rerunning
its cells fails here (in CI), not silently in RESULTS.md. Reads JSON and resolves configs only:
no training, no network."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import rows
from benchmarks._cells import RESULTS_DIR, Cached, Cell, StaleResultError


def test_every_cached_result_matches_the_row_that_produced_it() -> None:
    stale = [
        e.stale_message(json.loads(e.path.read_text()))
        for e in rows.every_cached()
        if e.status() == "stale"
    ]
    assert not stale, "\n".join(stale)


def test_every_cached_file_belongs_to_a_row() -> None:
    defined = {e.path for e in rows.every_cached()}
    orphans = [p for p in sorted(RESULTS_DIR.glob("*/*.json")) if p not in defined]
    assert orphans == [], "cached by no row: " + ", ".join(map(str, orphans))


def test_a_changed_row_is_refused_naming_the_field(tmp_path: Path) -> None:
    cell = Cell("t", "best", "wlasl50", "best", 0)
    entry = Cached(tmp_path / "cell.json", "row 'best', wlasl50 fold 0", cell.cached.inputs)
    entry.write({"top1": 0.5})
    assert entry.read()["top1"] == 0.5
    changed = Cell("t", "best", "wlasl50", "best", 0, overrides={"lr": 1e-4})
    moved = Cached(entry.path, entry.label, changed.cached.inputs)
    assert moved.status() == "stale"
    with pytest.raises(
        StaleResultError, match=r"row 'best'.*config\.optim\.lr: cached 0\.002, now 0\.0001"
    ):
        moved.read()


def test_a_changed_teacher_makes_its_student_stale() -> None:
    student = rows.trained_cell("best-fast distilled", "wlasl50", 0)
    seed, best = student.teachers
    assert student.cached.inputs["config"]["distill"]["teachers"] == [
        seed.cached.fingerprint,
        best.cached.fingerprint,
    ]
    retaught = replace(student, teachers=(seed, replace(best, overrides={"lr": 1e-4})))
    assert retaught.cached.fingerprint != student.cached.fingerprint


def test_a_config_field_added_since_counts_as_its_default_but_a_new_augmentation_does_not(
    tmp_path: Path,
) -> None:
    cell = Cell("t", "best", "wlasl50", "best", 0)
    older = json.loads(json.dumps(cell.cached.inputs))
    del older["config"]["optim"]["ema"]  # as if written before the field existed
    Cached(tmp_path / "cell.json", "old", older).write({"top1": 0.5})
    assert Cached(tmp_path / "cell.json", "now", cell.cached.inputs).status() == "fresh"

    augmented = Cell("t", "best", "wlasl50", "best", 0, overrides={"augment": {"mixup": {}}})
    assert Cached(tmp_path / "cell.json", "now", augmented.cached.inputs).status() == "stale"
