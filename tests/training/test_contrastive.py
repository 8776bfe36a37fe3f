"""The supervised contrastive loss (``supcon_weight``): its values, and a training step with it."""

from __future__ import annotations

import math

import pytest
import torch

from aslrec.errors import ConfigError
from aslrec.models.registry import create_model
from aslrec.runs.config import preset
from aslrec.training.contrastive import supcon_loss
from aslrec.training.module import ClassifierModule


def test_a_tiny_case_equals_the_hand_computed_value() -> None:
    # Three clips: 0 and 1 of class 0 at 90 degrees, 2 of class 1 opposite clip 0.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1])
    tau = 0.5
    # anchor 0: positive 1 (cos 0), others {1 (cos 0), 2 (cos -1)}
    l0 = -math.log(math.exp(0) / (math.exp(0) + math.exp(-1 / tau)))
    # anchor 1: positive 0 (cos 0), others {0 (cos 0), 2 (cos 0)}
    l1 = -math.log(1 / 2)
    # anchor 2 has no positive: left out of the mean
    assert supcon_loss(z, y, tau).item() == pytest.approx((l0 + l1) / 2, rel=1e-6)
    # lengths do not matter: the embeddings are normalised first
    assert supcon_loss(3 * z, y, tau).item() == pytest.approx((l0 + l1) / 2, rel=1e-6)


def test_coinciding_classes_score_lower_than_mixed_ones() -> None:
    y = torch.tensor([0, 0, 1, 1])
    together = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    mixed = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    assert supcon_loss(together, y, 0.1) < supcon_loss(mixed, y, 0.1)
    # with each class at one point, the loss is log(1 + 2 exp(-2 / tau)) per anchor
    expected = math.log(1 + 2 * math.exp(-2 / 0.1))
    assert supcon_loss(together, y, 0.1).item() == pytest.approx(expected, abs=1e-6)


def test_no_positive_in_the_batch_gives_zero_with_a_gradient() -> None:
    z = torch.randn(4, 8, requires_grad=True)
    loss = supcon_loss(z, torch.arange(4), 0.1)
    assert loss.item() == 0.0
    loss.backward()
    assert z.grad is not None and torch.all(z.grad == 0)


def test_the_gradient_is_finite_and_a_step_lowers_the_loss() -> None:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=generator, requires_grad=True)
    y = torch.arange(16) % 4
    before = supcon_loss(z, y, 0.1)
    before.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    with torch.no_grad():
        after = supcon_loss(z - 0.05 * z.grad, y, 0.1)
    assert after < before


def test_the_config_refuses_a_negative_weight_or_a_zero_temperature() -> None:
    with pytest.raises(ConfigError, match="supcon_weight"):
        preset("seed").updated(supcon_weight=-1)
    with pytest.raises(ConfigError, match="supcon_temperature"):
        preset("seed").updated(supcon_temperature=0)
    assert preset("best-fast").optim.supcon_weight == 0.0  # off unless asked for


def test_training_steps_with_supcon_reduce_it() -> None:
    """A few optimizer steps of the best-fast model with SupCon on one fixed batch (mixup and
    the preset's augmentations included) lower the contrastive part of the loss."""
    torch.manual_seed(0)
    config = preset("best-fast").updated(supcon_weight=1.0, supcon_temperature=0.1)
    model = create_model("isl-hybrid", num_classes=3, **config.model.constructor_kwargs())
    module = ClassifierModule(model, config, None)
    logged: dict[str, float] = {}

    def log(name: str, value: torch.Tensor, **_: object) -> None:
        logged[name] = float(value.detach())

    module.log = log  # type: ignore[method-assign]
    generator = torch.Generator().manual_seed(1)
    # three classes, four clips each: each class a different fixed motion plus noise
    base = torch.randn(3, 1, 16, 2, 21, 3, generator=generator)
    landmarks = (base + 0.1 * torch.randn(3, 4, 16, 2, 21, 3, generator=generator)).flatten(0, 1)
    mask = torch.ones(12, 16)
    labels = torch.arange(3).repeat_interleave(4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    values = []
    module.train()
    for _ in range(15):
        module.generator.manual_seed(2)  # the same augmentation draws every step
        loss = module._step((landmarks, mask, labels), "train")
        values.append(logged["train_supcon"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert math.isfinite(values[0])
    assert values[-1] < 0.8 * values[0]
