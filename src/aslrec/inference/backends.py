"""Inference backends: what turns preprocessed input into logits.

The :class:`~aslrec.inference.recognizer.Recognizer`, the streaming recogniser and the service
only need ``logits(x, mask)`` plus the preprocessing parameters, so a deployment can swap
PyTorch for another runtime (ONNX Runtime, issue #8) without touching them. Backends import
their runtime lazily.

The default backend, ``auto``, is what makes the torch-free install (``pip install
"aslrec[onnx]"``) work with every command: PyTorch when it is installed, else ONNX Runtime, and
ONNX Runtime for any ``.onnx`` file. The bundled model ships its ``model.onnx`` for this.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from aslrec.data.preprocessing import PreprocessingSpec
from aslrec.errors import ConfigError, ModelError
from aslrec.runs.calibration import Calibration, read_calibration
from aslrec.runs.directory import RunDirectory

BACKENDS = ("auto", "torch", "onnx")
TRAIN_EXTRA = "pip install 'aslrec[train]'"


class ClassifierBackend(Protocol):
    """A trained classifier with the preprocessing it expects."""

    classes: list[str]
    preprocessing: PreprocessingSpec
    config: dict[str, Any]
    """The run's whole manifest (``model_config.json``) as plain data."""
    calibration: Calibration | None
    """The temperature and unknown threshold stored with the model (None: uncalibrated)."""

    @property
    def seq_len(self) -> int: ...

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(N, seq_len, 2, 21, 3)`` float32 and ``(N, seq_len)`` float32 -> ``(N, C)``."""
        ...


class TorchBackend:
    """A run directory's model in PyTorch (eval mode, no gradients)."""

    def __init__(self, model_dir: Path) -> None:
        if model_dir.suffix.lower() == ".onnx" and model_dir.is_file():
            raise ConfigError(f"{model_dir}: an ONNX file runs on the onnx backend, not torch")
        if not torch_available():
            raise ConfigError(
                f"the torch backend needs PyTorch ({TRAIN_EXTRA}); or use --backend onnx"
            )
        self.run = RunDirectory(model_dir)
        self.model = self.run.model  # built now, so a broken run fails at load time
        self.classes = self.run.classes
        self.preprocessing = self.run.preprocessing
        self.config = self.run.config
        self.calibration = read_calibration(model_dir)

    @property
    def seq_len(self) -> int:
        return self.preprocessing.seq_len

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from aslrec.models.logits import torch_logits  # torch: only for this backend

        return torch_logits(self.model, x, mask)


def torch_available() -> bool:
    """True when PyTorch can be imported (the ``train`` extra is installed)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except ImportError:  # a broken install or an import hook refusing it
        return False


def resolve_backend(model: str | os.PathLike[str], backend: str = "auto") -> str:
    """``"torch"`` or ``"onnx"``: ``backend`` itself, or for ``"auto"`` ONNX Runtime for a
    ``.onnx`` file, else PyTorch when installed, else ONNX Runtime."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    path = Path(model)
    if path.suffix.lower() == ".onnx" and path.is_file():
        return "onnx"
    return "torch" if torch_available() else "onnx"


def load_backend(model: str | os.PathLike[str], backend: str = "auto") -> ClassifierBackend:
    """A run directory or ``.onnx`` file on ``backend`` (see :func:`resolve_backend`)."""
    path = Path(model)
    if resolve_backend(path, backend) == "torch":
        return TorchBackend(path)
    from aslrec.inference.onnx_backend import INT8_FILENAME, MODEL_FILENAME, OnnxBackend

    exported = any((path / name).is_file() for name in (MODEL_FILENAME, INT8_FILENAME))
    if backend == "auto" and path.is_dir() and not exported:
        raise ModelError(
            f"{path}: no {MODEL_FILENAME} for ONNX Runtime, and PyTorch is not installed to run "
            f"the model directly ({TRAIN_EXTRA}, or `aslrec export` it where torch is)"
        )
    return OnnxBackend.load(path)
