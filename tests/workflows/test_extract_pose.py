"""``extract --format pose`` writes pose-format files holding the clips the aslrec store holds;
``predict`` and ``train`` take ``.pose`` files as input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import load_dataset, load_mp_data_dir
from aslrec.data.pose_files import read_pose_file, write_pose_file
from aslrec.data.store import ClipStore
from aslrec.inference.recognizer import Recognizer
from aslrec.workflows.extract import run_extraction
from aslrec.workflows.predict import predict_inputs

pytest.importorskip("pose_format")


@pytest.fixture(scope="module")
def extracted(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``hello.mp4`` extracted (hands and body) into an aslrec store and as ``.pose``."""
    root = tmp_path_factory.mktemp("extract-pose")
    for fmt in ("aslrec", "pose"):
        summary = run_extraction(
            [videos / "hello.mp4"], root / fmt, body=True, output_format=fmt, progress=False
        )
        assert summary.ok == 1, summary.to_rows()
    return root / "aslrec", root / "pose"


def test_pose_output_holds_the_stores_clip(extracted: tuple[Path, Path]) -> None:
    store, poses = extracted
    path = poses / "hello" / "hello.pose"
    assert [p.relative_to(poses) for p in poses.rglob("*.pose")] == [Path("hello/hello.pose")]
    [ours] = ClipStore(store).clips()
    theirs = read_pose_file(path)
    np.testing.assert_array_equal(ours.presence, theirs.presence)
    np.testing.assert_array_max_ulp(ours.landmarks, theirs.landmarks, maxulp=1)
    assert ours.pose is not None and theirs.pose is not None
    np.testing.assert_array_max_ulp(ours.pose, theirs.pose, maxulp=1)
    # a .pose has an fps, not timestamps: the trimmed clip's frames are re-timed from 0
    np.testing.assert_allclose(np.diff(theirs.timestamps), 1 / 29.97, rtol=1e-3)


def test_pose_output_resumes(extracted: tuple[Path, Path], videos: Path) -> None:
    _, poses = extracted
    again = run_extraction([videos / "hello.mp4"], poses, output_format="pose", progress=False)
    assert [r.status for r in again.results] == ["skipped"]


def test_predict_reads_a_pose_file(extracted: tuple[Path, Path]) -> None:
    _, poses = extracted
    with Recognizer.load(None, backend="onnx") as recognizer:
        [(source, prediction)] = predict_inputs(recognizer, poses / "hello" / "hello.pose")
        [(_, from_folder)] = predict_inputs(recognizer, poses)
    assert source.endswith("hello.pose")
    assert prediction.label == "hello"  # type: ignore[union-attr]
    assert from_folder.truth == "hello"  # type: ignore[union-attr]


@pytest.mark.slow
def test_train_and_predict_on_pose_files_from_the_command_line(
    shared_data: Path, tmp_path: Path
) -> None:
    """``aslrec train --data DIR`` on .pose files labelled by folder (the 15 MP_Data clips
    written with pose-format's writer), then ``aslrec predict`` of one of them (~30 s)."""
    data = tmp_path / "poses"
    for i, clip in enumerate(load_mp_data_dir(shared_data / "samples" / "MP_Data")):
        write_pose_file(clip, data / str(clip.label) / f"{i}.pose", width=640, height=480, fps=30)
    assert sorted({c.label for c in load_dataset(data)}) == ["book", "drink", "yes"]
    cli = [sys.executable, "-m", "aslrec.cli"]
    run = tmp_path / "run"
    trained = subprocess.run(
        [*cli, "train", "--data", data, "--out", run, "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    predicted = subprocess.run(
        [*cli, "predict", data / "yes" / "10.pose", "--model", run, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert predicted.returncode == 0, predicted.stderr
    row = json.loads(predicted.stdout)
    assert row["frames"] == 30 and row["hand_detection_rate"] == 1.0
    assert sorted(p["label"] for p in row["predictions"]) == ["book", "drink", "yes"]
