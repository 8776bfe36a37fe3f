"""``aslrec evaluate``: score a trained run on data, on its held-out fold by default."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aslrec.data.labels import canonical_clips
from aslrec.data.loaders import load_datasets
from aslrec.data.remote import Location
from aslrec.data.shards import SourceSet, is_shard_set
from aslrec.errors import DataError
from aslrec.evaluation.metrics import EvaluationReport, classification_report
from aslrec.evaluation.report import PREDICTIONS_CSV, write_evaluation, write_predictions_csv
from aslrec.inference.backends import load_backend
from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.clip import LandmarkClip
from aslrec.numerics import softmax
from aslrec.runs.directory import RunDirectory, label_indices
from aslrec.runs.ensemble import held_out_run, member_dirs

SCORE_BATCH = 256
"""Clips scored at a time when the data streams: the batch the torch backend runs in memory
too (:func:`~aslrec.models.logits.torch_logits`), so streamed and in-memory evaluation put the
same clips through the model together and give the same numbers bit for bit."""


@dataclass
class EvaluationResult:
    report: EvaluationReport
    out_dir: Path
    num_clips: int
    held_out_only: bool
    other_signs: int = 0
    """Clips left out because their sign is not among ``signs`` (:func:`evaluate_run`)."""

    def summary_line(self) -> str:
        scope = "held-out fold" if self.held_out_only else "all clips"
        if self.other_signs:
            scope += f"; {self.other_signs} clips of signs outside --signs left out"
        return f"{self.num_clips} clips ({scope}): {self.report.summary_line()} -> {self.out_dir}"


def evaluate_run(
    run_dir: Path | Sequence[Path],
    data: Sequence[Location] | None = None,
    *,
    out: Path | None = None,
    held_out_only: bool = True,
    tta: bool | None = None,
    stream: bool | None = None,
    signs: Sequence[str] | None = None,
) -> EvaluationResult:
    """Evaluate a run, an ensemble directory, or several runs as an ensemble, on ``data``
    (default: the data the first run records it trained on, as ``aslrec calibrate`` does):
    paths, or URLs of stores (:mod:`aslrec.data.remote`).

    With ``held_out_only`` only the run's held-out fold of ``data`` is scored
    (:meth:`RunDirectory.held_out_clips`: the same clips, split as training split them), so the
    number is honest when evaluating on the training data set; ensemble members must then share
    that split, or their held-out clips would be someone's training clips.
    Clips whose label the model does not know are an error, not silently dropped. Scores are
    uncalibrated (temperature 1): calibration changes no ranking, and the reported ECE is the
    model's own.

    ``stream`` (default: when a ``data`` is a shard set, as ``aslrec train`` decides) reads
    the data block by block (:func:`score_fold`): the fold is held out from the clips' label,
    signer and group alone, only its clips are read, and they are scored :data:`SCORE_BATCH`
    at a time, so memory holds one block and one batch of clips (and a probability row per
    scored clip), never the set. The report is the same.
    """
    dirs = [Path(run_dir)] if isinstance(run_dir, (str, Path)) else [Path(d) for d in run_dir]
    recognizer = (
        Recognizer.load(dirs[0], tta=tta)
        if len(dirs) == 1
        else Recognizer([load_backend(d) for d in dirs], tta=bool(tta))
    )
    if signs is not None:
        recognizer.restrict(signs)
    if not data:
        first = RunDirectory(member_dirs(dirs[0])[0])
        data = first.sources
        if not data:
            raise DataError(f"{first.path}: the run records no training data; pass --data")
    scored = score_fold(recognizer, dirs, data, held_out_only=held_out_only, stream=stream)
    sources, y = scored.sources, scored.y
    probabilities = softmax(scored.logits, 1.0)  # uncalibrated, whatever the run's temperature
    report = classification_report(y, probabilities, recognizer.classes)
    name = "-".join(Path(p).stem for p in data)
    out_dir = Path(out) if out else dirs[0] / f"evaluation-{name}{'-tta' if recognizer.tta else ''}"
    write_evaluation(
        report,
        out_dir,
        extra={
            "model": [str(d) for d in dirs],
            "tta": recognizer.tta,
            "data": [str(p) for p in data],
            "held_out_only": held_out_only,
            **(
                {"signs": recognizer.classes, "other_signs_left_out": scored.other_signs}
                if signs is not None
                else {}
            ),
        },
    )
    write_predictions_csv(out_dir / PREDICTIONS_CSV, sources, y, probabilities, recognizer.classes)
    return EvaluationResult(report, out_dir, len(y), held_out_only, scored.other_signs)


@dataclass
class ScoredClips:
    """What scoring a fold keeps of each clip: one row of logits and a few strings, never its
    landmarks (the clips themselves may have been read and dropped block by block)."""

    sources: list[str]
    y: np.ndarray
    """Class indices of the clips' labels (in the card's spellings) in the model's classes."""
    logits: np.ndarray
    """``(N, C)`` logits averaged over members and TTA views, before calibration."""
    groups: list[str | None]
    signers: list[str | None]
    """The clips' group and signer: what a split of the scored clips needs (calibration
    halves its fold by them, group-safe)."""
    other_signs: int = 0
    """Clips left out because a restricted recognizer (:meth:`Recognizer.restrict`) does not
    choose among their sign."""


