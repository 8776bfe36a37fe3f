"""Mirror invariance as part of a model: a clip and its left-right mirror image get one answer.

A left-handed signer's sign is the mirror image of a right-handed signer's, and sources
disagree about which way round their video is (selfie views, data sets stored mirrored), so in
ASL a mirror changes who signed, not what was signed. Training on mirrored copies alone leaves
the two answers free to differ; :class:`MirrorAveraged` removes the freedom: in eval mode it
averages the wrapped model's logits over the input and its mirror
(:func:`aslrec.data.augment.mirror_batch`), so ``g(x) == g(mirror(x))`` holds exactly. It does so
for whole clips too, because aslrec's preprocessing of a mirrored clip gives either the
mirrored input (it is mirror-equivariant) or, when it mirrors left-handed signing onto the
right hand, the very same input: either way the pair {input, mirror} is the same.

Being inside the network, the averaging reaches every consumer unchanged: training's held-out
scores, the Recognizer, streaming, distillation teachers and the exported ONNX graph.
In training mode each clip goes through once, mirrored with probability 1/2 (the flip
augmentation), so training costs what the bare model costs; eval costs two passes, run as one
batch.
"""

from __future__ import annotations

import torch
from torch import nn

from aslrec.data.augment import mirror_batch


class MirrorAveraged(nn.Module):
    """``model`` made exactly invariant to a left-right mirror of its input (eval mode)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def embed_and_logits(
        self, landmarks: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The wrapped model's embedding and logits, each averaged over the two views in eval
        mode (so a prototype head on the embedding is mirror-invariant too)."""
        if self.training:
            flip = torch.rand(landmarks.shape[0], device=landmarks.device) < 0.5
            views = torch.where(flip[:, None, None, None, None], mirror_batch(landmarks), landmarks)
            return self.model.embed_and_logits(views, mask)
        features, logits = self.model.embed_and_logits(
            torch.cat([landmarks, mirror_batch(landmarks)]), torch.cat([mask, mask])
        )
        return _view_mean(features), _view_mean(logits)

    def forward(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.embed_and_logits(landmarks, mask)[1]


def _view_mean(both: torch.Tensor) -> torch.Tensor:
    """The mean of a batch's first half (the inputs) and second half (their mirrors)."""
    original, mirrored = both.chunk(2)
    return (original + mirrored) / 2
