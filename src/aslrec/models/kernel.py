"""``handshape-svm``: an RBF support-vector machine on each frame's hand shape.

Why: on people it never saw, a kernel on raw hand shape reads static letters about as well as
the trained networks, and makes other mistakes than they do, so the two average well
(fingerspelling16 with people held out: benchmarks/RESULTS.md, "New signers"). It is a registry
model like the others, ``forward(landmarks, mask) -> logits``, so runs, ensembles, calibration,
add-sign, ONNX export and the browser take it as they are; only training differs:
:func:`aslrec.training.kernel.fit_svm` solves for it in closed form (libsvm, via scikit-learn)
instead of running epochs.

The computation: each frame's :func:`~aslrec.models.features.hand_shape` of both hands,
standardised; an RBF kernel to every support vector; averaged over the frames that show a hand
(the embedding: a still letter is one frame, a moving sign the mean of its frames). libsvm's
one-vs-one decisions ``d_ij`` on that embedding are coupled into one logit per class,
``z_i = sum_j log sigmoid(scale * d_ij)`` (a Bradley-Terry reading of the pairwise votes, smooth
where votes are not), with ``scale`` fitted on decisions for clips left out of the fit.

Constructed, the machine is random (as a network is before training); fitted, it has as many
support vectors as its data needed, and loading a run resizes it to what the weights hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from aslrec.errors import ConfigError
from aslrec.models.embedding import EmbeddingModel
from aslrec.models.features import HAND_SHAPE_FEATURES, hand_shape, hands_present
from aslrec.models.registry import register_model

FEATURES = 2 * HAND_SHAPE_FEATURES


class HandShapeSVM(EmbeddingModel):
    """Parameters: ``support`` (S, F) support vectors in standardised feature space, ``coef``
    (S, C): support vector ``s``'s coefficient in each pair (its class, ``c``), ``intercept``
    (C, C): libsvm's ``b_ij`` for ``i < j`` (zero elsewhere), ``log_scale``. Buffers: the
    features' ``mean`` and ``std``, ``membership`` (S, C) one-hot class of each support
    vector, the kernel width ``gamma``."""

    def __init__(self, num_classes: int = 77, support_per_class: int = 4) -> None:
        super().__init__()
        count = support_per_class * num_classes
        self.support = nn.Parameter(torch.randn(count, FEATURES))
        self.coef = nn.Parameter(torch.randn(count, num_classes))
        self.intercept = nn.Parameter(torch.zeros(num_classes, num_classes).triu(1))
        self.log_scale = nn.Parameter(torch.zeros(()))
        self.register_buffer("mean", torch.zeros(FEATURES))
        self.register_buffer("std", torch.ones(FEATURES))
        self.register_buffer("membership", torch.eye(num_classes).repeat(support_per_class, 1))
        self.register_buffer("gamma", torch.tensor(1.0 / HAND_SHAPE_FEATURES))
        ones = torch.ones(num_classes, num_classes)
        # +1 above the diagonal, -1 below: d_ji = -d_ij.
        self.register_buffer("orientation", ones.triu(1) - ones.tril(-1), persistent=False)

    @property
    def num_classes(self) -> int:
        return self.coef.shape[1]

    def frame_features(self, landmarks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(..., 2, 21, 3)`` -> both hands' shape ``(..., FEATURES)``, not standardised, and
        ``(..., FEATURES)``: 1 where the feature's hand is present."""
        present = hands_present(landmarks)[..., None].expand(
            *landmarks.shape[:-2], HAND_SHAPE_FEATURES
        )
        return hand_shape(landmarks).flatten(-2), present.flatten(-2)

    def standardised(self, landmarks: torch.Tensor) -> torch.Tensor:
        """Each present hand's features standardised (by statistics of present hands); an
        absent hand's are 0, so two frames with the same one hand compare on that hand alone."""
        features, present = self.frame_features(landmarks)
        return (features - self.mean) / self.std * present

    def kernel(self, features: torch.Tensor) -> torch.Tensor:
        """Standardised frames ``(..., F)`` -> their RBF kernel to every support vector
        ``(..., S)``, in float64: in float32 the distances' rounding (~1e-6 of a kernel value)
        grew, through hundreds of coefficients up to C, into decisions 2e-4 apart between
        runtimes."""
        features, support = features.double(), self.support.double()
        squared = (
            (features * features).sum(-1, keepdim=True)
            - 2 * features @ support.T
            + (support * support).sum(-1)
        )
        return torch.exp(-self.gamma.double() * squared.clamp(min=0))

    def embed(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        kernel = self.kernel(self.standardised(landmarks))  # (B, T, S)
        weight = frames_with_a_hand(landmarks, mask).to(kernel.dtype)[..., None]
        pooled = (kernel * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1)
        return pooled.to(landmarks.dtype)

    def decisions(self, kernel: torch.Tensor) -> torch.Tensor:
        """``(B, S)`` embedding -> ``(B, C, C)`` one-vs-one decisions, ``d_ij > 0`` for ``i``
        (float64, for the reason :meth:`embed` gives)."""
        # per_class[b, c, k]: what class c's support vectors say in the pair (c, k)
        per_class = torch.einsum(
            "bs,sc,sk->bck", kernel.double(), self.membership.double(), self.coef.double()
        )
        both = per_class + per_class.transpose(1, 2)
        intercept = self.intercept.double()
        return self.orientation.double() * both + intercept - intercept.T

    def classify(self, kernel: torch.Tensor) -> torch.Tensor:
        scaled = self.log_scale.double().exp() * self.decisions(kernel)
        return coupled_logits(scaled, self.orientation.double()).to(kernel.dtype)

    def _load_from_state_dict(
        self, state_dict: Mapping[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # A fitted machine keeps the support vectors its data needed: take the stored sizes.
        for name in ("support", "coef", "membership"):
            stored = state_dict.get(prefix + name)
            current = getattr(self, name)
            if stored is not None and stored.shape[0] != current.shape[0]:
                resized = current.new_empty((stored.shape[0], *current.shape[1:]))
                if isinstance(current, nn.Parameter):
                    setattr(self, name, nn.Parameter(resized))
                else:
                    self.register_buffer(name, resized)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def frames_with_a_hand(landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` bool: valid frames that show at least one hand (the frames the machine reads)."""
    return (landmarks.abs().sum(dim=(-1, -2, -3)) > 0) & (mask > 0)


def coupled_logits(decisions: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
    """``(B, C, C)`` scaled pairwise decisions -> ``(B, C)``: ``sum_j log sigmoid(d_ij)``, off
    the diagonal. Written as ``min(d, 0) - log(1 + exp(-|d|))``: ONNX's ``Log(Sigmoid(d))``
    gives -inf from ``d`` of about -104."""
    pairwise = decisions.clamp(max=0) - torch.log1p(torch.exp(-decisions.abs()))
    return (pairwise * orientation.abs()).sum(dim=-1)


@register_model("handshape-svm")
def handshape_svm(
    num_classes: int = 77, support_per_class: int = 4, dropout: float = 0.0
) -> HandShapeSVM:
    """``dropout`` is every model spec's; a kernel machine has none, so it must be left at 0
    (the ``handshape-svm`` preset does)."""
    if dropout:
        raise ConfigError("handshape-svm has no dropout: set dropout=0")
    return HandShapeSVM(num_classes, support_per_class)
