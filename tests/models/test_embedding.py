"""The cosine last layer: logits from angles only, on one learned scale."""

from __future__ import annotations

import pytest
import torch

from aslrec.models.embedding import CosineClassifier
from aslrec.models.registry import count_parameters, create_model


def test_cosine_logits_depend_on_the_angle_only_and_stay_within_the_scale() -> None:
    torch.manual_seed(0)
    head = CosineClassifier(16, 5, initial_scale=12.0)
    features = torch.randn(4, 16)
    logits = head(features)
    torch.testing.assert_close(head(features * 7.5), logits)
    assert logits.abs().max() <= 12.0 + 1e-4
    # a clip along a class's weight scores exactly the scale for that class
    assert head(head.weight[2:3].detach() * 3)[0, 2].item() == pytest.approx(12.0, rel=1e-5)


def test_hybrid_with_a_cosine_head() -> None:
    torch.manual_seed(0)
    linear = create_model("isl-hybrid", num_classes=77)
    cosine = create_model("isl-hybrid", num_classes=77, head="cosine").eval()
    # the linear layer's 77 biases give way to one scale
    assert count_parameters(cosine) == count_parameters(linear) - 77 + 1
    landmarks, mask = torch.randn(2, 30, 2, 21, 3), torch.ones(2, 30)
    with torch.no_grad():
        _, logits = cosine.embed_and_logits(landmarks, mask)
        torch.testing.assert_close(cosine(landmarks, mask), logits)
    assert logits.abs().max() <= cosine.head[-1].scale.item() + 1e-4
    with pytest.raises(ValueError, match="head must be"):
        create_model("isl-hybrid", num_classes=77, head="arc")
