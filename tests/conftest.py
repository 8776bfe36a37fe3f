"""Shared fixtures: the real data in ../shared/data (overridable with ASLREC_SHARED_DATA)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

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
