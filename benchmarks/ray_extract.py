"""Extraction on Ray against the process pool: ``run_extraction`` over the real sign videos.

Four ways, each over all videos in ``../shared/data/videos`` into a fresh store, default
tracker options: the pool with 1 worker (in this process) and 2 workers, and a local Ray
cluster of 1 and 2 CPUs (``ray="auto"`` on a cluster this script starts, so the cluster's
start-up is timed apart: it is paid once per cluster, not per run). Wall times include
starting the workers and importing MediaPipe in them (spawned pool processes; Ray's workers
on their first task). Each way runs ``--rounds`` times in turn (pool 1, Ray 1, pool 2, Ray 2,
then again) and the fastest round counts, as load from other jobs only ever adds time. Every
store is checked to hold the same clips as the first, bit for bit. The cost line: CPU time per
1,000 videos of this mix, for sizing a cluster: the CPU the run really used (this process and
its children; for Ray also its daemons and workers, read from ``/proc`` before the cluster is
shut down, less what the cluster spent starting), which, unlike wall time, other jobs on the
machine barely inflate.

Usage::

    python -m benchmarks.ray_extract            # ~5 min on 2 cores; writes RESULTS.md
    python -m benchmarks.ray_extract --no-write # print only
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from aslrec.data.store import ClipStore
from aslrec.workflows.extract import run_extraction
from benchmarks._common import (
    command_line,
    header,
    load_note,
    real_videos,
    video_arguments,
    write_section,
)
from benchmarks.processes import alive, descendants

TITLE = "Extraction on Ray (issue #26)"
WAYS = (("pool", 1), ("ray", 1), ("pool", 2), ("ray", 2))


def _same_clips(a: Path, b: Path) -> bool:
    x, y = ClipStore(a), ClipStore(b)
    if x.clip_ids() != y.clip_ids():
        return False
    return all(
        np.array_equal(p.landmarks, q.landmarks) and np.array_equal(p.presence, q.presence)
        for p, q in zip(x.clips(), y.clips(), strict=True)
    )


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds the live processes ``pids`` have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in alive(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _own_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (pool workers)."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _run(kind: str, workers: int, videos: list[Path], out: Path) -> tuple[float, float, float, int]:
    """(extraction wall s, cluster start-up s, CPU s the extraction used, frames) of one way.
    The CPU a Ray cluster spends starting is left out (paid once per cluster, not per video)."""
    if kind == "pool":
        cpu_before = _own_cpu()
        summary = run_extraction(videos, out, workers=workers, resume=False, progress=False)
        assert summary.errors == 0, summary.to_rows()
        return summary.wall_seconds, 0.0, _own_cpu() - cpu_before, summary.frames
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - start
    try:
        cpu_before = _own_cpu() + _cpu_seconds(descendants(os.getpid()))
        summary = run_extraction(
            videos, out, workers=workers, ray="auto", resume=False, progress=False
        )
        cpu = _own_cpu() + _cpu_seconds(descendants(os.getpid())) - cpu_before
    finally:
        ray.shutdown()
    assert summary.errors == 0, summary.to_rows()
    return summary.wall_seconds, startup, cpu, summary.frames


def main() -> None:
    parser = video_arguments(__doc__ or "")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    videos = real_videos(args.videos)
    load_before = os.getloadavg()[0]
    t_all = time.perf_counter()
    walls: dict[tuple[str, int], list[float]] = {way: [] for way in WAYS}
    startups: dict[tuple[str, int], list[float]] = {way: [] for way in WAYS}
    cpus: dict[tuple[str, int], list[float]] = {way: [] for way in WAYS}
    identical = True
    frames = 0
    tmp = Path(tempfile.mkdtemp(prefix="aslrec-ray-bench-"))
    try:
        for r in range(args.rounds):
            for kind, workers in WAYS:
                out = tmp / f"{kind}{workers}-{r}"
                wall, startup, cpu, frames = _run(kind, workers, videos, out)
                walls[kind, workers].append(wall)
                startups[kind, workers].append(startup)
                cpus[kind, workers].append(cpu)
                identical &= _same_clips(tmp / "pool1-0", out)
                print(f"round {r}: {kind} x{workers}: {wall:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t_all
    load_after = os.getloadavg()[0]

    best = {way: min(w) for way, w in walls.items()}
    base = best["pool", 1]
    lines = [
        "| way | workers | wall s (best of rounds) | all rounds s | frames/s | vs pool x1 | "
        "cluster start-up s | CPU s used (least of rounds) | CPU min per 1,000 videos |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, workers in WAYS:
        wall = best[kind, workers]
        rounds = " / ".join(f"{w:.1f}" for w in walls[kind, workers])
        start = f"{min(startups[kind, workers]):.1f}" if kind == "ray" else "-"
        cpu = min(cpus[kind, workers])
        lines.append(
            f"| {kind} | {workers} | {wall:.1f} | {rounds} | {frames / wall:.1f} | "
            f"{base / wall:.2f}x | {start} | {cpu:.1f} | {cpu / len(videos) * 1000 / 60:.0f} |"
        )
    ratio = best["ray", 1] / best["ray", 2]
    summary = (
        f"Ray with 2 workers runs {ratio:.2f}x as fast as Ray with 1 (goal on idle cores: "
        f">= 1.8x); Ray x2 against the pool x2: {best['pool', 2] / best['ray', 2]:.2f}x. "
        f"All {len(WAYS) * args.rounds} stores hold the same clips bit for bit: "
        f"{'yes' if identical else 'NO'}."
    )
    notes = (
        f"{len(videos)} videos, {frames} frames ({frames / len(videos):.0f} per video). "
        f"{load_note(load_before, load_after)} Benchmark took {elapsed:.0f} s."
    )
    report = "\n".join(lines) + f"\n\n{summary}\n\n{notes}"
    print(report)
    if not args.no_write:
        write_section(TITLE, header(command_line()) + "\n" + report)


if __name__ == "__main__":
    main()
