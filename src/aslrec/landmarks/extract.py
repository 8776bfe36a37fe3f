"""Videos -> landmark clips in an aslrec data set, resumable and in parallel.

:func:`extract_video` turns one video (or image folder) into a :class:`LandmarkClip`;
:func:`collect_inputs` turns command-line paths into jobs; :func:`run_extraction` runs the jobs
into a :class:`~aslrec.data.store.ClipStore` and returns an :class:`ExtractionSummary`.

Why it is built this way:

- Resumable: each clip is one atomically written file named by a stable clip id, so an
  interrupted run leaves only finished clips (and at worst a temporary file, removed by the next
  run) and a re-run skips every clip already stored.
- One bad file never stops a run: a corrupt, truncated, empty or hand-less video becomes an
  ``error`` row in the summary; the others are still extracted.
- Processes, not threads, for parallelism: MediaPipe's Python calls hold the GIL for part of
  each frame. Workers are started with ``spawn`` (MediaPipe's graph threads do not survive
  ``fork``), each builds one :class:`HandTracker` and reuses it (reset between videos).
  Measured on the 8 real videos (``benchmarks/RESULTS.md``): 2 workers run 1.39x faster than 1
  (12.7 s -> 9.1 s) on 2 cores that other jobs were also using; expect close to linear gains
  on idle cores, as videos are independent. Each worker pays ~1 s of start-up (spawn, import
  MediaPipe), so ``workers=1`` is better for a handful of short clips.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aslrec.data.store import ClipStore, safe_clip_id
from aslrec.errors import AslrecError, DataError, NoHandsError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.hands import HandTracker, TrackerOptions
from aslrec.landmarks.video import (
    VIDEO_EXTENSIONS,
    FrameSource,
    is_image_sequence,
    is_video_file,
    natural_key,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Status = Literal["ok", "skipped", "error"]


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


def _extract_untrimmed(
    path: str | os.PathLike[str],
    *,
    options: TrackerOptions | None,
    tracker: HandTracker | None,
    max_side: int | None,
    label: str | None,
    signer: str | None,
) -> tuple[LandmarkClip, VideoStats]:
    start = time.perf_counter()
    active = HandTracker(options) if tracker is None else tracker
    try:
        with FrameSource(path, max_side=max_side) as frames:
            landmarks, presence, timestamps = active.process_video(frames)
    finally:
        if tracker is None:
            active.close()
    clip = LandmarkClip(
        landmarks=landmarks,
        presence=presence,
        timestamps=timestamps,
        label=label,
        signer=signer,
        source=str(path),
    )
    stats = VideoStats(
        frames=clip.num_frames,
        hand_frames=int(clip.frame_mask.sum()),
        seconds=time.perf_counter() - start,
    )
    return clip, stats


def extract_video_with_stats(
    path: str | os.PathLike[str],
    *,
    options: TrackerOptions | None = None,
    tracker: HandTracker | None = None,
    max_side: int | None = None,
    label: str | None = None,
    signer: str | None = None,
    trim: bool = True,
) -> tuple[LandmarkClip, VideoStats]:
    """:func:`extract_video`, also returning frame counts and timing (of the untrimmed video)."""
    clip, stats = _extract_untrimmed(
        path, options=options, tracker=tracker, max_side=max_side, label=label, signer=signer
    )
    if stats.hand_frames == 0:
        raise NoHandsError(f"{path}: no hands found in {stats.frames} frames")
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


def _walk(root: Path) -> Iterator[tuple[Path, Literal["video", "images"]]]:
    """Videos and image-sequence folders under ``root``, in natural order; hidden entries
    (dot-names) skipped; an image-sequence folder is one clip and is not descended into."""
    entries = sorted(
        (p for p in root.iterdir() if not p.name.startswith(".")),
        key=lambda p: natural_key(p.name),
    )
    for entry in entries:
        if entry.is_dir():
            if is_image_sequence(entry):
                yield entry, "images"
            else:
                yield from _walk(entry)
        elif entry.is_file() and is_video_file(entry):
            yield entry, "video"


def _unique_ids(jobs: list[VideoJob]) -> list[VideoJob]:
    counts = Counter(job.clip_id for job in jobs)
    out = []
    for job in jobs:
        if counts[job.clip_id] > 1:
            digest = hashlib.sha1(os.path.abspath(job.path).encode()).hexdigest()[:8]
            job = VideoJob(job.path, f"{job.clip_id}-{digest}", job.label, job.kind)
        out.append(job)
    return out


def collect_inputs(inputs: Sequence[str | os.PathLike[str]]) -> list[VideoJob]:
    """Turn the paths given on the command line into extraction jobs.

    - A file: one job (any extension: the decoder decides; a bad file is a per-file error
      later). Clip id and label: the file's stem.
    - A folder holding only images: one image-sequence clip; id and label: the folder's name.
    - Any other folder: every video (``.mp4 .mov .avi .mkv .webm .m4v``, any case) and every
      image-only sub-folder below it, recursively, hidden entries skipped. Clip id: the path
      relative to the given folder without the suffix (``hello/01.mp4`` -> ``hello_01``), so
      ids stay the same when the folder moves. Label: the name of the sub-folder of the given
      folder that holds the video (``root/hello/01.mp4`` and ``root/hello/alice/01.mp4`` ->
      ``hello``, the ImageFolder convention), or the video's stem when it lies directly in the
      given folder (``root/hello.mp4`` -> ``hello``).

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
        if is_image_sequence(given):
            name = given.resolve().name
            add(given, name, name, "images")
            continue
        found = list(_walk(given))
        if not found:
            exts = " ".join(sorted(VIDEO_EXTENSIONS))
            raise DataError(f"{given}: folder holds no videos ({exts}) or image-sequence folders")
        for path, kind in found:
            rel = path.relative_to(given)
            stem = rel.with_suffix("") if kind == "video" else rel
            label = rel.parts[0] if len(rel.parts) > 1 else stem.name
            add(path, "_".join(stem.parts), label, kind)
    return _unique_ids(jobs)


