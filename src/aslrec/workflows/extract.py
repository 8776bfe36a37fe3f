"""``aslrec extract``: many videos -> an aslrec data set, resumable and in parallel.

:func:`run_extraction` runs the jobs of :func:`~aslrec.landmarks.extract.collect_inputs` into a
:class:`~aslrec.data.store.ClipStore` and returns an :class:`ExtractionSummary`.

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
- Ctrl-C stops at once and loses nothing finished: the parent owns the stop (workers ignore
  SIGINT, which a terminal sends to the whole process group), keeps every clip that is done
  (those still waiting in a finished future too), cancels the queue, kills the running workers
  (their half-tracked videos are redone by the next run) and says how many clips are stored.
  Leaving the pool to ``shutdown(wait=True)`` instead ran the queue to its end for 30-39 s and
  then threw the results away.
- Signers and windows from an index: ``index=`` names a CSV
  (:mod:`aslrec.data.video_index`) giving each clip its signer, group and, for a video holding
  more than the sign, a window; the sign is then cut out of the whole tracked video with the live
  segmenter's rules (:func:`~aslrec.workflows.sign_window.cut_sign`), and the summary's ``cut``
  column says how each clip was decided.
- Beyond one machine: ``ray=`` runs the same job as Ray tasks
  (:mod:`aslrec.workflows.ray_extract`); the store is still written here, by the driver.
- Two outputs: the aslrec store, or pose-format ``.pose`` files (``output_format="pose"``,
  :class:`~aslrec.data.pose_files.PoseFolder`) for the sign-language-processing tools.
- The store may be a URL (``s3://bucket/DATA``, any fsspec file system:
  :class:`~aslrec.data.store.RemoteClipStore`), so the machines of a Ray cluster need no shared
  mount for the output: each clip is uploaded whole as it is done, and a rerun lists what is
  there once and skips it. A shard set for training is one ``aslrec convert`` of the store
  away (it reads the store one block of clip files at a time, so memory stays bounded).
- No orphans: a worker dies with its parent, even one killed with SIGKILL, which no handler
  sees (Linux: ``PR_SET_PDEATHSIG``; elsewhere a thread watching the parent's pid). Orphaned
  workers held ~300 MB each and went on writing nothing.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aslrec.data.pose_files import PoseFolder
from aslrec.data.remote import local_path
from aslrec.data.store import ClipStore, RemoteClipStore, open_store
from aslrec.data.video_index import IndexedJob, as_indexed, read_video_index
from aslrec.errors import AslrecError, ConfigError, DataError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.extract import collect_inputs, extract_untrimmed
from aslrec.landmarks.hands import HandTracker, TrackerOptions
from aslrec.workflows.sign_window import cut_sign

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Status = Literal["ok", "skipped", "error"]
OutputFormat = Literal["aslrec", "pose"]


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
    cut: str = ""
    """How the clip was cut from the video: ``trimmed``, ``whole``, or :func:`cut_sign`'s note."""

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
            "cut": self.cut,
        }


@dataclass
class ExtractionSummary:
    """Everything :func:`run_extraction` did, as data (for the CLI) and as a table."""

    out: Path | str
    """The store's folder, or its URL."""
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
        seconds fps error cut``), e.g. for ``csv.DictWriter`` or JSON."""
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
            ("cut", "left"),
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
                r.cut,
                _short_error(r),
            )
        return table

    def print(self, console: Console | None = None) -> None:
        """Print :meth:`to_table` (to stdout unless ``console`` is given)."""
        from rich.console import Console

        (console or Console()).print(self.to_table())


def _run_job(
    tracker: HandTracker, job: IndexedJob, max_side: int | None, trim: bool, body: bool = False
) -> tuple[VideoResult, LandmarkClip | None]:
    """Extract one job with ``tracker``; never raises for a problem with the input.

    The whole video is tracked even for a window: the segmenter needs the frames before the
    sign to see it start, and hand slots are voted over whole tracks as for any video."""
    start = time.perf_counter()

    def failed(message: str, frames: int = 0) -> tuple[VideoResult, None]:
        seconds = time.perf_counter() - start
        row = VideoResult(
            job.clip_id, job.path, job.label, "error", frames, 0, 0.0, seconds, message
        )
        return row, None

    try:
        clip, stats = extract_untrimmed(
            job.path,
            options=None,
            tracker=tracker,
            max_side=max_side,
            label=job.label,
            signer=job.signer,
            body=body,
        )
        if stats.hand_frames == 0:
            return failed(f"{job.path}: no hands found in {stats.frames} frames", stats.frames)
        clip = replace(clip, group=job.group)
        if job.has_window and clip.timestamps is not None:
            kept, cut = cut_sign(clip, job.window_in(clip.timestamps))
        elif trim:
            kept, cut = clip.trimmed(), "trimmed"
        else:
            kept, cut = clip, "whole"
    except AslrecError as exc:
        return failed(str(exc))
    except Exception as exc:  # a bug or a MediaPipe failure: report it, keep the run going
        return failed(f"{job.path}: {type(exc).__name__}: {exc}")
    row = VideoResult(
        job.clip_id,
        job.path,
        job.label,
        "ok",
        frames=stats.frames,
        kept_frames=kept.num_frames,
        hand_rate=stats.hand_rate,
        seconds=stats.seconds,
        cut=cut,
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


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _exit_with_parent(parent_pid: int) -> None:
    """End this worker as soon as ``parent_pid`` is gone, however it ended."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _init_worker(options: TrackerOptions, parent_pid: int) -> None:
    global _WORKER_TRACKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent(parent_pid)
    _WORKER_TRACKER = HandTracker(options)


