"""`aslrec predict` and `aslrec demo` with the bundled model on real videos and clips."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from aslrec import Recognizer
from aslrec.errors import ExitCode
from aslrec.inference.recognizer import Prediction, default_model_dir
from aslrec.runs.ensemble import member_dirs
from aslrec.workflows.predict import predict_inputs


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


def test_bundled_model_is_small_and_complete() -> None:
    model_dir = default_model_dir()
    assert (model_dir / "MODEL_CARD.md").is_file() and (model_dir / "calibration.json").is_file()
    for run_dir in member_dirs(model_dir):
        for name in ("model.safetensors", "model_config.json", "label_encoder_classes.npy"):
            assert (run_dir / name).is_file(), run_dir / name
        # one ONNX file, the faster of fp32 and int8 (tools/build_default_model.py)
        assert len(list(run_dir.glob("model*.onnx"))) == 1, run_dir
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    assert size <= 25 * 1024 * 1024


def test_recognizer_api_on_a_real_video(recognizer: Recognizer, shared_data: Path) -> None:
    prediction = recognizer.predict(shared_data / "videos" / "table.mp4", top_k=5)
    assert len(prediction.top_k) == 5
    probabilities = [p for _, p in prediction.top_k]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1.0 + 1e-6
    assert 0.5 < prediction.hand_rate <= 1.0
    assert prediction.label in recognizer.classes


def test_predict_json_on_a_real_video(shared_data: Path, aslrec_cli: Callable[..., Any]) -> None:
    result = aslrec_cli("predict", shared_data / "videos" / "hello.mp4", "--json", "--top-k", "3")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [set(p) for p in payload["predictions"]] == [{"label", "probability"}] * 3
    assert payload["frames"] > 0 and 0 < payload["hand_detection_rate"] <= 1
    assert payload["label"] == payload["predictions"][0]["label"]


def test_video_without_hands_exits_no_hands(tmp_path: Path, aslrec_cli: Callable[..., Any]) -> None:
    blank = tmp_path / "blank.mp4"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for _ in range(15):
        writer.write(np.full((120, 160, 3), 127, np.uint8))
    writer.release()
    result = aslrec_cli("predict", blank)
    assert result.returncode == ExitCode.NO_HANDS == 3
    assert result.stderr.strip() == f"error: {blank}: no hands found in 15 frames"
    assert result.stdout == ""


def test_every_video_the_decoder_reads_is_predicted(
    recognizer: Recognizer, tmp_path: Path, shared_data: Path
) -> None:
    # an MPEG transport stream was "unsupported data set file"; a cut YouTube download whose
    # header announces 95 frames (71 decode) was "truncated or corrupt"
    ts = tmp_path / "table.ts"
    writer = cv2.VideoWriter(str(ts), cv2.VideoWriter_fourcc(*"mpg2"), 25, (256, 256))
    cap = cv2.VideoCapture(str(shared_data / "videos" / "table.mp4"))
    while (frame := cap.read())[0]:
        writer.write(frame[1])
    cap.release()
    writer.release()
    cut_download = shared_data / "msasl6" / "videos" / "hello" / "gU5EI_ZTzxw.mkv"
    for video in (ts, cut_download):
        [(source, prediction)] = predict_inputs(recognizer, video, top_k=3)
        assert source == str(video)
        assert isinstance(prediction, Prediction) and prediction.label in recognizer.classes


def test_folder_of_videos_gives_one_csv_row_each(
    tmp_path: Path, shared_data: Path, aslrec_cli: Callable[..., Any]
) -> None:
    folder = tmp_path / "videos"
    (folder / "table").mkdir(parents=True)
    (folder / "table" / "a.mp4").write_bytes((shared_data / "videos" / "table.mp4").read_bytes())
    (folder / "broken.mp4").write_bytes(b"not a video")
    result = aslrec_cli("predict", folder, "--csv")
    assert result.returncode == 0, result.stderr
    rows = {Path(r["source"]).name: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"a.mp4", "broken.mp4"}
    assert rows["a.mp4"]["truth"] == "table" and rows["a.mp4"]["label"]
    assert "broken.mp4" in rows["broken.mp4"]["error"]


def test_landmark_file_predicts_every_clip(
    shared_data: Path, aslrec_cli: Callable[..., Any]
) -> None:
    result = aslrec_cli("predict", shared_data / "samples" / "MP_Data", "--json", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert len(payload) == 15
    assert {row["truth"] for row in payload} == {"book", "drink", "yes"}


def test_demo_recognises_bundled_held_out_clips(aslrec_process: Callable[..., Any]) -> None:
    result = aslrec_process("demo")
    assert result.returncode == 0, result.stderr
    correct, total = result.stdout.split(" recognised correctly")[0].split()[-1].split("/")
    from aslrec.workflows.predict import demo_data_dir

    # One clip per letter that the bundled model's held-out fold has from letters_static.
    assert int(total) == len(list((demo_data_dir() / "clips").glob("*.npz"))) >= 12
    assert int(correct) >= 0.75 * int(total)


def test_a_photo_of_a_held_letter_is_read(
    shared_data: Path, aslrec_cli: Callable[..., Any]
) -> None:
    """`aslrec predict photo.jpg`: the photo is tracked and held as a still sign. (The
    bundled model trained on these people's photos: this checks the path, not new people.)"""
    photos = shared_data / "fingerspelling16" / "user_10"
    for name in ("B3.jpg", "L2.jpg", "Y0.jpg"):
        result = aslrec_cli("predict", photos / name, "--top-k", "1")
        assert result.returncode == 0, result.stderr
        assert "1 frame (a photo, held), hands in 100%" in result.stdout
        assert f"1. {name[0]} " in result.stdout


def test_a_folder_of_photos_gives_a_row_per_photo(
    shared_data: Path, tmp_path: Path, aslrec_cli: Callable[..., Any]
) -> None:
    """`--photos`: every image below the folder is a photo of its own (without it, an
    images-only folder is the frames of one clip)."""
    import shutil

    for letter, name in (("B", "B3.jpg"), ("L", "L2.jpg")):
        (tmp_path / letter).mkdir()
        shutil.copy(shared_data / "fingerspelling16" / "user_10" / name, tmp_path / letter / name)
    result = aslrec_cli("predict", tmp_path, "--photos", "--csv", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["label"], r["truth"], r["frames"]) for r in rows] == [
        ("B", "B", "1"),
        ("L", "L", "1"),
    ]
