"""``aslrec export``: a run directory -> a self-describing ONNX file, proven against PyTorch,
or (``--format web``) a static folder that runs it in the browser.

How the graph is made, and the parity rules an export must pass, are
:mod:`aslrec.export.onnx_export`'s; this workflow reads the run, exports into a temporary
folder, checks the result in ONNX Runtime and only then moves it into place, so a refused
export writes nothing. The web folder (:mod:`aslrec.export.web`) is assembled the same way:
in a temporary folder beside ``--out``, renamed into place when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from aslrec.data.loaders import load_datasets
from aslrec.data.preprocessing import PreprocessingSpec, arrays_for_model
from aslrec.errors import ConfigError, ModelError
from aslrec.export import web
from aslrec.export.onnx_export import FORMATS as ONNX_FORMATS
from aslrec.export.onnx_export import (
    MIN_INT8_AGREEMENT,
    MIN_INT8_AGREEMENT_SYNTHETIC,
    MIN_TOP1_AGREEMENT,
    OPSET,
    PARITY_ATOL,
    QUANTIZATIONS,
    ParityReport,
    backend_logits,
    compare_logits,
    export_model,
    quantize_int8,
    supports_dynamic_frames,
    synthetic_inputs,
)
from aslrec.inference.onnx_backend import INT8_FILENAME, MODEL_FILENAME, OnnxBackend, OnnxMetadata
from aslrec.models.logits import torch_logits
from aslrec.runs.calibration import CALIBRATION_FILE, read_calibration
from aslrec.runs.directory import RunDirectory
from aslrec.runs.ensemble import is_ensemble
from aslrec.version import __version__

FORMATS = (*ONNX_FORMATS, "web")
_PRECISIONS = {"int8-dynamic": "int8", web.FP16_WEIGHTS: "fp16 weights"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    metadata: OnnxMetadata
    size_bytes: int
    parity: ParityReport

    def summary_line(self) -> str:
        precision = "int8" if self.metadata.quantization != "none" else "fp32"
        axes = "batch and frames" if self.metadata.dynamic_frames else "batch"
        return (
            f"{self.path} ({self.size_bytes / 1e6:.1f} MB, {precision}, opset "
            f"{self.metadata.opset}, dynamic {axes}, {len(self.metadata.classes)} classes): "
            f"vs PyTorch {self.parity.summary()}"
        )


@dataclass(frozen=True)
class WebExportResult:
    path: Path
    size_bytes: int
    files: int
    onnx: ExportResult

    def summary_line(self) -> str:
        return (
            f"{self.path} ({self.size_bytes / 1e6:.1f} MB, {self.files} files; open it from any "
            f"static host, e.g. `python -m http.server -d {self.path}`): model "
            f"({_PRECISIONS.get(self.onnx.metadata.quantization, 'fp32')}) vs PyTorch "
            f"{self.onnx.parity.summary()}"
        )


def _require_export_dependencies() -> None:
    missing = []
    for module in ("torch", "onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError(
            f"aslrec export needs {', '.join(missing)}: pip install 'aslrec[train,onnx]'"
        )


def export_run(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    fmt: str = "onnx",
    quantize: str | None = None,
    check_data: Sequence[str | os.PathLike[str]] | None = None,
    opset: int = OPSET,
) -> ExportResult:
    """Export ``run_dir`` to ONNX (``out``, default ``RUN_DIR/model.onnx``) and prove parity.

    Raises :class:`ModelError` for a run directory with missing or unreadable files or an
    unknown architecture, and when an fp32 export does not match PyTorch (nothing is written).
    """
    if fmt != "onnx":
        hint = " (a web folder is export_web's)" if fmt == "web" else ""
        raise ConfigError(
            f"unknown export format {fmt!r} for an ONNX file{hint}; use one of {', '.join(FORMATS)}"
        )
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ConfigError(
            f"unknown quantization {quantize!r}; use one of {', '.join(QUANTIZATIONS)}"
        )
    _require_export_dependencies()
    run_dir = Path(run_dir)
    if is_ensemble(run_dir):
        raise ModelError(
            f"{run_dir}: an ensemble directory; export each member run listed in its "
            "ensemble.json (the ONNX backend then loads the ensemble as it is)"
        )
    run = RunDirectory(run_dir)
    target = Path(out) if out else run_dir / (INT8_FILENAME if quantize else MODEL_FILENAME)
    if target.is_dir():
        raise ConfigError(f"{target}: --out is a folder; give the .onnx file to write")
    metadata = OnnxMetadata(
        architecture=run.architecture,
        classes=list(run.classes),
        preprocessing=run.preprocessing.to_dict(),
        config=json.loads(json.dumps(run.config)),
        dynamic_frames=supports_dynamic_frames(run.model, run.seq_len),
        quantization="int8-dynamic" if quantize else "none",
        opset=opset,
        version=__version__,
        calibration=_read_calibration(run_dir),
    )
    x, mask, source = _check_inputs(run, check_data)

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".aslrec-export-", dir=target.parent) as tmp:
        fp32 = Path(tmp) / MODEL_FILENAME
        try:
            export_model(run.model, replace(metadata, quantization="none"), fp32)
        except Exception as exc:  # the exporter raises many types; report it in one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ModelError(f"{run_dir}: ONNX export failed ({first})") from None
        final = fp32
        if quantize:
            final = Path(tmp) / INT8_FILENAME
            quantize_int8(fp32, final, metadata)
        backend = OnnxBackend.load(final)
        parity = compare_logits(
            torch_logits(run.model, x, mask), backend_logits(backend, x, mask), mask, source
        )
        checks = [parity]
        if metadata.dynamic_frames:  # the dynamic frame axis must hold at another length too
            other_x, other_mask = synthetic_inputs(run.seq_len + 7, num_clips=16, seed=1)
            checks.append(
                compare_logits(
                    torch_logits(run.model, other_x, other_mask),
                    backend.logits(other_x, other_mask),
                    other_mask,
                    f"synthetic {run.seq_len + 7}-frame",
                )
            )
        failed = [check for check in checks if not check.ok]
        if not quantize and failed:
            raise ModelError(
                f"{run_dir}: the ONNX export does not match PyTorch ({failed[0].summary()}; "
                f"need <= {PARITY_ATOL:g} and >= {MIN_TOP1_AGREEMENT:.0%}); nothing written"
            )
        for check in checks if quantize else []:
            floor = _approximation_floor(check)
            if check.top1_agreement < floor:
                raise ModelError(
                    f"{run_dir}: int8 quantisation changes too many predictions (top-1 "
                    f"agreement {check.top1_agreement:.1%} < {floor:.0%} on {check.source} "
                    "clips); nothing written; export fp32 instead"
                )
        os.chmod(final, 0o644)
        os.replace(final, target)
    return ExportResult(target, metadata, target.stat().st_size, parity)


def export_web(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    quantize: str | None = None,
    half: bool = False,
    check_data: Sequence[str | os.PathLike[str]] | None = None,
    lexicon: Sequence[str] | None = None,
) -> WebExportResult:
    """``run_dir`` as a static folder ``out`` that recognises signs in the browser.

    The model is exported and checked exactly as :func:`export_run` does; ``half`` then stores
    its weights as fp16 (:func:`aslrec.export.web.fp16_weights`, 1.3 MB less for the bundled
    model), an approximation held to int8's floor of top-1 agreement with PyTorch on the same
    check clips, its parity reported. ``lexicon``: words (as
    :func:`aslrec.inference.fingerspelling.read_lexicon` reads them) that the page's
    fingerspelling mode snaps spelled words to. ``out`` must be missing, empty or an earlier
    web export (which is replaced whole once the new one is complete). Raises ConfigError when
    the page was not built (``make web``).
    """
    from aslrec.landmarks.hands import hand_landmarker_task

    if half and quantize:
        raise ConfigError("--half and --quantize are two ways to shrink the model; give one")
    web.require_built_page()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out must be a folder for --format web")
    if out.is_dir() and any(out.iterdir()) and not web.is_web_export(out):
        raise ConfigError(f"{out}: not empty and not an aslrec web export; give a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model = tmp / web.MODEL_DIR / MODEL_FILENAME
        onnx = export_run(run_dir, model, quantize=quantize, check_data=check_data)
        if half:
            onnx = _half(run_dir, onnx, check_data)
        web.assemble(tmp, onnx.metadata, hand_landmarker_task("full"), lexicon)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    onnx = replace(onnx, path=out / web.gzipped(web.MODEL))
    return WebExportResult(out, web.folder_size(out), files, onnx)


def _half(
    run_dir: str | os.PathLike[str],
    fp32: ExportResult,
    check_data: Sequence[str | os.PathLike[str]] | None,
) -> ExportResult:
    """``fp32``'s file rewritten with fp16 weights, checked against PyTorch on the clips the
    fp32 export was checked on and refused (ModelError) below int8's floor of top-1 agreement."""
    run = RunDirectory(Path(run_dir))
    web.fp16_weights(fp32.path, fp32.path)
    x, mask, source = _check_inputs(run, check_data)
    backend = OnnxBackend.load(fp32.path)
    parity = compare_logits(
        torch_logits(run.model, x, mask), backend_logits(backend, x, mask), mask, source
    )
    floor = _approximation_floor(parity)
    if parity.top1_agreement < floor:
        raise ModelError(
            f"{run_dir}: fp16 weights change too many predictions (top-1 agreement "
            f"{parity.top1_agreement:.1%} < {floor:.0%} on {source} clips); nothing written; "
            "export fp32 instead"
        )
    metadata = replace(fp32.metadata, quantization=web.FP16_WEIGHTS)
    return replace(fp32, metadata=metadata, size_bytes=fp32.path.stat().st_size, parity=parity)


