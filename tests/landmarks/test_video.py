"""Frame reading: real videos, image sequences, and every kind of bad file -> DataError."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from aslrec.errors import DataError
from aslrec.landmarks.video import (
    DEFAULT_FPS,
    FrameSource,
    is_image_sequence,
    is_video_file,
    natural_key,
    probe,
    read_frames,
)


def test_reads_real_video_rgb_with_increasing_timestamps(videos: Path) -> None:
    source = FrameSource(videos / "hello.mp4")
    assert source.fps == pytest.approx(29.97, abs=0.01)
    assert source.frame_count == 30
    frames = list(source)
    assert len(frames) == 30
    rgb, _ = frames[0]
    assert rgb.dtype == np.uint8 and rgb.shape == (720, 1280, 3) and rgb.flags.c_contiguous
    ts = np.array([t for _, t in frames])
    assert ts[0] == 0.0 and np.all(np.diff(ts) > 0)
    np.testing.assert_allclose(ts, np.arange(30) / source.fps, atol=2e-3)
    # RGB, not OpenCV's BGR
    cap = cv2.VideoCapture(str(videos / "hello.mp4"))
    _, bgr = cap.read()
    cap.release()
    np.testing.assert_array_equal(rgb, bgr[:, :, ::-1])


def test_max_side_downscales_keeping_aspect(videos: Path) -> None:
    rgb, _ = next(read_frames(videos / "hello.mp4", max_side=640))
    assert rgb.shape == (360, 640, 3)
    small, _ = next(read_frames(videos / "table.mp4", max_side=640))
    assert small.shape == (256, 256, 3)  # never upscaled


def test_mirror_flips_every_frame_left_right(videos: Path) -> None:
    plain, mirrored = (FrameSource(videos / "table.mp4", mirror=m) for m in (False, True))
    pairs = list(zip(plain, mirrored, strict=True))
    assert len(pairs) == 70
    for (rgb, ts), (flipped, flipped_ts) in pairs:
        assert ts == flipped_ts and flipped.flags.c_contiguous
        np.testing.assert_array_equal(flipped, rgb[:, ::-1])


def test_probe(videos: Path) -> None:
    info = probe(videos / "table.mp4")
    assert (info.kind, info.fps, info.frame_count, info.width, info.height) == (
        "video",
        25.0,
        70,
        256,
        256,
    )


def test_image_sequence_natural_order(tmp_path: Path) -> None:
    for i in [1, 2, 10, 3]:  # written out of order; "10" must come last, not after "1"
        frame = np.full((24, 32, 3), i * 20, dtype=np.uint8)
        frame[..., 0] = 0  # blue channel in BGR
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), frame)
    (tmp_path / ".DS_Store").write_text("ignored")
    assert is_image_sequence(tmp_path)
    source = FrameSource(tmp_path)
    assert source.info.kind == "images" and source.fps == DEFAULT_FPS
    frames = list(source)
    assert [int(f[0, 0, 1]) // 20 for f, _ in frames] == [1, 2, 3, 10]
    assert [int(f[0, 0, 2]) for f, _ in frames] == [0, 0, 0, 0]  # BGR -> RGB: blue is last
    assert [t for _, t in frames] == pytest.approx([0, 1 / 30, 2 / 30, 3 / 30])


def test_natural_key() -> None:
    names = ["f10.png", "f2.png", "F1.png", "f2b.png"]
    assert sorted(names, key=natural_key) == ["F1.png", "f2.png", "f2b.png", "f10.png"]


def _write_truncated_mp4(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


@pytest.mark.parametrize(
    ("name", "make", "needle"),
    [
        ("missing.mp4", None, "no such file"),
        ("empty.mp4", lambda p: p.write_bytes(b""), "empty"),
        ("notes.mp4", lambda p: p.write_text("not a video\n" * 50), "cannot be decoded"),
    ],
)
def test_bad_files_raise_data_error_naming_the_file(
    tmp_path: Path, name: str, make: object, needle: str
) -> None:
    path = tmp_path / name
    if callable(make):
        make(path)
    with pytest.raises(DataError, match=needle) as err:
        FrameSource(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_truncated_mp4_raises(videos: Path, tmp_path: Path) -> None:
    # the moov atom (index) sits at the end of these files: a cut copy cannot be opened at all
    path = _write_truncated_mp4(videos / "hello.mp4", tmp_path / "hello_cut.mp4")
    with pytest.raises(DataError, match=r"hello_cut\.mp4"):
        list(read_frames(path))


def _reencode(videos: Path, path: Path, fourcc: str) -> Path:
    """``table.mp4`` (70 frames, 256x256) re-encoded into ``path``'s container."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (256, 256))
    for rgb, _ in read_frames(videos / "table.mp4"):
        writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
    writer.release()
    return path


