"""What every registered model shares: a penultimate embedding, then one linear layer.

``forward = classify(embed(landmarks, mask))``, with ``classify`` the model's last linear
layer, so the embedding is exactly what the classifier reads. A head added later (class
prototypes, :mod:`aslrec.models.prototypes`) compares clips in this space, and
:meth:`embed_and_logits` gives both from one pass, the logits bit-identical to ``forward``.
"""

from __future__ import annotations

import torch
from torch import nn


class EmbeddingModel(nn.Module):
    """Base of the registered models: subclasses define :meth:`embed` and :meth:`classify`."""

    def embed(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` penultimate embedding of ``landmarks (B, T, 2, 21, 3)``, ``mask (B, T)``."""
        raise NotImplementedError

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` embedding -> ``(B, C)`` logits: the model's last linear layer."""
        raise NotImplementedError

    def embed_and_logits(
        self, landmarks: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.embed(landmarks, mask)
        return features, self.classify(features)

    def forward(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.embed_and_logits(landmarks, mask)[1]
