"""Fixtures of the streaming tests: a model directory with random weights (tests of the
plumbing must not depend on how good a model is) and long videos built from real sign videos by
:mod:`benchmarks.streams` (the same generator the streaming benchmark measures on)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from random_runs import write_random_run

from benchmarks import streams

STREAM_CLASSES = ["apple", "hello", "school", "table"]


@pytest.fixture(scope="session")
def stream_bench() -> ModuleType:
    """:mod:`benchmarks.streams`: builds streams of real sign videos, tracks them."""
    return streams


@pytest.fixture(scope="session")
def random_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory holding the seed architecture with random weights and 4 classes."""
    return write_random_run(
        tmp_path_factory.mktemp("random_run"),
        "seed",
        STREAM_CLASSES,
        {"seq_len": 30, "frame_sampling": "resample"},
        seed=0,
    )


@pytest.fixture(scope="session")
def two_sign_stream(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> streams.Stream:
    """~5.5 s at 30 fps: grey, hello, 0.8 s grey, table, 0.6 s of table's last frame frozen."""
    out = tmp_path_factory.mktemp("streams") / "hello_table.mp4"
    plan = [("hello", 0.8, "blank"), ("table", 0.6, "still")]
    return streams.build_stream(plan, out, videos=shared_data / "videos", lead_s=0.5)


@pytest.fixture(scope="session")
def two_sign_tracked(two_sign_stream: streams.Stream) -> streams.Tracked:
    """Causal tracking of :func:`two_sign_stream` (landmarks, presence, timestamps)."""
    return streams.track_stream(two_sign_stream.path)


@pytest.fixture(scope="session")
def grey_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of a grey picture with a little noise: a stream without hands."""
    return streams.write_grey_video(tmp_path_factory.mktemp("grey") / "grey.mp4")
