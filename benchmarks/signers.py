"""Letters of people the model never saw: fingerspelling16 (12 people) with signers held out.

Trains :func:`benchmarks.rows.signers_cells` (4 folds, 3 people held out in each; 12 folds of
one person for the row on issue #22's own protocol) and
:func:`~benchmarks.rows.one_signer_cell` (letters_static, one signer), then scores every
held-out person separately, a clip against its mirror image, the bundled model on all 12
people, the issue's logistic-regression baseline and an RBF SVM on the same one-person folds
(alone and with the hybrid's runs), and ensembles of one-person rows, one per person (two seeds
of the hybrid; the hybrid with aslrec's hand-shape SVM). Rendered
by :func:`benchmarks.report.signers_section`. Then msasl6's words with its signers held out
(:func:`~benchmarks.rows.msasl_cell`, 4 folds, WLASL-50 and GISLR always trained on):
:func:`benchmarks.report.msasl_section`.

    python -m benchmarks.signers --jobs 2
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import report
from benchmarks._cells import (
    SIGNER_DATASETS,
    Cached,
    Cell,
    dataset_path,
    measure,
    run_cell,
    run_cells,
)
from benchmarks._common import SHARED_DATA, record_measurement
from benchmarks.rows import (
    MSASL_FOLDS,
    MSASL_ROWS,
    MSASL_WORDS,
    PHOTO_ROWS,
    SIGNERS_ENSEMBLES,
    SIGNERS_LOPO_ROW,
    SIGNERS_ROWS,
    logistic_baseline_entry,
    msasl_cell,
    msasl_words_entry,
    one_signer_cell,
    signers_bundled_entry,
    signers_cells,
    signers_ensemble_entry,
    signers_photos_entry,
    svm_baseline_entry,
)

FS16 = SHARED_DATA / "fingerspelling16.npz"


def scores(recognizer: Any, clips: list) -> dict[str, Any]:  # type: ignore[type-arg]
    """Top-1 overall and per signer, how often a clip and its mirror image agree, and each
    miss as (truth, predicted, signer)."""
    from aslrec.runs.directory import label_indices

    y = label_indices(recognizer.classes, clips)
    predicted = recognizer.probabilities(clips).argmax(axis=1)
    mirrored = recognizer.probabilities([c.mirrored() for c in clips]).argmax(axis=1)
    right = predicted == y
    by_signer: dict[str, list[bool]] = defaultdict(list)
    by_label: dict[str, list[bool]] = defaultdict(list)
    for clip, ok in zip(clips, right, strict=True):
        by_signer[str(clip.signer)].append(bool(ok))
        by_label[str(clip.label)].append(bool(ok))
    return {
        "clips": len(clips),
        "top1": float(right.mean()),
        "per_signer": {s: float(np.mean(v)) for s, v in sorted(by_signer.items())},
        "per_label": {label: [int(sum(v)), len(v)] for label, v in sorted(by_label.items())},
        "mirror_agreement": float((predicted == mirrored).mean()),
        "errors": [
            [str(clip.label), recognizer.classes[p], str(clip.signer)]
            for clip, p, ok in zip(clips, predicted, right, strict=True)
            if not ok
        ],
    }


def run_signers_cell(cell: Cell) -> dict[str, Any]:
    """Train the cell, then score its held-out people (or, trained on letters_static, all 12
    people of fingerspelling16)."""
    from aslrec.data.labels import canonical_clips
    from aslrec.data.loaders import load_dataset
    from aslrec.inference.recognizer import Recognizer
    from aslrec.runs.directory import RunDirectory

    row = run_cell(cell)
    recognizer = Recognizer.load(cell.run_dir)
    if cell.dataset in SIGNER_DATASETS:
        clips = RunDirectory(cell.run_dir).held_out_clips()
    else:
        clips = canonical_clips(load_dataset(FS16))
    return {**row, "scored_on": scores(recognizer, clips)}


def bundled_scores(dataset: str = "fingerspelling16") -> dict[str, Any]:
    """The bundled model on every clip of ``dataset``, and on those of them in its own
    held-out fold (the only ones it did not train on, if it trained on the set at all)."""
    from aslrec.data.labels import canonical_clips
    from aslrec.data.loaders import load_dataset
    from aslrec.inference.recognizer import Recognizer, default_model_dir
    from aslrec.runs.ensemble import held_out_run

    recognizer = Recognizer.load()
    every = canonical_clips(load_dataset(dataset_path(dataset)))
    clips = [c for c in every if c.label in recognizer.classes]  # a model may lack some words
    run = held_out_run([default_model_dir()])
    sources = {str(c.source) for c in clips}
    trained_on = any(Path(s).resolve() == dataset_path(dataset).resolve() for s in run.sources)
    held_out = [c for c in run.held_out_clips() if str(c.source) in sources] if trained_on else []
    return {
        **scores(recognizer, clips),
        "trained_on_it": trained_on,
        "outside_vocabulary": len(every) - len(clips),
        "held_out": scores(recognizer, held_out) if held_out else None,
    }


def logistic_baseline_scores() -> dict[str, Any]:
    """Issue #22's baseline (:data:`~benchmarks.rows.LOGISTIC_BASELINE`): each person of
    fingerspelling16 scored by a logistic regression trained on the other 11."""
    from sklearn.linear_model import LogisticRegression

    data = np.load(FS16, allow_pickle=False)
    hand = data["hand"].astype(np.float64)
    centred = hand - hand[:, :1]
    size = np.linalg.norm(centred[:, 9, :2], axis=1)[:, None, None]
    features = (centred / np.maximum(size, 1e-6)).reshape(len(hand), -1)
    labels, people = data["label"], data["person"]
    per_signer = {}
    for person in sorted(set(people.tolist())):
        test = people == person
        model = LogisticRegression(C=1.0, max_iter=5000).fit(features[~test], labels[~test])
        per_signer[person] = float((model.predict(features[test]) == labels[test]).mean())
    return {"clips": len(hand), "top1": float(np.mean(list(per_signer.values()))),
            "per_signer": per_signer}  # fmt: skip


def hand_shape(hand: np.ndarray) -> np.ndarray:
    """``(N, 21, 3)`` -> ``(N, 52)``: :func:`aslrec.models.features.hand_shape` (the hybrid
    model's per-frame hand shape, x, y relative to the wrist over the wrist to middle-finger
    MCP distance, and its 10 fingertip distances), for one hand per row."""
    import torch

    from aslrec.models.features import hand_shape as shape_of

    return shape_of(torch.from_numpy(hand[:, None])).numpy()[:, 0]


def runs_by_person(rows: Sequence[str]) -> dict[str, list[Path]] | None:
    """The run directories of one-person-held-out ``rows`` by the person each held out (one
    per row); None while any is not trained."""
    runs: dict[str, list[Path]] = defaultdict(list)
    for row in rows:
        for cell in signers_cells(row):
            if (result := cell.read()) is None:
                return None
            (person,) = result["scored_on"]["per_signer"]
            runs[person].append(cell.run_dir)
    return runs


def svm_baseline_scores() -> dict[str, Any] | None:
    """:data:`~benchmarks.rows.SVM_BASELINE` on each person of fingerspelling16, trained on
    the other 11; and its probabilities times those of :data:`~benchmarks.rows.SIGNERS_LOPO_ROW`'s
    run that held the same person out (None until those runs are trained)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.svm import SVC

    from aslrec.inference.recognizer import Recognizer
    from aslrec.runs.directory import RunDirectory

    runs = runs_by_person([SIGNERS_LOPO_ROW])
    if runs is None:
        return None
    data = np.load(FS16, allow_pickle=False)
    features = hand_shape(data["hand"].astype(np.float64))
    labels, people, paths = data["label"], data["person"], data["path"].tolist()
    takes = np.char.add(np.char.add(people, ":"), labels)  # a person's 10 photos of a letter
    alone, combined = {}, {}
    for person, (run_dir,) in sorted(runs.items()):
        train = people != person
        mean, std = features[train].mean(axis=0), features[train].std(axis=0)
        std[std < 1e-6] = 1.0
        scaled = (features - mean) / std
        folds = StratifiedGroupKFold(4, shuffle=True, random_state=42)
        calibration = list(folds.split(scaled[train], labels[train], takes[train]))
        svm = CalibratedClassifierCV(
            SVC(C=10, gamma=1 / (scaled.shape[1] * scaled[train].var())),  # gamma='scale'
            method="sigmoid",
            ensemble=False,
            cv=calibration,
        ).fit(scaled[train], labels[train])
        classes = svm.classes_.tolist()
        clips = RunDirectory(run_dir).held_out_clips()
        rows = [paths.index(str(clip.source).rsplit("#", 1)[1]) for clip in clips]
        truth = np.array([classes.index(str(clip.label)) for clip in clips])
        p_svm = svm.predict_proba(scaled[rows])
        recognizer = Recognizer.load(run_dir)
        p_run = recognizer.probabilities(clips)[:, [recognizer.classes.index(c) for c in classes]]
        p_run /= p_run.sum(axis=1, keepdims=True)  # the run may know letters the SVM does not
        alone[person] = float((p_svm.argmax(axis=1) == truth).mean())
        both = np.log(p_svm + 1e-9) + np.log(p_run + 1e-9)
        combined[person] = float((both.argmax(axis=1) == truth).mean())
    return {"clips": len(labels), "per_signer": alone, "with_run_per_signer": combined}


