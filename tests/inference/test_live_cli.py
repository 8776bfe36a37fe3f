"""`aslrec transcribe`, `aslrec live` and `aslrec collect` on real videos; bad input."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aslrec.errors import ExitCode

SRT_CUE = re.compile(
    r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n(.+)\n?", re.M
)


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


@pytest.fixture(scope="module")
def one_sign(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, stream_bench: Any) -> Any:
    """1.8 s: grey, hello (real video), grey."""
    out = tmp_path_factory.mktemp("one_sign") / "hello.mp4"
    plan = [("hello", 0.5, "blank")]
    return stream_bench.build_stream(plan, out, videos=shared_data / "videos", lead_s=0.3)


def test_transcribe_srt_parses(
    aslrec_cli: Callable[..., Any], random_run_dir: Path, two_sign_stream: Any
) -> None:
    code, out, err = aslrec_cli(
        "transcribe", two_sign_stream.path, "--srt", "--model", random_run_dir,
        "--threshold", "0",
    )  # fmt: skip
    assert code == 0, err
    cues = SRT_CUE.findall(out)
    assert len(cues) == 2 and [int(c[0]) for c in cues] == [1, 2]
    assert out.count("-->") == 2
    spans = [(seconds(*c[1:5]), seconds(*c[5:9])) for c in cues]
    assert all(a < b for a, b in spans) and spans[0][1] <= spans[1][0]
    for (start, _), sign in zip(spans, two_sign_stream.signs, strict=True):
        assert abs(start - sign.start_s) <= 0.2
    assert "transcribe:" in err and "2 signs" in err


def test_transcribe_json_lines_and_threshold(
    aslrec_cli: Callable[..., Any], random_run_dir: Path, one_sign: Any
) -> None:
    code, out, _ = aslrec_cli(
        "transcribe", one_sign.path, "--json", "--model", random_run_dir, "--threshold", "0"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1
    assert set(rows[0]) == {"start_s", "end_s", "label", "probability", "top_k"}
    assert rows[0]["top_k"][0]["label"] == rows[0]["label"]
    # a random 4-class model is never 99 % sure: everything is unknown, nothing printed
    code, out, err = aslrec_cli(
        "transcribe", one_sign.path, "--json", "--model", random_run_dir,
        "--threshold", "0.99",
    )  # fmt: skip
    assert code == 0 and out == "" and "1 unsure" in err


def test_live_video_headless_fast_exits_cleanly_at_the_end(
    aslrec_process: Callable[..., Any], random_run_dir: Path, one_sign: Any
) -> None:
    result = aslrec_process(
        "live", "--video", one_sign.path, "--headless", "--fast", "--model", random_run_dir,
        "--threshold", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 1 and abs(events[0]["start_s"] - one_sign.signs[0].start_s) <= 0.2
    assert re.search(r"live: 5\d frames .* 1 signs, 0 unsure, 0 dropped", result.stderr)
    assert "Traceback" not in result.stderr


def test_camera_that_cannot_be_opened_is_one_clear_line(
    aslrec_cli: Callable[..., Any], random_run_dir: Path
) -> None:
    result = aslrec_cli("live", "--camera", "57", "--headless", "--model", random_run_dir)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: camera 57: cannot be opened")
    assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_video_is_one_clear_line(
    aslrec_cli: Callable[..., Any], random_run_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    for command in (["transcribe", bad], ["live", "--video", bad, "--headless", "--fast"]):
        code, out, err = aslrec_cli(*command, "--model", random_run_dir)
        assert code == 1 and out == ""
        assert (
            err.strip()
            == f"error: {bad}: cannot be decoded as a video (corrupt, truncated, or not a video)"
        )


def test_video_ending_early_keeps_what_was_found(
    aslrec_cli: Callable[..., Any], random_run_dir: Path, one_sign: Any, tmp_path: Path
) -> None:
    import cv2

    from aslrec.landmarks.video import read_frames

    avi = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    for rgb, _ in read_frames(one_sign.path):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    data = avi.read_bytes()
    avi.write_bytes(data[: int(len(data) * 0.75)])
    code, out, err = aslrec_cli(
        "transcribe", avi, "--json", "--model", random_run_dir, "--threshold", "0"
    )
    assert code == 1
    assert len(out.splitlines()) == 1  # the sign before the break
    assert err.strip().splitlines()[-1].startswith(f"error: {avi}: truncated or corrupt")


def test_no_hands(aslrec_cli: Callable[..., Any], random_run_dir: Path, grey_video: Path) -> None:
    code, out, err = aslrec_cli("transcribe", grey_video, "--model", random_run_dir)
    assert code == ExitCode.NO_HANDS and out == ""
    assert err.strip() == f"error: {grey_video}: no hands in any of its 30 frames"
    code, out, err = aslrec_cli(
        "live", "--video", grey_video, "--headless", "--fast", "--model", random_run_dir
    )
    assert code == 0 and out == ""
    assert "30 frames (hands in 0%), 0 signs" in err


def test_window_without_display_points_to_headless(
    aslrec_cli: Callable[..., Any],
    random_run_dir: Path,
    grey_video: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is for Linux")
    code, _, err = aslrec_cli("live", "--video", grey_video, "--model", random_run_dir)
    assert code == 1 and "use --headless" in err


def test_collect_from_a_video_appends_clips(
    aslrec_cli: Callable[..., Any], two_sign_stream: Any, tmp_path: Path
) -> None:
    from aslrec.data.loaders import load_dataset

    out = tmp_path / "my_signs"
    args = ["collect", "hello", "--video", two_sign_stream.path, "--out", out, "--headless"]
    code, _, err = aslrec_cli(*args, "--fast", "--count", "5", "--signer", "me")
    assert code == 0, err
    assert "clip 1/5 saved" in err and "clip 2/5 saved" in err
    clips = load_dataset(out)
    assert len(clips) == 2
    assert {c.label for c in clips} == {"hello"} and {c.signer for c in clips} == {"me"}
    for clip, sign in zip(clips, two_sign_stream.signs, strict=True):
        assert clip.timestamps[0] == pytest.approx(sign.start_s, abs=0.2)
        assert clip.hand_rate > 0.9
    # a second session appends, never overwrites; it stops at --count
    code, _, err = aslrec_cli(*args, "--fast", "--count", "1")
    assert code == 0 and "1 clips of 'hello' saved" in err
    assert len(load_dataset(out)) == 3


def test_collect_then_add_the_sign_to_the_bundled_model(
    aslrec_cli: Callable[..., Any], two_sign_stream: Any, tmp_path: Path
) -> None:
    """`collect --add-to RUN --new-model NEW`: the recorded clips become a new sign of a new
    model directory (the bundled model's stored reference: no training data needed), the old
    one untouched; option mistakes are refused before anything is recorded."""
    from aslrec.inference.recognizer import Recognizer, default_model_dir

    out, new = tmp_path / "my_signs", tmp_path / "with_wave"
    args = ["collect", "wave", "--video", two_sign_stream.path, "--out", out, "--headless"]
    code, _, err = aslrec_cli(*args, "--fast", "--new-model", new)
    assert code == 2 and "--add-to and --new-model go together" in err and not out.exists()
    code, _, err = aslrec_cli(*args, "--add-to", tmp_path / "nope", "--new-model", new)
    assert code == 1 and "nope" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code, stdout, err = aslrec_cli(
        *args, "--fast", "--add-to", default_model_dir(), "--new-model", new
    )
    assert code == 0, err
    assert "2 clips of 'wave' saved" in err and "nearest known signs to 'wave'" in stdout
    old = Recognizer.load()
    assert Recognizer.load(new).classes == [*old.classes, "wave"]


def test_collect_bad_input(
    aslrec_cli: Callable[..., Any], grey_video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    options = ["--out", out, "--headless", "--fast", "--count", "2"]
    code, _, err = aslrec_cli("collect", "hello", "--video", grey_video, *options)
    assert code == ExitCode.NOTHING_SAVED and "0 clips of 'hello' saved" in err
    code, _, err = aslrec_cli("collect", "hello", "--out", out, "--count", "0", "--headless")
    assert code == 1 and err.strip() == "error: --count must be at least 1, not 0"
    assert os.path.isdir(out)


def test_window_drawing_on_a_frame() -> None:
    import numpy as np

    from aslrec.workflows.live import draw_landmarks, draw_overlay

    frame = np.zeros((240, 320, 3), np.uint8)
    landmarks = np.zeros((2, 21, 3), np.float32)
    landmarks[1, :, :2] = np.linspace(0.3, 0.7, 21)[:, None]
    draw_landmarks(frame, landmarks, np.array([False, True]))
    assert frame[120, 160].any()  # the hand's diagonal crosses the centre
    before = frame.copy()
    draw_overlay(frame, [("hello", 0.8), ("apple", 0.1)], ["hello", "apple"], "30 fps")
    assert (frame != before).any() and frame[-30:-8].any()  # transcript text
