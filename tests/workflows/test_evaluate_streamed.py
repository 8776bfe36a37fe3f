"""`aslrec evaluate` and `aslrec calibrate` on a shard set: the run's held-out fold found from
the label, signer and group columns as streamed training found it, only its clips read block by
block and scored batch by batch, and the report (the calibration) the in-memory path writes,
number for number."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import load_dataset
from aslrec.data.shards import ShardSet
from aslrec.runs.config import preset
from aslrec.runs.directory import RunDirectory
from aslrec.workflows.calibrate import CalibrationResult, calibrate_run
from aslrec.workflows.convert import convert
from aslrec.workflows.evaluate import SCORE_BATCH, EvaluationResult, evaluate_run
from aslrec.workflows.train import train


@pytest.fixture(scope="module")
def gislr(shared_data: Path) -> Path:
    """747 GISLR clips of 2 signs from 21 participants."""
    return shared_data / "gislr_hello_thankyou.npz"


@pytest.fixture(scope="module")
def shard_set(gislr: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GISLR clips as a shard set of 2 shards in row groups of 64 clips."""
    out = tmp_path_factory.mktemp("shards") / "gislr"
    convert([gislr], out, clips_per_shard=400, rows_per_group=64)
    return out


@pytest.fixture(scope="module")
def run_dir(shard_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch streamed from the shard set, the participants held out."""
    out = tmp_path_factory.mktemp("run") / "streamed"
    config = preset("seed").updated(
        model="seed-baseline", epochs=1, batch_size=32, split="signer", threads=1
    )
    train([shard_set], out, config, progress=False)
    return out


def metrics(result: EvaluationResult) -> dict[str, object]:
    """metrics.json without its ``extra`` block (which names the data as given)."""
    payload = json.loads((result.out_dir / "metrics.json").read_text(encoding="utf-8"))
    payload.pop("extra")
    return payload


def predictions(result: EvaluationResult) -> str:
    return (result.out_dir / "predictions.csv").read_text(encoding="utf-8")


def test_streamed_evaluation_is_the_in_memory_one(
    run_dir: Path, shard_set: Path, gislr: Path
) -> None:
    recorded = RunDirectory(run_dir).sources
    assert recorded == [str(shard_set)]
    streamed = evaluate_run(run_dir, out=run_dir / "streamed")  # the recorded shard set
    in_memory = evaluate_run(run_dir, [shard_set], out=run_dir / "memory", stream=False)
    original = evaluate_run(run_dir, [gislr], out=run_dir / "npz")  # the clips it came from
    held_out = RunDirectory(run_dir).config["data"]["num_val"]
    assert streamed.num_clips == in_memory.num_clips == original.num_clips == held_out
    assert metrics(streamed) == metrics(in_memory) == metrics(original)
    assert predictions(streamed) == predictions(in_memory) == predictions(original)
    names = {"metrics.json", "predictions.csv", "confusion_matrix.png", "reliability_diagram.png"}
    assert names <= {p.name for p in streamed.out_dir.iterdir()}
    # The fold is the one training scored: its top-1 is the run's own held-out top-1.
    trained = RunDirectory(run_dir).config["metrics"]["val_top1"]
    assert streamed.report.top1 == pytest.approx(trained)

    everything = evaluate_run(run_dir, out=run_dir / "all", held_out_only=False)
    everything_memory = evaluate_run(
        run_dir, [gislr], out=run_dir / "all-memory", held_out_only=False
    )
    assert everything.num_clips == 747 > SCORE_BATCH  # several batches
    assert metrics(everything) == metrics(everything_memory)
    assert predictions(everything) == predictions(everything_memory)


def test_streamed_evaluation_holds_one_block_and_batch_not_the_set(
    run_dir: Path, shard_set: Path, gislr: Path, tmp_path: Path
) -> None:
    """Scoring every clip of the set and of the set three times over: streamed, the peak of
    traced memory (NumPy arrays and Python objects; the model's tensors are not traced) does
    not grow with the clips; in memory it grows by about what the clips take."""
    tripled = tmp_path / "tripled"
    convert([gislr] * 3, tripled, rows_per_group=64)
    clips = load_dataset(gislr)
    size = sum(c.landmarks.nbytes + c.presence.nbytes for c in clips)  # ~12 MB
    del clips

    def peak(data: Path, stream: bool | None = None) -> tuple[int, EvaluationResult]:
        out = tmp_path / f"{data.name}-{stream}"
        tracemalloc.start()
        try:
            result = evaluate_run(run_dir, [data], out=out, held_out_only=False, stream=stream)
            return tracemalloc.get_traced_memory()[1], result
        finally:
            tracemalloc.stop()

    once, _ = peak(shard_set)
    thrice, streamed = peak(tripled)
    in_memory_once, _ = peak(shard_set, False)
    in_memory_thrice, in_memory = peak(tripled, False)
    assert streamed.num_clips == len(ShardSet(tripled)) == 3 * 747
    assert np.array_equal(streamed.report.confusion, in_memory.report.confusion)
    print(
        f"traced peak, clips {size / 1e6:.1f} MB x1 / x3: streamed {once / 1e6:.1f} / "
        f"{thrice / 1e6:.1f} MB, in memory {in_memory_once / 1e6:.1f} / "
        f"{in_memory_thrice / 1e6:.1f} MB"
    )
    assert abs(thrice - once) < 0.1 * size  # 2 x size more clips: flat
    assert in_memory_thrice - in_memory_once > size  # in memory: they are all held
    assert thrice < in_memory_thrice / 2


def test_streamed_calibration_is_the_in_memory_one(
    run_dir: Path, shard_set: Path, gislr: Path, tmp_path: Path
) -> None:
    """The same temperature, threshold and every other number (exactly: the same logits and
    the same halves), while only the held-out clips are read, one row group at a time."""
    size = sum(c.landmarks.nbytes + c.presence.nbytes for c in load_dataset(gislr))  # ~12 MB

    def calibrated(name: str, **options: object) -> tuple[int, CalibrationResult]:
        tracemalloc.start()
        try:
            result = calibrate_run(run_dir, write=False, plots_dir=tmp_path / name, **options)
            return tracemalloc.get_traced_memory()[1], result
        finally:
            tracemalloc.stop()

    streamed_peak, streamed = calibrated("streamed")  # the recorded shard set
    memory_peak, in_memory = calibrated("memory", data=[shard_set], stream=False)
    _, original = calibrated("npz", data=[gislr])  # the clips the shards came from

    def numbers(result: CalibrationResult) -> dict[str, object]:
        payload = result.calibration.to_dict()
        payload["fitted_on"].pop("data")  # names the data as given
        return payload

    assert numbers(streamed) == numbers(in_memory) == numbers(original)
    held_out = RunDirectory(run_dir).config["data"]["num_val"]
    assert streamed.calibration.fitted_on["clips"] == held_out
    assert streamed.calibration.fitted_on["data"] == [shard_set.name]
    print(
        f"calibrate traced peak: streamed {streamed_peak / 1e6:.1f} MB, in memory "
        f"{memory_peak / 1e6:.1f} MB (clips {size / 1e6:.1f} MB)"
    )
    assert memory_peak - streamed_peak > size / 2  # in memory every clip is loaded first
