"""``aslrec convert``: landmark data sets -> one shard set that training streams.

Each input is read the way it streams (:func:`aslrec.data.shards.open_source`): a GISLR layout
file by file and a shard set row group by row group, so converting the full Kaggle set never
holds it in memory; other formats are read whole, one input at a time. Labels, signers and
groups are kept as the source gives them (training maps labels to the card's spellings, as it
does for every format), so a shard set holds out exactly the folds its sources would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from aslrec.data.shards import CLIPS_PER_SHARD, ROWS_PER_GROUP, open_source, write_shards
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip


def convert(
    data: Sequence[Path],
    out: Path,
    *,
    clips_per_shard: int = CLIPS_PER_SHARD,
    rows_per_group: int = ROWS_PER_GROUP,
) -> int:
    """Write the clips of every ``data`` path, in order, as a shard set at ``out``; returns
    the number of clips. Nothing is left at ``out`` when an input turns out to be bad."""
    if not data:
        raise DataError("no data set paths given")

    def clips() -> Iterator[LandmarkClip]:
        for path in data:
            yield from open_source(Path(path)).clips()

    return write_shards(
        clips(), Path(out), clips_per_shard=clips_per_shard, rows_per_group=rows_per_group
    )
