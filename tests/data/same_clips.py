"""Bit-for-bit equality of clips, for round trips through stores, shards and URLs."""

from __future__ import annotations

import numpy as np

from aslrec.landmarks.clip import LandmarkClip


def same_clip(a: LandmarkClip, b: LandmarkClip) -> bool:
    """Same arrays (dtype and bytes) and the same label, signer, group and source."""

    def raw(x: np.ndarray | None) -> bytes | None:
        return None if x is None else x.dtype.str.encode() + x.tobytes()

    return all(
        raw(getattr(a, k)) == raw(getattr(b, k))
        for k in ("landmarks", "presence", "timestamps", "pose")
    ) and all(getattr(a, k) == getattr(b, k) for k in ("label", "signer", "group", "source"))
