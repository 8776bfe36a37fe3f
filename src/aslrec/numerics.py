"""Shared numerics on logits: softmax with a temperature, log-sum-exp, negative log-likelihood.

One implementation for every layer (training reports, backends, calibration, benchmarks), so a
probability means the same thing wherever it is computed. All work in float64 and shift by the
row maximum, so large logits cannot overflow.
"""

from __future__ import annotations

import numpy as np


def logsumexp(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Per-row ``log(sum(exp(logits / T)))`` of an ``(N, C)`` array."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    peak = z.max(axis=1)
    return peak + np.log(np.exp(z - peak[:, None]).sum(axis=1))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise ``softmax(logits / T)`` of an ``(N, C)`` array (rows sum to 1)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of the true classes ``y`` under softmax(logits / T)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    return float(np.mean(logsumexp(z) - z[np.arange(len(y)), y]))