# --------------------------------------------------------------------------------------------
# Running many
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoResult:
    """The outcome for one job (one row of the summary)."""

    clip_id: str
    path: Path
    label: str | None
    status: Status
    frames: int = 0
    kept_frames: int = 0
    hand_rate: float = 0.0
    seconds: float = 0.0
    error: str | None = None

    @property
    def fps(self) -> float:
        """Frames processed per second of this video's wall time (decode + track)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_row(self) -> dict[str, object]:
        return {
            "clip_id": self.clip_id,
            "path": str(self.path),
            "label": self.label or "",
            "status": self.status,
            "frames": self.frames,
            "kept_frames": self.kept_frames,
            "hand_rate": round(self.hand_rate, 4),
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 1),
            "error": self.error or "",
        }


@dataclass
class ExtractionSummary:
    """Everything :func:`run_extraction` did, as data (for the CLI) and as a table."""

    out: Path
    workers: int
    options: TrackerOptions
    results: list[VideoResult] = field(default_factory=list)
    wall_seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def ok(self) -> int:
        return self.count("ok")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def frames(self) -> int:
        return sum(r.frames for r in self.results)

    @property
    def fps(self) -> float:
        """Frames extracted per second of the whole run's wall time (all workers)."""
        return self.frames / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_rows(self) -> list[dict[str, object]]:
        """One plain dict per job (``clip_id path label status frames kept_frames hand_rate
        seconds fps error``), e.g. for ``csv.DictWriter`` or JSON."""
        return [r.to_row() for r in self.results]

    def headline(self) -> str:
        return (
            f"{self.ok} extracted, {self.skipped} skipped (already in {self.out}), "
            f"{self.errors} failed; {self.frames} frames in {self.wall_seconds:.1f} s "
            f"({self.fps:.1f} frames/s, {self.workers} worker{'s' if self.workers != 1 else ''})"
        )

    def to_table(self) -> Table:
        """A rich table of the per-video rows."""
        from rich.table import Table

        table = Table(title=self.headline(), title_justify="left")
        for name, justify in [
            ("clip", "left"),
            ("label", "left"),
            ("status", "left"),
            ("frames", "right"),
            ("kept", "right"),
            ("hands", "right"),
            ("fps", "right"),
            ("error", "left"),
        ]:
            table.add_column(name, justify=justify, no_wrap=name != "error")  # type: ignore[arg-type]
        colour = {"ok": "green", "skipped": "dim", "error": "red"}
        for r in self.results:
            done = r.status == "ok"
            table.add_row(
                r.clip_id,
                r.label or "",
                f"[{colour[r.status]}]{r.status}[/]",
                str(r.frames) if r.frames else "",
                str(r.kept_frames) if done else "",
                f"{r.hand_rate:.0%}" if r.frames else "",
                f"{r.fps:.1f}" if done else "",
                _short_error(r),
            )
        return table

    def print(self, console: Console | None = None) -> None:
        """Print :meth:`to_table` (to stdout unless ``console`` is given)."""
        from rich.console import Console

        (console or Console()).print(self.to_table())


def _run_job(
    tracker: HandTracker, job: VideoJob, max_side: int | None, trim: bool
) -> tuple[VideoResult, LandmarkClip | None]:
    """Extract one job with ``tracker``; never raises for a problem with the input."""
    start = time.perf_counter()

    def failed(message: str, frames: int = 0) -> tuple[VideoResult, None]:
        seconds = time.perf_counter() - start
        row = VideoResult(
            job.clip_id, job.path, job.label, "error", frames, 0, 0.0, seconds, message
        )
        return row, None

    try:
        clip, stats = _extract_untrimmed(
            job.path, options=None, tracker=tracker, max_side=max_side, label=job.label, signer=None
        )
    except AslrecError as exc:
        return failed(str(exc))
    except Exception as exc:  # a bug or a MediaPipe failure: report it, keep the run going
        return failed(f"{job.path}: {type(exc).__name__}: {exc}")
    if stats.hand_frames == 0:
        return failed(f"{job.path}: no hands found in {stats.frames} frames", stats.frames)
    kept = clip.trimmed() if trim else clip
    row = VideoResult(
        job.clip_id,
        job.path,
        job.label,
        "ok",
        frames=stats.frames,
        kept_frames=kept.num_frames,
        hand_rate=stats.hand_rate,
        seconds=stats.seconds,
    )
    return row, kept


