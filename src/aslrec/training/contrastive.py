"""Supervised contrastive loss (SupCon; Khosla et al., NeurIPS 2020) on the embedding.

Why: a sign added later from a few examples (:mod:`aslrec.models.prototypes`) is scored by the
cosine between a clip's L2-normalised embedding and the normalised mean of its examples'. Cross-
entropy alone only asks the embedding to be linearly separable for the trained signs; it does
not ask clips of one sign to lie close together in angle, which is what a prototype of an
unseen sign relies on. SupCon asks exactly that: each clip (the anchor) is pulled towards the
other clips of its class in the batch and pushed from the rest, on the unit sphere.

For anchor ``i`` with positives ``P(i)`` (the other clips of its class in the batch) and
``A(i)`` every other clip, with ``z`` the normalised embeddings and ``tau`` the temperature::

    L_i = -1/|P(i)| * sum_{p in P(i)} log(exp(z_i.z_p / tau) / sum_{a in A(i)} exp(z_i.z_a / tau))

(the paper's ``L_out``, eq. 2). The loss is the mean of ``L_i`` over the anchors that have at
least one positive; a batch where none has one gives 0 (still attached to the graph).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def supcon_loss(
    embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """SupCon ``L_out`` of ``(B, D)`` embeddings (normalised here) with ``(B,)`` labels."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = F.normalize(embeddings.float(), dim=-1, eps=1e-12)
    n = z.shape[0]
    self_pair = torch.eye(n, dtype=torch.bool, device=z.device)
    similarity = (z @ z.T / temperature).masked_fill(self_pair, float("-inf"))
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~self_pair
    count = positive.sum(dim=1)
    has_positive = count > 0
    if not bool(has_positive.any()):
        return z.sum() * 0.0
    # the self pair's -inf never meets a positive: zero it before the masked sum
    summed = log_prob.masked_fill(~positive, 0.0).sum(dim=1)
    per_anchor = -summed[has_positive] / count[has_positive]
    return per_anchor.mean()
