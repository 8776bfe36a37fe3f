"""``aslrec extract --index --body`` / ``run_extraction(index=...)`` on one short real MS-ASL video
(54 frames, a few seconds)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from aslrec.cli import app
from aslrec.data.store import ClipStore
from aslrec.workflows.extract import run_extraction


def test_index_row_gets_signer_group_sign_window_and_body(
    shared_data: Path, tmp_path: Path
) -> None:
    video = shared_data / "msasl6" / "videos" / "hello" / "FVjpLa8GqeM.webm"
    index = tmp_path / "index.csv"
    index.write_text(
        f"file,label,signer,start,end,clip_id\n{video},hello,msasl0,0,1.74,hi\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        app, ["extract", "--index", str(index), "--out", str(tmp_path / "ds"), "--body"]
    )
    assert result.exit_code == 0, result.output
    clip = ClipStore(tmp_path / "ds").clips()[0]
    assert (clip.label, clip.signer, clip.group) == ("hello", "msasl0", "msasl0")
    assert 10 <= clip.num_frames < 54  # the rest frames are cut away
    assert clip.pose is not None and clip.pose.shape == (clip.num_frames, 11, 4)
    assert clip.pose_mask.mean() > 0.9  # the signer's body is in view throughout
    again = run_extraction([], tmp_path / "ds", index=index, progress=False)
    assert again.skipped == 1  # resumable like any extraction


def test_extract_without_videos_or_index_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["extract", "--out", str(tmp_path / "ds")])
    assert result.exit_code == 2
    assert "--index" in result.output and not (tmp_path / "ds").exists()
