"""Signs added from a few examples: class prototypes beside a trained classifier, no retraining.

:class:`PrototypeHead` wraps any registered model (bare or
:class:`~aslrec.models.symmetry.MirrorAveraged`): the old classes keep the wrapped classifier's
logits exactly, and each added class gets ``scale * cos(embedding, prototype) + bias``, its
prototype being the normalised mean of its examples' normalised embeddings
(:meth:`~aslrec.models.embedding.EmbeddingModel.embed`). Prototypes, scale and bias are buffers,
so they travel in ``model.safetensors`` with the weights and through ONNX export (which class
each prototype scores is the manifest's ``added_signs``). Examples of a sign the model already
knows add a prototype for that sign (personalisation): its logit becomes the larger of the
classifier's and the prototype's, so a user's own style can only raise that sign's score.

Why a fitted scale and bias: a cosine lies in [-1, 1] while logits span tens, so raw cosines
would never win (or always win) against the old classes. :func:`fit_scale` puts the cosine
logits on the classifier's scale from the old classes themselves: it builds each old class's
prototype from its training clips and fits ``logit ~ scale * cos + bias`` by least squares over
every (clip, old class) pair. The own-class pairs make a class's prototype logit match its
classifier logit where it matters (the top); the other pairs pin the slope, which own-class
cosines alone (all near 1) cannot, and put the losing classes' prototype logits where the
classifier's losing logits are. Two numbers, closed form, milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from aslrec.models.logits import in_batches


class PrototypeHead(nn.Module):
    """``model``'s logits for its ``base_classes`` classes and for added ones, from prototypes.

    Prototype ``p`` scores class ``targets[p]``: an added class (index ``>= base_classes``,
    each with at least one prototype) gets the best of its prototypes' cosine logits; a trained
    class with prototypes of its own (a user's examples of a known sign, personalisation) gets
    the best of its classifier logit and theirs. Every other logit is the classifier's,
    bit for bit (a maximum with minus infinity).
    """

    def __init__(
        self,
        model: nn.Module,
        prototypes: torch.Tensor,
        targets: list[int],
        base_classes: int,
        scale: float,
        bias: float,
    ) -> None:
        super().__init__()
        if len(targets) != len(prototypes) or not targets:
            raise ValueError(f"{len(prototypes)} prototypes for {len(targets)} targets")
        total = max(base_classes, max(targets) + 1)
        if set(range(base_classes, total)) - set(targets):
            raise ValueError(f"an added class without a prototype in {targets}")
        self.model = model
        self.base_classes = base_classes
        self.targets = list(targets)
        self.register_buffer("prototypes", normalised(prototypes.detach().float()))
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.register_buffer("bias", torch.tensor(float(bias)))
        scores = torch.zeros(len(targets), total, dtype=torch.bool)
        scores[torch.arange(len(targets)), torch.tensor(targets)] = True
        self.register_buffer("scores", scores, persistent=False)

    @classmethod
    def like(
        cls, model: nn.Module, targets: list[int], base_classes: int, dim: int
    ) -> PrototypeHead:
        """An empty head of the right shapes, for ``load_state_dict``."""
        return cls(model, torch.zeros(len(targets), dim), targets, base_classes, 1.0, 0.0)

    def embed_and_logits(
        self, landmarks: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features, logits = self.model.embed_and_logits(landmarks, mask)
        return features, self.extend(features, logits)

    def extend(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """The wrapped model's ``logits`` with the prototypes' cosine logits merged in."""
        cosine = self.scale * (normalised(features) @ self.prototypes.T) + self.bias
        best = cosine[:, :, None].masked_fill(~self.scores, float("-inf")).amax(dim=1)
        added = self.scores.shape[1] - logits.shape[1]
        padded = nn.functional.pad(logits, (0, added), value=float("-inf"))
        return torch.maximum(padded, best)

    def forward(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.embed_and_logits(landmarks, mask)[1]


def normalised(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (an all-zero row stays zero)."""
    return nn.functional.normalize(x, dim=-1, eps=1e-12)


def prototype(embeddings: torch.Tensor) -> torch.Tensor:
    """One class's prototype: the normalised mean of its normalised example embeddings."""
    return normalised(normalised(embeddings).mean(dim=0))


def class_prototypes(embeddings: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """``(classes, D)`` prototypes of labelled embeddings (every class must have one)."""
    return torch.stack([prototype(embeddings[labels == c]) for c in range(classes)])


@dataclass(frozen=True)
class ScaleFit:
    """:func:`fit_scale`'s result, with how well the line fits (R^2 over all pairs)."""

    scale: float
    bias: float
    r2: float


def fit_scale(embeddings: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> ScaleFit:
    """Least-squares ``logits[i, c] ~ scale * cos(embeddings[i], prototype_c) + bias`` over
    every clip ``i`` and class ``c`` of the wrapped classifier (see the module docstring)."""
    protos = class_prototypes(embeddings, labels, logits.shape[1])
    cos = (normalised(embeddings) @ protos.T).double().flatten()
    z = logits.double().flatten()
    cos_c, z_c = cos - cos.mean(), z - z.mean()
    scale = float((cos_c * z_c).sum() / (cos_c * cos_c).sum().clamp(min=1e-12))
    bias = float(z.mean() - scale * cos.mean())
    residual = z_c - scale * cos_c
    r2 = float(1 - (residual * residual).sum() / (z_c * z_c).sum().clamp(min=1e-12))
    return ScaleFit(scale, bias, r2)


def embed_arrays(
    model: nn.Module, x: np.ndarray, mask: np.ndarray, batch: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(embeddings, logits)`` of preprocessed clips in eval mode, ``batch`` clips at a time."""
    model.eval()
    parts = in_batches(model.embed_and_logits, x, mask, batch)
    return torch.cat([f for f, _ in parts]), torch.cat([z for _, z in parts])


def mutual_similarity(embeddings: torch.Tensor) -> float:
    """Mean cosine between distinct pairs of embeddings (1.0 for a single one)."""
    n = len(embeddings)
    if n < 2:
        return 1.0
    total = normalised(embeddings).sum(dim=0)
    return float(((total @ total) - n) / (n * (n - 1)))
