"""``aslrec predict`` and ``aslrec demo``: everything an input path holds, one row per clip."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from aslrec.data.loaders import load_dataset
from aslrec.data.remote import local_path
from aslrec.errors import AslrecError, DataError
from aslrec.inference.recognizer import Prediction, Recognizer
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.extract import VideoJob, collect_inputs
from aslrec.landmarks.video import is_trackable_file
from aslrec.workflows.output import track_progress


def demo_data_dir() -> Path:
    """Held-out letters clips shipped for `aslrec demo` (MIT-licensed, see assets/README.md)."""
    return Path(str(resources.files("aslrec") / "assets" / "demo_letters"))


def predict_inputs(
    recognizer: Recognizer, source: str | os.PathLike[str], top_k: int = 5, *, photos: bool = False
) -> list[tuple[str, Prediction | AslrecError]]:
    """Predict everything ``source`` holds, one result per clip.

    A video, photo or image folder gives one row; a folder of videos one row per video (a
    failing video gives its error in its row, the rest go on), and with ``photos`` one row per
    image below it too; a landmark file or data set one row per clip (with the truth when the
    data has labels), also a data set at a URL. A long video shows its progress on a terminal
    (:func:`~aslrec.workflows.output.track_progress`).
    """
    path = local_path(source)
    if path is None:  # a URL (s3://...): the aslrec store there
        return [(p.source, p) for p in recognizer.predict_clips(load_dataset(source), top_k)]
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if photos and path.is_dir():
        return _predict_jobs(recognizer, collect_inputs([path], photos=True), top_k)
    if path.is_file() and is_trackable_file(path):
        return [(str(path), recognizer.predict(path, top_k, track_progress))]
    if path.is_file():
        clips = Recognizer.load_landmarks(path)
    else:
        try:  # aslrec data sets, MP_Data trees and GISLR folders hold landmarks
            clips = load_dataset(path)
        except DataError:
            return _predict_jobs(recognizer, collect_inputs([path]), top_k)
    return [(p.source, p) for p in recognizer.predict_clips(clips, top_k)]


def _predict_jobs(
    recognizer: Recognizer, jobs: list[VideoJob], top_k: int
) -> list[tuple[str, Prediction | AslrecError]]:
    rows: list[tuple[str, Prediction | AslrecError]] = []
    for job in jobs:
        try:
            prediction = recognizer.predict(job.path, top_k, track_progress)
            prediction.truth = job.label
            rows.append((str(job.path), prediction))
        except AslrecError as exc:
            rows.append((str(job.path), exc))
    return rows


def demo_video(
    recognizer: Recognizer, video: Path, preview: Path, top_k: int = 3
) -> tuple[Prediction, Path]:
    """``aslrec demo --video``: the top-k of ``video`` and a picture of what was tracked.

    The preview is the frame of the sign with the most hand landmarks (the middle one of
    ties), with the hands drawn as the tracker placed them in the video as recorded and the
    recognised sign written on it, so a user can see whether the hands were found at all.
    """
    prediction, clip = recognizer.predict_video(Path(video), top_k)
    return prediction, save_preview(Path(video), clip, preview, prediction)


def save_preview(video: Path, clip: LandmarkClip, out: Path, prediction: Prediction) -> Path:
    """Write ``out`` (PNG): the clip's best-tracked frame of ``video`` with its hands drawn."""
    import cv2

    from aslrec.atomic import atomic_path
    from aslrec.workflows.live import draw_landmarks

    hands = clip.presence.sum(axis=1)
    best = np.flatnonzero(hands == hands.max())
    index = int(best[len(best) // 2])
    if clip.timestamps is None:
        raise DataError(f"{video}: the tracked clip has no frame times to find its frame by")
    rgb = _frame_at(video, float(clip.timestamps[index]))
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    draw_landmarks(bgr, clip.landmarks[index], clip.presence[index])
    caption = f"{prediction.label} {prediction.probability:.0%}"
    for colour, width in (((0, 0, 0), 4), ((255, 255, 255), 1)):
        cv2.putText(bgr, caption, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, width)
    ok, png = cv2.imencode(".png", bgr)
    if not ok:
        raise DataError(f"{out}: could not encode the preview image")
    with atomic_path(out) as tmp:
        tmp.write_bytes(png.tobytes())
    return out


def _frame_at(video: Path, time_s: float) -> np.ndarray:
    """The first frame of ``video`` at or after ``time_s`` (the tracker's frame times), or its
    one frame for a photo (its clip is that frame held)."""
    from aslrec.landmarks.video import FrameSource, is_image_file

    with FrameSource(video) as frames:
        for rgb, timestamp in frames:
            if timestamp >= time_s - 1e-6 or is_image_file(video):
                return rgb
    raise DataError(f"{video}: no frame at {time_s:.2f} s")
