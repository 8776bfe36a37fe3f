"""Data set locations given as URLs: any file system fsspec knows (object storage, shared file
systems), for stores that several machines write and read (``aslrec extract --out s3://...``).

Why fsspec: it is the one interface the Python data tools share (pandas, pyarrow, Ray, Lightning
already speak it), each storage service is a separate package the user installs only when
needed (``s3fs``, ``gcsfs``, ``adlfs``), and its ``memory://`` and ``file://`` file systems let
the same code be tested here. fsspec is the ``remote`` extra and is imported only for a URL.

Writes appear whole or not at all (:func:`write_whole`), as local writes do
(:mod:`aslrec.atomic`): an object store makes an object visible only once its upload is
complete, so one put is atomic there; any other file system gets a temporary name beside the
target and a rename. A ``file://`` URL is the local path it names (:func:`local_path`), written
with the local rename.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from aslrec.errors import ConfigError

REMOTE_EXTRA = "pip install 'aslrec[remote]'"
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory"})
"""fsspec protocols whose writes are single puts, visible only once complete."""

Location = str | os.PathLike[str]
"""A local path or a URL (``protocol://...``)."""


def is_url(location: Location) -> bool:
    """True for ``protocol://...`` strings (a ``Path`` never is one: it folds ``//``)."""
    return isinstance(location, str) and "://" in location


def local_path(location: Location) -> Path | None:
    """The local path ``location`` names (a path, or a ``file://`` URL), else None."""
    if not is_url(location):
        return Path(location)
    text = str(location)
    if text.startswith(("file://", "local://")):
        return Path(text.split("://", 1)[1])
    return None


def url_fs(url: str) -> tuple[Any, str]:
    """``(file system, path within it)`` for ``url``; a missing package is a one-line
    ConfigError naming the URL and what to install."""
    try:
        import fsspec.core
    except ImportError:
        raise ConfigError(f"{url}: URLs need fsspec ({REMOTE_EXTRA})") from None
    protocol = url.split("://", 1)[0]
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:  # the protocol's own package (s3fs, gcsfs, ...) is missing
        raise ConfigError(f"{url}: {protocol}:// URLs need {_package(protocol, exc)}") from None
    except ValueError as exc:  # "Protocol not known: ..."
        raise ConfigError(f"{url}: {str(exc).splitlines()[0]}") from None
    return fs, str(path).rstrip("/")


def _package(protocol: str, exc: ImportError) -> str:
    """What to install for ``protocol``: the package of its fsspec implementation (s3fs for
    s3://), or fsspec's own message where the class lives in fsspec (sftp: paramiko)."""
    from fsspec.registry import known_implementations

    module = str(known_implementations.get(protocol, {}).get("class", "")).split(".")[0]
    if module and module != "fsspec":
        return f"{module} (pip install {module})"
    return str(exc).splitlines()[0] if str(exc) else "a package fsspec could not import"


def write_whole(fs: Any, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` on ``fs`` so that it appears whole or not at all (see the
    module docstring). A temporary left by a crash starts with ``.``, the name
    ``aslrec.atomic`` gives its own, so readers skip it and writers can clear it."""
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if protocols & OBJECT_STORES:
        fs.pipe_file(path, data)
        return
    parent, _, name = path.rpartition("/")
    stem, suffix = os.path.splitext(name)
    tmp = f"{parent}/.{stem}.{uuid.uuid4().hex[:12]}{suffix}"
    fs.pipe_file(tmp, data)
    try:
        fs.mv(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            fs.rm(tmp)
        raise
