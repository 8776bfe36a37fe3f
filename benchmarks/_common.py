"""Shared by the benchmark scripts: where the data is, machine description, RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from aslrec.atomic import write_text

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
SHARED_DATA = Path(os.environ.get("ASLREC_SHARED_DATA", REPO.parent / "shared" / "data"))


def machine() -> str:
    """CPU model and core count, for the header of every results section."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def header(command: str) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Machine: {machine()}. Date: {date}.\nCommand: `{command}`\n"


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of RESULTS.md, keeping all other sections."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    write_text(RESULTS, text)


def file_slug(text: str) -> str:
    """``text`` as a file-name part safe on every OS: runs of other characters become '-'
    (``ablation:- speed/time warp`` -> ``ablation-speed-time-warp``)."""
    return re.sub(r"[^A-Za-z0-9@.]+", "-", text).strip("-")


def load_note(before: float, after: float) -> str:
    """What the 1-minute load average around a run says about its timings.

    The benchmark itself adds about 1 to the load, so only the load before it started tells
    whether other jobs were competing for the cores (1.0: one core busy on average).
    """
    cores = os.cpu_count() or 1
    state = (
        "other jobs shared the CPU, so absolute times are inflated and noisy; ratios within "
        "this run are the comparable part"
        if before >= 1.0
        else "no other long job was running"
    )
    return (
        f"Load average (1 min) {before:.1f} before, {after:.1f} after on this {cores}-core "
        f"machine: {state}."
    )


def mean_std(values: list[float]) -> str:
    import numpy as np

    if not values:
        return "-"
    arr = np.asarray(values, dtype=float)
    if len(arr) == 1:  # one fold has no spread to report: "± 0.00%" would claim one
        return f"{arr[0]:.2%}"
    return f"{arr.mean():.2%} ± {arr.std(ddof=1):.2%}"
