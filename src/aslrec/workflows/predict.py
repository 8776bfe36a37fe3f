"""``aslrec predict`` and ``aslrec demo``: everything an input path holds, one row per clip."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from aslrec.data.loaders import load_dataset
from aslrec.errors import AslrecError, DataError
from aslrec.inference.recognizer import Prediction, Recognizer
from aslrec.landmarks.extract import collect_inputs
from aslrec.landmarks.video import is_video_file
from aslrec.workflows.output import track_progress


def demo_data_dir() -> Path:
    """Held-out letters clips shipped for `aslrec demo` (MIT-licensed, see assets/README.md)."""
    return Path(str(resources.files("aslrec") / "assets" / "demo_letters"))


def predict_inputs(
    recognizer: Recognizer, source: str | os.PathLike[str], top_k: int = 5
) -> list[tuple[str, Prediction | AslrecError]]:
    """Predict everything ``source`` holds, one result per clip.

    A video or image folder gives one row; a folder of videos one row per video (a failing
    video gives its error in its row, the rest go on); a landmark file or data set one row per
    clip (with the truth when the data has labels). A long video shows its progress on a
    terminal (:func:`~aslrec.workflows.output.track_progress`).
    """
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file() and is_video_file(path):
        return [(str(path), recognizer.predict(path, top_k, track_progress))]
    if path.is_file():
        clips = Recognizer.load_landmarks(path)
    else:
        try:  # aslrec data sets, MP_Data trees and GISLR folders hold landmarks
            clips = load_dataset(path)
        except DataError:
            return _predict_video_folder(recognizer, path, top_k)
    return [(p.source, p) for p in recognizer.predict_clips(clips, top_k)]


def _predict_video_folder(
    recognizer: Recognizer, path: Path, top_k: int
) -> list[tuple[str, Prediction | AslrecError]]:
    rows: list[tuple[str, Prediction | AslrecError]] = []
    for job in collect_inputs([path]):
        try:
            prediction = recognizer.predict(job.path, top_k, track_progress)
            prediction.truth = job.label
            rows.append((str(job.path), prediction))
        except AslrecError as exc:
            rows.append((str(job.path), exc))
    return rows
