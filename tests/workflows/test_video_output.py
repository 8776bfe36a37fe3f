"""What `predict` and `transcribe` show for a video: `frames` counts every decoded frame (the
frames `hand_detection_rate` is a fraction of), and a long video shows a progress bar on a
terminal only, so JSON and piped output stay clean."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from aslrec.landmarks.video import FrameSource
from aslrec.workflows.output import PROGRESS_MIN_S, track_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _grey_video(path: Path, seconds: float, fps: int = 10) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (64, 48))
    for _ in range(round(seconds * fps)):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    return path


def test_progress_bar_on_a_terminal_for_a_long_video(tmp_path: Path) -> None:
    video = _grey_video(tmp_path / "long.mp4", PROGRESS_MIN_S + 1)
    terminal = _Terminal()
    with FrameSource(video) as source:
        frames = list(track_progress(source, terminal))
    assert len(frames) == (PROGRESS_MIN_S + 1) * 10
    assert "tracking hands in long.mp4" in terminal.getvalue()


@pytest.mark.parametrize(("seconds", "stream"), [(PROGRESS_MIN_S + 1, io.StringIO), (2, _Terminal)])
def test_no_progress_bar_when_piped_or_short(tmp_path: Path, seconds: float, stream) -> None:  # type: ignore[no-untyped-def]
    video = _grey_video(tmp_path / "clip.mp4", seconds)
    out = stream()
    with FrameSource(video) as source:
        assert len(list(track_progress(source, out))) == round(seconds * 10)
    assert out.getvalue() == ""


def test_predict_json_frames_are_every_decoded_frame(
    shared_data: Path, aslrec_cli: Callable[..., Any]
) -> None:
    video = shared_data / "videos" / "table.mp4"  # hands in 47 of its 70 frames
    with FrameSource(video) as source:
        decoded = sum(1 for _ in source)
    result = aslrec_cli("predict", video, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["frames"] == decoded == 70
    assert 0.5 < payload["hand_detection_rate"] < 0.8
