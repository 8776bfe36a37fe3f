"""One-clip ``.npz`` files (as ``aslrec extract`` writes them): a broken one gets its own
one-line error naming the file given, never "unrecognised .npz" or a guessed label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aslrec.data.loaders import load_dataset
from aslrec.data.store import load_clip, save_clip
from aslrec.errors import DataError
from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.clip import LandmarkClip

FRAMES = 10
STORED_SOURCE = "/build/machine/video.mp4"


def _good() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "landmarks": rng.uniform(0, 1, (FRAMES, 2, 21, 3)).astype(np.float32),
        "presence": np.ones((FRAMES, 2), bool),
        "timestamps": np.arange(FRAMES) / 30.0,
        "label": np.array("hello"),
        "signer": np.array(""),
        "group": np.array(""),
        "source": np.array(STORED_SOURCE),
    }


def _nan() -> dict[str, np.ndarray]:
    arrays = _good()
    arrays["landmarks"][3, 1, 4, 0] = np.nan
    return arrays


BROKEN = {
    "nan": (_nan, "NaN"),
    "shape": (lambda: _good() | {"landmarks": _good()["landmarks"][:, :, :20]}, "shape"),
    "presence_shape": (lambda: _good() | {"presence": np.ones((5, 2), bool)}, "presence"),
    "presence_values": (
        lambda: _good() | {"presence": np.full((FRAMES, 2), 7, np.int8)},
        "0/1",
    ),
    "int32": (
        lambda: _good() | {"landmarks": (_good()["landmarks"] * 100).astype(np.int32)},
        "floating point",
    ),
    "string": (
        lambda: _good() | {"landmarks": _good()["landmarks"].astype(str)},
        "floating point",
    ),
    "complex": (
        lambda: _good() | {"landmarks": _good()["landmarks"].astype(np.complex64)},
        "floating point",
    ),
    "decreasing_time": (
        lambda: _good() | {"timestamps": (np.arange(FRAMES) / 30.0)[::-1].copy()},
        "increase",
    ),
    "no_frames": (
        lambda: (
            _good()
            | {
                "landmarks": np.zeros((0, 2, 21, 3), np.float32),
                "presence": np.zeros((0, 2), bool),
                "timestamps": np.zeros(0),
            }
        ),
        "no frames",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_clip_file_names_file_and_problem(tmp_path: Path, case: str) -> None:
    make, problem = BROKEN[case]
    path = tmp_path / f"{case}.npz"
    np.savez(path, **make())
    for load in (load_clip, load_dataset, Recognizer.load_landmarks):
        with pytest.raises(DataError) as info:
            load(path)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and "\n" not in message
        assert problem in message
        assert "unrecognised" not in message and STORED_SOURCE not in message


def test_good_clip_file_loads_as_before(tmp_path: Path) -> None:
    arrays = _good()
    clip = LandmarkClip(
        arrays["landmarks"],
        arrays["presence"],
        arrays["timestamps"],
        label="hello",
        source=STORED_SOURCE,
    )
    path = tmp_path / "clip.npz"
    save_clip(clip, path)
    (loaded,) = load_dataset(path)
    assert loaded.source == STORED_SOURCE and loaded.label == "hello"
    np.testing.assert_array_equal(loaded.landmarks, clip.landmarks)
    np.testing.assert_array_equal(loaded.timestamps, clip.timestamps)
    # 0/1 integers are an acceptable presence mask
    np.savez(path, **arrays | {"presence": arrays["presence"].astype(np.uint8)})
    assert load_clip(path).presence.dtype == bool


def test_truncated_clip_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.npz"
    np.savez_compressed(path, **_good())
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match=f"^{path}: "):
        load_dataset(path)
