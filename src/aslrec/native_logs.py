"""Keep MediaPipe's and FFmpeg's native log lines off the terminal.

MediaPipe (absl/glog) and FFmpeg write warnings such as "Using NORM_RECT without
IMAGE_DIMENSIONS" or "moov atom not found" straight to file descriptor 2 from C++, interleaving
with our progress bars and one-line errors; ``GLOG_minloglevel`` does not silence them. We point
fd 2 at /dev/null and give Python's ``sys.stderr`` a duplicate of the real stderr, so everything
aslrec prints still shows. Set ``ASLREC_NATIVE_LOGS=1`` to see the native lines when debugging.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    if os.environ.get("ASLREC_NATIVE_LOGS") or not hasattr(sys.stderr, "fileno"):
        yield
        return
    try:
        sys.stderr.flush()
        real_fd = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. captured by a test runner)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(real_fd, "w", buffering=1, closefd=False)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_fd, 2)
        sys.stderr = python_stderr
        os.close(real_fd)
        os.close(devnull)
