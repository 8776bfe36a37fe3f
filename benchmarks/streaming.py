"""Streamed training data (issue #26): memory flat from 20,000 to 200,000 clips, throughput
against the same clips in memory.

The clips: every clip of WLASL-50, GISLR, the letters and fingerspelling16 (5,647 real clips),
repeated until the set holds N clips, each copy a little moved, scaled and jittered
(x, y scaled by 0.9-1.1 about the frame centre, shifted by up to 0.05, Gaussian noise of
0.002 on present landmarks) and keeping its original's label, signer and group, so copies of
one clip stay on one side of the split. Written as a shard set (``write_shards``, row groups
of 256) at N = 20,000 and 200,000.

Each measurement is one ``aslrec`` training run in its own process (``train`` with the
``best-fast`` recipe, one thread, batch 32, one epoch cut to ``--steps`` optimizer steps,
50 folds so the held-out fold, scored at the epoch's end and again for the report, is 2% of
the set), whose peak resident memory is read from
``wait4`` when it ends. Steps per second are timed over the steps after the first 20 (warm-up).
Runs: streamed and in memory (the same shard set loaded whole) on 20,000 clips, in turns, each
at its best of ``--repeats`` (steps/s; peak RSS: the largest), then streamed on 200,000.
Usage::

    python -m benchmarks.streaming            # ~10 min on 1 core; writes RESULTS.md
    python -m benchmarks.streaming --no-write --steps 100 --sizes 20000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks._common import SHARED_DATA, command_line, header, load_note, write_section

TITLE = "Streamed training data (issue #26)"
SETS = ("wlasl50_mp.npz", "gislr_hello_thankyou.npz", "letters_static.npz", "fingerspelling16.npz")
WARMUP = 20


def augmented(total: int, seed: int = 0) -> Iterator[object]:
    """``total`` clips: the real sets' clips in turn, each repeat a jittered copy."""
    from aslrec.data.loaders import load_dataset
    from aslrec.landmarks.clip import LandmarkClip

    originals = [clip for name in SETS for clip in load_dataset(SHARED_DATA / name)]
    rng = np.random.default_rng(seed)
    for i in range(total):
        clip = originals[i % len(originals)]
        if i < len(originals):
            yield clip
            continue
        scale = rng.uniform(0.9, 1.1)
        shift = rng.uniform(-0.05, 0.05, size=2)
        landmarks = clip.landmarks.copy()
        landmarks[..., :2] = (landmarks[..., :2] - 0.5) * scale + 0.5 + shift
        landmarks += rng.normal(0.0, 0.002, size=landmarks.shape).astype(np.float32)
        yield LandmarkClip(
            landmarks=landmarks,
            presence=clip.presence,
            label=clip.label,
            signer=clip.signer,
            group=clip.group,
            source=f"{clip.source}~{i // len(originals)}",
        )


def child(shards: Path, out: Path, stream: bool, steps: int, result: Path) -> None:
    """One training run (in its own process): writes its timings to ``result``."""
    from aslrec.runs.config import preset
    from aslrec.training.module import ClassifierModule
    from aslrec.workflows.train import TrainerOptions, train

    stamps: list[float] = []
    record = ClassifierModule.on_train_batch_end

    def timed(self, outputs, batch, batch_idx):  # type: ignore[no-untyped-def]
        stamps.append(time.perf_counter())
        record(self, outputs, batch, batch_idx)

    ClassifierModule.on_train_batch_end = timed  # type: ignore[method-assign]
    config = preset("best-fast").updated(threads=1, folds=50, min_steps=0, epochs=1)
    started = time.perf_counter()
    run = train(
        [shards],
        out,
        config,
        progress=False,
        trainer_options=TrainerOptions(stream=stream, epoch_steps=steps),
    )
    assert run is not None
    manifest = json.loads((out / "model_config.json").read_text())
    timed_steps = len(stamps) - 1 - WARMUP
    result.write_text(
        json.dumps(
            {
                "steps": len(stamps),
                "steps_per_s": timed_steps / (stamps[-1] - stamps[WARMUP]),
                "first_step_s": stamps[0] - started,
                "wall_s": time.perf_counter() - started,
                "held_out": manifest["data"]["num_val"],
                "held_out_top1": run.val_top1,
            }
        )
    )


