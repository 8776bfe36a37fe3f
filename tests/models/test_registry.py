"""Every registered model: builds, output shape, parameter count, padding invariance."""

from __future__ import annotations

import pytest
import torch

from aslrec.errors import ConfigError
from aslrec.models import count_parameters, create_model, list_models

# Parameter counts for 77 classes; the seed's is the card's published figure.
EXPECTED_PARAMETERS = {
    "seed": 3_258_574,
    "seed-baseline": 323_977,
    "isl-hybrid": 934_091,
    "isl-transformer": 769_325,
}


def test_every_model_has_an_expected_count() -> None:
    assert set(list_models()) == set(EXPECTED_PARAMETERS)


@pytest.mark.parametrize("name", list_models())
def test_model_shapes_and_parameters(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=77).eval()
    assert count_parameters(model) == EXPECTED_PARAMETERS[name]
    landmarks = torch.randn(3, 30, 2, 21, 3)
    mask = torch.ones(3, 30)
    mask[1, 17:] = 0
    with torch.no_grad():
        logits = model(landmarks, mask)
    assert logits.shape == (3, 77)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", list_models())
def test_padded_frames_do_not_change_logits(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=10).eval()
    landmarks = torch.randn(4, 30, 2, 21, 3)
    mask = torch.ones(4, 30)
    mask[0, 20:] = 0  # trailing padding
    mask[1, ::3] = 0  # holes
    mask[2, 1:] = 0  # a single frame
    changed = landmarks.clone()
    changed[mask == 0] = torch.randn_like(changed[mask == 0]) * 10
    with torch.no_grad():
        assert torch.allclose(model(landmarks, mask), model(changed, mask), atol=1e-5)


@pytest.mark.parametrize("name", list_models())
def test_train_mode_step_runs(name: str) -> None:
    model = create_model(name, num_classes=5).train()
    mask = torch.ones(4, 30)
    mask[0, 10:] = 0
    loss = model(torch.randn(4, 30, 2, 21, 3), mask).logsumexp(dim=1).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown model 'nope'; known models: isl-hybrid, "):
        create_model("nope", num_classes=3)
