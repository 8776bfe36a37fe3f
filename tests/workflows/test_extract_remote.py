"""``aslrec extract --out URL``: real videos extracted into a store at an fsspec URL
(``memory://``, in this process, standing in for ``s3://``) hold the local store's clips bit
for bit, a rerun skips them from one listing, and ``aslrec convert`` streams the URL store into
a shard set. ``--format pose`` needs a local folder; a missing package fails before any video
is tracked."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

fsspec = pytest.importorskip("fsspec")

from aslrec.cli import app  # noqa: E402
from aslrec.data.loaders import load_dataset  # noqa: E402
from aslrec.data.store import ClipStore, open_store  # noqa: E402
from aslrec.errors import ConfigError  # noqa: E402
from aslrec.workflows.extract import run_extraction  # noqa: E402

VIDEOS = ("hello.mp4", "deaf.mp4")


def test_extract_into_a_url_gives_the_local_clips_resumes_and_converts(
    videos: Path, memory_url: str, tmp_path: Path
) -> None:
    inputs = [str(videos / name) for name in VIDEOS]
    local = run_extraction(inputs, tmp_path / "local", progress=False)
    # Through the command line: --out keeps its URL (a Path would fold memory:// to memory:/).
    result = CliRunner().invoke(app, ["extract", *inputs, "--out", memory_url])
    assert result.exit_code == 0, result.output
    remote = open_store(memory_url)
    assert remote.clip_ids() == ClipStore(tmp_path / "local").clip_ids() == ["deaf", "hello"]
    for a, b in zip(ClipStore(tmp_path / "local").clips(), remote.clips(), strict=True):
        for key in ("landmarks", "presence", "timestamps"):
            assert np.array_equal(getattr(a, key), getattr(b, key))
        assert (a.label, a.source) == (b.label, b.source)
    again = run_extraction(inputs, memory_url, progress=False)
    assert again.skipped == len(VIDEOS) and again.ok == 0 and again.out == memory_url
    assert local.ok == len(VIDEOS)

    result = CliRunner().invoke(app, ["convert", memory_url, "--out", str(tmp_path / "shards")])
    assert result.exit_code == 0, result.output
    assert [c.label for c in load_dataset(tmp_path / "shards")] == ["deaf", "hello"]


def test_pose_output_at_a_url_is_refused(videos: Path, memory_url: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{memory_url}: --format pose writes local files"):
        run_extraction([videos / "hello.mp4"], memory_url, output_format="pose", progress=False)


def test_a_missing_storage_package_is_named_before_any_video_is_tracked(
    videos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(
        ConfigError, match=r"^s3://b/data: s3:// URLs need s3fs \(pip install s3fs\)$"
    ):
        run_extraction([videos / "hello.mp4"], "s3://b/data", progress=False)
