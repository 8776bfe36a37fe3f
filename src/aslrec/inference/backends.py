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

from aslrec.errors import ConfigError

BACKENDS = ("torch", "onnx")


class ClassifierBackend(Protocol):
    """A trained classifier with the preprocessing it expects."""

    classes: list[str]
    seq_len: int
    frame_sampling: str
    config: dict[str, Any]

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(N, seq_len, 2, 21, 3)`` float32 and ``(N, seq_len)`` float32 -> ``(N, C)``."""
        ...


class TorchBackend:
    """A run directory's model in PyTorch (eval mode, no gradients)."""

    def __init__(self, model_dir: Path) -> None:
        from aslrec.training.artifacts import load_run

        self.run = load_run(model_dir)
        self.classes = self.run.classes
        self.seq_len = self.run.seq_len
        self.frame_sampling = self.run.frame_sampling
        self.config = self.run.config

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return torch_logits(self.run.model, x, mask)


def torch_logits(model: Any, x: np.ndarray, mask: np.ndarray, batch: int = 256) -> np.ndarray:
    """A PyTorch model's logits in eval mode, ``batch`` clips at a time (bounded memory)."""
    import torch

    if model.training:  # eval() walks every submodule: 0.7 ms per call for isl-hybrid
        model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch]))
            mb = torch.from_numpy(np.ascontiguousarray(mask[start : start + batch]))
            out.append(model(xb, mb).numpy())
    return np.concatenate(out)


def load_backend(model_dir: str | os.PathLike[str], backend: str = "torch") -> ClassifierBackend:
    if backend == "torch":
        return TorchBackend(Path(model_dir))
    if backend == "onnx":
        from aslrec.export.onnx_backend import OnnxBackend

        return OnnxBackend.load(Path(model_dir))
    raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
