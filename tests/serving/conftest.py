"""Fixtures of the service tests: a real model, real clips and a served app.

The model is, in order: ``$ASLREC_TEST_MODEL`` (a run directory), the bundled model, or a
1-epoch run trained here on the real MP_Data sample (book, drink, yes).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aslrec.inference.recognizer import Recognizer, default_model_dir
from aslrec.landmarks.clip import LandmarkClip
from aslrec.runs.ensemble import is_model_dir
from aslrec.serving.logs import JsonFormatter


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    env = os.environ.get("ASLREC_TEST_MODEL")
    if env:
        return Path(env)
    if is_model_dir(default_model_dir()):
        return default_model_dir()
    out = tmp_path_factory.mktemp("serving-model") / "run"
    data = shared_data / "samples" / "MP_Data"
    cmd = [sys.executable, "-m", "aslrec.cli", "train", "--data", str(data), "--epochs", "1"]
    subprocess.run([*cmd, "--out", str(out)], check=True, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="session")
def recognizer(model_dir: Path) -> Recognizer:
    return Recognizer.load(model_dir)


@pytest.fixture(scope="session")
def mp_clips(shared_data: Path) -> list[LandmarkClip]:
    """15 real MP_Data clips (book, drink, yes), 30 frames each."""
    from aslrec.data.loaders import load_dataset

    return load_dataset(shared_data / "samples" / "MP_Data")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(
    url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


@contextlib.contextmanager
def _served(app: object) -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, timeout=30)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def free_port() -> object:
    """A function giving a free TCP port on 127.0.0.1."""
    return _free_port


@pytest.fixture(scope="session")
def wait_healthy() -> object:
    """``wait_healthy(url, timeout, proc)``: poll ``/v1/health`` until it answers 200."""
    return _wait_healthy


@pytest.fixture(scope="session")
def served() -> object:
    """``with served(app) as url:`` runs the app under uvicorn on loopback in a thread."""
    return _served


@contextlib.contextmanager
def _json_log(name: str) -> Iterator[list[dict[str, Any]]]:
    """The records logger ``name`` writes in the block, as its JSON lines parsed (at the end)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    records: list[dict[str, Any]] = []
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        records.extend(map(json.loads, stream.getvalue().splitlines()))


@pytest.fixture(scope="session")
def json_log() -> object:
    """``with json_log("aslrec.access") as records:`` collects that logger's JSON lines."""
    return _json_log
