"""The command line: help lists every command; bad input is one line on stderr, exit != 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ASLREC = [sys.executable, "-m", "aslrec.cli"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ASLREC, *map(str, args)], capture_output=True, text=True, timeout=120)


def registered_commands() -> list[str]:
    from aslrec.cli import app

    return [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]


def test_help_lists_every_command() -> None:
    commands = registered_commands()
    assert len(commands) == 13
    result = run("--help")
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


def test_models_lists_the_registry() -> None:
    result = run("models")
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
    args: list[str], message: str, shared_data: Path, tmp_path: Path
) -> None:
    data = [] if "--data" in args else ["--data", shared_data / "samples" / "MP_Data"]
    out = tmp_path / "run"
    result = run("train", *data, *args, "--out", out, "--epochs", "1")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_train_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"not a zip archive")
    result = run("train", "--data", bad, "--out", tmp_path / "run")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad}")


def test_evaluate_missing_run(tmp_path: Path, shared_data: Path) -> None:
    result = run("evaluate", tmp_path / "nowhere", "--data", shared_data / "wlasl50_mp.npz")
    assert result.returncode == 1
    assert "model directory not found" in result.stderr
