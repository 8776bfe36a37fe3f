"""``isl-hybrid``: depthwise-separable temporal convolutions + Transformer blocks (~0.9M params).

The architecture of the 1st-place Kaggle "Isolated Sign Language Recognition" solution
(hoyso48, 2023), scaled to our data: a linear stem over :class:`LandmarkFeatures`, then stages
of [Conv1D block x 3 with efficient channel attention (ECA), Transformer block], and masked
max + mean pooling over valid frames. Convolutions capture local motion cheaply, attention the
whole sign; both see only valid frames, so it works on clips of any length. ``head="cosine"``
makes the last layer a :class:`~aslrec.models.embedding.CosineClassifier` (signs added from a
few examples then score on the trained classes' scale).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from aslrec.data.masking import compact_valid_frames, prefix_mask
from aslrec.models.embedding import CosineClassifier, EmbeddingModel
from aslrec.models.features import LandmarkFeatures
from aslrec.models.registry import register_model


class ECA(nn.Module):
    """Efficient channel attention (Wang et al., CVPR 2020): a 1-D conv over pooled channels."""

    def __init__(self, kernel_size: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        weights = valid[..., None].to(x.dtype)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
        gate = torch.sigmoid(self.conv(pooled[:, None, :]))[:, 0]
        return x * gate[:, None, :]


class TemporalDepthwiseConv(nn.Conv1d):
    """Depthwise convolution over time with "same" padding: ``(B, C, T) -> (B, C, T)``.

    Training, gradients and ONNX export use ``nn.Conv1d``'s kernel. Gradient-free PyTorch
    inference computes the same sum over a strided window view (``unfold``) instead, a few clips
    at a time so that the window tensor stays in cache (:data:`WINDOW_ELEMENTS`). oneDNN's
    depthwise 1-D kernel is dispatch-bound on a single clip (288 channels x 30 frames x 17 taps,
    one thread: 0.31 ms vs 0.13 ms) and slow on batches too (64 clips: 27 ms vs 9 ms), and the
    six such convolutions were ~40% of ``isl-hybrid``'s batch-1 CPU time. Same weights and
    state-dict keys, so trained checkpoints load unchanged; results agree to float rounding
    (tests/models).
    """

    WINDOW_ELEMENTS = 1 << 20  # float32 windows per step: 4 MB, 8 clips of 288 x 30 x 17

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or torch.is_grad_enabled() or torch.onnx.is_in_onnx_export():
            return super().forward(x)
        clips_per_step = max(1, self.WINDOW_ELEMENTS // (x.shape[1] * x.shape[2] * self.taps))
        if x.shape[0] <= clips_per_step:
            return self._windowed(x)
        return torch.cat([self._windowed(part) for part in x.split(clips_per_step)])

    @property
    def taps(self) -> int:
        return self.kernel_size[0]

    def _windowed(self, x: torch.Tensor) -> torch.Tensor:
        half = self.taps // 2
        windows = nn.functional.pad(x, (half, half)).unfold(-1, self.taps, 1)
        out = (windows * self.weight).sum(dim=-1)
        return out if self.bias is None else out + self.bias[:, None]


class DropPath(nn.Module):
    """Stochastic depth (Huang et al., ECCV 2016): skip a residual branch for whole clips.

    Each training clip drops the branch with probability ``p`` (survivors scaled by
    ``1 / (1 - p)``); identity at inference. Regularises deep residual stacks on small data.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) >= self.p
        return x * keep.to(x.dtype) / (1 - self.p)


