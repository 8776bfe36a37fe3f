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

The same layout at a URL (``s3://bucket/DATASET``, any fsspec file system:
:mod:`aslrec.data.remote`) is a :class:`RemoteClipStore`, for a store that the machines of a
cluster share; :func:`open_store` picks the kind from the location.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np

from aslrec.atomic import atomic_path, write_text
from aslrec.data.remote import Location, local_path, url_fs, write_whole
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip, check_stored_arrays, safe_clip_id

FORMAT_NAME = "aslrec-landmarks"
FORMAT_VERSION = 1
MARKER = "aslrec_dataset.json"


def is_store(path: Path) -> bool:
    return path.is_dir() and (path / MARKER).is_file()


def save_clip(clip: LandmarkClip, path: Path) -> None:
    """Write one clip atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        _write_clip(clip, fh)


def _write_clip(clip: LandmarkClip, fh: IO[bytes]) -> None:
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
    np.savez_compressed(fh, **arrays)


def _read_clip_file(
    path: Path | str, data: bytes | None, keys: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (default: all) of a clip file; ``data``: its bytes, read from a URL
    ``path``. An npz member is decompressed only when asked for."""
    try:
        with np.load(path if data is None else io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in (z.files if keys is None else keys) if k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: not a readable aslrec clip file ({reason})") from None


def load_clip(path: Path | str, data: bytes | None = None) -> LandmarkClip:
    """Read one clip file written by :func:`save_clip` (``data``: its bytes, read from a
    URL ``path``)."""
    fields = _read_clip_file(path, data)
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

    label, signer, group, source = (_text(fields, key) for key in TEXT_FIELDS)
    return LandmarkClip(
        landmarks=fields["landmarks"],
        presence=fields["presence"],
        timestamps=fields.get("timestamps"),
        label=label,
        signer=signer,
        group=group,
        source=source or str(path),
        pose=fields.get("pose"),
    )


TEXT_FIELDS = ("label", "signer", "group", "source")


def _text(fields: Mapping[str, np.ndarray], key: str) -> str | None:
    value = str(fields[key]) if key in fields else ""
    return value or None


def load_clip_fields(
    path: Path | str, data: bytes | None = None
) -> tuple[str | None, str | None, str | None]:
    """A clip file's label, signer and group, without decoding its arrays (a store's table
    of clips, to hold a fold out before streaming it)."""
    fields = _read_clip_file(path, data, TEXT_FIELDS[:3])
    label, signer, group = (_text(fields, key) for key in TEXT_FIELDS[:3])
    return label, signer, group


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

    def load(self, clip_id: str) -> LandmarkClip:
        return load_clip(self.clip_path(clip_id))

    def fields(self, clip_id: str) -> tuple[str | None, str | None, str | None]:
        """Clip ``clip_id``'s label, signer and group (:func:`load_clip_fields`)."""
        return load_clip_fields(self.clip_path(clip_id))

    def clips(self) -> list[LandmarkClip]:
        return [self.load(cid) for cid in self.clip_ids()]

    def __len__(self) -> int:
        return len(self.clip_ids())


class RemoteClipStore:
    """:class:`ClipStore`'s layout and interface at a URL (:mod:`aslrec.data.remote`).

    Each clip is written whole (:func:`~aslrec.data.remote.write_whole`: on object storage, one
    put of the finished file). Which clips exist is listed once, when the store is opened, and
    kept up to date by :meth:`add`: asking the service about every job of a resumed run would
    cost one request per video (83,000 for ASL Citizen). So, as for a local store, one store is
    written by one run at a time."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.root = url.rstrip("/")
        self.fs, self._base = url_fs(self.root)
        marker, where = f"{self._base}/{MARKER}", f"{self.root}/{MARKER}"
        try:
            exists = self.fs.isfile(marker)
            if exists:
                meta = json.loads(self.fs.cat_file(marker).decode("utf-8"))
            elif create:
                self.fs.makedirs(f"{self._base}/clips", exist_ok=True)
                meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
                write_whole(self.fs, marker, json.dumps(meta).encode("utf-8"))
            else:
                raise DataError(f"{self.root}: not an aslrec data set (no {MARKER})")
        except (OSError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DataError(f"{where}: unreadable data set marker ({reason})") from None
        if meta.get("format") != FORMAT_NAME:
            raise DataError(f"{where}: not an aslrec landmark data set")
        self._names = set(self._listing())

    def _listing(self) -> list[str]:
        """File names under ``clips/`` (a prefix nothing was written to yet lists nothing)."""
        try:
            paths = self.fs.ls(f"{self._base}/clips", detail=False)
        except FileNotFoundError:
            return []
        return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in paths]

    def clip_path(self, clip_id: str) -> str:
        return f"{self.root}/clips/{safe_clip_id(clip_id)}.npz"

    def _path(self, name: str) -> str:
        return f"{self._base}/clips/{name}"

    def has(self, clip_id: str) -> bool:
        return f"{safe_clip_id(clip_id)}.npz" in self._names

    def add(self, clip: LandmarkClip, clip_id: str) -> str:
        buffer = io.BytesIO()
        _write_clip(clip, buffer)
        name = f"{safe_clip_id(clip_id)}.npz"
        write_whole(self.fs, self._path(name), buffer.getvalue())
        self._names.add(name)
        return self.clip_path(clip_id)

    def add_all(self, clips: Iterable[tuple[str, LandmarkClip]]) -> None:
        for clip_id, clip in clips:
            self.add(clip, clip_id)

    def remove_stale_temp_files(self) -> None:
        """Temporaries of an interrupted upload (``.<stem>.<random>.npz``; object stores
        leave none)."""
        for name in [n for n in self._names if n.startswith(".")]:
            self.fs.rm(self._path(name))
            self._names.discard(name)

    def clip_ids(self) -> list[str]:
        return sorted(n[: -len(".npz")] for n in self._names if _is_clip_file(n))

    def _read(self, clip_id: str) -> tuple[str, bytes]:
        """Clip ``clip_id``'s URL and bytes (one request: a clip file is ~10-100 kB)."""
        path = self.clip_path(clip_id)
        try:
            return path, self.fs.cat_file(self._path(f"{safe_clip_id(clip_id)}.npz"))
        except OSError as exc:
            raise DataError(f"{path}: unreadable ({' '.join(str(exc).split())})") from None

    def load(self, clip_id: str) -> LandmarkClip:
        return load_clip(*self._read(clip_id))

    def fields(self, clip_id: str) -> tuple[str | None, str | None, str | None]:
        return load_clip_fields(*self._read(clip_id))

    def clips(self) -> list[LandmarkClip]:
        return [self.load(cid) for cid in self.clip_ids()]

    def __len__(self) -> int:
        return len(self.clip_ids())


def _is_clip_file(name: str) -> bool:
    return name.endswith(".npz") and not name.startswith(".")


def open_store(location: Location, *, create: bool = False) -> ClipStore | RemoteClipStore:
    """The store at a path or URL: a ``file://`` URL is the local folder it names, any other
    URL a :class:`RemoteClipStore`."""
    path = local_path(location)
    if path is not None:
        return ClipStore(path, create=create)
    return RemoteClipStore(str(location), create=create)
