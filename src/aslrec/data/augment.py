"""Training-time augmentation as small, composable, seedable functions on batches.

Every transform maps ``(landmarks (B, T, 2, 21, 3), mask (B, T), generator)`` to new
``(landmarks, mask)``. Inputs are model input: clip-normalised coordinates centred on 0 (see
:mod:`aslrec.data.preprocessing`), valid frames marked by ``mask``, absent hands all-zero.
Outputs keep that contract: absent hands stay exactly zero (so "no hand" keeps its meaning),
masked frames are zero, and all randomness comes from the given ``torch.Generator``, so the
same seed gives the same batch. Applied to training batches only.

The set follows the card's "next steps" (time warping, speed perturbation, mixup) and the
Kaggle ISLR winning solutions (flip with hand swap, affine, temporal and finger masking),
plus ours: a hand lost by the tracker over a span of frames, and two of another signer and
camera (hand proportions, a camera above or beside the signer).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch

from aslrec.errors import ConfigError
from aslrec.landmarks.clip import MIRRORED_SLOTS

Batch = tuple[torch.Tensor, torch.Tensor]
Transform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], Batch]

# MediaPipe hand landmarks per finger (the wrist, 0, belongs to none).
FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))


def _present(landmarks: torch.Tensor) -> torch.Tensor:
    """``(B, T, 2, 1, 1)`` float: 1 where the hand is present."""
    return (landmarks.abs().sum(dim=(-1, -2), keepdim=True) > 0).to(landmarks.dtype)


def _uniform(generator: torch.Generator, size: tuple[int, ...], low: float, high: float):
    return torch.rand(size, generator=generator) * (high - low) + low


def _chance(generator: torch.Generator, batch: int, p: float) -> torch.Tensor:
    return torch.rand(batch, generator=generator) < p


def gaussian_noise(
    landmarks: torch.Tensor, mask: torch.Tensor, generator: torch.Generator, std: float = 0.02
) -> Batch:
    """The seed card's augmentation: i.i.d. Gaussian noise on present landmarks.

    ``std`` is in normalised units (coordinates span [-1, 1]); the seed preset's 0.02 is about
    1% of the coordinate range, well under the ~0.1 spacing between neighbouring finger joints.
    """
    if std <= 0:
        return landmarks, mask
    noise = torch.randn(landmarks.shape, generator=generator, dtype=landmarks.dtype) * std
    return landmarks + noise * _present(landmarks), mask


def mirror_batch(landmarks: torch.Tensor) -> torch.Tensor:
    """The left-right mirror image of model input ``(B, T, 2, 21, 3)``: x negated (input is
    centred on 0), hand slots swapped by the symmetry table; absent hands stay zero."""
    # a product, not an in-place negation: one node in an exported graph, not a scatter
    flip_x = torch.tensor([-1.0, 1.0, 1.0], dtype=landmarks.dtype, device=landmarks.device)
    return landmarks[:, :, list(MIRRORED_SLOTS)] * flip_x


def horizontal_flip(
    landmarks: torch.Tensor, mask: torch.Tensor, generator: torch.Generator, p: float = 0.5
) -> Batch:
    """Mirror x and swap the hand slots (a left-handed version of the same sign)."""
    flip = _chance(generator, landmarks.shape[0], p)
    return torch.where(flip[:, None, None, None, None], mirror_batch(landmarks), landmarks), mask


def affine(
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    scale: float = 0.2,
    rotate_deg: float = 15.0,
    shear: float = 0.15,
    translate: float = 0.1,
) -> Batch:
    """A random 2-D affine map of x, y per clip (camera distance, angle, position)."""
    b = landmarks.shape[0]
    s = _uniform(generator, (b,), 1 - scale, 1 + scale)
    angle = _uniform(generator, (b,), -rotate_deg, rotate_deg) * math.pi / 180
    sh = _uniform(generator, (b,), -shear, shear)
    shift = _uniform(generator, (b, 2), -translate, translate)
    cos, sin = torch.cos(angle), torch.sin(angle)
    matrix = (
        torch.stack(
            [torch.stack([cos, -sin + sh * cos], -1), torch.stack([sin, cos + sh * sin], -1)], -2
        )
        * s[:, None, None]
    )  # (B, 2, 2): rotation @ shear, scaled
    xy = torch.einsum("bij,btpkj->btpki", matrix, landmarks[..., :2]) + shift[:, None, None, None]
    out = torch.cat([xy, landmarks[..., 2:] * s[:, None, None, None, None]], dim=-1)
    return out * _present(landmarks), mask


def _resample(landmarks: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> Batch:
    """Gather frames at fractional ``positions`` (B, T) of each clip's valid prefix (nearest).

    Positions < 0 mark output frames that stay empty.
    """
    b, t = mask.shape
    index = positions.round().clamp(min=0).long().clamp(max=t - 1)
    gathered = torch.gather(
        landmarks, 1, index.view(b, t, 1, 1, 1).expand(-1, -1, *landmarks.shape[2:])
    )
    new_mask = (positions >= 0).to(mask.dtype) * torch.gather(mask, 1, index)
    return gathered * new_mask.view(b, t, 1, 1, 1), new_mask


def _compact(landmarks: torch.Tensor, mask: torch.Tensor) -> tuple[Batch, torch.Tensor]:
    from aslrec.data.masking import compact_valid_frames

    compacted, lengths = compact_valid_frames(landmarks, mask)
    prefix = torch.arange(mask.shape[1])[None, :] < lengths[:, None]
    return (compacted, prefix.to(mask.dtype)), lengths


def speed_and_warp(
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    speed: tuple[float, float] = (0.5, 1.5),
    warp: float = 0.2,
) -> Batch:
    """Temporal resampling: play each clip ``speed`` times as fast, with a smooth time warp.

    Output frame ``j`` of ``n = len / speed`` frames reads input position
    ``len * w(j / n)`` with ``w(u) = u + a sin(pi u) / pi``, ``|a| <= warp < 1``, which is
    monotone, so the order of events is kept while their pace changes. Clips that would grow
    beyond ``T`` frames are cut at ``T``.
    """
    (landmarks, mask), lengths = _compact(landmarks, mask)
    b, t = mask.shape
    factor = _uniform(generator, (b,), *speed)
    a = _uniform(generator, (b,), -warp, warp)
    new_len = (lengths.to(torch.float32) / factor).round().clamp(min=1, max=t)
    j = torch.arange(t, dtype=torch.float32)[None, :]
    u = j / new_len[:, None].clamp(min=1)
    warped = u + a[:, None] * torch.sin(math.pi * u) / math.pi
    positions = warped * lengths[:, None].to(torch.float32)
    positions = positions.clamp(max=(lengths[:, None] - 1).clamp(min=0).to(torch.float32))
    positions = torch.where(j < new_len[:, None], positions, torch.full_like(positions, -1))
    return _resample(landmarks, mask, positions)


def _frames_in(start: torch.Tensor, span: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B, frames)`` bool: frame ``j`` of clip ``i`` is in ``[start[i], start[i] + span[i])``."""
    j = torch.arange(frames)[None, :]
    return (j >= start[:, None]) & (j < (start + span)[:, None])


