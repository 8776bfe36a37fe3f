"""Shared by the benchmark scripts: where the data is, machine description, RESULTS.md sections.

Sections rendered from cached cells keep the machine, date and command of their measurement in
:data:`SECTIONS` (``benchmarks/results/sections.json``), so regenerating them from the cache
(``python -m benchmarks.report``) reproduces their header instead of stamping the render time.
"""

from __future__ import annotations

import argparse
import json
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
SECTIONS = REPO / "benchmarks" / "results" / "sections.json"


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
    """The header of a section measured now, by ``command``."""
    return _header_text(machine(), _now(), command)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _header_text(machine_text: str, date: str, command: str) -> str:
    return f"Machine: {machine_text}. Date: {date}.\nCommand: `{command}`\n"


def command_line() -> str:
    """How this process was started, as a command to put in a section header."""
    script = os.path.relpath(sys.argv[0], REPO)
    if script.startswith("benchmarks" + os.sep):  # run as ``python -m benchmarks.<name>``
        script = "-m " + script.removesuffix(".py").replace(os.sep, ".")
    return "python " + " ".join([script, *sys.argv[1:]])


def record_measurement(title: str, *, keep_commands: bool = False) -> None:
    """Store this machine, the time and this process's command as section ``title``'s
    measurement (called by a script that has just trained or measured something for it).
    ``keep_commands``: a section assembled from several runs of a script (one per variant)
    keeps the commands recorded before, this one appended unless it is among them."""
    sections = _read_sections()
    command = command_line()
    if keep_commands and title in sections:
        before = [c for c in sections[title]["command"].split("; ") if c]
        command = "; ".join(before if command in before else [*before, command])
    sections[title] = {"machine": machine(), "date": _now(), "command": command}
    write_text(SECTIONS, json.dumps(sections, indent=1, ensure_ascii=False) + "\n")


def recorded_header(title: str) -> str:
    """The header of section ``title`` as its last measurement recorded it."""
    meta = _read_sections().get(title)
    if meta is None:
        raise SystemExit(f"{SECTIONS.relative_to(REPO)}: no measurement recorded for {title!r}")
    return _header_text(meta["machine"], meta["date"], meta["command"])


def _read_sections() -> dict[str, dict[str, str]]:
    return json.loads(SECTIONS.read_text(encoding="utf-8")) if SECTIONS.is_file() else {}


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


def video_arguments(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark over real videos: ``--videos FOLDER`` and ``--no-write``."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--videos", type=Path, default=SHARED_DATA / "videos")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser


def real_videos(folder: Path) -> list[Path]:
    """The ``*.mp4`` files of ``folder``, sorted; exits naming the folder when there are none."""
    videos = sorted(folder.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"no videos in {folder}")
    return videos


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
