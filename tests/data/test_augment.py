"""Each augmentation: shape, mask handling (absent hands stay zero) and determinism under a seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aslrec.data import augment
from aslrec.data.loaders import load_dataset
from aslrec.data.preprocessing import clips_to_arrays
from aslrec.errors import ConfigError


@pytest.fixture(scope="module")
def batch(shared_data: Path) -> tuple[torch.Tensor, torch.Tensor]:
    x, mask = clips_to_arrays(load_dataset(shared_data / "samples" / "MP_Data"))
    mask[0, 20:] = 0  # a shorter clip
    x[0, 20:] = 0
    return torch.from_numpy(x), torch.from_numpy(mask)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", list(augment.TRANSFORMS))
def test_transform_contract(name: str, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    fn = augment.TRANSFORMS[name]
    out, out_mask = fn(x, mask, seeded())
    assert out.shape == x.shape and out_mask.shape == mask.shape
    assert torch.isfinite(out).all()
    # Masked frames are empty and absent hands stay exactly zero.
    assert (out[out_mask == 0] == 0).all()
    assert set(out_mask.unique().tolist()) <= {0.0, 1.0}
    assert (out_mask.sum(dim=1) >= 1).all()
    again, again_mask = fn(x, mask, seeded())
    assert torch.equal(out, again) and torch.equal(out_mask, again_mask)
    different, _ = fn(x, mask, seeded(1))
    if name not in ("temporal_mask",):  # may skip a whole small batch by chance
        assert not torch.equal(out, different)


def test_absent_hands_stay_absent(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    absent = x.abs().sum(dim=(-1, -2)) == 0
    for name in ("gaussian_noise", "affine", "finger_dropout", "hand_proportions", "camera_view"):
        out, _ = augment.TRANSFORMS[name](x, mask, seeded())
        assert (out.abs().sum(dim=(-1, -2))[absent] == 0).all(), name


def test_flip_mirrors_and_swaps_hands(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    out, _ = augment.horizontal_flip(x, mask, seeded(), p=1.0)
    assert torch.equal(out[:, :, 0, :, 0], -x[:, :, 1, :, 0])
    assert torch.equal(out[:, :, 1, :, 1:], x[:, :, 0, :, 1:])
    twice, _ = augment.horizontal_flip(out, mask, seeded(), p=1.0)
    assert torch.equal(twice, x)


def test_speed_changes_length_and_keeps_order(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    fast, fast_mask = augment.speed_and_warp(x, mask, seeded(), speed=(2.0, 2.0), warp=0.0)
    assert torch.equal(fast_mask.sum(dim=1), (mask.sum(dim=1) / 2).round())
    # Frame j of the 2x clip is frame 2j of the original.
    assert torch.equal(fast[1, 3], x[1, 6])


def test_temporal_mask_hides_a_span(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    _, out_mask = augment.temporal_mask(x, mask, seeded(), p=1.0, max_fraction=0.5)
    assert (out_mask.sum(dim=1) <= mask.sum(dim=1)).all()
    assert (out_mask.sum(dim=1) < mask.sum(dim=1)).any()


def test_mixup_mixes_each_clip_with_another(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    mixed, mixed_mask, order, lam = augment.mixup(x, mask, seeded(), alpha=0.4)
    assert 0 <= lam <= 1
    assert sorted(order.tolist()) == list(range(len(x)))
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[order])
    assert torch.equal(mixed_mask, torch.maximum(mask, mask[order]))
    again = augment.mixup(x, mask, seeded(), alpha=0.4)
    assert torch.equal(again[2], order) and again[3] == lam


def test_build_augmentation_from_plain_data(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, mask = batch
    apply = augment.build_augmentation({"gaussian_noise": {"std": 0.05}, "affine": True})
    out, _ = apply(x, mask, seeded())
    assert out.shape == x.shape
    assert np.isclose(augment.mixup_alpha({"mixup": True}) or 0, 0.2)
    with pytest.raises(ConfigError, match="unknown augmentation 'blur'"):
        augment.build_augmentation({"blur": True})
    with pytest.raises(ConfigError, match="gaussian_noise"):
        augment.build_augmentation({"gaussian_noise": {"sigma": 1}})


def test_hand_dropout_loses_one_hand_over_a_span() -> None:
    x = torch.rand(16, 30, 2, 21, 3) + 0.1  # both hands everywhere
    mask = torch.ones(16, 30)
    mask[:, 20:] = 0
    x[:, 20:] = 0
    x[8:, :, 1] = 0  # clips 8-15: one hand only
    out, out_mask = augment.hand_dropout(x, mask, seeded(), p=1.0, max_fraction=0.6)
    present = out.abs().sum(dim=(-1, -2)) > 0
    for i in range(8):
        lost = (~present[i, :20]).nonzero()  # (frame, slot) pairs
        assert lost.numel() > 0 and lost[:, 1].unique().numel() == 1  # one hand, not both
        frames = lost[:, 0]
        assert frames.max() - frames.min() + 1 == len(frames) <= 12  # one span, <= 60%
        assert torch.equal(out_mask[i], mask[i])  # the other hand keeps every frame valid
        kept = torch.ones(30, dtype=torch.bool)
        kept[frames] = False
        assert torch.equal(out[i, kept], x[i, kept])
    # A clip whose only hand is lost loses those frames (hand-less frames are never selected),
    # and never all of them.
    assert (out_mask[8:].sum(dim=1) < 20).any()
    assert (out_mask[8:].sum(dim=1) >= 1).all()
    assert (out[out_mask == 0] == 0).all()
    none, none_mask = augment.hand_dropout(x, mask, seeded(), p=0.0)
    assert torch.equal(none, x) and torch.equal(none_mask, mask)


def bone_lengths(x: torch.Tensor) -> torch.Tensor:
    """``(..., 20)``: each landmark's distance to the one before it on its finger (x, y, 2z)."""
    scaled = x * torch.tensor([1.0, 1.0, 2.0])
    pairs = [(0 if i == 0 else points[i - 1], p) for points in augment.FINGERS
             for i, p in enumerate(points)]  # fmt: skip
    return torch.stack([(scaled[..., b, :] - scaled[..., a, :]).norm(dim=-1) for a, b in pairs], -1)


