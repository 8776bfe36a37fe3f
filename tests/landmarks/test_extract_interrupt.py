"""Stopping `aslrec extract --workers 2` on real videos: Ctrl-C keeps the work, no orphans."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aslrec.data.store import ClipStore
from aslrec.errors import ExitCode
from benchmarks.processes import alive, descendants

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc for children")


def default_sigint() -> None:
    """In the child: Ctrl-C as a terminal gives it, even if the test runner ignores SIGINT
    (an ignored signal is inherited through exec, and Python then keeps ignoring it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_extraction(videos: Path, out: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """`aslrec extract --workers 2` on the 8 real videos, once 2 clips are stored."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aslrec.cli", "extract", str(videos), "--out", str(out),
         "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while len(list((out / "clips").glob("[!.]*.npz"))) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "extraction stored nothing in 4 minutes"
        time.sleep(0.1)
    workers = descendants(process.pid)
    assert len(workers) >= 2
    return process, workers


def wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def test_ctrl_c_stops_at_once_keeping_every_finished_clip(videos: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    process, workers = start_extraction(videos, out)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    took = time.monotonic() - sent
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert took < 5, f"exited {took:.1f} s after Ctrl-C"  # was 30-39 s
    found = re.search(r"extract: interrupted; (\d+) clips stored in (\S+) \((\d+) new", stderr)
    assert found, stderr
    stored = int(found.group(1))
    assert Path(found.group(2)) == out and 2 <= stored < 8
    clips = ClipStore(out).clips()
    assert len(clips) == stored and all(c.num_frames > 0 for c in clips)
    assert not list((out / "clips").glob(".*.npz"))  # no half-written file
    assert wait_gone(workers, 3) == set()


def test_killing_the_parent_takes_its_workers_along(videos: Path, tmp_path: Path) -> None:
    process, workers = start_extraction(videos, tmp_path / "data")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert wait_gone(workers, 5) == set()  # were left running, ~300 MB each
