"""Per-frame features computed inside the model from raw ``(B, T, 2, 21, 3)`` landmarks.

Inside the model (not in the data pipeline) so that every backend, export and the streaming
recogniser feed the same raw landmarks and cannot disagree on features. The choice, after the
Kaggle ISLR winning solutions (1st place: normalised coordinates + first/second differences;
several top solutions add hand-internal distances):

- hand shape: each hand's landmarks relative to its wrist, divided by the hand's size (wrist to
  middle-finger MCP), so shape does not depend on distance to the camera or on where the hand is;
- hand position: the wrist in clip-normalised coordinates (where the hand is relative to the
  signer's signing space, which the per-clip normalisation keeps);
- motion: first and second temporal differences of the clip-normalised coordinates, zero where
  either frame lacks the hand;
- fingertip distances: the 10 pairwise distances between the 5 fingertips of each hand, scaled
  by hand size (pinch/spread shapes that single coordinates express only indirectly);
- presence: one flag per hand.

``use_z=False`` (the default) drops MediaPipe's z: its scale differs between Holistic, on which
the public training data was extracted, and Hands/HandLandmarker, which aslrec runs on fresh
video, so features from x, y alone do not depend on which solution produced them.
"""

from __future__ import annotations

import torch
from torch import nn

WRIST, MIDDLE_MCP = 0, 9
FINGERTIPS = (4, 8, 12, 16, 20)
FINGERTIP_PAIRS = [(a, b) for i, a in enumerate(FINGERTIPS) for b in FINGERTIPS[i + 1 :]]


class LandmarkFeatures(nn.Module):
    """``(B, T, 2, 21, 3)`` -> ``(B, T, num_features)``; absent hands give zeros."""

    def __init__(self, use_z: bool = False, velocities: bool = True, distances: bool = True):
        super().__init__()
        self.coords = 3 if use_z else 2
        self.velocities = velocities
        self.distances = distances
        self.register_buffer(
            "pair_a", torch.tensor([a for a, _ in FINGERTIP_PAIRS]), persistent=False
        )
        self.register_buffer(
            "pair_b", torch.tensor([b for _, b in FINGERTIP_PAIRS]), persistent=False
        )

    @property
    def num_features(self) -> int:
        per_hand = 21 * self.coords + self.coords + 1
        if self.velocities:
            per_hand += 2 * 21 * self.coords
        if self.distances:
            per_hand += len(FINGERTIP_PAIRS)
        return 2 * per_hand

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        x = landmarks[..., : self.coords]
        present = hands_present(landmarks)
        wrist = x[..., WRIST : WRIST + 1, :]
        shape = normalised_shape(x, present)
        parts = [shape.flatten(-2), wrist.squeeze(-2), present[..., None]]
        if self.velocities:
            both = present[:, 1:] * present[:, :-1]
            velocity = (x[:, 1:] - x[:, :-1]) * both[..., None, None]
            velocity = torch.cat([torch.zeros_like(x[:, :1]), velocity], dim=1)
            accel = torch.cat(
                [torch.zeros_like(velocity[:, :1]), velocity[:, 1:] - velocity[:, :-1]], dim=1
            )
            parts += [velocity.flatten(-2), accel.flatten(-2)]
        if self.distances:
            tips_a = shape.index_select(-2, self.pair_a)
            tips_b = shape.index_select(-2, self.pair_b)
            parts.append((tips_a - tips_b).norm(dim=-1))
        return torch.cat(parts, dim=-1).flatten(-2)


HAND_SHAPE_FEATURES = 21 * 2 + len(FINGERTIP_PAIRS)
"""Per hand: x, y of the 21 landmarks (wrist-relative, over hand size), 10 fingertip distances."""


def hands_present(landmarks: torch.Tensor) -> torch.Tensor:
    """``(..., hands, 21, C)`` -> ``(..., hands)``: 1 where a hand was seen (absent hands are
    all zeros), as the landmarks' dtype."""
    return (landmarks.abs().sum(dim=(-1, -2)) > 0).to(landmarks.dtype)


def normalised_shape(x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """``(..., hands, 21, C)`` landmarks -> the same shape relative to each hand's wrist and
    divided by its size (wrist to middle-finger MCP); zeros where ``present`` is 0."""
    wrist = x[..., WRIST : WRIST + 1, :]
    size = (x[..., MIDDLE_MCP, :] - x[..., WRIST, :]).norm(dim=-1, keepdim=True)
    size = size.clamp(min=1e-3).unsqueeze(-1)
    return (x - wrist) / size * present[..., None, None]


def hand_shape(landmarks: torch.Tensor) -> torch.Tensor:
    """``(..., hands, 21, C)`` -> ``(..., hands, HAND_SHAPE_FEATURES)``: each hand's shape alone
    (x, y of :func:`normalised_shape` and the fingertip distances), nothing of where it is or
    how it moves; zeros for an absent hand."""
    shape = normalised_shape(landmarks[..., :2], hands_present(landmarks))
    a = [i for i, _ in FINGERTIP_PAIRS]
    b = [j for _, j in FINGERTIP_PAIRS]
    tips = (shape[..., a, :] - shape[..., b, :]).norm(dim=-1)
    return torch.cat([shape.flatten(-2), tips], dim=-1)