def score_fold(
    recognizer: Recognizer,
    dirs: Sequence[Path],
    data: Sequence[Location],
    *,
    held_out_only: bool = True,
    stream: bool | None = None,
) -> ScoredClips:
    """``recognizer``'s logits on the held-out fold of ``dirs``' runs in ``data`` (or on every
    clip), for ``aslrec evaluate`` and ``aslrec calibrate`` alike.

    ``stream`` (default: when a ``data`` is a shard set) reads the data block by block
    (:meth:`RunDirectory.streamed_held_out`) and scores :data:`SCORE_BATCH` clips at a time;
    otherwise the fold is loaded and scored in one call. Both put the same batches through a
    torch model (it runs :data:`SCORE_BATCH` clips at a time), so the logits are the same bit
    for bit; with TTA the views of a batch are batched together, which may move the last bits.
    """
    streaming = stream if stream is not None else any(is_shard_set(p) for p in data)
    if streaming:
        if held_out_only:
            clip_set, rows = held_out_run(dirs).streamed_held_out(data)
        else:
            clip_set = SourceSet(data)
            rows = np.arange(len(clip_set))
        return _scores(recognizer, clip_set.read(rows), SCORE_BATCH)
    clips = (
        held_out_run(dirs).held_out_clips(data)
        if held_out_only
        else canonical_clips(load_datasets(data))
    )
    return _scores(recognizer, clips, len(clips))


def _scores(recognizer: Recognizer, clips: Iterable[LandmarkClip], batch: int) -> ScoredClips:
    """:class:`ScoredClips` of ``clips`` (labels mapped to the card's spellings), ``batch``
    clips through the model at a time."""
    sources: list[str] = []
    groups: list[str | None] = []
    signers: list[str | None] = []
    y: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    other_signs = 0
    chosen = set(recognizer.classes) if recognizer.restricted else None
    it = iter(clips)
    while chunk := list(itertools.islice(it, max(batch, 1))):
        labelled = canonical_clips(chunk)  # (the in-memory fold's already are: no change)
        if chosen is not None:
            kept = [c for c in labelled if c.label in chosen]
            other_signs += len(labelled) - len(kept)
            if not (labelled := kept):
                continue
        sources += [c.source for c in labelled]
        groups += [c.group for c in labelled]
        signers += [c.signer for c in labelled]
        y.append(label_indices(recognizer.classes, labelled))
        logits.append(recognizer.logits(labelled))
    if not y:
        raise DataError("no clips to evaluate" + (" of those signs" if chosen else ""))
    return ScoredClips(
        sources, np.concatenate(y), np.concatenate(logits), groups, signers, other_signs
    )
