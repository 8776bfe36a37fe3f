"""ONNX Runtime backend: torch-free imports and prediction, a fresh torch-free install, bad files.

The default suite proves "no torch needed" cheaply: a subprocess whose import system refuses
torch, lightning, safetensors, onnx and matplotlib (what only the `train` extra installs) must
still import the inference modules and run `aslrec predict --backend onnx`. The slow test does
it for real: a fresh venv with `pip install ".[onnx]"` and no torch at all.
"""

from __future__ import annotations

import json
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import aslrec
from aslrec.errors import ModelError
from aslrec.inference.onnx_backend import OnnxBackend, read_metadata

REPO = Path(__file__).resolve().parents[2]
TRAIN_ONLY = ("torch", "lightning", "pytorch_lightning", "torchmetrics", "safetensors", "onnx")
NOT_IMPORTED = (*TRAIN_ONLY, "matplotlib")
"""What aslrec's own inference modules must not import (matplotlib only draws training plots;
MediaPipe's drawing module imports it, so a real torch-free install has it anyway)."""
BLOCKER = textwrap.dedent(
    """
    import os
    import sys

    BLOCKED = tuple(os.environ["BLOCKED_MODULES"].split(","))

    class TrainOnly:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, TrainOnly())

    def check_no_train_modules():
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        if leaked:
            sys.exit(f"train-only modules imported: {leaked}")
    """
)
# Modules that are training-time by nature and may need torch.
TRAINING_ONLY_MODULES = {"aslrec.data.augment", "aslrec.data.masking"}


