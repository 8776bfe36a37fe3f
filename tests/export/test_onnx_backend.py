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
BLOCKER = textwrap.dedent(
    f"""
    import sys

    BLOCKED = {(*TRAIN_ONLY, "matplotlib")!r}

    class TrainOnly:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)")
            return None

    sys.meta_path.insert(0, TrainOnly())

    def check_no_train_modules():
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        if leaked:
            sys.exit(f"train-only modules imported: {{leaked}}")
    """
)
# Modules that are training-time by nature and may need torch.
TRAINING_ONLY_MODULES = {"aslrec.data.augment", "aslrec.data.masking"}


def run_blocked(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASLREC_NATIVE_LOGS": ""},
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
