"""Inference backends: what turns preprocessed input into logits.

The :class:`~aslrec.inference.recognizer.Recognizer`, the streaming recogniser and the service
only need ``logits(x, mask)`` plus the preprocessing parameters, so a deployment can swap
PyTorch for another runtime (ONNX Runtime, issue #8) without touching them. Backends import
their runtime lazily.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from aslrec.data.preprocessing import PreprocessingSpec
from aslrec.errors import ConfigError
from aslrec.runs.directory import RunDirectory

BACKENDS = ("torch", "onnx")


class ClassifierBackend(Protocol):
    """A trained classifier with the preprocessing it expects."""

    classes: list[str]
    preprocessing: PreprocessingSpec
    config: dict[str, Any]
    """The run's whole manifest (``model_config.json``) as plain data."""

    @property
    def seq_len(self) -> int: ...

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(N, seq_len, 2, 21, 3)`` float32 and ``(N, seq_len)`` float32 -> ``(N, C)``."""
        ...


class TorchBackend:
    """A run directory's model in PyTorch (eval mode, no gradients)."""

    def __init__(self, model_dir: Path) -> None:
        self.run = RunDirectory(model_dir)
        self.model = self.run.model  # built now, so a broken run fails at load time
        self.classes = self.run.classes
        self.preprocessing = self.run.preprocessing
        self.config = self.run.config

    @property
    def seq_len(self) -> int:
        return self.preprocessing.seq_len

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from aslrec.models.logits import torch_logits  # torch: only for this backend

        return torch_logits(self.model, x, mask)


def load_backend(model_dir: str | os.PathLike[str], backend: str = "torch") -> ClassifierBackend:
    if backend == "torch":
        return TorchBackend(Path(model_dir))
    if backend == "onnx":
        from aslrec.inference.onnx_backend import OnnxBackend

        return OnnxBackend.load(Path(model_dir))
    raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
