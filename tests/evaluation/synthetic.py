"""Synthetic softmax outputs for metric and plot tests (shapes and maths, not accuracy claims)."""

from __future__ import annotations

import numpy as np


def synthetic_probs(
    n: int, c: int, seed: int = 0, margin: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities whose true class gets ``margin`` extra logit."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c))
    logits[np.arange(n), y] += margin
    p = np.exp(logits)
    return y, p / p.sum(axis=1, keepdims=True)
