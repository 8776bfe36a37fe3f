"""Training-time augmentation as small, composable, seedable functions on batches.

Each transform takes landmarks ``(B, T, 2, 21, 3)``, the per-hand presence ``(B, T, 2)`` and a
``torch.Generator`` and returns new landmarks; absent hands stay exactly zero, so "no hand"
keeps meaning the same thing after augmentation. Applied to training batches only.
"""

from __future__ import annotations

import torch


def gaussian_noise(
    landmarks: torch.Tensor, presence: torch.Tensor, std: float, generator: torch.Generator
) -> torch.Tensor:
    """The seed card's augmentation: i.i.d. Gaussian noise on present landmarks.

    ``std`` is in normalised units (coordinates span [-1, 1]); the seed preset's 0.02 is about
    1% of the coordinate range, well under the ~0.1 spacing between neighbouring finger joints.
    """
    if std <= 0:
        return landmarks
    noise = torch.randn(landmarks.shape, generator=generator, dtype=landmarks.dtype) * std
    return landmarks + noise * presence[..., None, None].to(landmarks.dtype)