def among_words_scores(row: str) -> dict[str, Any] | None:
    """Each fold of msasl6 ``row`` scored by its run choosing among :data:`MSASL_WORDS` only
    (:meth:`~aslrec.inference.recognizer.Recognizer.restrict`); None until every fold's run is
    trained and on disk."""
    from aslrec.inference.recognizer import Recognizer
    from aslrec.runs.directory import RunDirectory

    cells = [msasl_cell(fold, row) for fold in range(MSASL_FOLDS)]
    if any(cell.read() is None or not cell.run_dir.is_dir() for cell in cells):
        return None
    folds = []
    for cell in cells:
        recognizer = Recognizer.load(cell.run_dir, signs=MSASL_WORDS)
        folds.append(scores(recognizer, RunDirectory(cell.run_dir).held_out_clips()))
    return {"signs": list(MSASL_WORDS), "folds": folds}


def ensemble_scores(stem: str) -> dict[str, Any] | None:
    """Each person scored by the ensemble of the runs of
    :data:`~benchmarks.rows.SIGNERS_ENSEMBLES` ``[stem]``'s rows that held that person out;
    None until all are trained."""
    from aslrec.inference.backends import load_backend
    from aslrec.inference.recognizer import Recognizer
    from aslrec.runs.directory import RunDirectory

    _, rows = SIGNERS_ENSEMBLES[stem]
    runs = runs_by_person(rows)
    if runs is None:
        return None
    per_person = {}
    for person, run_dirs in sorted(runs.items()):
        recognizer = Recognizer([load_backend(run_dir) for run_dir in run_dirs])
        per_person[person] = scores(recognizer, RunDirectory(run_dirs[0]).held_out_clips())
    return {"members": len(rows), "per_person": per_person}


