"""MS-ASL index parsing, the generic video index, sign windows, and the msasl6 data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import load_datasets
from aslrec.data.msasl import parse_sections, parse_time, read_msasl_index
from aslrec.data.splits import SplitSpec
from aslrec.data.store import ClipStore
from aslrec.data.video_index import read_video_index, write_video_index
from aslrec.errors import DataError, NoHandsError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.workflows.sign_window import cut_sign

REPO = Path(__file__).resolve().parents[2]
HEADER = (
    "file,label,signer_id,msasl_gloss,youtube_id,title,section_requested,fps,frames,"
    "msasl_start_s,msasl_end_s\n"
)


def test_section_times() -> None:
    assert parse_time("*1:02.5") == 62.5
    assert parse_time("1:00:01") == 3601
    assert parse_sections("*0:24-0:30|*0:33-0:37") == [(24, 30), (33, 37)]
    with pytest.raises(ValueError):
        parse_sections("*0:24")


def test_msasl_windows_anchor_and_keep(tmp_path: Path) -> None:
    (tmp_path / "index.csv").write_text(
        HEADER
        # starts at 0:00: times kept from the start, clipped to the 2 s decoded video
        + "v/a.mp4,hello,7,hello,a,t,*0:00-0:03,25.0,50,0.000,2.500\n"
        # later window: anchored at the end of the first window (30 s = end of the video)
        + "v/b.webm,teacher,12,hello|teacher|teacher,b,t,*0:24-0:30|*0:29-0:33|*0:44-0:53,"
        "30.0,300,25.0|29.5|44.1,29.0|30.5|52.0\n",
        encoding="utf-8",
    )
    windows = {w.clip_id: w for w in read_msasl_index(tmp_path / "index.csv")}
    assert sorted(windows) == ["hello_a", "teacher_b_w1", "teacher_b_w2", "teacher_b_w3"]
    a = windows["hello_a"].job()
    assert (a.anchor, a.start_s, a.end_s) == ("start", 0.0, 2.0)
    assert (a.signer, a.group, a.label) == ("msasl7", "msasl7", "hello")
    w1 = windows["teacher_b_w1"]
    assert w1.kept and w1.label == "hello"  # one gloss per window
    job = w1.job()
    assert (job.anchor, job.start_s, job.end_s) == ("end", -5.0, -1.0)
    assert windows["teacher_b_w2"].kept  # half of its 1 s sign is inside: 50% is the bar
    assert windows["teacher_b_w2"].inside == pytest.approx(0.5)
    assert not windows["teacher_b_w3"].kept and windows["teacher_b_w3"].inside == 0.0


def test_msasl_bad_row_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "index.csv").write_text(
        HEADER + "v/a.mp4,hello,7,hello,a,t,*0:00-0:03,25.0,x,0.0,2.5\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"index\.csv:2: not an MS-ASL download row"):
        read_msasl_index(tmp_path / "index.csv")


def _videos(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def test_video_index_defaults_and_round_trip(tmp_path: Path) -> None:
    _videos(tmp_path, "v/a.mp4", "v/b.mp4")
    index = tmp_path / "index.csv"
    index.write_text(
        "file,label,signer,start,end,anchor,extra\n"
        "v/a.mp4,hello,ann,,,,x\n"
        "v/b.mp4,no,bob,1.5,2.5,,\n"
        "v/b.mp4,no,bob,-2,-0.5,end,\n",
        encoding="utf-8",
    )
    jobs = read_video_index(index)
    assert [j.clip_id for j in jobs] == ["v_a", "v_b_w1", "v_b_w2"]
    assert jobs[0].path == tmp_path / "v/a.mp4" and not jobs[0].has_window
    assert (jobs[0].signer, jobs[0].group) == ("ann", "ann")
    assert jobs[1].window_in(np.arange(10) / 10) == (1.5, 2.5)
    assert jobs[2].window_in(np.arange(10) / 10) == pytest.approx((-1.0, 0.5))  # ends at 1.0 s
    copy = tmp_path / "sub" / "copy.csv"
    write_video_index(copy, jobs)
    again = read_video_index(copy)
    assert [(j.path.resolve(), j.clip_id, j.start_s, j.anchor) for j in again] == [
        (j.path.resolve(), j.clip_id, j.start_s, j.anchor) for j in jobs
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("file,signer\nv/a.mp4,x\n", "lacks the column"),
        ("file,label\nv/missing.mp4,x\n", "no such file"),
        ("file,label,start\nv/a.mp4,x,1\n", "both start and end"),
        ("file,label,start,end\nv/a.mp4,x,2,1\n", "must come after"),
        ("file,label,start,end\nv/a.mp4,x,a,1\n", "number of seconds"),
        ("file,label,start,end,anchor\nv/a.mp4,x,-2,1,end\n", "<= 0"),
        ("file,label,clip_id\nv/a.mp4,x,c\nv/a.mp4,y,c\n", "already used"),
    ],
)
def test_video_index_errors(tmp_path: Path, rows: str, message: str) -> None:
    _videos(tmp_path, "v/a.mp4")
    (tmp_path / "i.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_video_index(tmp_path / "i.csv")


def _bursts(*spans: tuple[int, int], frames: int = 90) -> LandmarkClip:
    """Hands present (and moving) in the given frame spans, absent elsewhere; 30 fps."""
    rng = np.random.default_rng(0)
    presence = np.zeros((frames, 2), bool)
    for a, b in spans:
        presence[a:b, 1] = True
    landmarks = rng.uniform(0.3, 0.7, (frames, 2, 21, 3))
    return LandmarkClip(landmarks, presence, timestamps=np.arange(frames) / 30.0, source="s")


def test_cut_sign_takes_the_segment_in_the_window() -> None:
    clip = _bursts((6, 30), (45, 80))
    part, how = cut_sign(clip, (1.7, 2.4))
    assert part.timestamps is not None
    assert part.timestamps[0] == pytest.approx(1.5)
    assert part.timestamps[-1] == pytest.approx(79 / 30)
    assert how.startswith("1 segment ")
    # a window over both bursts: one clip from the first to the last
    both, how = cut_sign(clip, (0.5, 2.5))
    assert both.num_frames == 80 - 6 and how.startswith("2 segments")


def test_cut_sign_window_fallback_and_no_hands() -> None:
    clip = _bursts((30, 34))  # 4 frames: too short to be a segment, few hands
    with pytest.raises(NoHandsError, match=r"window 0\.90-1\.20 s"):
        cut_sign(clip, (0.9, 1.2))
    still = LandmarkClip(
        np.full((60, 2, 21, 3), 0.5), np.ones((60, 2), bool), timestamps=np.arange(60) / 30.0
    )
    part, how = cut_sign(still, (1.0, 1.5))  # never moves: the segmenter finds no sign there
    assert how.startswith("window") and part.num_frames == 16


def _clip(label: str, signer: str) -> LandmarkClip:
    return LandmarkClip(
        np.full((4, 2, 21, 3), 0.5),
        np.ones((4, 2), bool),
        timestamps=np.arange(4) / 30.0,
        label=label,
        signer=signer,
        group=signer,
    )


def test_store_round_trip_and_signer_split(tmp_path: Path) -> None:
    store = ClipStore(tmp_path / "ds", create=True)
    for i in range(12):
        store.add(_clip(["hello", "no"][i % 2], f"msasl{i % 6}"), f"c{i}")
    clips = load_datasets([tmp_path / "ds"])
    assert {(c.label, c.signer, c.group) for c in clips} >= {("hello", "msasl0", "msasl0")}
    train, held = SplitSpec(strategy="signer", folds=3).train_held_out(clips)
    assert not {clips[i].signer for i in train} & {clips[i].signer for i in held}


def test_committed_msasl6_loads_and_splits_by_signer() -> None:
    root = REPO / "data" / "msasl6"
    if not (root / "aslrec_dataset.json").is_file():
        pytest.skip("data/msasl6 not built (python -m tools.extract_msasl6)")
    clips = load_datasets([root])
    assert {c.label for c in clips} == {"eat", "teacher", "hello", "nice", "happy", "no"}
    assert all(c.signer and c.signer.startswith("msasl") and c.group == c.signer for c in clips)
    train, held = SplitSpec(strategy="signer").train_held_out(clips)
    assert len(train) + len(held) == len(clips)
    assert not {clips[i].signer for i in train} & {clips[i].signer for i in held}
