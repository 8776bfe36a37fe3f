"""What every registered model shares: a penultimate embedding, then one linear layer.

``forward = classify(embed(landmarks, mask))``, with ``classify`` the model's last linear
layer, so the embedding is exactly what the classifier reads. A head added later (class
prototypes, :mod:`aslrec.models.prototypes`) compares clips in this space, and
:meth:`embed_and_logits` gives both from one pass, the logits bit-identical to ``forward``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


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


class CosineClassifier(nn.Module):
    """``scale * cos(embedding, class weight)``: a last layer whose logits depend only on the
    angle between a clip and each class (Qi et al. 2018, "Low-shot learning with imprinted
    weights").

    Why: a sign added later from a few examples (:mod:`aslrec.models.prototypes`) scores
    ``scale * cos(embedding, prototype)``; with this head its logits are on exactly the
    trained classes' scale, and training has already shaped the embedding into directions,
    which is what a prototype averages. ``scale`` is learned (from ``initial_scale``).
    """

    def __init__(self, in_features: int, num_classes: int, initial_scale: float = 10.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.normal_(self.weight, std=in_features**-0.5)
        self.log_scale = nn.Parameter(torch.tensor(math.log(initial_scale)))

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.exp()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(features, dim=-1) @ F.normalize(self.weight, dim=-1).T