def tracked_photo_scores(rows: Sequence[str]) -> dict[str, Any] | None:
    """Each person's photos tracked once by aslrec (as recorded and flipped, as ``aslrec
    predict photo.jpg`` tracks them) and read by each run of ``rows`` (one entry of
    :data:`~benchmarks.rows.PHOTO_ROWS`) that never saw that person; None until those runs are
    trained."""
    from rich.progress import track

    from aslrec.errors import NoHandsError
    from aslrec.inference.recognizer import Recognizer

    runs = runs_by_person(rows)
    if runs is None:
        return None
    tracker = Recognizer.load(runs[next(iter(runs))][0])
    per_row: dict[str, dict[str, float]] = {row: {} for row in rows}
    no_hands: dict[str, int] = {}
    for person, run_dirs in track(sorted(runs.items()), description="tracked photos"):
        photos = sorted((FS16.parent / "fingerspelling16" / person).glob("*.jpg"))
        clips, flipped, truth = [], [], []
        for photo in photos:
            try:
                clip, _ = tracker.extract(photo)
                mirrored, _ = tracker.extract(photo, mirror=True)
            except NoHandsError:
                continue
            clips.append(clip)
            flipped.append(mirrored)
            truth.append(photo.stem.rstrip("0123456789"))
        no_hands[person] = len(photos) - len(clips)
        for row, run_dir in zip(rows, run_dirs, strict=True):
            recognizer = Recognizer.load(run_dir)
            predicted = recognizer.probabilities(clips, flipped).argmax(axis=1)
            right = [recognizer.classes[p] == t for p, t in zip(predicted, truth, strict=True)]
            per_row[row][person] = float(np.sum(right) / len(photos))  # no hands: wrong
    return {"per_row": per_row, "photos_without_hands": no_hands}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rerun-stale", action="store_true", help="retrain stale cached cells")
    parser.add_argument(
        "--sets", nargs="+", default=["fingerspelling16", "msasl6"], choices=list(SIGNER_DATASETS)
    )
    args = parser.parse_args()
    if "fingerspelling16" in args.sets:
        cells = [one_signer_cell()]
        cells += [cell for row in SIGNERS_ROWS for cell in signers_cells(row)]
        trained = run_cells(cells, args.jobs, run_signers_cell, rerun_stale=args.rerun_stale)
        bundled: Cached = signers_bundled_entry()
        measured = measure(bundled, bundled_scores, rerun_stale=args.rerun_stale)
        baseline = logistic_baseline_entry()
        measured |= measure(baseline, logistic_baseline_scores, rerun_stale=args.rerun_stale)
        svm = svm_baseline_entry()
        measured |= measure(svm, svm_baseline_scores, rerun_stale=args.rerun_stale)
        for stem in SIGNERS_ENSEMBLES:
            ensemble = signers_ensemble_entry(stem)
            measured |= measure(
                ensemble, lambda stem=stem: ensemble_scores(stem), rerun_stale=args.rerun_stale
            )
        for stem, rows in PHOTO_ROWS.items():
            measured |= measure(
                signers_photos_entry(stem),
                lambda rows=rows: tracked_photo_scores(rows),
                rerun_stale=args.rerun_stale,
            )
        if trained or measured:
            record_measurement(report.SIGNERS_TITLE)
        print(report.write(report.SIGNERS_TITLE))
    if "msasl6" in args.sets:
        cells = [msasl_cell(f, row) for row in MSASL_ROWS for f in range(MSASL_FOLDS)]
        trained = run_cells(cells, args.jobs, run_signers_cell, rerun_stale=args.rerun_stale)
        bundled = signers_bundled_entry("msasl6")
        measured = measure(bundled, lambda: bundled_scores("msasl6"), rerun_stale=args.rerun_stale)
        for row in MSASL_ROWS:
            measured |= measure(
                msasl_words_entry(row),
                lambda row=row: among_words_scores(row),
                rerun_stale=args.rerun_stale,
            )
        if trained or measured:
            record_measurement(report.MSASL_TITLE)
        print(report.write(report.MSASL_TITLE))


if __name__ == "__main__":
    main()
