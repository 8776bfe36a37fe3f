"""aslrec's own landmark data set format: a folder of one ``.npz`` per clip.

Layout::

    DATASET/
        aslrec_dataset.json      {"format": "aslrec-landmarks", "version": 1}
        clips/<clip_id>.npz      landmarks (T,2,21,3) float32, presence (T,2) bool,
                                 timestamps (T,) float64 (optional), label, signer, group, source,
                                 pose (T,11,4) float32 (optional: only when the body was tracked)

One file per clip (rather than one big array) is what makes extraction and recording resumable
and safe to interrupt: each clip is written atomically, a finished clip is never rewritten, and
``collect`` can append without touching what is already there. Files hold plain arrays and
strings only, read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from aslrec.atomic import atomic_path, write_text
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip, check_stored_arrays, safe_clip_id

FORMAT_NAME = "aslrec-landmarks"
FORMAT_VERSION = 1
MARKER = "aslrec_dataset.json"


def is_store(path: Path) -> bool:
    return path.is_dir() and (path / MARKER).is_file()


def save_clip(clip: LandmarkClip, path: Path) -> None:
    """Write one clip atomically."""
    arrays: dict[str, np.ndarray] = {
        "landmarks": clip.landmarks.astype(np.float32),
        "presence": clip.presence.astype(bool),
        "label": np.array(clip.label or ""),
        "signer": np.array(clip.signer or ""),
        "group": np.array(clip.group or ""),
        "source": np.array(clip.source),
    }
    if clip.timestamps is not None:
        arrays["timestamps"] = clip.timestamps.astype(np.float64)
    if clip.pose is not None:
        arrays["pose"] = clip.pose.astype(np.float32)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_clip(path: Path) -> LandmarkClip:
    """Read one clip file written by :func:`save_clip`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            fields = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: not a readable aslrec clip file ({reason})") from None
    missing = {"landmarks", "presence"} - fields.keys()
    if missing:
        raise DataError(f"{path}: clip file lacks {', '.join(sorted(missing))}")
    # Checked here, naming the file: the clip's own source is where it came from (a video),
    # which is not the file a user has to fix.
    check_stored_arrays(
        str(path),
        fields["landmarks"],
        fields["presence"],
        fields.get("timestamps"),
        fields.get("pose"),
    )

    def text(key: str) -> str | None:
        value = str(fields[key]) if key in fields else ""
        return value or None

    return LandmarkClip(
        landmarks=fields["landmarks"],
        presence=fields["presence"],
        timestamps=fields.get("timestamps"),
        label=text("label"),
        signer=text("signer"),
        group=text("group"),
        source=text("source") or str(path),
        pose=fields.get("pose"),
    )


class ClipStore:
    """A folder data set in aslrec's format; created on first use."""

    def __init__(self, root: str | Path, *, create: bool = False) -> None:
        self.root = Path(root)
        marker = self.root / MARKER
        if marker.is_file():
            try:
                meta = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(f"{marker}: unreadable data set marker ({exc})") from None
            if meta.get("format") != FORMAT_NAME:
                raise DataError(f"{marker}: not an aslrec landmark data set")
        elif create:
            if self.root.exists() and not self.root.is_dir():
                raise DataError(f"{self.root}: exists and is not a folder")
            (self.root / "clips").mkdir(parents=True, exist_ok=True)
            write_text(marker, json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}))
        else:
            raise DataError(f"{self.root}: not an aslrec data set (no {MARKER})")

    def clip_path(self, clip_id: str) -> Path:
        return self.root / "clips" / f"{safe_clip_id(clip_id)}.npz"

    def has(self, clip_id: str) -> bool:
        return self.clip_path(clip_id).is_file()

    def add(self, clip: LandmarkClip, clip_id: str) -> Path:
        path = self.clip_path(clip_id)
        save_clip(clip, path)
        return path

    def add_all(self, clips: Iterable[tuple[str, LandmarkClip]]) -> None:
        for clip_id, clip in clips:
            self.add(clip, clip_id)

    def remove_stale_temp_files(self) -> None:
        """Leftovers of an interrupted run: ``atomic_path`` names them ``.<stem>.<random>.npz``."""
        for tmp in (self.root / "clips").glob(".*.npz"):
            tmp.unlink(missing_ok=True)

    def clip_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "clips").glob("*.npz"))

    def clips(self) -> list[LandmarkClip]:
        return [load_clip(self.clip_path(cid)) for cid in self.clip_ids()]

    def __len__(self) -> int:
        return len(self.clip_ids())
