"""``run_extraction``'s output format and Ray options fail early, in one line, when they cannot
work: an unknown format, or the optional package (``pose``, ``ray`` extras) not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aslrec.errors import ConfigError
from aslrec.workflows.extract import run_extraction


def test_an_unknown_format_is_refused(videos: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="output format must be aslrec or pose, not 'npy'"):
        run_extraction([videos / "hello.mp4"], tmp_path, output_format="npy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("module", "options", "message"),
    [
        ("pose_format", {"output_format": "pose"}, r"\.pose files need pose-format \(pip install"),
        ("ray", {"ray": "auto"}, r"--ray needs Ray \(pip install 'aslrec\[ray\]'\)"),
    ],
)
def test_a_missing_extra_is_named_before_any_video_is_tracked(
    module: str,
    options: dict[str, str],
    message: str,
    videos: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(ConfigError, match=message):
        run_extraction([videos / "hello.mp4"], tmp_path / "out", progress=False, **options)  # type: ignore[arg-type]
