"""Data sets that do not fit in memory: parquet shards, and sources read block by block.

Layout of a shard set (written by ``aslrec convert``)::

    SHARDS/
        aslrec_shards.json       {"format": "aslrec-shards", "version": 1, "clips": N,
                                  "shards": [{"file": "shard-00000.parquet", "clips": n}, ...]}
        shard-00000.parquet      one row per clip, row groups of ``rows_per_group`` clips

Columns: ``label``, ``signer``, ``group``, ``source`` (strings, null = none), ``frames``
(int32), and the clip's arrays as raw little-endian bytes: ``landmarks`` (float32
``(T, 2, 21, 3)``), ``presence`` (bool ``(T, 2)``), ``timestamps`` (float64 ``(T,)``, null
when unknown) and ``pose`` (float32 ``(T, 11, 4)``, null when the body was not tracked).

Why parquet row groups (and not WebDataset or LitData shards): pyarrow is already a dependency,
a row group is read on its own (the unit of streaming and of shuffling across shards), and the
small string columns are read without the arrays, so a fold can be held out (labels, signers,
groups of every clip) without reading the landmarks. Raw bytes rather than nested lists keep
the arrays bit-for-bit what the loaders produced and cost one copy to read.

A :class:`ClipSource` is anything training can stream from: a shard set (a block is a row
group), the Kaggle GISLR layout (``train.csv`` + one parquet file per sequence, a block is one
file, read only when its turn comes), an aslrec store, in a folder or at a URL (a block is
:data:`MEMORY_BLOCK` clip files), or any other data set loaded in memory (blocks of
:data:`MEMORY_BLOCK` clips). ``aslrec convert`` reads its inputs as these sources, so
converting a store or a GISLR layout holds one block in memory, never the set.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aslrec.atomic import write_text
from aslrec.data.loaders import GISLR_CSV, _one_line, gislr_clip, gislr_csv_table, load_dataset
from aslrec.data.remote import Location, local_path
from aslrec.data.splits import Selection, SplitSpec, split_fields
from aslrec.data.store import ClipStore, RemoteClipStore, is_store, open_store
from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import (
    COORDS,
    HANDS,
    POINTS,
    POSE_COORDS,
    POSE_POINTS,
    LandmarkClip,
    check_stored_arrays,
)

FORMAT_NAME = "aslrec-shards"
FORMAT_VERSION = 1
MARKER = "aslrec_shards.json"
CLIPS_PER_SHARD = 8192
ROWS_PER_GROUP = 256
"""A row group of 256 30-frame clips is ~4 MB of landmarks: small enough to keep a few in
memory, large enough that the block order shuffles well and reading stays sequential."""
MEMORY_BLOCK = 256
_TEXT = ("label", "signer", "group", "source")
_ARRAYS = ("landmarks", "presence", "timestamps", "pose")


def is_shard_set(path: Location) -> bool:
    """True for a shard set folder (a URL never is one: shard sets are read from local or
    mounted folders; stores are what lives at URLs)."""
    local = local_path(path)
    return local is not None and local.is_dir() and (local / MARKER).is_file()


# --------------------------------------------------------------------------- writing


def _clip_row(clip: LandmarkClip) -> dict[str, object]:
    return {
        "label": clip.label,
        "signer": clip.signer,
        "group": clip.group,
        "source": clip.source,
        "frames": clip.num_frames,
        "landmarks": clip.landmarks.astype("<f4").tobytes(),
        "presence": clip.presence.astype(bool).tobytes(),
        "timestamps": None if clip.timestamps is None else clip.timestamps.astype("<f8").tobytes(),
        "pose": None if clip.pose is None else clip.pose.astype("<f4").tobytes(),
    }


def _schema():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.schema(
        [(name, pa.string()) for name in _TEXT]
        + [("frames", pa.int32())]
        + [(name, pa.binary()) for name in _ARRAYS]
    )


def write_shards(
    clips: Iterable[LandmarkClip],
    out: Path,
    *,
    clips_per_shard: int = CLIPS_PER_SHARD,
    rows_per_group: int = ROWS_PER_GROUP,
) -> int:
    """Write ``clips`` (any iterable: it is consumed once, ``rows_per_group`` clips at a time,
    so memory does not grow with the number of clips) as a shard set at ``out``.

    The set is built in a temporary folder beside ``out`` and renamed into place when every
    shard and the marker are written: an interrupted conversion leaves no half set that
    training could mistake for a whole one. Returns the number of clips written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if clips_per_shard < 1 or rows_per_group < 1:
        raise ConfigError("clips per shard and rows per group must be at least 1")
    out = Path(out)
    if out.exists():
        raise ConfigError(f"{out}: already exists; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    schema = _schema()
    shards: list[dict[str, object]] = []
    writer: pq.ParquetWriter | None = None
    rows: list[dict[str, object]] = []

    def flush() -> None:
        if rows:
            assert writer is not None
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            rows.clear()

    try:
        for clip in clips:
            if writer is None or shards[-1]["clips"] == clips_per_shard:
                flush()
                if writer is not None:
                    writer.close()
                name = f"shard-{len(shards):05d}.parquet"
                writer = pq.ParquetWriter(tmp / name, schema, compression="zstd")
                shards.append({"file": name, "clips": 0})
            rows.append(_clip_row(clip))
            shards[-1]["clips"] = int(shards[-1]["clips"]) + 1  # type: ignore[call-overload]
            if len(rows) == rows_per_group:
                flush()
        flush()
        if writer is not None:
            writer.close()
        total = sum(int(s["clips"]) for s in shards)  # type: ignore[call-overload]
        if total == 0:
            raise DataError(f"{out}: nothing to write (no clips)")
        meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "clips": total, "shards": shards}
        write_text(tmp / MARKER, json.dumps(meta, indent=1))
        os.chmod(tmp, 0o777 & ~_umask())
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return total


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ClipTable:
    """What a split needs of every clip, without its landmarks: object arrays (None = unknown)
    whose equal values share one Python string, so 200,000 clips of a few hundred signs and
    signers cost a few MB."""

    label: np.ndarray
    signer: np.ndarray
    group: np.ndarray
    where: str
    """Named in errors about a clip of this source (``where#index``)."""

    def __len__(self) -> int:
        return len(self.label)