def temporal_mask(
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    p: float = 0.5,
    max_fraction: float = 0.2,
) -> Batch:
    """Hide one contiguous span (up to ``max_fraction`` of the valid frames) of each clip."""
    (landmarks, mask), lengths = _compact(landmarks, mask)
    b, t = mask.shape
    span = (lengths.to(torch.float32) * _uniform(generator, (b,), 0, max_fraction)).floor()
    start = (torch.rand(b, generator=generator) * (lengths - span).clamp(min=0)).floor()
    hide = _frames_in(start, span, t) & _chance(generator, b, p)[:, None]
    hide &= (lengths - span >= 1)[:, None]  # never hide a whole clip
    keep = (~hide).to(mask.dtype)
    return landmarks * keep.view(b, t, 1, 1, 1), mask * keep


def hand_dropout(
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    p: float = 0.2,
    max_fraction: float = 0.6,
) -> Batch:
    """Lose one hand (either, at random) over a contiguous span of each chosen clip.

    Tracking does this on real video: in the streaming benchmark's re-encoded 640x480 frames
    HandLandmarker lost the non-dominant hand of ``school`` for ~40 frames (two hands in 51% of
    the frames against 93% in the original), and the model answered ``thank_you``. The span
    covers up to ``max_fraction`` of the valid frames. A frame left with no hand at all is
    masked out, as frame selection drops hand-less frames from real clips; a clip that would
    lose every frame keeps them all.
    """
    (landmarks, mask), lengths = _compact(landmarks, mask)
    b, t = mask.shape
    span = (lengths.to(torch.float32) * _uniform(generator, (b,), 0, max_fraction)).ceil()
    start = (torch.rand(b, generator=generator) * (lengths - span + 1).clamp(min=0)).floor()
    hand = (torch.rand(b, generator=generator) < 0.5).long()
    lose = _frames_in(start, span, t) & _chance(generator, b, p)[:, None]
    slots = torch.nn.functional.one_hot(hand, 2).bool()  # (B, 2): the hand that is lost
    drop = lose[:, :, None] & slots[:, None, :]  # (B, T, 2)
    out = landmarks * (~drop)[..., None, None].to(landmarks.dtype)
    still_there = (_present(out)[:, :, :, 0, 0].sum(dim=2) > 0).to(mask.dtype) * mask
    emptied = still_there.sum(dim=1) == 0  # never lose a whole clip
    keep = torch.where(emptied[:, None], mask, still_there)
    out = torch.where(emptied[:, None, None, None, None], landmarks, out)
    return out * keep.view(b, t, 1, 1, 1), keep


