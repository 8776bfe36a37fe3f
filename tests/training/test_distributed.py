"""Several processes (Lightning DDP, gloo on CPU): options reach the Trainer, every rank starts
from the same weights and augments with its own stream, the held-out score covers the whole
fold, and a 2-process run trains to the 1-process accuracy and resumes on 1 process."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from aslrec.errors import ConfigError
from aslrec.models.registry import create_model
from aslrec.runs import artifacts
from aslrec.runs.config import preset
from aslrec.training.module import ClassifierModule, rescale_schedule
from aslrec.workflows import train as train_workflow
from aslrec.workflows.train import TrainerOptions, train

SEED = preset("seed").updated(epochs=1, batch_size=4, threads=1)


def test_the_cli_hands_the_device_options_to_training(
    mp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aslrec.cli import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(train_workflow, "train", lambda *a, **k: seen.update(k))
    args = ["train", "--data", str(mp_data), "--out", str(tmp_path / "r"), "--devices", "2"]
    args += ["--num-nodes", "3", "--strategy", "ddp", "--precision", "bf16-mixed"]
    result = CliRunner().invoke(app, [*args, "--num-workers", "1", "--stream"])
    assert result.exit_code == 0, result.output
    assert seen["trainer_options"] == TrainerOptions(
        devices=2, num_nodes=3, strategy="ddp", precision="bf16-mixed", num_workers=1, stream=True
    )


def test_bad_device_options_are_one_line_errors_before_anything_is_written(
    mp_data: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="--devices"):
        TrainerOptions(devices=0)
    with pytest.raises(ConfigError, match="precision"):
        train([mp_data], tmp_path / "r", SEED, trainer_options=TrainerOptions(precision="9-bit"))
    assert not (tmp_path / "r").exists()


def test_every_rank_starts_alike_and_augments_with_its_own_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = preset("best-fast")
    draws = []
    for rank in (0, 1):
        torch.manual_seed(config.split.seed)
        module = ClassifierModule(create_model("isl-hybrid", num_classes=5), config, None)
        monkeypatch.setattr(ClassifierModule, "global_rank", property(lambda _, r=rank: r))
        module.setup("fit")
        draws.append((module.model.state_dict(), torch.rand(4, generator=module.generator)))
    (weights0, noise0), (weights1, noise1) = draws
    assert all(torch.equal(weights0[k], weights1[k]) for k in weights0)
    assert not torch.equal(noise0, noise1)
    # Rank 0 keeps the seed: one process trains exactly as before.
    assert torch.equal(noise0, torch.rand(4, generator=torch.Generator().manual_seed(42)))


def test_a_schedule_resumed_on_another_device_count_keeps_its_place() -> None:
    def one_cycle(total: int) -> torch.optim.lr_scheduler.OneCycleLR:
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=total)

    two_processes, one_process = one_cycle(100), one_cycle(200)
    for _ in range(40):  # 2 of 5 epochs on 2 processes
        two_processes.optimizer.step()
        two_processes.step()
    for _ in range(80):
        one_process.optimizer.step()
        one_process.step()
    rescale_schedule(two_processes, 200)
    for _ in range(120):  # the rest on one process: no "tried to step" error, same end
        two_processes.optimizer.step()
        two_processes.step()
        one_process.optimizer.step()
        one_process.step()
        assert two_processes.get_last_lr() == pytest.approx(one_process.get_last_lr())


def test_bf16_mixed_precision_trains_on_cpu(mp_data: Path, tmp_path: Path) -> None:
    options = TrainerOptions(precision="bf16-mixed")
    result = train([mp_data], tmp_path / "bf16", SEED, trainer_options=options, progress=False)
    assert result is not None and 0 <= result.val_top1 <= 1
    assert artifacts.load_state_dict(tmp_path / "bf16")  # saved in float32, loads as usual


RUN = """
import sys
from pathlib import Path
from aslrec.runs.config import TrainConfig
from aslrec.training.module import HistoryCallback
from aslrec.workflows.train import TrainerOptions, train

data, out, devices, stop, config = sys.argv[1:6]
if int(stop) >= 0:  # a power cut after epoch `stop` on every rank
    record = HistoryCallback.on_train_epoch_end

    def crash(self, trainer, module):
        if trainer.current_epoch == int(stop):
            raise RuntimeError("power cut")
        record(self, trainer, module)

    HistoryCallback.on_train_epoch_end = crash
options = TrainerOptions(devices=int(devices), strategy="ddp")
train([Path(data)], Path(out), TrainConfig.from_dict(__import__("json").loads(config)),
      trainer_options=options, progress=False)
"""


@pytest.mark.slow
def test_two_processes_train_to_one_process_accuracy_and_resume_on_one(
    shared_data: Path, tmp_path: Path
) -> None:
    """GISLR, participants held out (fold 0): 1 process, 2 processes (gloo, one thread each)
    and a 2-process run cut after 4 of 8 epochs, then resumed on 1 process. Accuracies agree
    within 3 standard errors of a difference of two fold accuracies (binomial)."""
    data = shared_data / "gislr_hello_thankyou.npz"
    config = preset("best-fast").updated(epochs=8, min_steps=0, split="signer", threads=1)
    script = tmp_path / "run.py"
    script.write_text(RUN)

    def processes(out: Path, stop: int) -> subprocess.CompletedProcess[str]:
        args = [str(data), str(out), "2", str(stop), json.dumps(config.to_dict())]
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, timeout=900
        )

    one = train([data], tmp_path / "one", config, progress=False)
    assert one is not None
    done = processes(tmp_path / "two", -1)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((tmp_path / "two" / artifacts.CONFIG).read_text())
    two = manifest["metrics"]["val_top1"]
    n = manifest["data"]["num_val"]
    # The last epoch's held-out score, summed over both ranks during training, is the score of
    # the whole fold that rank 0 computes afterwards (a rank's half would differ).
    assert artifacts.load_history(tmp_path / "two")["test_acc"][-1] == pytest.approx(two)
    cut = processes(tmp_path / "cut", 4)
    assert cut.returncode != 0 and "power cut" in cut.stderr
    assert (tmp_path / "cut" / "checkpoints" / "last.ckpt").is_file()
    resumed = train([data], tmp_path / "cut", config, resume=True, progress=False)
    assert resumed is not None and resumed.epochs_run == 8
    p = (one.val_top1 + two) / 2
    noise = 3 * math.sqrt(2 * max(p * (1 - p), 1 / n) / n)
    assert one.val_top1 > 0.8
    assert abs(two - one.val_top1) <= noise
    assert abs(resumed.val_top1 - one.val_top1) <= noise
