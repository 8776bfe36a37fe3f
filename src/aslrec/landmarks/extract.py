"""Videos -> landmark clips: one video (or image folder) at a time, and the jobs to run.

:func:`extract_video` turns one video (or image folder) into a :class:`LandmarkClip`;
:func:`collect_inputs` turns command-line paths into :class:`VideoJob` s. Running many jobs
into a data set, resumable and in parallel, is :mod:`aslrec.workflows.extract`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from aslrec.errors import ConfigError, DataError, NoHandsError
from aslrec.landmarks.clip import (
    PHOTO_FRAMES,
    POSE_COORDS,
    POSE_POINTS,
    LandmarkClip,
    safe_clip_id,
)
from aslrec.landmarks.hands import HandTracker, TrackerOptions
from aslrec.landmarks.pose import PoseOptions, PoseTracker
from aslrec.landmarks.video import (
    DEFAULT_FPS,
    VIDEO_EXTENSIONS,
    FrameSource,
    is_image_file,
    is_image_sequence,
    is_video_file,
    natural_key,
)

Status = Literal["ok", "skipped", "error"]

FrameProgress = Callable[[FrameSource], Iterable[tuple[np.ndarray, float]]]
"""Given an opened source, the frames to track (the source itself, wrapped to show progress):
how a command shows progress through a long video without this layer printing anything."""

Body = bool | PoseOptions | PoseTracker
"""Whether to track the body too: False (hands only, the default), True (a
:class:`PoseTracker` with default :class:`PoseOptions`), options, or an open tracker to reuse."""


# --------------------------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoStats:
    """What extracting one video measured (before trimming)."""

    frames: int
    hand_frames: int
    seconds: float

    @property
    def hand_rate(self) -> float:
        return self.hand_frames / self.frames if self.frames else 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def extract_untrimmed(
    path: str | os.PathLike[str],
    *,
    options: TrackerOptions | None,
    tracker: HandTracker | None,
    max_side: int | None,
    label: str | None,
    signer: str | None,
    progress: FrameProgress | None = None,
    body: Body = False,
    mirror: bool = False,
) -> tuple[LandmarkClip, VideoStats]:
    """Every frame of ``path``, hands or not, with its stats; a video without hands is not an
    error here (callers decide: :func:`extract_video_with_stats` raises, extraction runs
    report it). ``mirror``: track the frames flipped left-right (the clip is of that view)."""
    start = time.perf_counter()
    active = HandTracker(options) if tracker is None else tracker
    pose_tracker = _pose_tracker(body, active.options.mirrored)
    poses: list[np.ndarray] = []

    def with_pose(
        frames: Iterable[tuple[np.ndarray, float]], pose: PoseTracker
    ) -> Iterator[tuple[np.ndarray, float]]:
        # pose runs on each decoded frame as the hand tracker takes it: one decode for both
        pose.reset()
        for rgb, ts in frames:
            poses.append(pose.process(rgb))
            yield rgb, ts

    try:
        with FrameSource(path, max_side=max_side, mirror=mirror) as source:
            frames = source if progress is None else progress(source)
            if pose_tracker is not None:
                frames = with_pose(frames, pose_tracker)
            landmarks, presence, timestamps = active.process_video(frames)
    finally:
        if tracker is None:
            active.close()
        if pose_tracker is not None and not isinstance(body, PoseTracker):
            pose_tracker.close()
    clip = LandmarkClip(
        landmarks=landmarks,
        presence=presence,
        timestamps=timestamps,
        label=label,
        signer=signer,
        source=str(path),
        pose=None if pose_tracker is None else np.reshape(poses, (-1, POSE_POINTS, POSE_COORDS)),
    )
    stats = VideoStats(
        frames=clip.num_frames,
        hand_frames=int(clip.frame_mask.sum()),
        seconds=time.perf_counter() - start,
    )
    return photo_held(clip, path), stats


def photo_held(clip: LandmarkClip, source: str | os.PathLike[str]) -> LandmarkClip:
    """The clip tracked from ``source``; a photo's one frame held still for
    :data:`~aslrec.landmarks.clip.PHOTO_FRAMES` frames (as photo data sets are trained on)."""
    return clip.held(PHOTO_FRAMES, DEFAULT_FPS) if is_image_file(Path(source)) else clip


def _pose_tracker(body: Body, mirrored: bool) -> PoseTracker | None:
    """The pose tracker ``body`` asks for, refusing one that disagrees with the hand tracker on
    whether the frames are mirrored (its left/right landmarks would be the wrong way round)."""
    if body is False:
        return None
    if body is True:
        return PoseTracker(PoseOptions(mirrored=mirrored))
    pose_options = body.options if isinstance(body, PoseTracker) else body
    if pose_options.mirrored != mirrored:
        raise ConfigError(
            f"pose mirrored={pose_options.mirrored} but hand tracking mirrored={mirrored}"
        )
    return body if isinstance(body, PoseTracker) else PoseTracker(body)


def extract_video_with_stats(
    path: str | os.PathLike[str],
    *,
    options: TrackerOptions | None = None,
    tracker: HandTracker | None = None,
    max_side: int | None = None,
    label: str | None = None,
    signer: str | None = None,
    trim: bool = True,
    progress: FrameProgress | None = None,
    body: Body = False,
    mirror: bool = False,
) -> tuple[LandmarkClip, VideoStats]:
    """:func:`extract_video`, also returning frame counts and timing (of the untrimmed video);
    ``mirror`` as for :func:`extract_untrimmed`."""
    clip, stats = extract_untrimmed(
        path,
        options=options,
        tracker=tracker,
        max_side=max_side,
        label=label,
        signer=signer,
        progress=progress,
        body=body,
        mirror=mirror,
    )
    if stats.hand_frames == 0:
        where = "the photo" if is_image_file(Path(path)) else f"{stats.frames} frames"
        raise NoHandsError(f"{path}: no hands found in {where}")
    return (clip.trimmed() if trim else clip), stats


def extract_video(
    path: str | os.PathLike[str],
    *,
    options: TrackerOptions | None = None,
    tracker: HandTracker | None = None,
    max_side: int | None = None,
    label: str | None = None,
    signer: str | None = None,
    trim: bool = True,
    body: Body = False,
) -> LandmarkClip:
    """Hand landmarks of every frame of a video file or image-sequence folder.

    Args:
        path: a video file, or a folder holding only images (frames in natural name order,
            timed at 30 fps).
        options: tracker settings (default :class:`TrackerOptions`); ignored if ``tracker``
            is given.
        tracker: an open :class:`HandTracker` to reuse (it is reset first); saves ~40 ms of
            graph set-up per video when extracting many.
        max_side: downscale frames so the longer side is at most this many pixels.
        label, signer: stored on the clip.
        trim: drop leading and trailing frames without any hand (the signer's rest position
            before and after the sign; 24 of ``table.mp4``'s 70 frames).
        body: also track the body into ``clip.pose`` (:data:`Body`): pose runs on the decoded
            frames beside the hands (by default on every 2nd frame, see :class:`PoseOptions`).

    Returns:
        A clip with ``timestamps`` in seconds from the start of the video (untrimmed times, so
        trimmed clips start after 0) and ``source=str(path)``.

    Raises:
        DataError: missing, empty, corrupt, truncated or non-video file (message names it).
        NoHandsError: no hand in any frame (``"<path>: no hands found in N frames"``).
    """
    clip, _ = extract_video_with_stats(
        path,
        options=options,
        tracker=tracker,
        max_side=max_side,
        label=label,
        signer=signer,
        trim=trim,
        body=body,
    )
    return clip


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoJob:
    """One clip to extract: a video file or an image-sequence folder."""

    path: Path
    clip_id: str
    label: str | None
    kind: Literal["video", "images"] = "video"


def _walk(root: Path, photos: bool = False) -> Iterator[tuple[Path, Literal["video", "images"]]]:
    """Videos and image-sequence folders under ``root``, in natural order; hidden entries
    (dot-names) skipped; an image-sequence folder is one clip and is not descended into.
    ``photos``: every image is a clip of its own (a photo) instead."""
    entries = sorted(
        (p for p in root.iterdir() if not p.name.startswith(".")),
        key=lambda p: natural_key(p.name),
    )
    for entry in entries:
        if entry.is_dir():
            if is_image_sequence(entry) and not photos:
                yield entry, "images"
            else:
                yield from _walk(entry, photos)
        elif entry.is_file() and is_video_file(entry):
            yield entry, "video"
        elif entry.is_file() and photos and is_image_file(entry):
            yield entry, "images"


def _unique_ids(jobs: list[VideoJob]) -> list[VideoJob]:
    counts = Counter(job.clip_id for job in jobs)
    out = []
    for job in jobs:
        if counts[job.clip_id] > 1:
            digest = hashlib.sha1(os.path.abspath(job.path).encode()).hexdigest()[:8]
            job = VideoJob(job.path, f"{job.clip_id}-{digest}", job.label, job.kind)
        out.append(job)
    return out


def folder_label(rel: Path, stem: Path) -> str:
    """The label of an input found at ``rel`` below a folder given on the command line (``stem``:
    ``rel`` without its file suffix): the name of the sub-folder that holds it, else its own
    name (the ImageFolder convention). One rule for videos and for ``.pose`` files, so a
    folder extracted as either is labelled the same."""
    return rel.parts[0] if len(rel.parts) > 1 else stem.name


def collect_inputs(
    inputs: Sequence[str | os.PathLike[str]], *, photos: bool = False
) -> list[VideoJob]:
    """Turn the paths given on the command line into extraction jobs.

    - A file: one job (any extension: the decoder decides; a bad file is a per-file error
      later). Clip id and label: the file's stem.
    - A folder holding only images: one image-sequence clip; id and label: the folder's name.
    - Any other folder: every video (a suffix in
      :data:`~aslrec.landmarks.video.VIDEO_EXTENSIONS`, any case) and every image-only
      sub-folder below it, recursively, hidden entries skipped. Clip id: the path
      relative to the given folder without the suffix (``hello/01.mp4`` -> ``hello_01``), so
      ids stay the same when the folder moves. Label: the name of the sub-folder of the given
      folder that holds the video (``root/hello/01.mp4`` and ``root/hello/alice/01.mp4`` ->
      ``hello``, the ImageFolder convention), or the video's stem when it lies directly in the
      given folder (``root/hello.mp4`` -> ``hello``).

    With ``photos`` every image below a folder is a clip of its own (a photo), labelled as a
    video there would be, and no folder is an image sequence.

    Ids that collide (the same stem from two inputs) get a short hash of the absolute path.
    A path reached twice (a folder and a file inside it) is one job. Raises :class:`DataError`
    for a missing path or a folder without any video.
    """
    jobs: list[VideoJob] = []
    seen: set[str] = set()

    def add(path: Path, clip_id: str, label: str | None, kind: Literal["video", "images"]) -> None:
        key = os.path.abspath(path)  # symlinks stay distinct clips
        if key not in seen:
            seen.add(key)
            jobs.append(VideoJob(path, safe_clip_id(clip_id), label, kind))

    for raw in inputs:
        given = Path(raw)
        if not given.exists():
            raise DataError(f"{given}: no such file or folder")
        if given.is_file():
            add(given, given.stem, given.stem, "video")
            continue
        if is_image_sequence(given) and not photos:
            name = given.resolve().name
            add(given, name, name, "images")
            continue
        found = list(_walk(given, photos))
        if not found:
            exts = " ".join(sorted(VIDEO_EXTENSIONS))
            images = "images" if photos else "image-sequence folders"
            raise DataError(f"{given}: folder holds no videos ({exts}) or {images}")
        for path, kind in found:
            rel = path.relative_to(given)
            stem = rel if path.is_dir() else rel.with_suffix("")
            add(path, "_".join(stem.parts), folder_label(rel, stem), kind)
    return _unique_ids(jobs)
