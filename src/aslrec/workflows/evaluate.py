"""``aslrec evaluate``: score a trained run on data, on its held-out fold by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aslrec.data.labels import canonical_clips
from aslrec.data.loaders import load_datasets
from aslrec.errors import DataError
from aslrec.evaluation.metrics import EvaluationReport, classification_report
from aslrec.evaluation.report import PREDICTIONS_CSV, write_evaluation, write_predictions_csv
from aslrec.inference.backends import load_backend
from aslrec.inference.recognizer import Recognizer
from aslrec.runs.directory import RunDirectory, label_indices
from aslrec.runs.ensemble import held_out_run, member_dirs


@dataclass
class EvaluationResult:
    report: EvaluationReport
    out_dir: Path
    num_clips: int
    held_out_only: bool

    def summary_line(self) -> str:
        scope = "held-out fold" if self.held_out_only else "all clips"
        return f"{self.num_clips} clips ({scope}): {self.report.summary_line()} -> {self.out_dir}"


def evaluate_run(
    run_dir: Path | Sequence[Path],
    data: Sequence[Path] | None = None,
    *,
    out: Path | None = None,
    held_out_only: bool = True,
    tta: bool | None = None,
) -> EvaluationResult:
    """Evaluate a run, an ensemble directory, or several runs as an ensemble, on ``data``
    (default: the data the first run records it trained on, as ``aslrec calibrate`` does).

    With ``held_out_only`` only the run's held-out fold of ``data`` is scored
    (:meth:`RunDirectory.held_out_clips`: the same clips, split as training split them), so the
    number is honest when evaluating on the training data set; ensemble members must then share
    that split, or their held-out clips would be someone's training clips.
    Clips whose label the model does not know are an error, not silently dropped. Scores are
    uncalibrated (temperature 1): calibration changes no ranking, and the reported ECE is the
    model's own.
    """
    dirs = [Path(run_dir)] if isinstance(run_dir, (str, Path)) else [Path(d) for d in run_dir]
    recognizer = (
        Recognizer.load(dirs[0], tta=tta)
        if len(dirs) == 1
        else Recognizer([load_backend(d) for d in dirs], tta=bool(tta))
    )
    recognizer.temperature = 1.0
    if not data:
        first = RunDirectory(member_dirs(dirs[0])[0])
        data = [Path(source) for source in first.sources]
        if not data:
            raise DataError(f"{first.path}: the run records no training data; pass --data")
    clips = (
        held_out_run(dirs).held_out_clips(data)
        if held_out_only
        else canonical_clips(load_datasets(data))
    )
    y = label_indices(recognizer.classes, clips)
    probabilities = recognizer.probabilities(clips)
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
        },
    )
    write_predictions_csv(
        out_dir / PREDICTIONS_CSV, [c.source for c in clips], y, probabilities, recognizer.classes
    )
    return EvaluationResult(report, out_dir, len(clips), held_out_only)