def run_blocked(
    script: str, *args: str, blocked: tuple[str, ...] = NOT_IMPORTED
) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter that cannot import ``blocked``."""
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASLREC_NATIVE_LOGS": "", "BLOCKED_MODULES": ",".join(blocked)},
    )


def deployment_modules() -> list[str]:
    names = ["aslrec", "aslrec.cli", "aslrec.inference.onnx_backend"]
    for package in ("data", "landmarks", "inference", "serving"):
        path = [str(Path(aslrec.__file__).parent / package)]
        names += [f"aslrec.{package}.{m.name}" for m in pkgutil.iter_modules(path)]
    return [n for n in names if n not in TRAINING_ONLY_MODULES]


def test_deployment_modules_import_without_torch() -> None:
    modules = deployment_modules()
    assert "aslrec.inference.recognizer" in modules and "aslrec.data.loaders" in modules
    result = run_blocked(
        """
        import importlib, sys
        failed = []
        for name in sys.argv[1:]:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                failed.append(f"{name}: {exc}")
        if failed:
            sys.exit("\\n".join(failed))
        check_no_train_modules()
        """,
        *modules,
    )
    assert result.returncode == 0, result.stderr


def test_predict_with_onnx_backend_without_torch(
    exported: Callable[[str], Path], shared_data: Path
) -> None:
    from aslrec.inference.recognizer import Recognizer

    run_dir = exported("seed")
    data = shared_data / "samples" / "MP_Data"
    result = run_blocked(
        """
        import sys
        from aslrec.cli import main
        sys.argv = ["aslrec", *sys.argv[1:]]
        try:
            main()
        finally:
            check_no_train_modules()
        """,
        "predict", str(data), "--model", str(run_dir / "model.onnx"), "--backend", "onnx",
        "--json", "--top-k", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    with Recognizer.load(run_dir, backend="torch") as recognizer:
        clips = recognizer.load_landmarks(data)
        expected = recognizer.predict_clips(clips, top_k=3)
    assert len(rows) == len(expected) == 15
    for row, want in zip(rows, expected, strict=True):
        assert row["label"] == want.label and row["truth"] == want.truth
        assert abs(row["probability"] - want.probability) < 1e-4


def test_backend_loads_a_run_directory_or_a_file(exported: Callable[[str], Path]) -> None:
    run_dir = exported("seed-baseline")
    from_dir = OnnxBackend.load(run_dir)
    from_file = OnnxBackend.load(run_dir / "model.onnx", threads=1)
    assert from_dir.classes == from_file.classes and from_dir.seq_len == 30
    x = np.zeros((2, 30, 2, 21, 3), np.float32)
    mask = np.ones((2, 30), np.float32)
    assert from_file.logits(x, mask).shape == (2, 50)


def test_corrupt_onnx_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07garbage, not a protobuf" * 10)
    with pytest.raises(ModelError, match=r"model\.onnx: not a readable ONNX model"):
        OnnxBackend.load(bad)
    with pytest.raises(ModelError, match="missing: no such ONNX model file or model directory"):
        OnnxBackend.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"no model\.onnx in this model directory"):
        OnnxBackend.load(tmp_path / "empty")
    result = subprocess.run(
        [sys.executable, "-m", "aslrec.cli", "predict", str(REPO / "README.md"), "--model",
         str(bad), "--backend", "onnx"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad}: not a readable ONNX model")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_onnx_without_aslrec_metadata_is_refused(exported, tmp_path: Path) -> None:
    import onnx

    proto = onnx.load(str(exported("seed-baseline") / "model.onnx"))
    del proto.metadata_props[:]
    plain = tmp_path / "plain.onnx"
    onnx.save(proto, str(plain))
    with pytest.raises(ModelError, match="not an aslrec ONNX model"):
        read_metadata(plain)


@pytest.mark.slow
def test_fresh_venv_with_onnx_extra_predicts_without_torch(
    exported: Callable[[str], Path], shared_data: Path, tmp_path: Path
) -> None:
    """`pip install ".[onnx]"` into an empty venv (PyPI or pip's cache), then predict."""
    source = tmp_path / "aslrec-src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        if (REPO / name).is_file():
            shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    venv = tmp_path / "venv"
    base_python = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base_python), "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "-c", "constraints.txt",
         ".[onnx]"],
        cwd=source, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"package index unreachable: {install.stderr.strip().splitlines()[-1]}")
    assert install.returncode == 0, install.stderr[-2000:]
    probe = subprocess.run(
        [str(bin_dir / "python"), "-c", "import importlib.util as u; "
         "print([m for m in ('torch', 'lightning', 'onnx', 'onnxruntime') if u.find_spec(m)])"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.stdout.strip() == "['onnxruntime']", probe.stdout + probe.stderr
    result = subprocess.run(
        [str(bin_dir / "aslrec"), "predict", str(shared_data / "samples" / "MP_Data"),
         "--model", str(exported("seed") / "model.onnx"), "--backend", "onnx", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 15 and all(row["label"] for row in rows)


CLI_SCRIPT = """
    import sys
    from aslrec.cli import main
    sys.argv = ["aslrec", *sys.argv[1:]]
    try:
        main()
    finally:
        check_no_train_modules()
    """


def test_every_inference_command_runs_without_torch(shared_data: Path) -> None:
    """The torch-free install, command by command: the default backend falls back to ONNX."""
    from aslrec.workflows.predict import demo_data_dir

    clip = sorted((demo_data_dir() / "clips").glob("*.npz"))[0]
    predict = run_blocked(CLI_SCRIPT, "predict", str(clip), "--json", "--top-k", "2")
    assert predict.returncode == 0, predict.stderr
    assert len(json.loads(predict.stdout)["predictions"]) == 2
    demo = run_blocked(CLI_SCRIPT, "demo")
    assert demo.returncode == 0, demo.stderr
    clips = len(list((demo_data_dir() / "clips").glob("*.npz")))
    assert f"/{clips} recognised correctly" in demo.stdout
    video = shared_data / "videos" / "hello.mp4"
    transcribe = run_blocked(
        CLI_SCRIPT, "transcribe", str(video), "--json", "--backend", "auto", blocked=TRAIN_ONLY
    )
    assert transcribe.returncode == 0, transcribe.stderr
    assert transcribe.stderr.strip().startswith("transcribe: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models"], "error: `aslrec models` builds PyTorch models: it needs the train extra"),
        (
            ["predict", "{clip}", "--backend", "torch"],
            "error: the torch backend needs PyTorch (pip install 'aslrec[train]')",
        ),
    ],
)
def test_torch_only_commands_say_so_in_one_line(args: list[str], message: str) -> None:
    from aslrec.workflows.predict import demo_data_dir

    clip = sorted((demo_data_dir() / "clips").glob("*.npz"))[0]
    result = run_blocked(CLI_SCRIPT, *(a.format(clip=clip) for a in args))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(message)


def test_exported_onnx_keeps_the_calibration(
    make_run: Callable[[str], Path], wlasl_clips: list, tmp_path: Path
) -> None:
    """Same top-k from the run directory on torch and from its lone .onnx file (no --backend)."""
    from aslrec.inference.recognizer import Recognizer
    from aslrec.numerics import softmax
    from aslrec.runs.calibration import Calibration, write_calibration
    from aslrec.workflows.export import export_run

    run_dir = tmp_path / "run"
    shutil.copytree(make_run("seed"), run_dir)
    write_calibration(run_dir, Calibration(temperature=0.37, threshold=0.42))
    onnx_file = tmp_path / "deploy" / "sign.onnx"
    onnx_file.parent.mkdir()
    export_run(run_dir, onnx_file)
    clips = wlasl_clips[::50]
    with (
        Recognizer.load(run_dir, backend="torch") as torch_model,
        Recognizer.load(onnx_file) as onnx_model,
    ):
        assert type(onnx_model.backend) is OnnxBackend
        assert (onnx_model.temperature, onnx_model.threshold) == (0.37, 0.42)
        want = torch_model.predict_clips(clips, top_k=3)
        got = onnx_model.predict_clips(clips, top_k=3)
        uncalibrated = softmax(onnx_model.logits(clips)).max(axis=1)
    for a, b in zip(want, got, strict=True):
        assert [label for label, _ in a.top_k] == [label for label, _ in b.top_k]
        np.testing.assert_allclose([p for _, p in a.top_k], [p for _, p in b.top_k], atol=1e-5)
    # what the ONNX file used to give: the same ranking, with temperature 1
    assert np.all(np.array([p.probability for p in got]) > uncalibrated + 1e-3)


def test_an_onnx_file_on_the_torch_backend_is_a_clear_error(
    exported: Callable[[str], Path],
) -> None:
    from aslrec.errors import ConfigError
    from aslrec.inference.recognizer import Recognizer

    onnx_file = exported("seed") / "model.onnx"
    with pytest.raises(ConfigError, match="an ONNX file runs on the onnx backend"):
        Recognizer.load(onnx_file, backend="torch")
