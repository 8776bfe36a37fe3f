"""Helpers shared by models that must ignore padded frames."""

from __future__ import annotations

import torch


def compact_valid_frames(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move valid frames to the front (keeping their order) and zero the rest.

    Returns ``(x_compact, lengths)``. After this a model can treat the input as a prefix of
    ``lengths`` frames followed by zeros, whatever the padded frames held and wherever the mask
    had holes, which is what makes the output independent of padded content.
    """
    valid = mask > 0.5
    time = torch.arange(x.shape[1], device=x.device).expand_as(valid)
    # Sort key: valid frames first in their original order, then padded frames.
    key = torch.where(valid, time, time + x.shape[1])
    order = key.argsort(dim=1)
    gather_index = order.view(*order.shape, *([1] * (x.dim() - 2))).expand_as(x)
    x_sorted = torch.gather(x, 1, gather_index)
    lengths = valid.sum(dim=1)
    prefix = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
    x_sorted = x_sorted * prefix.view(*prefix.shape, *([1] * (x.dim() - 2))).to(x.dtype)
    return x_sorted, lengths


def prefix_mask(lengths: torch.Tensor, length: int) -> torch.Tensor:
    return torch.arange(length, device=lengths.device)[None, :] < lengths[:, None]
