"""extract_video / collect_inputs / run_extraction on real videos and broken files."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from rich.console import Console

from aslrec.data.store import ClipStore, load_clip
from aslrec.errors import DataError, NoHandsError
from aslrec.landmarks.clip import LEFT, RIGHT
from aslrec.landmarks.extract import collect_inputs, extract_video
from aslrec.landmarks.hands import TrackerOptions
from aslrec.workflows.extract import ExtractionSummary, run_extraction


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, videos: Path) -> dict[str, Path]:
    """A truncated copy of a real video, an empty .mp4, a text file named .mp4, and a real
    (decodable) video without hands."""
    root = tmp_path_factory.mktemp("broken")
    data = (videos / "hello.mp4").read_bytes()
    (root / "hello_cut.mp4").write_bytes(data[: len(data) // 2])
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("these are my notes, not a video\n" * 20)
    blank = root / "blank.mp4"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for i in range(20):
        writer.write(np.full((120, 160, 3), 40 + 5 * i, dtype=np.uint8))
    writer.release()
    return {p.stem: p for p in root.iterdir()}


def test_extract_real_videos(videos: Path) -> None:
    hello = extract_video(videos / "hello.mp4", label="hello")
    assert hello.num_frames == 30 and hello.hand_rate == 1.0
    assert hello.label == "hello" and hello.source == str(videos / "hello.mp4")
    assert hello.landmarks.dtype == np.float32 and hello.presence.dtype == bool
    assert hello.landmarks.shape == (30, 2, 21, 3)
    assert hello.presence[:, RIGHT].all()

    table = extract_video(videos / "table.mp4")
    # 70 frames; the signer's hands rest out of view for the first 13 and the last 10
    assert 40 <= table.num_frames <= 55 and table.hand_rate == 1.0
    assert table.presence[:, RIGHT].mean() > 0.8 and table.presence[:, LEFT].mean() > 0.7
    ts = table.timestamps
    assert ts is not None and ts[0] > 0.4 and np.all(np.diff(ts) > 0)
    np.testing.assert_allclose(np.diff(ts), 0.04, atol=1e-3)  # 25 fps

    untrimmed = extract_video(videos / "table.mp4", trim=False)
    assert untrimmed.num_frames == 70 and untrimmed.timestamps[0] == 0.0
    assert not untrimmed.presence[:5].any() and 0.6 < untrimmed.hand_rate < 0.75


def test_extract_friend_legacy_lite(videos: Path) -> None:
    clip = extract_video(
        videos / "friend.mp4",
        options=TrackerOptions(backend="legacy", landmark_model="lite"),
        max_side=640,
    )
    assert clip.num_frames >= 55 and clip.hand_rate > 0.9
    assert clip.presence.sum(axis=1).max() == 2


def test_no_hands_raises(broken: dict[str, Path]) -> None:
    path = broken["blank"]
    with pytest.raises(NoHandsError, match=r"no hands found in 20 frames") as err:
        extract_video(path)
    assert str(err.value) == f"{path}: no hands found in 20 frames"


@pytest.mark.parametrize("name", ["hello_cut", "empty", "notes"])
def test_bad_files_raise_data_error(broken: dict[str, Path], name: str) -> None:
    with pytest.raises(DataError) as err:
        extract_video(broken[name])
    assert str(broken[name]) in str(err.value)


def _tree(root: Path, videos: Path) -> Path:
    (root / "hello").mkdir(parents=True)
    (root / "hello" / "alice").mkdir()
    os.symlink(videos / "hello.mp4", root / "hello" / "take10.mp4")
    os.symlink(videos / "hello.mp4", root / "hello" / "take2.MP4")
    os.symlink(videos / "hello.mp4", root / "hello" / "alice" / "take1.mov")
    os.symlink(videos / "table.mp4", root / "table.mp4")
    (root / "readme.txt").write_text("ignored")
    (root / ".hidden.mp4").write_text("ignored")
    seq = root / "school_seq"
    seq.mkdir()
    for i in range(3):
        cv2.imwrite(str(seq / f"{i}.png"), np.zeros((8, 8, 3), np.uint8))
    return root


def test_collect_inputs_labels_ids_and_kinds(tmp_path: Path, videos: Path) -> None:
    root = _tree(tmp_path / "data", videos)
    jobs = collect_inputs([root])
    got = {(j.clip_id, j.label, j.kind) for j in jobs}
    assert got == {
        ("hello_alice_take1", "hello", "video"),
        ("hello_take2", "hello", "video"),
        ("hello_take10", "hello", "video"),
        ("school_seq", "school_seq", "images"),
        ("table", "table", "video"),
    }
    ids = [j.clip_id for j in jobs]
    assert ids.index("hello_take2") < ids.index("hello_take10")  # natural order
    # a file and a folder given directly; the same file twice counts once
    more = collect_inputs([videos / "table.mp4", root / "school_seq", videos / "table.mp4"])
    assert [(j.clip_id, j.label, j.kind) for j in more] == [
        ("table", "table", "video"),
        ("school_seq", "school_seq", "images"),
    ]
    # same stem from two places: ids made unique with a hash of the path
    clash = collect_inputs([videos / "table.mp4", root / "table.mp4"])
    assert len({j.clip_id for j in clash}) == 2
    assert all(j.clip_id.startswith("table-") for j in clash)


def test_collect_inputs_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        collect_inputs([tmp_path / "nope"])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="holds no videos"):
        collect_inputs([tmp_path / "docs"])


def _rows(summary: ExtractionSummary) -> dict[str, dict[str, object]]:
    return {str(r["clip_id"]): r for r in summary.to_rows()}


def test_run_extraction_errors_resume_and_table(
    tmp_path: Path, videos: Path, broken: dict[str, Path]
) -> None:
    out = tmp_path / "store"
    inputs = [
        videos / "hello.mp4",
        videos / "table.mp4",
        broken["hello_cut"],
        broken["empty"],
        broken["notes"],
        broken["blank"],
    ]
    summary = run_extraction(inputs, out, progress=False)
    rows = _rows(summary)
    assert (summary.ok, summary.skipped, summary.errors) == (2, 0, 4)
    assert rows["hello"]["status"] == "ok" and rows["hello"]["frames"] == 30
    assert rows["hello"]["hand_rate"] == 1.0 and float(rows["hello"]["fps"]) > 0
    assert rows["table"]["kept_frames"] < rows["table"]["frames"] == 70
    for name in ["hello_cut", "empty", "notes", "blank"]:
        assert rows[name]["status"] == "error"
        assert str(broken[name]) in str(rows[name]["error"])
    assert "no hands found in 20 frames" in str(rows["blank"]["error"])
    assert rows["blank"]["frames"] == 20
    store = ClipStore(out)
    assert store.clip_ids() == ["hello", "table"]
    stored = load_clip(store.clip_path("hello"))
    assert stored.label == "hello" and stored.num_frames == 30
    assert stored.timestamps is not None

    console = Console(file=io.StringIO(), width=160)
    summary.print(console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2 extracted, 0 skipped" in text and "4 failed" in text and "no hands found" in text

    # interruption: table's clip lost, a half-written temporary file left behind
    hello_path = store.clip_path("hello")
    before = hello_path.stat().st_mtime_ns
    store.clip_path("table").unlink()
    (out / "clips" / ".table.k2j4h5.npz").write_bytes(b"half a file")
    again = run_extraction([videos / "hello.mp4", videos / "table.mp4"], out, progress=False)
    assert [r.status for r in again.results] == ["skipped", "ok"]
    assert hello_path.stat().st_mtime_ns == before
    assert store.clip_ids() == ["hello", "table"]
    assert sorted(p.name for p in (out / "clips").iterdir()) == ["hello.npz", "table.npz"]

    # resume=False redoes everything
    redo = run_extraction([videos / "hello.mp4"], out, resume=False, progress=False)
    assert redo.results[0].status == "ok" and hello_path.stat().st_mtime_ns != before


def test_run_extraction_two_workers_with_progress(
    tmp_path: Path, videos: Path, broken: dict[str, Path]
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ["hello.mp4", "table.mp4"]:
        shutil.copy(videos / name, src / name)
    shutil.copy(broken["notes"], src / "notes.mp4")
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    summary = run_extraction(
        [src], tmp_path / "out", workers=2, options=TrackerOptions(), console=console
    )
    assert summary.workers == 2
    assert [(r.clip_id, r.status) for r in summary.results] == [
        ("hello", "ok"),
        ("notes", "error"),
        ("table", "ok"),
    ]
    assert "extracting" in console.file.getvalue()  # type: ignore[attr-defined]
    # the same clips as one process would give
    single = extract_video(videos / "table.mp4", label="table")
    multi = load_clip(ClipStore(tmp_path / "out").clip_path("table"))
    np.testing.assert_array_equal(single.presence, multi.presence)
    np.testing.assert_allclose(single.landmarks, multi.landmarks, atol=1e-6)
    assert multi.label == "table"


def test_image_sequence_extraction(tmp_path: Path, videos: Path) -> None:
    seq = tmp_path / "hello_frames"
    seq.mkdir()
    cap = cv2.VideoCapture(str(videos / "hello.mp4"))
    for i in range(8):
        _, bgr = cap.read()
        cv2.imwrite(str(seq / f"f{i}.jpg"), bgr)
    cap.release()
    summary = run_extraction([seq], tmp_path / "out", progress=False)
    assert summary.results[0].status == "ok"
    clip = load_clip(ClipStore(tmp_path / "out").clip_path("hello_frames"))
    assert clip.label == "hello_frames" and clip.num_frames == 8
    assert clip.presence[:, RIGHT].all()
    np.testing.assert_allclose(clip.timestamps, np.arange(8) / 30)


def test_a_photo_is_a_held_still_clip(shared_data: Path) -> None:
    """A photo (a held letter) becomes the clip photo data sets train on: its one frame of
    landmarks held for PHOTO_FRAMES frames, at increasing times."""
    from aslrec.landmarks.clip import PHOTO_FRAMES

    clip = extract_video(shared_data / "fingerspelling16" / "user_10" / "B3.jpg")
    assert clip.num_frames == PHOTO_FRAMES and clip.frame_mask.all()
    assert (clip.landmarks == clip.landmarks[:1]).all()
    assert np.all(np.diff(clip.timestamps) > 0)
    with pytest.raises(ValueError, match="only a one-frame clip"):
        clip.held(PHOTO_FRAMES, 30.0)
