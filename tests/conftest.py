"""Shared fixtures: the real data in ../shared/data (overridable with ASLREC_SHARED_DATA)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "ASLREC_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def videos(shared_data: Path) -> Path:
    """The real sign videos (apple, deaf, friend, happy, hello, learn, school, table)."""
    return shared_data / "videos"


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A fresh store URL on fsspec's in-process memory file system, removed afterwards."""
    fsspec = pytest.importorskip("fsspec")
    root = f"aslrec-tests/{uuid.uuid4().hex}"
    yield f"memory://{root}/data"
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


class CliResult(NamedTuple):
    """What a finished ``aslrec`` command left: the fields tests read off a CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def aslrec_cli(capfd: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``aslrec ARGS...`` in this process through the console script's own ``main()`` (the
    same one-line errors and exit codes), without a fresh interpreter's 5-15 s of imports.
    Tests of what only a separate process shows (signals, environment, a missing PyTorch)
    start one instead."""
    from aslrec.cli import main

    def invoke(*args: str | Path) -> CliResult:
        capfd.readouterr()  # only this command's output
        with mock.patch.object(sys, "argv", ["aslrec", *map(str, args)]):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capfd.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def aslrec_process() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``aslrec ARGS...`` as its own process (``python -m aslrec.cli``), for what only a
    process shows: the real entry point, exit at the end of a live loop."""

    def start(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "aslrec.cli", *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    return start
