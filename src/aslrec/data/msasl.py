"""MS-ASL cut downloads (``../shared/data/msasl6``) as video-index jobs.

The one place that knows MS-ASL's columns. Each row of its ``index.csv`` names a file cut from a
YouTube video, the windows asked of the downloader (``section_requested``, ``*m:ss-m:ss``
joined by ``|``) and the sign's span in the ORIGINAL video for each window (``msasl_start_s``,
``msasl_end_s``, ``msasl_gloss``, same ``|`` joins). Measured on the 46 files (hand presence
against each hypothesis): a file holds only the FIRST window, cut at a keyframe at or before the
window's start (up to 10 s early, so its start is unknown) and ending at the window's end, which
is where its last decoded frame is (the container's audio can run on; ``frames``/``fps`` is
the decoded length). So a sign's span is anchored at the END of the video: seconds before the
end = sign time - first window's end; except when the first window starts at 0:00, where the
file starts with the original video (which may end before the window does), so times are
kept as they are, from the start. Later windows are kept when at least half their sign lies
inside the decoded video (a repetition or neighbouring sign just before the window's end).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from aslrec.data.video_index import Anchor, IndexedJob
from aslrec.errors import DataError

MIN_INSIDE = 0.5
"""Fraction of a window's sign that must lie inside the decoded video for it to be a clip."""


@dataclass(frozen=True)
class MsaslWindow:
    """One requested window of a row and what became of it."""

    clip_id: str
    file: Path
    label: str
    signer: str
    sign_s: tuple[float, float]
    """The sign's span in the original video."""
    span_s: tuple[float, float]
    """The sign's span in the file: seconds from its start, or relative to its end (<= 0 when
    inside) with ``anchor="end"``."""
    anchor: Anchor
    inside: float
    """Fraction of the sign inside the decoded video."""
    video_s: float
    """The decoded video's length (``frames / fps``)."""

    @property
    def kept(self) -> bool:
        return self.inside >= MIN_INSIDE

    def job(self) -> IndexedJob:
        """The window as an index row, clipped to the file."""
        lo, hi = (0.0, self.video_s) if self.anchor == "start" else (-self.video_s, 0.0)
        start, end = (min(max(t, lo), hi) for t in self.span_s)
        return IndexedJob(
            self.file,
            self.clip_id,
            self.label,
            signer=self.signer,
            group=self.signer,
            start_s=start,
            end_s=end,
            anchor=self.anchor,
        )


def parse_time(text: str) -> float:
    """``*m:ss`` / ``m:ss.s`` / ``h:mm:ss`` (yt-dlp's section syntax) -> seconds."""
    parts = text.strip().lstrip("*").split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"not a time: {text!r}") from None
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    return seconds


def parse_sections(text: str) -> list[tuple[float, float]]:
    """``*0:24-0:30|*0:33-0:37`` -> [(24, 30), (33, 37)]."""
    windows = []
    for part in text.split("|"):
        start, sep, end = part.partition("-")
        if not sep:
            raise ValueError(f"not a section: {part!r}")
        windows.append((parse_time(start), parse_time(end)))
    return windows


def read_msasl_index(path: str | os.PathLike[str]) -> list[MsaslWindow]:
    """Every requested window of every row, kept or not (see the module docstring)."""
    index = Path(path)
    try:
        with open(index, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"{index}: cannot read ({exc.strerror or exc})") from None
    out: list[MsaslWindow] = []
    for line, row in enumerate(rows, start=2):
        where = f"{index}:{line}"
        try:
            windows = parse_sections(row["section_requested"])
            starts = [float(t) for t in row["msasl_start_s"].split("|")]
            ends = [float(t) for t in row["msasl_end_s"].split("|")]
            video_s = int(row["frames"]) / float(row["fps"])
            glosses = row["msasl_gloss"].split("|")
            file, label, signer = row["file"], row["label"], row["signer_id"]
        except (KeyError, ValueError, ZeroDivisionError) as exc:
            raise DataError(f"{where}: not an MS-ASL download row ({exc})") from None
        if not len(windows) == len(starts) == len(ends):
            raise DataError(f"{where}: {len(windows)} windows but {len(starts)} sign spans")
        if len(glosses) != len(windows):
            glosses = [label] * len(windows)
        video = index.parent / file
        anchor: Anchor = "start" if windows[0][0] == 0 else "end"
        shift = 0.0 if anchor == "start" else windows[0][1]
        lo, hi = (0.0, video_s) if anchor == "start" else (-video_s, 0.0)
        stem = f"{label}_{Path(file).stem}"
        for k, (start, end) in enumerate(zip(starts, ends, strict=True), start=1):
            span = (start - shift, end - shift)
            inside = max(0.0, min(span[1], hi) - max(span[0], lo)) / max(end - start, 1e-6)
            window = MsaslWindow(
                clip_id=stem if len(windows) == 1 else f"{stem}_w{k}",
                file=video,
                label=glosses[k - 1] or label,
                signer=f"msasl{signer}",
                sign_s=(start, end),
                span_s=span,
                anchor=anchor,
                inside=inside,
                video_s=video_s,
            )
            out.append(window)
    return out
