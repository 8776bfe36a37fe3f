"""Stores at fsspec URLs (``memory://`` here, as ``s3://`` would be): the local store's clips
bit for bit, writes that appear whole, resuming from one listing, a store streamed block by
block into a shard set, and one-line errors naming the URL and the package to install."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

fsspec = pytest.importorskip("fsspec")

from same_clips import same_clip  # noqa: E402

from aslrec.data import shards  # noqa: E402
from aslrec.data.loaders import load_dataset  # noqa: E402
from aslrec.data.remote import local_path, url_fs, write_whole  # noqa: E402
from aslrec.data.shards import StoreFiles, open_source  # noqa: E402
from aslrec.data.store import ClipStore, RemoteClipStore, open_store  # noqa: E402
from aslrec.errors import ConfigError, DataError  # noqa: E402
from aslrec.landmarks.clip import LandmarkClip  # noqa: E402
from aslrec.workflows.convert import convert  # noqa: E402


@pytest.fixture(scope="module")
def clips(shared_data: Path) -> list[LandmarkClip]:
    return load_dataset(shared_data / "gislr_hello_thankyou.npz")[:12]


def test_a_url_store_holds_the_local_store_s_clips_and_is_listed_once(
    memory_url: str, clips: list[LandmarkClip], tmp_path: Path
) -> None:
    local = ClipStore(tmp_path / "local", create=True)
    remote = open_store(memory_url, create=True)
    assert isinstance(remote, RemoteClipStore) and remote.root == memory_url
    for i, clip in enumerate(clips):
        local.add(clip, f"clip-{i:02d}")
        remote.add(clip, f"clip-{i:02d}")
    again = open_store(memory_url)  # a rerun: what exists comes from one listing
    assert isinstance(again, RemoteClipStore)
    assert again.clip_ids() == local.clip_ids() and len(again) == len(clips)
    assert again.has("clip-03") and not again.has("clip-99")
    assert all(same_clip(a, b) for a, b in zip(local.clips(), again.clips(), strict=True))
    assert again.fields("clip-00") == (clips[0].label, clips[0].signer, clips[0].group)
    assert remote.clip_path("clip-00") == f"{memory_url}/clips/clip-00.npz"


def test_a_temporary_left_by_an_upload_is_skipped_and_cleared(
    memory_url: str, clips: list[LandmarkClip]
) -> None:
    store = open_store(memory_url, create=True)
    store.add(clips[0], "kept")
    fs, base = url_fs(memory_url)
    fs.pipe_file(f"{base}/clips/.half.1a2b3c.npz", b"PK\x03\x04 cut off")
    reopened = open_store(memory_url)
    assert reopened.clip_ids() == ["kept"]  # readers never see a temporary
    reopened.remove_stale_temp_files()
    assert fs.ls(f"{base}/clips", detail=False) == [f"{base}/clips/kept.npz"]


def test_write_whole_renames_a_finished_temporary_on_a_file_system(tmp_path: Path) -> None:
    # The path every non-object-store file system takes (sftp, hdfs, ...): local's fsspec here.
    fs = fsspec.filesystem("file")
    target = f"{tmp_path}/clips/a.npz"
    fs.makedirs(f"{tmp_path}/clips")
    write_whole(fs, target, b"data")
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == ["a.npz"]
    assert (tmp_path / "clips" / "a.npz").read_bytes() == b"data"

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("rename refused")

    fs.mv = refuse  # type: ignore[method-assign]
    with pytest.raises(OSError, match="rename refused"):
        write_whole(fs, f"{tmp_path}/clips/b.npz", b"other")
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == ["a.npz"]


def test_a_file_url_is_the_local_folder(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/data", create=True)
    assert isinstance(store, ClipStore) and store.root == tmp_path / "data"
    assert local_path(str(tmp_path)) == tmp_path and local_path("memory://x/y") is None


def test_a_url_that_is_no_store_is_refused_in_one_line(memory_url: str) -> None:
    refused = rf"^{memory_url}: not an aslrec data set \(no aslrec_dataset"
    with pytest.raises(DataError, match=refused):
        open_store(memory_url)
    with pytest.raises(DataError, match=rf"^{memory_url}: not an aslrec data set"):
        open_source(memory_url)


@pytest.mark.parametrize(
    ("missing", "url", "message"),
    [
        (
            "s3fs",
            "s3://bucket/data",
            r"^s3://bucket/data: s3:// URLs need s3fs \(pip install s3fs\)$",
        ),
        (
            "gcsfs",
            "gs://bucket/data",
            r"^gs://bucket/data: gs:// URLs need gcsfs \(pip install gcsfs\)$",
        ),
        (
            "fsspec",
            "s3://bucket/data",
            r"^s3://bucket/data: URLs need fsspec \(pip install 'aslrec\[remote\]'\)$",
        ),
        (None, "nosuch://bucket/data", r"^nosuch://bucket/data: Protocol not known: nosuch$"),
    ],
)
def test_a_missing_package_is_named_with_the_url(
    missing: str | None, url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if missing is not None:
        monkeypatch.setitem(sys.modules, missing, None)  # `import missing` now fails
        if missing == "fsspec":
            monkeypatch.setitem(sys.modules, "fsspec.core", None)
    with pytest.raises(ConfigError, match=message):
        open_store(url, create=True)


def test_a_store_converts_block_by_block_without_holding_it(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ClipStore(tmp_path / "store", create=True)
    many = load_dataset(shared_data / "wlasl50_mp.npz")[:320]
    for i, clip in enumerate(many):
        store.add(clip, f"c{i:03d}")
    monkeypatch.setattr(shards, "MEMORY_BLOCK", 16)
    source = open_source(tmp_path / "store")
    assert isinstance(source, StoreFiles) and len(source.block_starts) == 21
    table = source.table()
    assert table.label.tolist() == [c.label for c in store.clips()]
    whole = sum(c.landmarks.nbytes + c.presence.nbytes for c in many)
    convert([store.clip_path("c000")], tmp_path / "warm-up")  # imports are not the test's
    tracemalloc.start()
    try:
        count = convert([tmp_path / "store"], tmp_path / "shards", rows_per_group=16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == len(many)
    assert peak < whole / 3, (peak, whole)  # a block and a row group, not the 320 clips
    back = load_dataset(tmp_path / "shards")
    assert all(same_clip(a, b) for a, b in zip(store.clips(), back, strict=True))
