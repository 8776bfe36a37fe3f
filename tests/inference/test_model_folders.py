"""Broken and hostile model folders: one-line ModelErrors naming the file, nothing executed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aslrec.errors import ModelError
from aslrec.inference.recognizer import Recognizer, default_model_dir
from aslrec.runs import artifacts
from aslrec.runs.calibration import read_calibration
from aslrec.runs.directory import RunDirectory


def copy_run(run_dir: Path, dst: Path) -> Path:
    shutil.copytree(run_dir, dst)
    return dst


def set_seq_len(run_dir: Path, value: object) -> None:
    path = run_dir / artifacts.CONFIG
    config = json.loads(path.read_text())
    config["preprocessing"]["seq_len"] = value
    path.write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (-5, "between 1 and 10,000 frames, not -5"),
        (0, "between 1 and 10,000 frames, not 0"),
        (10**9, "between 1 and 10,000 frames, not 1,000,000,000"),  # was a 469 GiB allocation
        (1e9, "must be int"),
        ("30", "must be int"),
    ],
)
def test_bad_seq_len_is_one_line_naming_the_config(
    random_run_dir: Path, tmp_path: Path, value: object, needle: str
) -> None:
    run_dir = copy_run(random_run_dir, tmp_path / "run")
    set_seq_len(run_dir, value)
    with pytest.raises(ModelError, match=needle) as err:
        RunDirectory(run_dir)
    message = str(err.value)
    assert message.startswith(f"{run_dir / artifacts.CONFIG}: ") and "\n" not in message


def test_predict_with_a_huge_seq_len_fails_cleanly(
    random_run_dir: Path, tmp_path: Path, shared_data: Path
) -> None:
    run_dir = copy_run(random_run_dir, tmp_path / "run")
    set_seq_len(run_dir, 10**9)
    result = subprocess.run(
        [sys.executable, "-m", "aslrec.cli", "predict", str(shared_data / "samples" / "MP_Data"),
         "--model", str(run_dir), "--backend", "torch"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {run_dir / artifacts.CONFIG}: seq_len must be between 1 and 10,000 frames, "
        "not 1,000,000,000"
    ]


class _RunsCode:
    """A pickle payload: unpickling it would create ``marker`` (``os.system``-style attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_malicious_checkpoint_is_not_a_safe_checkpoint(
    random_run_dir: Path, tmp_path: Path
) -> None:
    run_dir = copy_run(random_run_dir, tmp_path / "run")
    (run_dir / artifacts.SAFETENSORS).unlink()  # only the .pth is left to load
    marker = tmp_path / "pwned"
    torch.save({"model_state_dict": _RunsCode(marker), "epoch": 1}, run_dir / artifacts.CHECKPOINT)
    with pytest.raises(ModelError) as err:
        Recognizer.load(run_dir, backend="torch")
    message = str(err.value)
    assert message.startswith(f"{run_dir / artifacts.CHECKPOINT}: not a safe checkpoint (")
    assert "system" in message and "\n" not in message
    assert "weights_only" not in message  # torch's advice would run the payload
    assert not marker.exists()


def test_truncated_checkpoint_is_one_line(random_run_dir: Path, tmp_path: Path) -> None:
    run_dir = copy_run(random_run_dir, tmp_path / "run")
    (run_dir / artifacts.SAFETENSORS).unlink()
    pth = run_dir / artifacts.CHECKPOINT
    pth.write_bytes(pth.read_bytes()[:200])
    with pytest.raises(ModelError, match="unreadable checkpoint") as err:
        Recognizer.load(run_dir, backend="torch")
    assert str(err.value).startswith(str(pth)) and "\n" not in str(err.value)


def test_bundled_calibration_stores_no_build_machine_paths() -> None:
    calibration = read_calibration(default_model_dir())
    assert calibration is not None
    data = calibration.fitted_on["data"]
    assert data == [
        "wlasl50_mp.npz",
        "gislr_hello_thankyou.npz",
        "letters_static.npz",
        "fingerspelling16.npz",
        "msasl6",
    ]