def finger_dropout(
    landmarks: torch.Tensor, mask: torch.Tensor, generator: torch.Generator, p: float = 0.1
) -> Batch:
    """Zero whole fingers (per clip and hand) with probability ``p``: occlusion, tracking loss.

    Present hands keep their wrist, so the hand still counts as present.
    """
    b = landmarks.shape[0]
    drop = torch.rand((b, 1, 2, len(FINGERS)), generator=generator) < p
    point_drop = torch.zeros((b, 1, 2, 21), dtype=torch.bool)
    for f, points in enumerate(FINGERS):
        point_drop[..., list(points)] = drop[..., f : f + 1]
    return landmarks * (~point_drop)[..., None].to(landmarks.dtype), mask


def hand_proportions(
    landmarks: torch.Tensor, mask: torch.Tensor, generator: torch.Generator, scale: float = 0.1
) -> Batch:
    """Another person's hand: each finger's bones (and each palm ray, wrist to knuckle) scaled
    by its own factor in ``[1 - scale, 1 + scale]``, per clip and hand, joint angles kept.

    Why: the letters of one signer carried to 12 new people at 63% (RESULTS.md, "New signers");
    besides how people form a sign, their hands differ in finger length and palm width, and a
    model that saw one person's proportions may key on them. The wrist stays where it is, so
    where the hand is and how it moves do not change.
    """
    b = landmarks.shape[0]
    palm = _uniform(generator, (b, 1, 2, len(FINGERS), 1), 1 - scale, 1 + scale)
    finger = _uniform(generator, (b, 1, 2, len(FINGERS), 1), 1 - scale, 1 + scale)
    out = landmarks.clone()
    wrist = landmarks[..., :1, :]
    for f, (base, *rest) in enumerate(FINGERS):
        joint = wrist[..., 0, :] + palm[..., f, :] * (landmarks[..., base, :] - wrist[..., 0, :])
        out[..., base, :] = joint
        previous = base
        for point in rest:
            joint = joint + finger[..., f, :] * (
                landmarks[..., point, :] - landmarks[..., previous, :]
            )
            out[..., point, :] = joint
            previous = point
    return out * _present(landmarks), mask


