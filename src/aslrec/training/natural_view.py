"""Fitting :class:`~aslrec.models.symmetry.NaturalView` after training: which view looks trained.

A model with ``mirror_answer="natural"`` trains on clips as preprocessing gives them and, at
inference, reads whichever of a clip and its mirror image scores as more natural. The score is
a logistic regression on the difference between the two views' pooled frame features, fitted
here in closed form on the training clips: each clip as given against its mirror image, and the
pair the other way round, no intercept, so the fitted score of the difference is antisymmetric
(swap the views, its sign swaps) and the choice is the same for a clip and its mirror. Clips
that are their own mirror view (``mirror_canonical``) say nothing and are left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from aslrec.models.logits import in_batches
from aslrec.models.symmetry import MirrorAveraged

C = 0.1
"""Inverse regularisation of the logistic regression (standardised features)."""


@dataclass(frozen=True)
class NaturalFit:
    """What a fit did: shown by ``aslrec train``."""

    pairs: int
    given_chosen: float
    """Share of the training clips whose own view scores the more natural (the fit's accuracy)."""
    seconds: float


def needs_natural_view(model: nn.Module) -> bool:
    """Whether ``model`` answers with a natural view that :func:`fit_natural_view` must fit."""
    return isinstance(model, MirrorAveraged) and model.answer == "natural"


def fit_natural_view(model: MirrorAveraged, x: np.ndarray, mask: np.ndarray) -> NaturalFit:
    """Fit ``model.natural`` on training clips ``x (N, T, 2, 21, 3)``, ``mask (N, T)``; in
    place."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    scorer = model.natural

    def difference(landmarks: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        mirrored = model.mirrored_view(landmarks, frame_mask)
        return scorer.pooled(landmarks, frame_mask) - scorer.pooled(mirrored, frame_mask)

    d = torch.cat(in_batches(difference, x, mask, 512)).double().numpy()
    d = d[np.abs(d).sum(axis=1) > 0]  # a clip that is its own mirror view: no pair
    if not len(d):
        return NaturalFit(pairs=0, given_chosen=float("nan"), seconds=0.0)
    std = np.sqrt((d * d).mean(axis=0))  # about 0: the difference is symmetric around it
    std[std < 1e-6] = 1.0
    scaled = d / std
    pairs = np.concatenate([scaled, -scaled])
    target = np.concatenate([np.ones(len(d)), np.zeros(len(d))])
    fitted = LogisticRegression(C=C, fit_intercept=False, max_iter=5000).fit(pairs, target)
    weight = fitted.coef_[0]  # naturalness: a clip's own view scores higher when it is natural
    with torch.no_grad():
        scorer.std.copy_(torch.from_numpy(std))
        scorer.weight.copy_(torch.from_numpy(weight))
    return NaturalFit(
        pairs=len(d),
        given_chosen=float((scaled @ weight > 0).mean()),
        seconds=time.perf_counter() - started,
    )