def _worker_job(
    job: IndexedJob, max_side: int | None, trim: bool, body: bool
) -> tuple[VideoResult, LandmarkClip | None]:
    if _WORKER_TRACKER is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("extraction worker started without its tracker")
    return _run_job(_WORKER_TRACKER, job, max_side, trim, body)


def worker_failed(job: IndexedJob, exc: BaseException) -> VideoResult:
    """The ``error`` row of a job whose worker died (killed for memory, a lost Ray node): the
    exception's first line, as a summary row is one line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = f"{job.path}: worker failed: {type(exc).__name__}" + (f": {first}" if first else "")
    return VideoResult(job.clip_id, job.path, job.label, "error", error=message)


def run_extraction(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    index: str | os.PathLike[str] | None = None,
    workers: int = 1,
    resume: bool = True,
    options: TrackerOptions | None = None,
    max_side: int | None = None,
    trim: bool = True,
    body: bool = False,
    progress: bool = True,
    console: Console | None = None,
    output_format: OutputFormat = "aslrec",
    ray: str | None = None,
    max_retries: int = 3,
    photos: bool = False,
) -> ExtractionSummary:
    """Extract every input video into the data set at ``out`` (created if absent).

    Args:
        inputs: files and folders, as for :func:`collect_inputs` (may be empty with
            ``index``).
        index: a video index CSV (:func:`~aslrec.data.video_index.read_video_index`): its
            rows are extracted too, each with its signer and group, and a row with a window is
            cut to the sign in it (:func:`~aslrec.workflows.sign_window.cut_sign`; ``trim``
            does not apply there).
        out: an aslrec data set folder (:class:`ClipStore`), or its URL (``s3://...``,
            ``memory://...``: :class:`RemoteClipStore`, needs fsspec and the protocol's
            package); each clip is written atomically as ``clips/<clip_id>.npz`` as soon as it
            is done.
        workers: processes extracting in parallel (1: in this process); with ``ray`` and no
            running cluster, the CPUs of the local cluster started for the run.
        resume: skip jobs whose clip is already in the store (status ``skipped``); with
            ``False`` they are extracted again and replaced.
        options: tracker settings (default :class:`TrackerOptions`).
        max_side, trim: as for :func:`extract_video`.
        body: also track the body (:class:`~aslrec.landmarks.pose.PoseTracker`, its default
            options) into each clip's ``pose``.
        progress: show a progress bar (rich) on ``console`` / stderr.
        output_format: ``"aslrec"`` (a :class:`ClipStore`) or ``"pose"``: one pose-format
            ``.pose`` file per video, ``out/<label>/<clip_id>.pose``
            (:class:`~aslrec.data.pose_files.PoseFolder`; needs the ``pose`` extra).
        ray: run the jobs as tasks on a Ray cluster instead of the process pool: ``"auto"``
            (the running cluster, else a local one of ``workers`` CPUs) or a cluster address
            (:mod:`aslrec.workflows.ray_extract`; needs the ``ray`` extra).
        max_retries: with ``ray``, how many times a task whose worker died is retried.
        photos: every image below a folder is a clip of its own, a photo held still
            (:func:`collect_inputs`), instead of an images-only folder being one clip.

    Failures of single inputs (corrupt, truncated, empty, no hands) become ``error`` rows and
    the run goes on; only a bad ``inputs`` path or ``out`` folder raises (:class:`DataError`).
    Temporary files left by an interrupted run are removed first (so one store must not be
    written by two runs at once). Ctrl-C (KeyboardInterrupt) stops the run at once: every
    finished clip stays in the store, a line on ``console`` / stderr says how many are stored,
    no worker is left running, and the KeyboardInterrupt propagates.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    options = options or TrackerOptions()
    if not inputs and index is None:
        raise DataError("nothing to extract: give videos, folders or an index")
    jobs = [as_indexed(job) for job in collect_inputs(inputs, photos=photos)] if inputs else []
    if index is not None:
        jobs += read_video_index(index)
    taken = Counter(job.clip_id for job in jobs)
    repeated = next((cid for cid, n in taken.items() if n > 1), None)
    if repeated is not None:
        raise DataError(f"clip id {repeated!r} comes from two inputs; give the index row a clip_id")
    store = _open_output(out, output_format)
    store.remove_stale_temp_files()
    summary = ExtractionSummary(out=store.root, workers=workers, options=options)
    start = time.perf_counter()
    results: dict[str, VideoResult] = {}
    todo: list[IndexedJob] = []
    for job in jobs:
        if resume and store.has(job.clip_id):
            results[job.clip_id] = VideoResult(job.clip_id, job.path, job.label, "skipped")
        else:
            todo.append(job)

    def keep(job: IndexedJob, result: VideoResult, clip: LandmarkClip | None) -> None:
        if clip is not None:
            store.add(clip, job.clip_id)
        results[job.clip_id] = result

    try:
        with _progress(progress, console, len(jobs), len(results)) as advance:
            if ray is not None and todo:
                from aslrec.workflows.ray_extract import run_on_ray

                settings = (max_side, trim, body)
                run_on_ray(
                    todo, ray, workers, options, settings, keep, advance, max_retries=max_retries
                )
            elif workers == 1 or len(todo) <= 1:
                if todo:
                    with HandTracker(options) as tracker:
                        for job in todo:
                            keep(job, *_run_job(tracker, job, max_side, trim, body))
                            advance(results[job.clip_id])
            else:
                settings = (max_side, trim, body)
                _run_pool(todo, min(workers, len(todo)), options, settings, keep, advance)
    except KeyboardInterrupt:
        new = sum(r.status == "ok" for r in results.values())
        _say(
            console,
            f"extract: interrupted; {len(store)} clips stored in {store.root} ({new} new, "
            f"{len(jobs) - len(results)} not done: run the same command again to finish)",
        )
        raise
    summary.results = [results[job.clip_id] for job in jobs]
    summary.wall_seconds = time.perf_counter() - start
    return summary