def measure(shards: Path, stream: bool, steps: int, work: Path) -> dict[str, float]:
    """Run :func:`child` in a fresh process; its peak RSS (MiB) joins its timings."""
    out, result = Path(tempfile.mkdtemp(dir=work)) / "run", work / "result.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "benchmarks.streaming", "--child", str(shards)]
    args += [str(out), str(int(stream)), str(steps), str(result)]
    process = subprocess.Popen(args, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"training run failed ({args})")
    return {**json.loads(result.read_text()), "peak_rss_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2, help="turns of the 20,000-clip runs")
    parser.add_argument("--work", type=Path, default=None, help="folder for the shard sets")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        shards, out, stream, steps, result = args.child
        child(Path(shards), Path(out), stream == "1", int(steps), Path(result))
        return

    from aslrec.data.shards import write_shards

    load_before, started = os.getloadavg()[0], time.perf_counter()
    work = Path(tempfile.mkdtemp(dir=args.work))
    rows, built = [], {}
    try:
        for size in args.sizes:
            t = time.perf_counter()
            shards = work / f"shards-{size}"
            write_shards(augmented(size), shards)
            mib = sum(f.stat().st_size for f in shards.iterdir()) / 2**20
            built[size] = (time.perf_counter() - t, mib)
            if size != min(args.sizes):
                rows.append(
                    (f"streamed, {size:,} clips", size, measure(shards, True, args.steps, work))
                )
                print(rows[-1])
                continue
            # Streamed and in memory taken in turns, each at its best of --repeats: other
            # jobs on the machine slow whichever run they happen to meet.
            runs = [
                (stream, measure(shards, stream, args.steps, work))
                for _ in range(args.repeats)
                for stream in (True, False)
            ]
            for stream, name in ((True, "streamed"), (False, "in memory")):
                mine = [r for s, r in runs if s == stream]
                best = max(mine, key=lambda r: r["steps_per_s"])
                best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in mine)
                rows.append((f"{name}, {size:,} clips", size, best))
            print(rows[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render(rows, built, args.steps)
    report += "\n" + load_note(load_before, os.getloadavg()[0])
    report += f" Benchmark took {time.perf_counter() - started:.0f} s.\n"
    print(report)
    if not args.no_write:
        write_section(TITLE, header(command_line()) + "\n" + report)


def render(
    rows: list[tuple[str, int, dict[str, float]]],
    built: dict[int, tuple[float, float]],
    steps: int,
) -> str:
    lines = [
        f"`best-fast`, 1 thread, batch 32, {steps} optimizer steps, then the 2% held-out fold "
        "scored (50 folds; the copies of a clip stay on one side).",
        "",
        "| run | peak RSS | steps/s (best) | first step after | held-out clips | held-out top-1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, _, r in rows:
        lines.append(
            f"| {name} | {r['peak_rss_mib']:.0f} MiB | {r['steps_per_s']:.2f} | "
            f"{r['first_step_s']:.0f} s | {r['held_out']:,} | {r['held_out_top1']:.1%} |"
        )
    streamed = {size: r for name, size, r in rows if name.startswith("streamed")}
    memory = [r for name, _, r in rows if name.startswith("in memory")]
    lines.append("")
    for size, (seconds, mib) in sorted(built.items()):
        lines.append(
            f"- Shard set of {size:,} clips: {mib:,.0f} MiB on disk, written in {seconds:.0f} s."
        )
    if len(streamed) > 1:
        small, large = min(streamed), max(streamed)
        ratio = streamed[large]["peak_rss_mib"] / streamed[small]["peak_rss_mib"] - 1
        verdict = "met" if abs(ratio) <= 0.10 else "not met"
        lines.append(
            f"- Memory from {small:,} to {large:,} clips: {ratio:+.1%} peak RSS "
            f"(goal flat, within ±10%: {verdict})."
        )
    if memory and streamed:
        share = streamed[min(streamed)]["steps_per_s"] / memory[0]["steps_per_s"]
        verdict = "met" if share >= 0.9 else "not met"
        lines.append(
            f"- Throughput streamed / in memory on the same {min(streamed):,} clips: {share:.1%} "
            f"(goal >= 90%: {verdict}); the in-memory run preprocesses every clip before its "
            "first step, the streamed one as it goes."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
