"""``both_views``: a video and its left-right mirror image get the same answer, exactly."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.video import FrameSource


def write_frames(video: Path, folder: Path, *, mirror: bool) -> Path:
    """The video's frames as lossless PNGs (a flipped video file would be re-encoded, so its
    pixels would not be the exact mirror of the original's)."""
    folder.mkdir()
    for i, (rgb, _) in enumerate(FrameSource(video, max_side=640, mirror=mirror)):
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="module")
def hello_and_mirror(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("views")
    return (
        write_frames(videos / "hello.mp4", root / "as_recorded", mirror=False),
        write_frames(videos / "hello.mp4", root / "mirrored", mirror=True),
    )


def test_a_video_and_its_mirror_get_the_same_probabilities(
    hello_and_mirror: tuple[Path, Path],
) -> None:
    with Recognizer.load(both_views=True) as recognizer:
        first, second = (recognizer.predict(p, top_k=82) for p in hello_and_mirror)
    assert [label for label, _ in first.top_k] == [label for label, _ in second.top_k]
    np.testing.assert_allclose(
        [p for _, p in first.top_k], [p for _, p in second.top_k], rtol=0, atol=1e-5
    )
    assert first.label == "hello"


def test_both_views_average_two_trackings(hello_and_mirror: tuple[Path, Path]) -> None:
    """The answer is the mean of the logits of the clip as recorded and of the flipped video's
    clip mirrored back, which is a different tracking (else both_views would change nothing)."""
    as_recorded, _ = hello_and_mirror
    with Recognizer.load(both_views=True) as recognizer:
        clip, _ = recognizer.extract(as_recorded)
        retracked, _ = recognizer.extract(as_recorded, mirror=True)
        assert not np.array_equal(clip.landmarks, retracked.landmarks)
        expected = recognizer.probabilities([clip], [retracked])[0]
        got = recognizer.predict(as_recorded, top_k=3)
    order = np.argsort(-expected)[:3]
    assert got.top_k == [(recognizer.classes[j], float(expected[j])) for j in order]