def camera_view(
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    pitch_deg: float = 10.0,
    yaw_deg: float = 10.0,
) -> Batch:
    """The camera a little above/below (pitch) or to the side (yaw), per clip: each hand's shape
    rotated in 3D about its wrist, and the wrists' positions foreshortened by the same angles.

    :func:`affine` covers the camera's roll, distance and position, all in the image plane; a
    webcam on a laptop lid looks up at the signer, a phone on a table further still, and that
    turns the hands, not just the picture. Hand z is MediaPipe's wrist-relative depth at about
    the image width's scale, i.e. half the scale of normalised x and y (``2v - 1``), so it is
    doubled for the rotation and halved back.
    """
    b = landmarks.shape[0]
    pitch = _uniform(generator, (b,), -pitch_deg, pitch_deg) * math.pi / 180
    yaw = _uniform(generator, (b,), -yaw_deg, yaw_deg) * math.pi / 180
    cp, sp, cy, sy = torch.cos(pitch), torch.sin(pitch), torch.cos(yaw), torch.sin(yaw)
    zeros, ones = torch.zeros_like(cp), torch.ones_like(cp)
    about_x = torch.stack(
        [torch.stack([ones, zeros, zeros], -1), torch.stack([zeros, cp, -sp], -1),
         torch.stack([zeros, sp, cp], -1)], -2
    )  # fmt: skip
    about_y = torch.stack(
        [torch.stack([cy, zeros, sy], -1), torch.stack([zeros, ones, zeros], -1),
         torch.stack([-sy, zeros, cy], -1)], -2
    )  # fmt: skip
    rotation = about_y @ about_x  # (B, 3, 3)
    depth = torch.tensor([1.0, 1.0, 2.0], dtype=landmarks.dtype)
    wrist = landmarks[..., :1, :]
    local = torch.einsum("bij,btpkj->btpki", rotation, (landmarks - wrist) * depth) / depth
    present = _present(landmarks)
    seen = present[..., 0, 0].sum(dim=(1, 2)).clamp(min=1)  # (B,)
    centre = (wrist[..., 0, :2] * present[..., 0, :]).sum(dim=(1, 2)) / seen[:, None]  # (B, 2)
    squeeze = torch.stack([cy, cp], -1)[:, None, None, None, :]  # x by yaw, y by pitch
    anchor = wrist[..., :2] - centre[:, None, None, None, :]
    moved = wrist.clone()
    moved[..., :2] = centre[:, None, None, None, :] + anchor * squeeze
    return (moved + local) * present, mask


def mixup(
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    alpha: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Mixup (Zhang et al., ICLR 2018) of each clip with a random other clip of the batch.

    Returns ``(landmarks, mask, order, lam)``: clip ``i`` is mixed with clip ``order[i]``, so
    the loss is ``lam * loss(targets) + (1 - lam) * loss(targets[order])`` for any kind of
    target (labels, or a teacher's probabilities). The mask is the union of both clips'.
    """
    lam = _beta(generator, alpha)
    order = torch.randperm(landmarks.shape[0], generator=generator)
    mixed = lam * landmarks + (1 - lam) * landmarks[order]
    return mixed, torch.maximum(mask, mask[order]), order, lam


def _beta(generator: torch.Generator, alpha: float) -> float:
    """A Beta(alpha, alpha) draw from the generator (Johnk's rejection method)."""
    while True:
        u, v = torch.rand(2, generator=generator, dtype=torch.float64).tolist()
        x, y = u ** (1 / alpha), v ** (1 / alpha)
        if 0 < x + y <= 1:
            return x / (x + y)


def mixup_alpha(spec: Mapping[str, Any]) -> float | None:
    """The Beta parameter of ``spec["mixup"]`` (``true`` means 0.2), or None when off."""
    options = spec.get("mixup")
    if isinstance(options, Mapping):
        return float(options.get("alpha", 0.2))
    return 0.2 if options else None


TRANSFORMS: dict[str, Callable[..., Batch]] = {
    "speed_and_warp": speed_and_warp,
    "temporal_mask": temporal_mask,
    "hand_dropout": hand_dropout,
    "horizontal_flip": horizontal_flip,
    "hand_proportions": hand_proportions,
    "camera_view": camera_view,
    "affine": affine,
    "finger_dropout": finger_dropout,
    "gaussian_noise": gaussian_noise,
}


def build_augmentation(spec: Mapping[str, Mapping[str, Any] | bool]) -> Transform:
    """Compose the named transforms (in ``TRANSFORMS`` order) from a plain-data spec.

    ``{"gaussian_noise": {"std": 0.02}, "horizontal_flip": true}`` -> one callable. ``false``
    or a missing name disables a transform; ``mixup`` is applied by the training step, since
    it also mixes the targets.
    """
    unknown = sorted(set(spec) - set(TRANSFORMS) - {"mixup"})
    if unknown:
        raise ConfigError(f"unknown augmentation {unknown[0]!r}; known: {sorted(TRANSFORMS)}")
    steps: list[Transform] = []
    for name, fn in TRANSFORMS.items():
        options = spec.get(name, False)
        if options is False or options is None:
            continue
        kwargs = dict(options) if isinstance(options, Mapping) else {}
        try:
            inspect.signature(fn).bind(None, None, None, **kwargs)
        except TypeError as exc:
            raise ConfigError(f"augmentation {name}: {exc}") from None
        steps.append(partial(fn, **kwargs))

    def apply(landmarks: torch.Tensor, mask: torch.Tensor, generator: torch.Generator) -> Batch:
        for step in steps:
            landmarks, mask = step(landmarks, mask, generator)
        return landmarks, mask

    return apply