def _open_output(
    out: str | os.PathLike[str], output_format: OutputFormat
) -> ClipStore | RemoteClipStore | PoseFolder:
    """The store a run writes: every kind offers ``has``, ``add``, ``remove_stale_temp_files``
    and ``len``, all extraction needs."""
    if output_format == "aslrec":
        return open_store(out, create=True)
    if output_format == "pose":
        path = local_path(out)
        if path is None:
            raise ConfigError(f"{out}: --format pose writes local files; give a folder path")
        return PoseFolder(path)
    raise ConfigError(f"output format must be aslrec or pose, not {output_format!r}")


def _run_pool(
    todo: list[IndexedJob],
    workers: int,
    options: TrackerOptions,
    settings: tuple[int | None, bool, bool],
    keep: Callable[[IndexedJob, VideoResult, LandmarkClip | None], None],
    advance: Callable[[VideoResult], None],
) -> None:
    """Run ``todo`` on ``workers`` processes, handing each outcome to ``keep`` as it arrives.

    On KeyboardInterrupt the finished futures not yet handed over are kept, the rest cancelled,
    the workers killed, and the interrupt re-raised, all without waiting for a running video.
    """
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(options, os.getpid()),
    )
    futures: dict[Future[tuple[VideoResult, LandmarkClip | None]], IndexedJob] = {}
    handed: set[Future[tuple[VideoResult, LandmarkClip | None]]] = set()

    def hand_over(future: Future[tuple[VideoResult, LandmarkClip | None]]) -> None:
        job = futures[future]
        try:
            result, clip = future.result()
        except Exception as exc:  # a worker died (e.g. killed for memory)
            result, clip = worker_failed(job, exc), None
        handed.add(future)
        keep(job, result, clip)
        advance(result)

    try:
        for job in todo:
            futures[pool.submit(_worker_job, job, *settings)] = job
        for future in as_completed(futures):
            hand_over(future)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for future in futures:
            if future.done() and not future.cancelled() and future not in handed:
                hand_over(future)
        workers_started = set(multiprocessing.active_children()) - before
        for process in workers_started:
            process.kill()
        for process in workers_started:
            process.join(timeout=5)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _say(console: Console | None, line: str) -> None:
    """One plain line on ``console`` (default: stderr, where the progress bar is)."""
    from rich.console import Console

    (console or Console(stderr=True)).print(line, markup=False, highlight=False, soft_wrap=True)


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
