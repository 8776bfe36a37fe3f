"""``calibration.json``: the temperature and "unknown" threshold stored with a model directory.

Fitted by :mod:`aslrec.inference.calibration` (``aslrec calibrate``); read by every backend
that turns logits into probabilities, and carried inside exported ONNX files.

``calibration.json`` in the run directory::

    {"temperature": T, "threshold": t, "target_accuracy": 0.9, "ece_before": ..,
     "ece_after": .., "nll_before": .., "nll_after": .., "accuracy_at_threshold": ..,
     "coverage_at_threshold": .., "target_reached": true, "fitted_on": {...}}
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aslrec.atomic import write_text
from aslrec.errors import ModelError

CALIBRATION_FILE = "calibration.json"
DEFAULT_TARGET_ACCURACY = 0.9


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """What ``calibration.json`` holds."""

    temperature: float
    threshold: float
    target_accuracy: float = DEFAULT_TARGET_ACCURACY
    target_reached: bool = True
    ece_before: float | None = None
    ece_after: float | None = None
    nll_before: float | None = None
    nll_after: float | None = None
    accuracy_at_threshold: float | None = None
    coverage_at_threshold: float | None = None
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ModelError(f"temperature must be a positive number, not {self.temperature}")
        if not (math.isfinite(self.threshold) and 0.0 <= self.threshold <= 1.0):
            raise ModelError(f"threshold must be between 0 and 1, not {self.threshold}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        known = {f for f in cls.__dataclass_fields__}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ModelError(f"bad calibration data ({exc})") from None


def read_calibration(model_dir: str | os.PathLike[str]) -> Calibration | None:
    """The model's calibration, or None when it has no ``calibration.json``."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        temperature = float(data["temperature"])
        threshold = float(data.get("threshold", 0.0))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable calibration ({exc!r})") from None
    try:
        return Calibration.from_dict(data | {"temperature": temperature, "threshold": threshold})
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def write_calibration(model_dir: str | os.PathLike[str], calibration: Calibration) -> Path:
    path = Path(model_dir) / CALIBRATION_FILE
    write_text(path, json.dumps(calibration.to_dict(), indent=2) + "\n")
    return path
