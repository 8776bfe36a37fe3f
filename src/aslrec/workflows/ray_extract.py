"""``aslrec extract --ray``: the process pool's per-video job as tasks on a Ray cluster.

:func:`run_on_ray` is what :func:`~aslrec.workflows.extract.run_extraction` calls instead of its
process pool; everything around it (which videos to do, resuming, the atomically written store,
the progress bar, the summary) stays in that module, so both ways give the same clips.

Why it is built this way:

- The same job: each task runs :func:`~aslrec.workflows.extract._run_job`, which never raises for
  a problem with the input, so a video that fails deterministically (corrupt, no hands) comes
  back as the same one-line ``error`` row as with the pool and is not retried. Retries
  (``max_retries``) are for the system: a worker process that dies (killed for memory, a
  node lost) is restarted by Ray and the video redone; one that dies every time becomes an
  ``error`` row ("worker failed"), as a dead pool worker does.
- One tracker per worker process, not per video: Ray reuses worker processes, so a tracker kept
  in a module global per :class:`TrackerOptions` pays MediaPipe's import and graph set-up once.
- The driver writes the store: tasks return the clip, the driver saves it as it arrives
  (:func:`ray.wait`), so the store needs no locking and lies wherever the driver can write: a
  local folder, or an object storage URL (``--out s3://bucket/DATA``,
  :class:`~aslrec.data.store.RemoteClipStore`), which no worker needs to reach. Workers read
  the videos by path, so those must be on a file system every node mounts.
- A bounded window of tasks in flight (4 per cluster CPU): results wait in Ray's object store
  until the driver takes them, and ``ray.wait`` scans its whole list each call, so submitting
  83,000 videos at once would hold their clips in memory and make every wait slow.
- ``address="auto"``: the cluster this machine belongs to (``ray start`` ran here, or
  ``RAY_ADDRESS`` is set), else a local cluster of ``workers`` CPUs started for this run and
  shut down after it. Any other address (``ray://head:10001``, ``head:6379``) must answer.
  Ray is optional (the ``ray`` extra) and imported only here, only when asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from aslrec.errors import ConfigError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.hands import HandTracker, TrackerOptions
from aslrec.workflows.extract import IndexedJob, VideoResult, _run_job, worker_failed

RAY_EXTRA = "pip install 'aslrec[ray]'"
IN_FLIGHT_PER_CPU = 4

_TRACKERS: dict[TrackerOptions, HandTracker] = {}
"""In a Ray worker process: one open tracker per options, reused by every task it runs."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray ({RAY_EXTRA})") from None
    return ray


def connect(address: str, workers: int) -> bool:
    """Join the cluster ``address`` names (see the module docstring); True when this call
    started Ray here, so the caller shuts it down. Already connected (``ray.init`` done by the
    caller): that cluster is used as it is."""
    ray = _ray()
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # the table says it all
    if address == "auto":
        try:
            ray.init(address="auto", **quiet)
        except ConnectionError:  # no cluster running: start one for this run
            ray.init(num_cpus=workers, include_dashboard=False, **quiet)
        return True
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"--ray {address}: cannot connect to a Ray cluster ({first})") from None
    return True


def ray_map(
    fn: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    on_done: Callable[[int, Any], None],
    *,
    max_retries: int,
) -> None:
    """Run ``fn(*calls[i])`` as Ray tasks (1 CPU each, on the connected cluster), handing
    ``on_done(i, result)`` each result as it completes, or the exception when the task failed
    for good (its worker died ``max_retries + 1`` times, or ``fn`` raised: application errors
    are not retried). At most :data:`IN_FLIGHT_PER_CPU` tasks per cluster CPU are in flight.

    On KeyboardInterrupt the results already finished are handed over, the rest cancelled
    (their workers killed), and the interrupt re-raised.
    """
    ray = _ray()
    task = ray.remote(num_cpus=1, max_retries=max_retries)(fn)
    window = max(1, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
    pending: dict[Any, int] = {}
    queue = iter(range(len(calls)))

    def refill() -> None:
        while len(pending) < window and (i := next(queue, None)) is not None:
            pending[task.remote(*calls[i])] = i

    def hand_over(ref: Any) -> None:
        i = pending.pop(ref)
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the worker died, or fn raised
            result = exc
        on_done(i, result)

    try:
        refill()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                hand_over(ref)
            refill()
    except KeyboardInterrupt:
        done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
        for ref in done:
            hand_over(ref)
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _video_task(
    job: IndexedJob, options: TrackerOptions, settings: tuple[int | None, bool, bool]
) -> tuple[VideoResult, LandmarkClip | None]:
    """One video in a Ray worker, with that worker's tracker for ``options``."""
    tracker = _TRACKERS.get(options)
    if tracker is None:
        tracker = _TRACKERS[options] = HandTracker(options)
    return _run_job(tracker, job, *settings)


def run_on_ray(
    todo: list[IndexedJob],
    address: str,
    workers: int,
    options: TrackerOptions,
    settings: tuple[int | None, bool, bool],
    keep: Callable[[IndexedJob, VideoResult, LandmarkClip | None], None],
    advance: Callable[[VideoResult], None],
    *,
    max_retries: int,
) -> None:
    """Run ``todo`` as Ray tasks, handing each outcome to ``keep`` and ``advance`` as it
    arrives (the contract of :func:`~aslrec.workflows.extract._run_pool`)."""
    started = connect(address, workers)

    def done(i: int, outcome: Any) -> None:
        job = todo[i]
        if isinstance(outcome, BaseException):
            result, clip = worker_failed(job, outcome), None
        else:
            result, clip = outcome
        keep(job, result, clip)
        advance(result)

    try:
        calls = [(job, options, settings) for job in todo]
        ray_map(_video_task, calls, done, max_retries=max_retries)
    finally:
        if started:
            _ray().shutdown()
