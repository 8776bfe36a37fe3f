"""Which hand is a hand: chirality from the 3D shape of its 21 landmarks.

Trackers and data sets disagree about left and right (MediaPipe's legacy Hands assumes a
mirrored selfie image, its Tasks API does not, a data set may store a webcam's mirrored view),
so a slot or a handedness label says little on its own. Geometry does not depend on labels:
fingers flex towards the palm, so the direction in which the fingertips bend away from their
knuckles tells the palm side, and the palm normal ``(index MCP - wrist) x (pinky MCP - wrist)``
points out of the palm for one chirality and out of the back for the other. Their dot product
is positive for a right hand and negative for a left one, whichever side faces the camera,
and a left-right mirror negates it exactly (a mirror turns a right hand into a left hand).

A flat hand (B, 5) bends little, so its score is near 0 and says nothing: callers average over
the frames of a track or a recording, and act only on clear evidence. Measured on the shared
sets (``benchmarks/handedness.py``, RESULTS.md): the right hands of ``fingerspelling16``'s
photos score positive in 99.9% of photos, ``letters_static``'s hand negative in 99.1%.
"""

from __future__ import annotations

import numpy as np

WRIST, INDEX_MCP, PINKY_MCP = 0, 5, 17
KNUCKLES = (5, 9, 13, 17)  # MCPs of index, middle, ring, pinky
FINGERTIPS = (8, 12, 16, 20)


def chirality(hands: np.ndarray) -> np.ndarray:
    """Per hand, in [-1, 1]: > 0 a right hand, < 0 a left hand, ~0 flat or undecidable.

    ``hands`` is ``(..., 21, 3)`` in any frame of reference with positive axis scales
    (MediaPipe's normalised image coordinates, or aslrec's normalised model input): the sign
    survives translation and any positive per-axis scaling, and flips under a mirror. All-zero
    (absent) hands score 0.
    """
    hands = np.asarray(hands, dtype=np.float64)
    palm = np.cross(hands[..., INDEX_MCP, :] - hands[..., WRIST, :],
                    hands[..., PINKY_MCP, :] - hands[..., WRIST, :])  # fmt: skip
    bend = (hands[..., FINGERTIPS, :] - hands[..., KNUCKLES, :]).mean(axis=-2)
    norms = np.linalg.norm(palm, axis=-1) * np.linalg.norm(bend, axis=-1)
    dot = (palm * bend).sum(axis=-1)
    return np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 1e-12)


def track_chirality(landmarks: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """``(2,)``: the mean chirality of each slot's hand over the frames it is present in
    (0 for a slot never seen). ``landmarks`` ``(T, 2, 21, 3)``, ``presence`` ``(T, 2)``."""
    scores = chirality(landmarks)  # (T, 2)
    seen = presence.sum(axis=0)
    total = np.where(presence, scores, 0.0).sum(axis=0)
    return np.divide(total, seen, out=np.zeros(2), where=seen > 0)