def _shared(
    values: Sequence[str | None], pool: dict[str | None, str | None] | None = None
) -> np.ndarray:
    """An object array of ``values`` in which equal strings are one object (also across the
    calls given the same ``pool``)."""
    pool = {} if pool is None else pool
    out = np.empty(len(values), dtype=object)
    out[:] = [pool.setdefault(v, v) for v in values]
    return out


class ClipSource:
    """A data set read block by block. ``block_starts`` has one entry per block plus the end:
    block ``b`` holds clips ``block_starts[b]:block_starts[b + 1]`` of :meth:`table`."""

    path: Path | str
    """Where the data set is (a URL for a store on object storage)."""
    block_starts: np.ndarray

    def table(self) -> ClipTable:
        raise NotImplementedError

    def read_block(self, block: int) -> list[LandmarkClip]:
        raise NotImplementedError

    def read_rows(self, block: int, rows: Sequence[int]) -> list[LandmarkClip]:
        """Clips ``rows`` (positions within the block) of block ``block``: a held-out fold
        takes a few clips of every block, and only those are decoded."""
        clips = self.read_block(block)
        return [clips[r] for r in rows]

    def __len__(self) -> int:
        return int(self.block_starts[-1])

    def clips(self) -> Iterator[LandmarkClip]:
        """Every clip in order, one block in memory at a time."""
        for block in range(len(self.block_starts) - 1):
            yield from self.read_block(block)


