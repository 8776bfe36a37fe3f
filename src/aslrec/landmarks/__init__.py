"""Landmark data: the typed clip object, hand symmetry, and (lazily) MediaPipe extraction."""

from aslrec.landmarks.clip import (
    COORDS,
    HANDS,
    LEFT,
    POINTS,
    RIGHT,
    LandmarkClip,
)

__all__ = ["COORDS", "HANDS", "LEFT", "POINTS", "RIGHT", "LandmarkClip"]
