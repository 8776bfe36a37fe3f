"""`aslrec demo --video`: the user's own video, its top-3 and a picture of the tracked hands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np


def test_demo_on_a_real_video_draws_the_tracked_hands(shared_data: Path, tmp_path: Path) -> None:
    video = shared_data / "videos" / "hello.mp4"
    preview = tmp_path / "hello.png"
    result = subprocess.run(
        [sys.executable, "-m", "aslrec.cli", "demo", "--video", str(video), "--preview", preview],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"{video}: " in result.stdout and "  1. " in result.stdout
    assert result.stdout.strip().endswith(f"tracked hands drawn on its best frame: {preview}")
    picture = cv2.imread(str(preview))
    capture = cv2.VideoCapture(str(video))
    ok, first = capture.read()
    capture.release()
    assert ok and picture is not None and picture.shape == first.shape
    # The skeleton is drawn in the slot colours: pixels of those exact colours appear.
    slot_colours = [(255, 140, 0), (0, 200, 255)]
    assert any(np.all(picture == colour, axis=-1).sum() > 50 for colour in slot_colours)


def test_demo_video_that_is_not_a_video_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    result = subprocess.run(
        [sys.executable, "-m", "aslrec.cli", "demo", "--video", str(fake)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {fake}") and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.png"))