class ShardSet(ClipSource):
    """A shard set written by :func:`write_shards`; blocks are the row groups of its shards."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        marker = self.path / MARKER
        try:
            meta = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{marker}: unreadable shard set marker ({exc})") from None
        if meta.get("format") != FORMAT_NAME or not isinstance(meta.get("shards"), list):
            raise DataError(f"{marker}: not an aslrec shard set")
        self._files = [self.path / str(s["file"]) for s in meta["shards"]]
        self._blocks: list[tuple[int, int]] = []  # (shard, row group)
        sizes: list[int] = []
        for i, f in enumerate(self._files):
            try:
                info = pq.ParquetFile(f).metadata
            except Exception as exc:  # pyarrow raises many types for a bad file
                raise DataError(f"{f}: not a readable shard ({_one_line(exc)})") from None
            for g in range(info.num_row_groups):
                self._blocks.append((i, g))
                sizes.append(info.row_group(g).num_rows)
        self.block_starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if len(self) != meta.get("clips"):
            raise DataError(f"{marker}: says {meta.get('clips')} clips, shards hold {len(self)}")

    def table(self) -> ClipTable:
        import pyarrow.parquet as pq

        columns: dict[str, list[np.ndarray]] = {"label": [], "signer": [], "group": []}
        pool: dict[str | None, str | None] = {}  # each shard has its own dictionaries
        for f in self._files:
            try:
                part = pq.read_table(f, columns=list(columns), read_dictionary=list(columns))
            except Exception as exc:
                raise DataError(f"{f}: not a readable shard ({_one_line(exc)})") from None
            for name in columns:
                for chunk in part.column(name).chunks:  # dictionary-encoded: each value once
                    words = _shared([*chunk.dictionary.to_pylist(), None], pool)
                    codes = chunk.indices.fill_null(len(words) - 1).to_numpy()
                    columns[name].append(words[codes])
        return ClipTable(
            **{k: np.concatenate(v) if v else np.empty(0, object) for k, v in columns.items()},
            where=str(self.path),
        )

    def read_block(self, block: int) -> list[LandmarkClip]:
        return self.read_rows(block, range(int(np.diff(self.block_starts)[block])))

    def read_rows(self, block: int, rows: Sequence[int]) -> list[LandmarkClip]:
        import pyarrow.parquet as pq

        shard, group = self._blocks[block]
        f = self._files[shard]
        try:
            # A shard is opened for each block, not kept open: an open reader holds ~2 MB of
            # Arrow buffers after a read, so handles kept for the 25 shards of 200,000 clips
            # grew a training run by ~50 MB. Opening costs ~3 ms a block of 256 clips.
            with pq.ParquetFile(f) as handle:
                table = handle.read_row_group(group)
            if len(rows) < table.num_rows:
                table = table.take(list(rows))
            records = table.to_pylist()
        except Exception as exc:
            raise DataError(f"{f}: not a readable shard ({_one_line(exc)})") from None
        return [_row_clip(f"{f}#{group}", row) for row in records]


def _row_clip(where: str, row: dict[str, object]) -> LandmarkClip:
    """One parquet row back into the clip it was written from, checked like a clip file."""
    frames = int(row["frames"])  # type: ignore[call-overload]

    def array(name: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray | None:
        raw = row[name]
        if raw is None:
            return None
        values = np.frombuffer(raw, dtype=dtype)  # type: ignore[call-overload]
        if values.size != int(np.prod(shape)):
            raise DataError(f"{where}: column {name} holds {values.size} values, not {shape}")
        return values.reshape(shape)

    landmarks = array("landmarks", "<f4", (frames, HANDS, POINTS, COORDS))
    presence = array("presence", "bool", (frames, HANDS))
    if landmarks is None or presence is None:
        raise DataError(f"{where}: a row without landmarks or presence")
    timestamps = array("timestamps", "<f8", (frames,))
    pose = array("pose", "<f4", (frames, POSE_POINTS, POSE_COORDS))
    check_stored_arrays(where, landmarks, presence, timestamps, pose)
    return LandmarkClip(
        landmarks=landmarks,
        presence=presence,
        timestamps=timestamps,
        label=row["label"],  # type: ignore[arg-type]
        signer=row["signer"],  # type: ignore[arg-type]
        group=row["group"],  # type: ignore[arg-type]
        source=str(row["source"] or where),
        pose=pose,
    )


class GislrFiles(ClipSource):
    """The Kaggle GISLR layout read lazily: ``train.csv`` gives every clip's label, signer and
    group; a clip's parquet file is read only when its block (one file) is."""

    def __init__(self, path: Path) -> None:
        self.path, self._rows = gislr_csv_table(path)
        self.block_starts = np.arange(len(self._rows) + 1, dtype=np.int64)

    def table(self) -> ClipTable:
        rows = self._rows
        return ClipTable(
            label=_shared(rows["sign"].tolist()),
            signer=_shared(rows["participant_id"].tolist()),
            group=_shared([f"gislr:{s}" for s in rows["sequence_id"].tolist()]),
            where=str(self.path),
        )

    def read_block(self, block: int) -> list[LandmarkClip]:
        return [gislr_clip(self.path, self._rows.iloc[block])]


class StoreFiles(ClipSource):
    """An aslrec store (:mod:`aslrec.data.store`, a folder or a URL) read
    :data:`MEMORY_BLOCK` clip files at a time, in the order ``load_dataset`` gives them (so the
    same folds): converting a store to shards, or streaming it, never holds it whole. Its table
    opens every file for its label, signer and group only."""

    def __init__(self, store: ClipStore | RemoteClipStore) -> None:
        self.store = store
        self.path = store.root
        self._ids = store.clip_ids()
        if not self._ids:
            raise DataError(f"{store.root}: the data set holds no clips")
        self.block_starts = np.append(
            np.arange(0, len(self._ids), MEMORY_BLOCK), len(self._ids)
        ).astype(np.int64)

    def table(self) -> ClipTable:
        label, signer, group = zip(*map(self.store.fields, self._ids), strict=True)
        pool: dict[str | None, str | None] = {}
        return ClipTable(
            label=_shared(label, pool),
            signer=_shared(signer, pool),
            group=_shared(group, pool),
            where=str(self.store.root),
        )

    def read_block(self, block: int) -> list[LandmarkClip]:
        ids = self._ids[self.block_starts[block] : self.block_starts[block + 1]]
        return [self.store.load(cid) for cid in ids]


