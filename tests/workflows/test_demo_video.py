"""`aslrec demo --video`: the user's own video, its top-3 and a picture of the tracked hands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest


def test_demo_on_a_real_video_draws_the_tracked_hands(
    shared_data: Path, tmp_path: Path, aslrec_cli: Callable[..., Any]
) -> None:
    video = shared_data / "videos" / "hello.mp4"
    preview = tmp_path / "hello.png"
    result = aslrec_cli("demo", "--video", video, "--preview", preview)
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


def test_demo_on_a_photo_draws_its_hand(
    shared_data: Path, tmp_path: Path, aslrec_cli: Callable[..., Any]
) -> None:
    photo = shared_data / "fingerspelling16" / "user_10" / "C1.jpg"
    result = aslrec_cli("demo", "--video", photo, "--preview", tmp_path / "c.png")
    assert result.returncode == 0, result.stderr
    assert "1 frame (a photo, held)" in result.stdout and "  1. C " in result.stdout
    assert cv2.imread(str(tmp_path / "c.png")).shape == cv2.imread(str(photo)).shape


def test_demo_video_that_is_not_a_video_is_one_line(
    tmp_path: Path, aslrec_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    monkeypatch.chdir(tmp_path)  # where a default preview would be written
    result = aslrec_cli("demo", "--video", fake)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {fake}") and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.png"))
