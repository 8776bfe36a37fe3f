"""The command line: help lists every command; bad input is one line on stderr, exit != 0."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def registered_commands() -> list[str]:
    from aslrec.cli import app

    return [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]


def test_help_lists_every_command(aslrec_process: Callable[..., Any]) -> None:
    commands = registered_commands()
    assert len(commands) == 16
    result = aslrec_process("--help")
    assert result.returncode == 0
    # Rows of the help's command box: "│ name   description"; wrapped lines start with spaces.
    listed = set(re.findall(r"^│ ([a-z][a-z-]*) ", result.stdout, re.M))
    assert listed == set(commands)


@pytest.mark.parametrize("command", registered_commands())
def test_every_command_has_help_and_a_readme_row(command: str) -> None:
    from typer.testing import CliRunner

    from aslrec.cli import app

    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"| `aslrec {command}" in readme


def test_models_lists_the_registry(aslrec_cli: Callable[..., Any]) -> None:
    result = aslrec_cli("models")
    assert "seed " in result.stdout and "3,258,574" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.npz"], "missing.npz: no such file"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--set", "lr=abc"], "lr must be float"),
        (["--set", "nonsense=1"], "unknown training option 'nonsense'"),
        (["--set", "dominance=loudest"], "dominance must be seen or moving"),
        (["--preset", "fancy"], "unknown preset 'fancy'"),
        (["--split", "signer"], "no signer id"),
    ],
)
def test_train_bad_input_is_one_clear_line(
    args: list[str], message: str, shared_data: Path, tmp_path: Path, aslrec_cli: Callable[..., Any]
) -> None:
    data = [] if "--data" in args else ["--data", shared_data / "samples" / "MP_Data"]
    out = tmp_path / "run"
    result = aslrec_cli("train", *data, *args, "--out", out, "--epochs", "1")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_train_unreadable_file(tmp_path: Path, aslrec_cli: Callable[..., Any]) -> None:
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"not a zip archive")
    result = aslrec_cli("train", "--data", bad, "--out", tmp_path / "run")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad}")


def test_evaluate_missing_run(
    tmp_path: Path, shared_data: Path, aslrec_process: Callable[..., Any]
) -> None:
    """A real process (the others run in this one): an error is still one line, no traceback."""
    result = aslrec_process(
        "evaluate", tmp_path / "nowhere", "--data", shared_data / "wlasl50_mp.npz"
    )
    assert result.returncode == 1
    assert "model directory not found" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def serve_settings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The ServiceSettings each ``aslrec serve`` invocation hands to the service (none served)."""
    import aslrec.serving.run

    handed: list[object] = []
    monkeypatch.setattr(aslrec.serving.run, "serve", lambda **kw: handed.append(kw["settings"]))
    for name in [n for n in os.environ if n.startswith("ASLREC_")]:
        monkeypatch.delenv(name)
    return handed


def invoke_serve(*args: str) -> Any:
    from typer.testing import CliRunner

    from aslrec.cli import app

    return CliRunner().invoke(app, ["serve", *args])


def test_serve_has_an_option_per_setting_with_unit_default_and_env() -> None:
    import typer

    from aslrec.cli import app
    from aslrec.serving.settings import settable

    params = {p.name: p for p in typer.main.get_command(app).commands["serve"].params}  # type: ignore[attr-defined]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for setting in settable():
        assert f"`--{setting.name.replace('_', '-')}`" in readme
        option = params[setting.name]
        assert option.opts == [f"--{setting.name.replace('_', '-')}"]
        assert setting.env in option.help
        assert setting.unit in str(option.show_default)
        assert option.default is None  # the default comes from ServiceSettings, not the CLI


def test_serve_options_env_and_defaults(
    serve_settings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aslrec.serving.settings import ServiceSettings

    monkeypatch.setenv("ASLREC_MAX_CLIP_FRAMES", "300")
    monkeypatch.setenv("ASLREC_BODY_TIMEOUT_S", "4.5")
    monkeypatch.setenv("ASLREC_API_KEY", "env-key")
    result = invoke_serve("--max-clip-frames", "120", "--max-stream-fps", "30")
    assert result.exit_code == 0, result.output
    (settings,) = serve_settings
    assert settings.max_clip_frames == 120  # the option beats the environment
    assert settings.body_timeout_s == 4.5 and settings.api_key == "env-key"  # environment
    assert settings.max_stream_fps == 30.0
    assert settings.max_upload_bytes == ServiceSettings().max_upload_bytes  # default


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--max-upload-bytes", "-1"], {}, "'--max-upload-bytes': must be at least 1, got -1"),
        (["--header-timeout-s", "0"], {}, "'--header-timeout-s': must be above 0, got 0"),
        (["--inference-workers", "0"], {}, "'--inference-workers': must be at least 1, got 0"),
        (["--max-json-bytes", "lots"], {}, "'--max-json-bytes'"),
        ([], {"ASLREC_BODY_TIMEOUT_S": "0"}, "$ASLREC_BODY_TIMEOUT_S must be above 0, got 0"),
        ([], {"ASLREC_MAX_CLIP_FRAMES": "many"}, "$ASLREC_MAX_CLIP_FRAMES must be an integer"),
        (["--max-upload-bytes", "500000000"], {}, "max_inflight_upload_bytes (419,430,400)"),
    ],
)
def test_serve_bad_limits_are_usage_errors(
    args: list[str],
    env: dict[str, str],
    message: str,
    serve_settings: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aslrec.errors import ExitCode

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = invoke_serve(*args)
    assert result.exit_code == ExitCode.USAGE
    assert message in " ".join(result.output.replace("│", " ").split()), result.output
    assert not serve_settings  # refused before the model is loaded


def test_transcribe_fingerspelling_flags(tmp_path: Path, aslrec_cli: Callable[..., Any]) -> None:
    from typer.testing import CliRunner

    from aslrec.cli import app

    video = tmp_path / "spelled.mp4"
    result = CliRunner().invoke(app, ["transcribe", str(video), "--lexicon", "words.txt"])
    assert result.exit_code == 2 and "--lexicon needs --fingerspelling" in result.output
    result = CliRunner().invoke(app, ["transcribe", str(video), "--fingerspelling", "--srt"])
    assert result.exit_code == 2 and "with --fingerspelling use text or --json" in result.output
    missing = tmp_path / "missing.txt"
    result = aslrec_cli("transcribe", video, "--fingerspelling", "--lexicon", missing)
    assert result.returncode == 1
    assert result.stderr == f"error: {missing}: no such lexicon file\n"