class InMemory(ClipSource):
    """Any other data set, loaded whole (its format has no blocks to read on their own)."""

    def __init__(self, path: Path, clips: Sequence[LandmarkClip]) -> None:
        self.path = Path(path)
        self._clips = list(clips)
        self.block_starts = np.append(
            np.arange(0, len(self._clips), MEMORY_BLOCK), len(self._clips)
        ).astype(np.int64)

    def table(self) -> ClipTable:
        return ClipTable(
            label=_shared([c.label for c in self._clips]),
            signer=_shared([c.signer for c in self._clips]),
            group=_shared([c.group for c in self._clips]),
            where=str(self.path),
        )

    def read_block(self, block: int) -> list[LandmarkClip]:
        return self._clips[self.block_starts[block] : self.block_starts[block + 1]]


def open_source(path: Location) -> ClipSource:
    """The streaming view of a data set path: shard sets, stores (also at a URL) and GISLR
    layouts block by block, any other format (``load_dataset``) in memory."""
    p = local_path(path)
    if p is None:  # a URL: only stores are read there
        return StoreFiles(open_store(path))
    if is_store(p):
        return StoreFiles(ClipStore(p))
    if is_shard_set(p):
        return ShardSet(p)
    if (p.is_dir() and (p / GISLR_CSV).is_file()) or (p.is_file() and p.suffix == ".csv"):
        return GislrFiles(p)
    return InMemory(p, load_dataset(p))


class SourceSet:
    """Data sets laid end to end as :class:`ClipSource` s, with what a split needs of every
    clip (its canonical label, signer and group) and none of its landmarks: how training
    holds a fold out of streamed data, and how evaluation finds that fold again."""

    def __init__(self, paths: Sequence[Location]) -> None:
        if not paths:
            raise DataError("no data set paths given")
        self.sources = [open_source(p) for p in paths]
        tables = [source.table() for source in self.sources]
        self.offsets = np.cumsum([0] + [len(t) for t in tables]).astype(np.int64)
        self.labels = np.concatenate([canonical_labels(t) for t in tables])
        self._tables: list[ClipTable] | None = tables

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def where(self, i: int) -> str:
        """Clip ``i`` named in an error (``SOURCE#index``)."""
        s = int(np.searchsorted(self.offsets, i, "right")) - 1
        return f"{self.sources[s].path}#{i - self.offsets[s]}"

    def split(
        self, spec: SplitSpec, selection: Selection, sources: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~aslrec.data.splits.split_fields` of the clips of the first ``sources``
        sources (default all; the others are not split: training's ``--train-only`` data):
        the folds the same clips get in memory. Signers and groups are only needed here, so
        they are dropped after (a set is split once)."""
        if self._tables is None:
            raise ConfigError("a SourceSet is split once (its signers and groups are dropped)")
        tables, self._tables = self._tables[:sources], None
        count = int(self.offsets[len(tables)])
        return split_fields(
            self.labels[:count],
            np.concatenate([t.group for t in tables]),
            np.concatenate([t.signer for t in tables]),
            spec,
            selection,
            self.where,
        )

    def read(self, selected: np.ndarray) -> Iterator[LandmarkClip]:
        """Clips ``selected`` (sorted indices into the sources laid end to end) in storage
        order, one block in memory at a time and only the selected rows of it decoded."""
        selected = np.asarray(selected, dtype=np.int64)
        for s, source in enumerate(self.sources):
            starts = self.offsets[s] + source.block_starts
            for b in range(len(starts) - 1):
                lo, hi = np.searchsorted(selected, starts[b : b + 2])
                if hi > lo:
                    yield from source.read_rows(b, (selected[lo:hi] - starts[b]).tolist())


def load_shards(path: Path) -> list[LandmarkClip]:
    """A whole shard set in memory (``aslrec predict`` on a shard set; ``aslrec evaluate``
    streams it instead, :class:`SourceSet`)."""
    return list(ShardSet(path).clips())


def canonical_labels(table: ClipTable) -> np.ndarray:
    """:func:`~aslrec.data.labels.canonical_clips` for a table: every clip's label in the
    card's spelling (an object array sharing one string per class); DataError naming the first
    unlabelled clip."""
    from aslrec.data.labels import canonical_label

    unlabelled = [i for i, label in enumerate(table.label.tolist()) if not label]
    if unlabelled:
        raise DataError(
            f"{table.where}#{unlabelled[0]}: clip has no label ({len(unlabelled)} unlabelled)"
        )
    spelling = {label: canonical_label(label) for label in set(table.label.tolist())}
    out = np.empty(len(table), dtype=object)
    out[:] = [spelling[label] for label in table.label.tolist()]
    return out
