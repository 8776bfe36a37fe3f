"""``aslrec serve``'s limit options, end to end without a listening socket.

The command line is parsed by the real CLI and run through :func:`aslrec.serving.run.serve`
with ``uvicorn.Server`` replaced by a stand-in that keeps the config it was given, so the app
and the uvicorn settings the options produce are checked in-process, with a TestClient.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aslrec.cli import app as cli_app


class FakeServer:
    """Keeps the ``uvicorn.Config`` that ``serve`` would have run."""

    configs: ClassVar[list[uvicorn.Config]] = []

    def __init__(self, config: uvicorn.Config) -> None:
        self.configs.append(config)

    def run(self) -> None:
        """Return at once, as after Ctrl-C."""


def served_config(monkeypatch: pytest.MonkeyPatch, model_dir: Path, *args: str) -> uvicorn.Config:
    """The uvicorn config ``aslrec serve --model MODEL ARGS`` would run."""
    FakeServer.configs.clear()
    monkeypatch.setattr(uvicorn, "Server", FakeServer)
    # --torch-threads 0: leave this test process's PyTorch threads alone
    argv = ["serve", "--model", str(model_dir), "--torch-threads", "0", *args]
    result = CliRunner().invoke(cli_app, argv)
    assert result.exit_code == 0, result.output
    (config,) = FakeServer.configs
    return config


def test_cli_limits_reach_the_app_and_uvicorn(
    monkeypatch: pytest.MonkeyPatch, model_dir: Path, json_log: Callable[..., Any]
) -> None:
    monkeypatch.setenv("ASLREC_MAX_JSON_BYTES", "2000")
    monkeypatch.setenv("ASLREC_KEEP_ALIVE_TIMEOUT_S", "9")
    config = served_config(
        monkeypatch,
        model_dir,
        "--max-upload-bytes",
        "1000",
        "--header-timeout-s",
        "2.5",
        "--keep-alive-timeout-s",
        "3",  # beats the environment's 9
    )
    assert config.timeout_keep_alive == 3
    assert config.http.header_timeout_s == 2.5  # type: ignore[union-attr]
    with json_log("aslrec.serving") as records, TestClient(config.app) as client:  # type: ignore[arg-type]
        video = client.post("/v1/predict", files={"file": ("a.mp4", b"x" * 1500, "video/mp4")})
        clip = client.post(
            "/v1/predict", content=b"[" * 2500, headers={"content-type": "application/json"}
        )
    assert video.status_code == 413 and "1,000 bytes" in video.json()["error"]["message"]
    assert clip.status_code == 413 and "2,000 bytes" in clip.json()["error"]["message"]
    (start,) = [r for r in records if r.get("event") == "start"]
    settings: dict[str, Any] = start["settings"]
    assert settings["max_upload_bytes"] == 1000 and settings["max_json_bytes"] == 2000
    assert settings["keep_alive_timeout_s"] == 3 and settings["api_key"] is None


def test_the_api_key_is_logged_as_set_not_shown(
    monkeypatch: pytest.MonkeyPatch, model_dir: Path, json_log: Callable[..., Any]
) -> None:
    monkeypatch.setenv("ASLREC_API_KEY", "from-env")
    config = served_config(monkeypatch, model_dir, "--api-key", "s3cret")
    with json_log("aslrec.serving") as records, TestClient(config.app) as client:  # type: ignore[arg-type]
        assert client.get("/v1/labels", headers={"X-API-Key": "from-env"}).status_code == 401
        assert client.get("/v1/labels", headers={"X-API-Key": "s3cret"}).status_code == 200
    (start,) = [r for r in records if r.get("event") == "start"]
    assert start["settings"]["api_key"] == "set"
    assert "s3cret" not in json.dumps(records)


def test_both_views_flag_environment_and_answer(
    monkeypatch: pytest.MonkeyPatch, model_dir: Path, videos: Path
) -> None:
    """An uploaded video is tracked both ways unless switched off, and then answers exactly as
    ``aslrec predict`` (both views) does for the same file."""
    from aslrec.inference.recognizer import Recognizer

    monkeypatch.setenv("ASLREC_BOTH_VIEWS", "false")
    assert not served_config(monkeypatch, model_dir).app.state.service.recognizer.both_views  # type: ignore[union-attr]
    config = served_config(monkeypatch, model_dir, "--both-views")  # beats the environment
    with TestClient(config.app) as client:  # type: ignore[arg-type]
        data = (videos / "hello.mp4").read_bytes()
        answer = client.post("/v1/predict?top_k=3", files={"file": ("a.mp4", data, "video/mp4")})
    assert answer.status_code == 200, answer.text
    with Recognizer.load(model_dir, both_views=True) as recognizer:
        expected = recognizer.predict(videos / "hello.mp4", top_k=3)
    got = [(p["label"], p["probability"]) for p in answer.json()["predictions"]]
    assert [label for label, _ in got] == [label for label, _ in expected.top_k]
    assert [p for _, p in got] == pytest.approx([p for _, p in expected.top_k], abs=1e-4)
    monkeypatch.setenv("ASLREC_BOTH_VIEWS", "maybe")
    result = CliRunner().invoke(cli_app, ["serve", "--model", str(model_dir)])
    assert result.exit_code == 2 and "ASLREC_BOTH_VIEWS must be true or false" in result.output
