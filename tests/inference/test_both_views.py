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


def test_a_transcript_and_its_mirror_image_find_the_same_signs(
    hello_and_mirror: tuple[Path, Path],
) -> None:
    """Signs are found in the two views merged and classified from both, so a mirrored video
    gives the same events: same spans, labels and probabilities."""
    from aslrec.workflows.live import transcribe_video

    with Recognizer.load(both_views=True) as recognizer:
        first, second = (
            transcribe_video(recognizer, p, emit_unknown=True) for p in hello_and_mirror
        )
    assert first.events, "hello.mp4 holds one sign"
    assert [(e.start_s, e.end_s, e.label) for e in first.events] == [
        (e.start_s, e.end_s, e.label) for e in second.events
    ]
    for a, b in zip(first.events, second.events, strict=True):
        assert [label for label, _ in a.top_k] == [label for label, _ in b.top_k]
        np.testing.assert_allclose(
            [p for _, p in a.top_k], [p for _, p in b.top_k], rtol=0, atol=1e-5
        )
    assert [label for label, _ in first.events[0].top_k][:1] == ["hello"]


def test_merged_views_mirror_with_the_video() -> None:
    from aslrec.inference.streaming import merge_views
    from aslrec.landmarks.clip import LandmarkClip

    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.2, 0.8, (2, 2, 21, 3)).astype(np.float32)
    pa, pb = np.array([True, False]), np.array([True, True])
    merged, presence = merge_views(a, pa, b, pb)
    np.testing.assert_allclose(merged[0], (a[0] + b[0]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(merged[1], b[1])
    assert presence.tolist() == [True, True]

    def mirror(lm: np.ndarray, pr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        clip = LandmarkClip(lm[None], pr[None]).mirrored()
        return clip.landmarks[0], clip.presence[0]

    # the mirrored video: its own view is b's mirror image, its flipped view a's
    again, again_presence = merge_views(*mirror(b, pb), *mirror(a, pa))
    expected, expected_presence = mirror(merged, presence)
    np.testing.assert_allclose(again, expected, atol=1e-6)
    np.testing.assert_array_equal(again_presence, expected_presence)
