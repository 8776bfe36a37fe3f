"""A video index: a CSV naming, for each clip to extract, its video, label, signer and window.

Folder names carry only a label (:func:`~aslrec.landmarks.extract.collect_inputs`); a data set
meant for signer-independent evaluation also needs who signs, and a video that holds more than
the sign (a lesson, a vocabulary list, a downloaded cut with context) needs where the sign is.
An index says both, so anyone's labelled videos extract the same way as the bundled ones::

    file,label,signer,group,start,end,anchor,clip_id
    videos/alice_hello.mp4,hello,alice,,,,,
    lesson1.mp4,no,bob,,12.4,13.9,,
    cut.webm,eat,carol,,-3.2,-0.4,end,eat_cut

Columns: ``file`` (relative to the CSV's folder, or absolute) and ``label`` are required;
``signer``, ``group`` (default: the signer, so a signer's clips stay on one side of any
split), ``start``/``end`` (seconds; both or neither: the window the sign is in, approximate: the
sign is then found inside it by hand presence and motion), ``anchor`` (``start``, the default:
times count from the video's first frame as decoded; ``end``: seconds relative to the end of
its last frame, so zero or negative, for cut downloads whose start is only known roughly but
whose end is exact) and ``clip_id`` (default: the file's path without suffix, ``_w<n>`` added
when a file has several rows). Other columns are ignored. Rows are one clip each.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from aslrec.atomic import write_text
from aslrec.errors import DataError
from aslrec.landmarks.clip import safe_clip_id
from aslrec.landmarks.extract import VideoJob

Anchor = Literal["start", "end"]
COLUMNS = ("file", "label", "signer", "group", "start", "end", "anchor", "clip_id")


@dataclass(frozen=True)
class IndexedJob(VideoJob):
    """A :class:`VideoJob` with what an index knows: signer, group and the sign's window."""

    signer: str | None = None
    group: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    anchor: Anchor = "start"

    @property
    def has_window(self) -> bool:
        return self.start_s is not None and self.end_s is not None

    def window_in(self, timestamps: np.ndarray) -> tuple[float, float]:
        """The window in the decoded video's own times (``timestamps``, one per frame)."""
        if self.start_s is None or self.end_s is None:
            raise ValueError(f"{self.clip_id}: no window")
        if self.anchor == "start":
            return self.start_s, self.end_s
        period = float(np.median(np.diff(timestamps))) if timestamps.size > 1 else 0.0
        last = float(timestamps[-1]) + period  # the end of the last frame
        return last + self.start_s, last + self.end_s


def as_indexed(job: VideoJob) -> IndexedJob:
    """A plain job (from folders) as an indexed one without signer or window."""
    if isinstance(job, IndexedJob):
        return job
    return IndexedJob(job.path, job.clip_id, job.label, job.kind)


def _number(where: str, name: str, text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {name} must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {name} must be finite, not {text!r}")
    return value


def read_video_index(path: str | os.PathLike[str]) -> list[IndexedJob]:
    """The jobs of an index CSV (see the module docstring); one-line DataError naming the file
    and line for a missing column or file, a bad number or window, or a repeated clip id."""
    index = Path(path)
    try:
        text = index.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{index}: cannot read the index ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in ("file", "label") if c not in header]
    if missing:
        raise DataError(f"{index}: index lacks the column(s) {', '.join(missing)}")
    reader.fieldnames = header
    rows: list[tuple[str, dict[str, str]]] = []
    for line, raw in enumerate(reader, start=2):
        rows.append((f"{index}:{line}", {k: (v or "").strip() for k, v in raw.items() if k}))
    if not rows:
        raise DataError(f"{index}: index has no rows")
    per_file = Counter(row["file"] for _, row in rows)
    seen_file: Counter[str] = Counter()
    jobs: list[IndexedJob] = []
    ids: dict[str, str] = {}
    for where, row in rows:
        name, label = row["file"], row["label"]
        if not name or not label:
            raise DataError(f"{where}: file and label must not be empty")
        video = Path(name) if Path(name).is_absolute() else index.parent / name
        if not video.exists():
            raise DataError(f"{where}: {video}: no such file")
        start = _number(where, "start", row.get("start", ""))
        end = _number(where, "end", row.get("end", ""))
        if (start is None) != (end is None):
            raise DataError(f"{where}: give both start and end, or neither")
        if start is not None and end is not None and end <= start:
            raise DataError(f"{where}: end ({end:g} s) must come after start ({start:g} s)")
        anchor = row.get("anchor", "") or "start"
        if anchor not in ("start", "end"):
            raise DataError(f"{where}: anchor must be 'start' or 'end', not {anchor!r}")
        if anchor == "end" and end is not None and end > 0:
            raise DataError(f"{where}: with anchor=end, times are <= 0 (seconds before the end)")
        seen_file[name] += 1
        clip_id = row.get("clip_id", "") or "_".join(Path(name).with_suffix("").parts)
        if not row.get("clip_id") and per_file[name] > 1:
            clip_id += f"_w{seen_file[name]}"
        clip_id = safe_clip_id(clip_id)
        if clip_id in ids:
            raise DataError(f"{where}: clip id {clip_id!r} already used at {ids[clip_id]}")
        ids[clip_id] = where
        signer = row.get("signer", "") or None
        jobs.append(
            IndexedJob(
                video,
                clip_id,
                label,
                signer=signer,
                group=row.get("group", "") or signer,
                start_s=start,
                end_s=end,
                anchor=anchor,  # type: ignore[arg-type]
            )
        )
    return jobs


def write_video_index(path: str | os.PathLike[str], jobs: Sequence[IndexedJob]) -> None:
    """Write ``jobs`` as an index CSV (atomically), files relative to its folder where they can
    be, so :func:`read_video_index` reads them back."""
    index = Path(path)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for job in jobs:
        file = os.path.relpath(os.path.abspath(job.path), os.path.abspath(index.parent))
        writer.writerow(
            [
                Path(file).as_posix(),
                job.label or "",
                job.signer or "",
                "" if job.group == job.signer else job.group or "",
                "" if job.start_s is None else f"{job.start_s:.3f}",
                "" if job.end_s is None else f"{job.end_s:.3f}",
                "" if job.anchor == "start" else job.anchor,
                job.clip_id,
            ]
        )
    write_text(index, out.getvalue())
