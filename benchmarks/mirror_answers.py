"""One set of weights answering a clip and its mirror image six ways (issue #22).

Runs trained on clips as preprocessing gives them (``mirror_answer="confident"``: the model
comparison's on WLASL-50 and GISLR, msasl6's signer folds) and runs trained with mirrored copies
(the one-view row's, msasl6's bundled recipe with seed 43, the bundled model) answer their
held-out clips alone, averaged with the mirror image, by the surer of the two, each of these two
with canonical views, and by one pass on the canonical view
(:data:`~benchmarks.rows.MIRROR_ANSWERS`): what exact mirror agreement costs, paired on the same
weights, so no retraining noise enters the comparison. Trains nothing: run
``benchmarks.compare_models`` and ``benchmarks.signers --sets msasl6`` first (their run
directories must be on disk). Rendered by :func:`benchmarks.report.mirror_answers_section`.

    python -m benchmarks.mirror_answers
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks._cells import measure
from benchmarks._common import record_measurement
from benchmarks.rows import (
    MIRROR_ANSWER_SETS,
    MIRROR_ANSWER_WAYS,
    MIRROR_ANSWERS,
    mirror_answer_cells,
    mirror_answers_entry,
)
from benchmarks.signers import scores


def answer_ways(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The run's held-out clips scored by each of :data:`MIRROR_ANSWERS` (same weights)."""
    from aslrec.inference.backends import TorchBackend
    from aslrec.inference.recognizer import Recognizer
    from aslrec.runs.directory import RunDirectory

    clips = RunDirectory(run_dir).held_out_clips()
    backend = TorchBackend(run_dir)
    wrapper = backend.model  # a MirrorAveraged: its two options are read at every call
    answered = {}
    for name, (canonical, answer) in MIRROR_ANSWER_WAYS.items():
        wrapper.canonical, wrapper.answer = canonical, answer
        answered[name] = scores(Recognizer([backend]), clips)
    backend.model = wrapper.model  # the wrapped network alone: the clip as given
    answered["as given"] = scores(Recognizer([backend]), clips)
    return answered


def dataset_answers(dataset: str) -> dict[str, Any] | None:
    """Every trained fold of ``dataset`` (for ``"bundled"``: the bundled model's held-out fold)
    answered each way; None while no fold is trained or a run is not on disk."""
    from aslrec.inference.recognizer import default_model_dir

    if dataset == "bundled":
        runs = [default_model_dir()]
    else:
        cells = mirror_answer_cells(dataset)
        if not cells or not all(cell.run_dir.is_dir() for cell in cells):
            return None
        runs = [cell.run_dir for cell in cells]
    folds = [answer_ways(run) for run in runs]
    return {"answers": {name: [fold[name] for fold in folds] for name in MIRROR_ANSWERS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rerun-stale", action="store_true", help="remeasure stale entries")
    args = parser.parse_args()
    measured = False
    for dataset in MIRROR_ANSWER_SETS:
        entry = mirror_answers_entry(dataset)
        measured |= measure(
            entry, lambda dataset=dataset: dataset_answers(dataset), rerun_stale=args.rerun_stale
        )
    if measured:
        record_measurement(report.MIRROR_ANSWERS_TITLE)
    print(report.write(report.MIRROR_ANSWERS_TITLE))


if __name__ == "__main__":
    main()