def _short_error(result: VideoResult) -> str:
    """The error without the leading ``<path>: `` (the clip column already names it)."""
    text = result.error or ""
    prefix = f"{result.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


# Worker process state: one tracker per process, built by the pool initializer (spawn-safe:
# only the picklable TrackerOptions cross the process boundary).
_WORKER_TRACKER: HandTracker | None = None


def _init_worker(options: TrackerOptions) -> None:
    global _WORKER_TRACKER
    _WORKER_TRACKER = HandTracker(options)


def _worker_job(
    job: VideoJob, max_side: int | None, trim: bool
) -> tuple[VideoResult, LandmarkClip | None]:
    if _WORKER_TRACKER is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("extraction worker started without its tracker")
    return _run_job(_WORKER_TRACKER, job, max_side, trim)


def _remove_stale_temp_files(store: ClipStore) -> None:
    """Leftovers of an interrupted run: ``atomic_path`` names them ``.<stem>.<random>.npz``."""
    for tmp in (store.root / "clips").glob(".*.npz"):
        tmp.unlink(missing_ok=True)


def run_extraction(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    workers: int = 1,
    resume: bool = True,
    options: TrackerOptions | None = None,
    max_side: int | None = None,
    trim: bool = True,
    progress: bool = True,
    console: Console | None = None,
) -> ExtractionSummary:
    """Extract every input video into the data set at ``out`` (created if absent).

    Args:
        inputs: files and folders, as for :func:`collect_inputs`.
        out: an aslrec data set folder (:class:`ClipStore`); each clip is written atomically
            as ``clips/<clip_id>.npz`` as soon as it is done.
        workers: processes extracting in parallel (1: in this process).
        resume: skip jobs whose clip is already in the store (status ``skipped``); with
            ``False`` they are extracted again and replaced.
        options: tracker settings (default :class:`TrackerOptions`).
        max_side, trim: as for :func:`extract_video`.
        progress: show a progress bar (rich) on ``console`` / stderr.

    Failures of single inputs (corrupt, truncated, empty, no hands) become ``error`` rows and
    the run goes on; only a bad ``inputs`` path or ``out`` folder raises (:class:`DataError`).
    Temporary files left by an interrupted run are removed first (so one store must not be
    written by two runs at once). Ctrl-C stops the run; finished clips stay in the store.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    options = options or TrackerOptions()
    jobs = collect_inputs(inputs)
    store = ClipStore(Path(out), create=True)
    _remove_stale_temp_files(store)
    summary = ExtractionSummary(out=store.root, workers=workers, options=options)
    start = time.perf_counter()
    results: dict[str, VideoResult] = {}
    todo: list[VideoJob] = []
    for job in jobs:
        if resume and store.has(job.clip_id):
            results[job.clip_id] = VideoResult(job.clip_id, job.path, job.label, "skipped")
        else:
            todo.append(job)

    with _progress(progress, console, len(jobs), len(results)) as advance:
        if workers == 1 or len(todo) <= 1:
            if todo:
                with HandTracker(options) as tracker:
                    for job in todo:
                        result, clip = _run_job(tracker, job, max_side, trim)
                        if clip is not None:
                            store.add(clip, job.clip_id)
                        results[job.clip_id] = result
                        advance(result)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                max_workers=min(workers, len(todo)),
                mp_context=context,
                initializer=_init_worker,
                initargs=(options,),
            ) as pool:
                futures: dict[Future[tuple[VideoResult, LandmarkClip | None]], VideoJob] = {
                    pool.submit(_worker_job, job, max_side, trim): job for job in todo
                }
                try:
                    for future in as_completed(futures):
                        job = futures[future]
                        try:
                            result, clip = future.result()
                        except Exception as exc:  # a worker died (e.g. killed for memory)
                            result, clip = (
                                VideoResult(
                                    job.clip_id,
                                    job.path,
                                    job.label,
                                    "error",
                                    error=f"{job.path}: worker failed: {type(exc).__name__}: {exc}",
                                ),
                                None,
                            )
                        if clip is not None:
                            store.add(clip, job.clip_id)
                        results[job.clip_id] = result
                        advance(result)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    summary.results = [results[job.clip_id] for job in jobs]
    summary.wall_seconds = time.perf_counter() - start
    return summary


class _progress:
    """A rich progress bar over videos (or nothing), as a context manager yielding
    ``advance(result)``."""

    def __init__(self, enabled: bool, console: Console | None, total: int, done: int) -> None:
        self.enabled = enabled
        self.console = console
        self.total = total
        self.done = done
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda result: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]extracting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=self.console or Console(stderr=True),
            transient=False,
        )
        self._bar.__enter__()
        self._task = self._bar.add_task("", total=self.total, completed=self.done)

        def advance(result: VideoResult) -> None:
            note = f"{result.clip_id}: {result.status}"
            self._bar.update(self._task, advance=1, description=note)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