class ConvBlock(nn.Module):
    """Pre-norm residual: pointwise expand -> depthwise temporal conv -> ECA -> project."""

    def __init__(
        self,
        dim: int,
        kernel_size: int = 17,
        expand: int = 2,
        drop: float = 0.2,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = dim * expand
        self.norm = nn.LayerNorm(dim)
        self.expand = nn.Linear(dim, hidden)
        self.depthwise = TemporalDepthwiseConv(hidden, kernel_size)
        self.dw_norm = nn.BatchNorm1d(hidden, momentum=0.05)
        self.eca = ECA()
        self.project = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        keep = valid[..., None].to(x.dtype)
        h = nn.functional.silu(self.expand(self.norm(x))) * keep
        h = self.depthwise(h.transpose(1, 2))
        h = nn.functional.silu(self.dw_norm(h)).transpose(1, 2) * keep
        h = self.project(self.eca(h, valid))
        return x + self.drop_path(self.drop(h)) * keep


class TransformerBlock(nn.Module):
    """Pre-norm multi-head self-attention over valid frames + MLP."""

    def __init__(
        self, dim: int, heads: int = 4, expand: int = 2, drop: float = 0.2, drop_path: float = 0.0
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=drop, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * expand), nn.SiLU(), nn.Dropout(drop), nn.Linear(dim * expand, dim)
        )
        self.drop = nn.Dropout(drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        keep = valid[..., None].to(x.dtype)
        h = self.norm1(x)
        h, _ = self.attention(h, h, h, key_padding_mask=~valid, need_weights=False)
        x = x + self.drop_path(self.drop(h)) * keep
        return x + self.drop_path(self.drop(self.mlp(self.norm2(x)))) * keep


def masked_pool(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Concatenated mean and max over valid frames."""
    keep = valid[..., None].to(x.dtype)
    mean = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)
    maximum = x.masked_fill(~valid[..., None], float("-inf")).amax(dim=1)
    return torch.cat([mean, torch.nan_to_num(maximum, neginf=0.0)], dim=-1)


class HybridSignModel(EmbeddingModel):
    """``forward(landmarks (B,T,2,21,3), mask (B,T)) -> logits``, any ``T``; the embedding is the
    pooled ``2 * dim`` vector the head reads."""

    def __init__(
        self,
        num_classes: int,
        dim: int = 144,
        stages: int = 2,
        conv_per_stage: int = 3,
        kernel_size: int = 17,
        heads: int = 4,
        dropout: float = 0.2,
        head_dropout: float = 0.4,
        drop_path: float = 0.0,
        use_z: bool = False,
        velocities: bool = True,
        distances: bool = True,
        transformer_only: bool = False,
        max_frames: int = 256,
        head: Literal["linear", "cosine"] = "linear",
    ) -> None:
        super().__init__()
        self.features = LandmarkFeatures(use_z=use_z, velocities=velocities, distances=distances)
        self.stem = nn.Sequential(
            nn.Linear(self.features.num_features, dim, bias=False), nn.LayerNorm(dim)
        )
        blocks: list[nn.Module] = []
        for _ in range(stages):
            if not transformer_only:
                blocks += [
                    ConvBlock(dim, kernel_size, drop=dropout, drop_path=drop_path)
                    for _ in range(conv_per_stage)
                ]
            blocks.append(TransformerBlock(dim, heads, drop=dropout, drop_path=drop_path))
        self.blocks = nn.ModuleList(blocks)
        self.positions = nn.Parameter(torch.zeros(1, max_frames, dim)) if transformer_only else None
        if head not in ("linear", "cosine"):
            raise ValueError(f"head must be 'linear' or 'cosine', not {head!r}")
        last = (nn.Linear if head == "linear" else CosineClassifier)(2 * dim, num_classes)
        self.head = nn.Sequential(nn.Dropout(head_dropout), last)

    def embed(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Valid frames first, the rest zeroed: velocities, convolutions and attention then see
        # only real frames, whatever padding or holes the input had.
        landmarks, lengths = compact_valid_frames(landmarks, mask)
        # A clip without any valid frame keeps one (all-zero), so attention stays defined.
        valid = prefix_mask(lengths.clamp(min=1), landmarks.shape[1])
        x = self.stem(self.features(landmarks)) * valid[..., None].to(landmarks.dtype)
        if self.positions is not None:
            x = x + self.positions[:, : x.shape[1]]
        for block in self.blocks:
            x = block(x, valid)
        return masked_pool(x, valid)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)


@register_model("isl-hybrid")
def isl_hybrid(num_classes: int = 77, **kwargs: object) -> HybridSignModel:
    return HybridSignModel(num_classes=num_classes, **kwargs)  # type: ignore[arg-type]


@register_model("isl-transformer")
def isl_transformer(num_classes: int = 77, **kwargs: object) -> HybridSignModel:
    """Transformer encoder only (learned positions, 4 blocks of width 144)."""
    options = {"stages": 4, "transformer_only": True, **kwargs}
    return HybridSignModel(num_classes=num_classes, **options)  # type: ignore[arg-type]
