"""Extraction on a local Ray cluster of 2 workers: the same clips as the process pool, bit for
bit, the same error rows for bad videos, retries of tasks whose worker died.

One cluster for the module (Ray takes ~8 s to start here); slow: the module takes ~1 min on 2
shared cores, past the default suite's budget (``make test-slow`` runs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aslrec.data.store import ClipStore
from aslrec.workflows.extract import run_extraction

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

VIDEOS = ("hello.mp4", "table.mp4", "deaf.mp4")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real videos and a text file named .mp4 (a deterministic failure)."""
    root = tmp_path_factory.mktemp("ray-inputs")
    for name in VIDEOS:
        shutil.copy(videos / name, root / name)
    (root / "notes.mp4").write_text("these are my notes, not a video\n" * 20)
    return root


def test_ray_gives_the_pool_s_clips_bit_for_bit(
    cluster: None, inputs: Path, tmp_path: Path
) -> None:
    pool = run_extraction([inputs], tmp_path / "pool", workers=2, progress=False)
    on_ray = run_extraction([inputs], tmp_path / "ray", workers=2, ray="auto", progress=False)
    assert on_ray.ok == pool.ok == len(VIDEOS)
    assert [(r.clip_id, r.status, r.error) for r in on_ray.results] == [
        (r.clip_id, r.status, r.error) for r in pool.results
    ]
    [bad] = [r for r in on_ray.results if r.status == "error"]
    assert bad.clip_id == "notes" and bad.error is not None and "\n" not in bad.error
    a, b = ClipStore(tmp_path / "pool"), ClipStore(tmp_path / "ray")
    assert a.clip_ids() == b.clip_ids() == sorted(Path(v).stem for v in VIDEOS)
    for x, y in zip(a.clips(), b.clips(), strict=True):
        assert np.array_equal(x.landmarks, y.landmarks)
        assert np.array_equal(x.presence, y.presence)
        assert np.array_equal(x.timestamps, y.timestamps)
        assert x.label == y.label


def test_ray_resumes_like_the_pool(cluster: None, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "store"
    run_extraction([inputs / "hello.mp4"], out, ray="auto", progress=False)
    again = run_extraction([inputs], out, ray="auto", progress=False)
    assert {r.clip_id: r.status for r in again.results} == {
        "deaf": "ok",
        "hello": "skipped",
        "notes": "error",
        "table": "ok",
    }


def test_a_dead_worker_is_retried_an_error_is_not(cluster: None, tmp_path: Path) -> None:
    from aslrec.workflows.ray_extract import ray_map

    # defined here, not at module level: Ray's workers cannot import a test module, and
    # cloudpickle sends local functions by value
    def crash_once(marker: str) -> int:
        """Kill the worker the first time, as the OOM killer would; succeed on the retry."""
        if not os.path.exists(marker):
            Path(marker).touch()
            os._exit(1)
        return os.getpid()

    def always_crash() -> None:
        os._exit(1)

    def raise_counted(folder: str) -> None:
        """An application error: Ray must not retry it (the job itself reports bad input)."""
        Path(folder, f"attempt-{os.getpid()}-{len(os.listdir(folder))}").touch()
        raise ValueError("bad input")

    got: dict[int, object] = {}
    calls = [(str(tmp_path / "a"),), (str(tmp_path / "b"),)]
    ray_map(crash_once, calls, got.__setitem__, max_retries=1)
    assert sorted(got) == [0, 1] and all(isinstance(v, int) for v in got.values()), got
    got.clear()
    ray_map(always_crash, [()], got.__setitem__, max_retries=1)
    assert isinstance(got[0], ray.exceptions.WorkerCrashedError), got
    got.clear()
    (tmp_path / "attempts").mkdir()
    ray_map(raise_counted, [(str(tmp_path / "attempts"),)], got.__setitem__, max_retries=3)
    assert isinstance(got[0], ray.exceptions.RayTaskError) and "bad input" in str(got[0])
    assert len(list((tmp_path / "attempts").iterdir())) == 1
