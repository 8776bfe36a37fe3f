"""Training faults: Ctrl-C, an interrupted run rerun without --resume, a broken or unsafe
last.ckpt, a resume with other settings. Each is one line, and nothing written is lost."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aslrec.errors import ConfigError, ExitCode, InterruptedRun, ModelError
from aslrec.runs.config import preset
from aslrec.training.module import ClassifierModule, HistoryCallback
from aslrec.workflows.train import CHECKPOINT_DIR, PLAN, train

CONFIG = preset("seed").updated(epochs=2, patience=2, batch_size=8, lr=3e-3, threads=1)


@pytest.fixture(autouse=True)
def _restore_sigint() -> Iterator[None]:
    """Lightning ignores SIGINT after it caught a Ctrl-C; give pytest its handler back."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.fixture
def interrupted_run(mp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run stopped by Ctrl-C in its second epoch: epoch 1 is in last.ckpt."""
    record = HistoryCallback.on_train_epoch_end

    def ctrl_c_in_epoch_2(self: HistoryCallback, trainer, pl_module) -> None:  # type: ignore[no-untyped-def]
        if trainer.current_epoch == 1:
            raise KeyboardInterrupt
        record(self, trainer, pl_module)

    monkeypatch.setattr(HistoryCallback, "on_train_epoch_end", ctrl_c_in_epoch_2)
    out = tmp_path / "run"
    with pytest.raises(InterruptedRun) as info:
        train([mp_data], out, CONFIG, progress=False)
    monkeypatch.setattr(HistoryCallback, "on_train_epoch_end", record)
    message = str(info.value)
    assert info.value.exit_code == ExitCode.INTERRUPTED and "\n" not in message
    assert "epoch 2" in message and "--resume" in message and "last.ckpt" in message
    assert (out / CHECKPOINT_DIR / "last.ckpt").is_file()
    return out


def test_ctrl_c_in_epoch_0_removes_the_empty_run(
    mp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ctrl_c(self: ClassifierModule, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(ClassifierModule, "training_step", ctrl_c)
    out = tmp_path / "run"
    with pytest.raises(InterruptedRun, match="before any epoch finished") as info:
        train([mp_data], out, CONFIG, progress=False)
    assert info.value.exit_code == ExitCode.INTERRUPTED
    assert not out.exists()


def test_rerun_without_resume_keeps_the_checkpoint(interrupted_run: Path, mp_data: Path) -> None:
    last = interrupted_run / CHECKPOINT_DIR / "last.ckpt"
    before = last.read_bytes()
    with pytest.raises(ConfigError, match=r"interrupted run.*--resume"):
        train([mp_data], interrupted_run, CONFIG, progress=False)
    assert last.read_bytes() == before


def test_resume_with_other_settings_is_refused(interrupted_run: Path, mp_data: Path) -> None:
    with pytest.raises(ConfigError) as info:
        train([mp_data], interrupted_run, CONFIG.updated(lr=1e-2), resume=True, progress=False)
    assert "optim.lr 0.003 -> 0.01" in str(info.value)
    with pytest.raises(ConfigError, match="data"):
        train([mp_data, mp_data], interrupted_run, CONFIG, resume=True, progress=False)
    # threads changes nothing that is computed
    result = train(
        [mp_data], interrupted_run, CONFIG.updated(threads=2), resume=True, progress=False
    )
    assert result.epochs_run == 2


def _unsafe(path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("echo pwned",))

    path.write_bytes(pickle.dumps({"state_dict": Payload(), "epoch": 0}))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "unreadable"),
        (_unsafe, "not a safe checkpoint"),
    ],
)
def test_broken_last_checkpoint_is_one_line(
    interrupted_run: Path, mp_data: Path, damage, problem: str
) -> None:  # type: ignore[no-untyped-def]
    last = interrupted_run / CHECKPOINT_DIR / "last.ckpt"
    damage(last)
    with pytest.raises(ModelError) as info:
        train([mp_data], interrupted_run, CONFIG, resume=True, progress=False)
    message = str(info.value)
    assert message.startswith(f"{last}: ") and problem in message and "\n" not in message
    assert "weights_only=False" not in message


def default_sigint() -> None:
    """In the child: Ctrl-C as a terminal gives it, even if the test runner ignores SIGINT
    (an ignored signal is inherited through exec, and Python then keeps ignoring it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_during_training_exits_130_with_one_line(mp_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = ["train", "--data", mp_data, "--out", out, "--epochs", 500, "--patience", 500]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aslrec.cli", *map(str, command), "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while not (out / CHECKPOINT_DIR / PLAN).is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # into the epochs
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(f"interrupted: {out}: training interrupted in epoch")
    assert "Traceback" not in stderr