def test_truncated_avi_that_opens_is_detected(videos: Path, tmp_path: Path) -> None:
    # an AVI cut in half opens and silently stops early at frame 33-35 of 70; its RIFF size,
    # not the header's frame count, gives it away
    full = _reencode(videos, tmp_path / "table.avi", "MJPG")
    assert len(list(read_frames(full))) == 70
    cut = tmp_path / "table_cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert cv2.VideoCapture(str(cut)).isOpened()  # OpenCV alone would decode half of it
    with pytest.raises(
        DataError, match=r"table_cut.avi: truncated or corrupt: decoded 3\d frames, .* its AVI "
    ) as err:
        list(read_frames(cut))
    assert "\n" not in str(err.value)


MSASL_SHORT = [  # header frame count -> frames that decode (audio longer, edit lists)
    ("hello/gU5EI_ZTzxw.mkv", 95, 71),
    ("teacher/vcrTUbE1NoY.mkv", 241, 180),
    ("teacher/nBvBJ91I5ZI.mp4", 161, 91),
]


@pytest.mark.parametrize(("name", "header", "decodes"), MSASL_SHORT)
def test_header_frame_count_is_an_estimate_not_a_check(
    shared_data: Path, name: str, header: int, decodes: int
) -> None:
    # cut YouTube downloads that play in full and that ffprobe decodes without an error
    source = FrameSource(shared_data / "msasl6" / "videos" / name)
    assert source.frame_count == header
    assert len(list(source)) == source.decoded_frames == decodes


@pytest.mark.parametrize("name", ["hello/gU5EI_ZTzxw.mkv", "teacher/nBvBJ91I5ZI.mp4"])
def test_truncated_matroska_and_mp4_are_refused(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    source = shared_data / "msasl6" / "videos" / name
    cut = tmp_path / f"cut{source.suffix}"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size * 2 // 3])
    container = "Matroska" if source.suffix == ".mkv" else "MP4"
    with pytest.raises(
        DataError, match=rf"cut\{source.suffix}: truncated or corrupt: .* {container} "
    ):
        list(read_frames(cut))


@pytest.mark.parametrize(("suffix", "fourcc"), [(".ts", "mpg2"), (".mpg", "mpg1")])
def test_mpeg_streams_are_videos(videos: Path, tmp_path: Path, suffix: str, fourcc: str) -> None:
    path = _reencode(videos, tmp_path / f"table{suffix}", fourcc)
    assert is_video_file(path) and is_video_file(path.with_suffix(suffix.upper()))
    assert len(list(read_frames(path))) == 70


def test_image_folder_problems(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no images"):
        FrameSource(empty)
    seq = tmp_path / "seq"
    seq.mkdir()
    cv2.imwrite(str(seq / "0001.png"), np.zeros((8, 8, 3), np.uint8))
    (seq / "0002.png").write_text("not a png")
    with pytest.raises(DataError, match=r"0002.png: cannot be read as an image"):
        list(FrameSource(seq))


def test_a_photo_is_one_frame(shared_data: Path) -> None:
    photo = shared_data / "fingerspelling16" / "user_10" / "B3.jpg"
    source = FrameSource(photo)
    assert source.info.kind == "images" and source.frame_count == 1
    ((rgb, ts),) = list(source)
    assert ts == 0.0 and rgb.shape == (*cv2.imread(str(photo)).shape[:2], 3)