def test_hand_proportions_scale_each_finger_and_keep_the_wrist(
    batch: tuple[torch.Tensor, torch.Tensor],
) -> None:
    x, mask = batch
    out, _ = augment.hand_proportions(x, mask, seeded(), scale=0.1)
    present = x.abs().sum(dim=(-1, -2)) > 0
    assert torch.equal(out[..., 0, :], x[..., 0, :])  # the wrist does not move
    ratio = bone_lengths(out)[present] / bone_lengths(x)[present].clamp(min=1e-6)
    long_enough = bone_lengths(x)[present] > 1e-3
    assert ((ratio[long_enough] > 0.9 - 1e-4) & (ratio[long_enough] < 1.1 + 1e-4)).all()
    assert ratio[long_enough].std() > 0.01  # not one factor for all
    # one factor per finger: a finger's three outer bones scale alike
    outer = ratio.reshape(-1, 5, 4)[:, :, 1:]
    solid = long_enough.reshape(-1, 5, 4)[:, :, 1:].all(dim=-1)
    spread = outer.max(dim=-1).values - outer.min(dim=-1).values
    assert solid.any() and (spread[solid] < 1e-3).all()
    unchanged, _ = augment.hand_proportions(x, mask, seeded(), scale=0.0)
    assert torch.allclose(unchanged, x, atol=1e-6)


def test_camera_view_turns_each_hand_rigidly(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    """A rotation about the wrist keeps every bone's length (x, y and doubled z), and without
    an angle nothing moves."""
    x, mask = batch
    out, _ = augment.camera_view(x, mask, seeded(), pitch_deg=20, yaw_deg=20)
    present = x.abs().sum(dim=(-1, -2)) > 0
    assert torch.allclose(bone_lengths(out)[present], bone_lengths(x)[present], atol=1e-5)
    assert not torch.allclose(out[present], x[present], atol=1e-3)
    still, _ = augment.camera_view(x, mask, seeded(), pitch_deg=0, yaw_deg=0)
    assert torch.allclose(still, x, atol=1e-6)