def _check_inputs(
    run: RunDirectory, check_data: Sequence[str | os.PathLike[str]] | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """The clips an export is checked on: ``check_data`` preprocessed as the model's input, or
    synthetic ones."""
    if check_data:
        return _real_inputs(check_data, run.preprocessing)
    x, mask = synthetic_inputs(run.seq_len)
    return x, mask, "synthetic"


def _approximation_floor(check: ParityReport) -> float:
    """The top-1 agreement with PyTorch that a smaller model (int8, fp16 weights) must keep."""
    synthetic = check.source.startswith("synthetic")
    return MIN_INT8_AGREEMENT_SYNTHETIC if synthetic else MIN_INT8_AGREEMENT


def _read_calibration(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``calibration.json`` (validated by its reader), to travel inside the file."""
    if read_calibration(run_dir) is None:
        return None
    return json.loads((run_dir / CALIBRATION_FILE).read_text(encoding="utf-8"))


def _real_inputs(
    data: Sequence[str | os.PathLike[str]], preprocessing: PreprocessingSpec
) -> tuple[np.ndarray, np.ndarray, str]:
    """The check clips preprocessed exactly as the model's own input (dominant hand etc.)."""
    clips = load_datasets(list(data))  # paths or store URLs, as `aslrec train --data` takes them
    x, mask = arrays_for_model(clips, preprocessing)
    return x, mask, "+".join(Path(p).name for p in data)
