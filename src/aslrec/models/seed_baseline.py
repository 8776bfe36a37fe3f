"""``seed-baseline``: the card's ~323K-parameter baseline (12.01% on the card's data).

The card gives only its size (323K) and result, not its design. We take the plain recurrent
model such a project starts from before adding the "improvements" the card lists (no
convolution, no bidirectionality, no attention, no BatchNorm): LayerNorm on the 126 flattened
coordinates, a 2-layer unidirectional LSTM, the last valid frame's state, and a small MLP head.
The LSTM width of 130 is chosen to land on the card's size for 77 classes:

- LayerNorm(126): 252
- LSTM layer 1: 4*130*(126+130) + 8*130 = 134,160
- LSTM layer 2: 4*130*(130+130) + 8*130 = 136,240
- Linear(130, 256): 33,536; Linear(256, 77): 19,789
- total 323,977
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from aslrec.data.masking import compact_valid_frames
from aslrec.models.embedding import EmbeddingModel
from aslrec.models.registry import register_model


class BaselineLSTM(EmbeddingModel):
    """``forward(landmarks (B,T,2,21,3), mask (B,T)) -> logits``; padded frames ignored; the
    embedding is the head's hidden layer (after ReLU)."""

    def __init__(
        self,
        num_classes: int = 77,
        in_features: int = 126,
        hidden: int = 130,
        layers: int = 2,
        head_hidden: int = 256,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_features)
        self.lstm = nn.LSTM(
            in_features, hidden, num_layers=layers, batch_first=True, dropout=dropout
        )
        self.head = nn.Sequential(
            nn.Linear(hidden, head_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, num_classes),
        )

    def embed(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, frames = landmarks.shape[:2]
        x, lengths = compact_valid_frames(landmarks.reshape(batch, frames, -1), mask)
        packed = pack_padded_sequence(
            self.norm(x), lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.lstm(packed)
        return self.head[:-1](hidden[-1])

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.head[-1](features)


@register_model("seed-baseline")
def seed_baseline(num_classes: int = 77, **kwargs: object) -> BaselineLSTM:
    return BaselineLSTM(num_classes=num_classes, **kwargs)  # type: ignore[arg-type]
