"""``load_dataset`` given a URL (fsspec's ``memory://`` here, as ``s3://`` would be): the aslrec
store there, bit for bit the clips of the same store in a folder; anything else there is a
one-line error naming the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fsspec")

from same_clips import same_clip

from aslrec.data.loaders import load_dataset, load_datasets
from aslrec.data.store import ClipStore, RemoteClipStore
from aslrec.errors import DataError


def test_a_url_loads_the_store_there(shared_data: Path, memory_url: str, tmp_path: Path) -> None:
    clips = load_dataset(shared_data / "gislr_hello_thankyou.npz")[:20]
    named = [(f"clip-{i:02d}", clip) for i, clip in enumerate(clips)]
    RemoteClipStore(memory_url, create=True).add_all(named)
    ClipStore(tmp_path / "local", create=True).add_all(named)
    remote, local = load_datasets([memory_url]), load_dataset(tmp_path / "local")
    assert len(remote) == 20 and all(map(same_clip, remote, local))
    assert all(map(same_clip, load_dataset(f"file://{tmp_path / 'local'}"), local))
    with pytest.raises(DataError, match=r"^memory://\S+-missing: not an aslrec data set"):
        load_dataset(f"{memory_url}-missing")
