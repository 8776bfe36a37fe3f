"""``aslrec convert``: landmark data sets -> one shard set that training streams.

Each input is read the way it streams (:func:`aslrec.data.shards.open_source`): a GISLR layout
file by file, an aslrec store (a folder, or a URL such as ``s3://bucket/DATA`` that ``aslrec
extract --out`` wrote) 256 clip files at a time and a shard set row group by row group, so
converting the full Kaggle set or a corpus extracted into a store never holds it in memory;
other formats are read whole, one input at a time.

This is also why ``extract`` writes a store and not shards itself: a store is what makes
extraction resumable and safe to interrupt (one atomically written file per clip, on any
machine of a cluster), which parquet files written as clips arrive cannot be, and one
streaming pass of ``convert`` afterwards costs a fraction of the extraction (a local store of
2,000 clips converted in 3.3 s on 2 busy cores: ~17 s per 10,000 clips, which took hours to
track). Labels, signers and
groups are kept as the source gives them (training maps labels to the card's spellings, as it
does for every format), so a shard set holds out exactly the folds its sources would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from aslrec.data.remote import Location
from aslrec.data.shards import CLIPS_PER_SHARD, ROWS_PER_GROUP, open_source, write_shards
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip


def convert(
    data: Sequence[Location],
    out: Path,
    *,
    clips_per_shard: int = CLIPS_PER_SHARD,
    rows_per_group: int = ROWS_PER_GROUP,
) -> int:
    """Write the clips of every ``data`` path or store URL, in order, as a shard set at
    ``out``; returns the number of clips. Nothing is left at ``out`` when an input turns out
    to be bad."""
    if not data:
        raise DataError("no data set paths given")

    def clips() -> Iterator[LandmarkClip]:
        for path in data:
            yield from open_source(path).clips()

    return write_shards(
        clips(), Path(out), clips_per_shard=clips_per_shard, rows_per_group=rows_per_group
    )
