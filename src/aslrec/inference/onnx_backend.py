"""Run an exported ONNX model with ONNX Runtime: an inference backend that needs no PyTorch.

The ONNX file is self-describing: everything the :class:`~aslrec.inference.recognizer.Recognizer`
needs besides the weights (class names, preprocessing parameters, the run's configuration) is
stored in the model's metadata (``metadata_props``) under the keys below, so a deployment ships
one file. Any ONNX Runtime (Python, C++, mobile, web) can read the same keys.

=========================  ========================================================================
key                        value
=========================  ========================================================================
``aslrec.format``          metadata format version (``"1"``)
``aslrec.architecture``    registered model name, e.g. ``"seed"``
``aslrec.classes``         JSON list of class names; index = logit column
``aslrec.preprocessing``   JSON object, the run's ``model_config.json`` "preprocessing" block
                           (``seq_len``, ``frame_sampling``, normalisation, hand frames only)
``aslrec.config``          JSON object, the run's whole ``model_config.json``
``aslrec.inputs``          JSON object describing the inputs and output (names, shapes, meaning)
``aslrec.dynamic_frames``  ``"true"`` when the frame axis may have any length, else ``"false"``
``aslrec.quantization``    ``"none"`` or ``"int8-dynamic"``
``aslrec.opset``           the ONNX opset the graph was exported with
``aslrec.version``         the aslrec version that exported it
``aslrec.calibration``     JSON object, the run's ``calibration.json`` (temperature, unknown
                           threshold), only when the run has one
=========================  ========================================================================

Inputs: ``landmarks`` float32 ``(batch, frames, 2, 21, 3)`` and ``mask`` float32
``(batch, frames)`` (1 = real frame, 0 = padding), exactly what
:func:`aslrec.data.preprocessing.clips_to_arrays` returns; output ``logits`` ``(batch, classes)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aslrec.data.preprocessing import PreprocessingSpec
from aslrec.errors import ConfigError, DataError, ModelError
from aslrec.runs.calibration import Calibration, read_calibration

MODEL_FILENAME = "model.onnx"
INT8_FILENAME = "model.int8.onnx"
METADATA_FORMAT = "1"
INPUT_NAMES = ("landmarks", "mask")
OUTPUT_NAME = "logits"
KEY = "aslrec."
REQUIRED_KEYS = ("format", "architecture", "classes", "preprocessing", "config")


@dataclass(frozen=True)
class OnnxMetadata:
    """What an aslrec ONNX file says about itself."""

    architecture: str
    classes: list[str]
    preprocessing: dict[str, Any]
    config: dict[str, Any]
    dynamic_frames: bool
    quantization: str
    opset: int | None
    version: str
    calibration: dict[str, Any] | None = None

    @property
    def seq_len(self) -> int:
        return int(self.preprocessing["seq_len"])

    @property
    def frame_sampling(self) -> str:
        return str(self.preprocessing.get("frame_sampling", "resample"))

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` entries (all strings) that encode this metadata."""
        props = {
            "format": METADATA_FORMAT,
            "architecture": self.architecture,
            "classes": json.dumps(self.classes),
            "preprocessing": json.dumps(self.preprocessing),
            "config": json.dumps(self.config),
            "inputs": json.dumps(INPUTS_DESCRIPTION),
            "dynamic_frames": "true" if self.dynamic_frames else "false",
            "quantization": self.quantization,
            "opset": "" if self.opset is None else str(self.opset),
            "version": self.version,
        }
        if self.calibration is not None:
            props["calibration"] = json.dumps(self.calibration)
        return {KEY + k: v for k, v in props.items()}

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str | os.PathLike[str]) -> OnnxMetadata:
        """Parse ``metadata_props``; a file without aslrec metadata is a one-line ModelError."""
        missing = [KEY + k for k in REQUIRED_KEYS if KEY + k not in props]
        if missing:
            raise ModelError(
                f"{source}: not an aslrec ONNX model (no {missing[0]} metadata); "
                "export it with `aslrec export`"
            )
        if props[KEY + "format"] != METADATA_FORMAT:
            raise ModelError(
                f"{source}: aslrec ONNX metadata format {props[KEY + 'format']!r} is not "
                f"supported (expected {METADATA_FORMAT!r}); upgrade aslrec or re-export"
            )
        try:
            classes = json.loads(props[KEY + "classes"])
            preprocessing = json.loads(props[KEY + "preprocessing"])
            config = json.loads(props[KEY + "config"])
            seq_len = int(preprocessing["seq_len"])
            opset = props.get(KEY + "opset", "")
            calibration = props.get(KEY + "calibration")
            meta = cls(
                architecture=props[KEY + "architecture"],
                classes=[str(c) for c in classes],
                preprocessing=dict(preprocessing),
                config=dict(config),
                dynamic_frames=props.get(KEY + "dynamic_frames", "false") == "true",
                quantization=props.get(KEY + "quantization", "none"),
                opset=int(opset) if opset else None,
                version=props.get(KEY + "version", ""),
                calibration=dict(json.loads(calibration)) if calibration else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{source}: unreadable aslrec ONNX metadata ({exc!r})") from None
        if not meta.classes or seq_len < 1:
            raise ModelError(f"{source}: aslrec ONNX metadata has no classes or no seq_len")
        return meta


def _embedded_calibration(metadata: OnnxMetadata, path: Path) -> Calibration | None:
    """The ``aslrec.calibration`` metadata as a checked :class:`Calibration` (None if absent)."""
    if metadata.calibration is None:
        return None
    try:
        return Calibration.from_dict(metadata.calibration)
    except ModelError as exc:
        raise ModelError(f"{path}: bad {KEY}calibration metadata ({exc})") from None


INPUTS_DESCRIPTION = {
    "landmarks": {
        "dtype": "float32",
        "shape": ["batch", "frames", 2, 21, 3],
        "meaning": "per frame, 2 hand slots (signer's left, right) x 21 MediaPipe landmarks x "
        "(x, y, z), normalised per clip to [-1, 1]; absent hand = zeros",
    },
    "mask": {
        "dtype": "float32",
        "shape": ["batch", "frames"],
        "meaning": "1 for a real frame, 0 for padding; padded frames do not change the output",
    },
    "logits": {
        "dtype": "float32",
        "shape": ["batch", "classes"],
        "meaning": "unnormalised scores; softmax gives probabilities; column i = classes[i]",
    },
}


def resolve_model_path(path: str | os.PathLike[str]) -> Path:
    """A ``.onnx`` file, or a run directory's ``model.onnx`` (else its ``model.int8.onnx``)."""
    path = Path(path)
    if path.is_dir():
        for name in (MODEL_FILENAME, INT8_FILENAME):
            if (path / name).is_file():
                return path / name
        raise ModelError(
            f"{path}: no {MODEL_FILENAME} in this model directory; create it with "
            f"`aslrec export {path}`"
        )
    if not path.is_file():
        raise ModelError(f"{path}: no such ONNX model file or model directory")
    return path


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError(
            "the onnx backend needs ONNX Runtime: pip install 'aslrec[onnx]'"
        ) from None
    return onnxruntime


def create_session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session; a corrupt or non-ONNX file is a one-line ModelError."""
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no "unused initializer" chatter
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ORT raises its own pybind types (InvalidProtobuf, Fail, ...)
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ModelError(f"{path}: not a readable ONNX model ({reason})") from None


def read_metadata(path: str | os.PathLike[str]) -> OnnxMetadata:
    """The aslrec metadata of an ONNX file (or of a run directory's ``model.onnx``)."""
    model_path = resolve_model_path(path)
    session = create_session(model_path, threads=1)
    return OnnxMetadata.from_props(session.get_modelmeta().custom_metadata_map, model_path)


class OnnxBackend:
    """An exported model in ONNX Runtime; satisfies :class:`ClassifierBackend` without torch.

    ``calibration`` is the one exported with the model (``aslrec.calibration``), so a lone
    ``.onnx`` file gives the same probabilities and unknown threshold as its run directory;
    loaded from a directory, that directory's ``calibration.json`` wins (it may have been
    refitted after the export).
    """

    def __init__(
        self,
        session: Any,
        metadata: OnnxMetadata,
        path: Path,
        calibration: Calibration | None = None,
    ) -> None:
        self.session = session
        self.metadata = metadata
        self.path = path
        self.classes = metadata.classes
        try:
            self.preprocessing = PreprocessingSpec.from_dict(metadata.preprocessing)
        except ConfigError as exc:
            raise ModelError(f"{path}: bad preprocessing metadata ({exc})") from None
        self.config = metadata.config
        self.calibration = calibration or _embedded_calibration(metadata, path)
        names = [i.name for i in session.get_inputs()]
        if sorted(names) != sorted(INPUT_NAMES):
            raise ModelError(
                f"{path}: ONNX inputs are {names}, expected {list(INPUT_NAMES)}; re-export it"
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: int | None = None) -> OnnxBackend:
        """Load a ``.onnx`` file or a run directory's ``model.onnx``."""
        model_path = resolve_model_path(path)
        session = create_session(model_path, threads)
        metadata = OnnxMetadata.from_props(session.get_modelmeta().custom_metadata_map, model_path)
        calibration = read_calibration(path) if Path(path).is_dir() else None
        return cls(session, metadata, model_path, calibration)

    @property
    def seq_len(self) -> int:
        return self.preprocessing.seq_len

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        mask = np.ascontiguousarray(mask, dtype=np.float32)
        if x.ndim != 5 or mask.shape != x.shape[:2]:
            raise DataError(
                f"model input must be (N, frames, 2, 21, 3) with an (N, frames) mask, got "
                f"{x.shape} and {mask.shape}"
            )
        if not self.metadata.dynamic_frames and x.shape[1] != self.seq_len:
            raise DataError(f"{self.path}: takes exactly {self.seq_len} frames, got {x.shape[1]}")
        return self.session.run([OUTPUT_NAME], {"landmarks": x, "mask": mask})[0]
