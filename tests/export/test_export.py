"""ONNX export: parity with PyTorch on real clips for every registered model, metadata, int8."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aslrec.data.preprocessing import arrays_for_model, clips_to_arrays
from aslrec.export.onnx_export import MIN_TOP1_AGREEMENT, OPSET, PARITY_ATOL, backend_logits
from aslrec.inference.onnx_backend import MODEL_FILENAME, OnnxBackend, read_metadata
from aslrec.models import list_models
from aslrec.models.logits import torch_logits
from aslrec.runs.directory import RunDirectory
from aslrec.workflows.export import export_run


def assert_parity(reference: np.ndarray, candidate: np.ndarray) -> None:
    assert reference.shape == candidate.shape
    assert np.abs(reference - candidate).max() <= PARITY_ATOL
    agreement = (reference.argmax(1) == candidate.argmax(1)).mean()
    assert agreement >= MIN_TOP1_AGREEMENT


@pytest.mark.parametrize("architecture", list_models())
def test_fp32_parity_on_real_clips(
    architecture: str,
    exported: Callable[[str], Path],
    real_batch: tuple[np.ndarray, np.ndarray],
) -> None:
    run_dir = exported(architecture)
    model = RunDirectory(run_dir).model  # the normal PyTorch forward, packed sequences and all
    backend = OnnxBackend.load(run_dir)
    x, mask = real_batch
    reference = torch_logits(model, x, mask)
    # one batch mixing full and padded clips, then every clip alone (dynamic batch, batch 1)
    assert_parity(reference, backend.logits(x, mask))
    assert_parity(reference, backend_logits(backend, x, mask, batch=1))
    # the logits are not trivially equal across clips: the comparison means something
    assert reference.std(axis=0).mean() > 1e-3


@pytest.mark.parametrize(
    "mirror",
    [
        {"mirror_canonical": True},
        {"mirror_answer": "confident"},
        {"mirror_answer": "one_view"},
        {"mirror_answer": "natural"},
    ],
    ids=str,
)
def test_per_clip_mirror_choices_export_with_parity(
    make_run: Callable[..., Path], real_batch: tuple[np.ndarray, np.ndarray], mirror: dict
) -> None:
    """The canonical mirrored view, the confident view, the one canonical view and the natural
    view (per-clip choices made from the input, a fitted score or the logits) are part of the
    graph: ONNX Runtime matches PyTorch on real clips."""
    from aslrec.workflows.export import export_run

    run_dir = make_run("isl-hybrid", mirror_invariant=True, **mirror)
    export_run(run_dir)
    x, mask = real_batch
    reference = torch_logits(RunDirectory(run_dir).model, x, mask)
    assert_parity(reference, OnnxBackend.load(run_dir).logits(x, mask))


@pytest.mark.parametrize("architecture", list_models())
def test_dynamic_frames_parity(
    architecture: str, exported: Callable[[str], Path], wlasl_clips: list
) -> None:
    run_dir = exported(architecture)
    backend = OnnxBackend.load(run_dir)
    assert backend.metadata.dynamic_frames
    model = RunDirectory(run_dir).model
    for frames in (12, 45):  # shorter (resampled) and longer (more padding) than trained
        x, mask = clips_to_arrays(wlasl_clips[::50], frames, "resample")
        assert_parity(torch_logits(model, x, mask), backend.logits(x, mask))


def test_padded_frames_do_not_matter_in_onnx(exported: Callable[[str], Path], real_batch) -> None:
    backend = OnnxBackend.load(exported("seed"))
    x, mask = real_batch
    noisy = x.copy()
    noisy[mask == 0] = np.random.default_rng(0).normal(size=noisy[mask == 0].shape) * 10
    assert np.abs(backend.logits(x, mask) - backend.logits(noisy, mask)).max() <= PARITY_ATOL


def test_metadata_reads_back(exported: Callable[[str], Path]) -> None:
    import onnx

    run_dir = exported("seed")
    config = json.loads((run_dir / "model_config.json").read_text())
    meta = read_metadata(run_dir / MODEL_FILENAME)
    assert meta.architecture == "seed"
    assert meta.classes == config["classes"] == RunDirectory(run_dir).classes
    assert meta.preprocessing == config["preprocessing"]
    assert meta.config == config
    assert (meta.seq_len, meta.frame_sampling) == (30, "resample")
    assert (meta.opset, meta.quantization, meta.dynamic_frames) == (OPSET, "none", True)
    proto = onnx.load(str(run_dir / MODEL_FILENAME), load_external_data=False)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    dims = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in proto.graph.input
    }
    assert dims == {"landmarks": ["batch", "frames", 2, 21, 3], "mask": ["batch", "frames"]}
    backend = OnnxBackend.load(run_dir)
    assert (backend.classes, backend.seq_len, backend.config) == (meta.classes, 30, config)


def test_calibration_travels_in_the_metadata(
    make_run: Callable[[str], Path], tmp_path: Path
) -> None:
    run_dir = _copy_run(make_run("seed-baseline"), tmp_path)
    assert export_run(run_dir, tmp_path / "plain.onnx").metadata.calibration is None
    calibration = {"temperature": 1.7, "threshold": 0.35, "target_accuracy": 0.9}
    (run_dir / "calibration.json").write_text(json.dumps(calibration))
    export_run(run_dir, tmp_path / "calibrated.onnx")
    assert read_metadata(tmp_path / "calibrated.onnx").calibration == calibration


def test_int8_export(
    make_run: Callable[[str], Path], tmp_path: Path, real_batch, shared_data: Path
) -> None:
    run_dir = _copy_run(make_run("seed"), tmp_path)
    result = export_run(run_dir, quantize="int8")  # default: RUN_DIR/model.int8.onnx
    out = run_dir / "model.int8.onnx"
    assert result.path == out and result.metadata.quantization == "int8-dynamic"
    assert OnnxBackend.load(run_dir).path == out  # a directory with only the int8 file
    fp32 = export_run(run_dir, tmp_path / "seed.onnx")
    assert out.stat().st_size < 0.35 * fp32.path.stat().st_size
    backend = OnnxBackend.load(out)
    assert backend.metadata.quantization == "int8-dynamic"
    assert backend.classes == fp32.metadata.classes
    x, mask = real_batch
    reference = torch_logits(RunDirectory(run_dir).model, x, mask)
    logits = backend.logits(x, mask)
    assert np.isfinite(logits).all()
    # int8 is an approximation; its accuracy delta on trained models is in RESULTS.md
    assert (reference.argmax(1) == logits.argmax(1)).mean() >= 0.8


def test_export_with_real_check_data(make_run: Callable[[str], Path], tmp_path: Path, shared_data):
    result = export_run(
        make_run("seed-baseline"),
        tmp_path / "b.onnx",
        check_data=[shared_data / "samples" / "MP_Data"],
    )
    assert result.parity.ok and result.parity.num_clips == 15
    assert "MP_Data" in result.summary_line()


def test_bundled_model_exports_with_parity(
    tmp_path: Path, wlasl_clips: list, real_batch: tuple[np.ndarray, np.ndarray]
) -> None:
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.runs.ensemble import is_model_dir, member_dirs

    if not is_model_dir(default_model_dir()):
        pytest.skip("no bundled default model in this checkout")
    clips = wlasl_clips[::10]
    for i, model_dir in enumerate(member_dirs(default_model_dir())):
        result = export_run(model_dir, tmp_path / f"default{i}.onnx")
        run = RunDirectory(model_dir)
        x, mask = arrays_for_model(clips, run.preprocessing)
        assert_parity(
            torch_logits(run.model, x, mask), OnnxBackend.load(result.path).logits(x, mask)
        )


def _copy_run(run_dir: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("*.onnx"))
    return copy


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("model_config.json", "not a model directory (no model_config.json)"),
        ("label_encoder_classes.npy", "no label_encoder_classes.npy"),
        ("weights", "no weights (model.safetensors or best_model.pth)"),
        ("architecture", "unknown model 'transformer-xl'"),
    ],
)
def test_bad_run_directory_is_a_clear_error(
    damage: str, message: str, make_run: Callable[[str], Path], tmp_path: Path
) -> None:
    from aslrec.errors import ModelError

    run_dir = _copy_run(make_run("seed-baseline"), tmp_path)
    if damage == "weights":
        for name in ("model.safetensors", "best_model.pth"):
            (run_dir / name).unlink()
    elif damage == "architecture":
        config = json.loads((run_dir / "model_config.json").read_text())
        config["architecture"] = "transformer-xl"
        (run_dir / "model_config.json").write_text(json.dumps(config))
    else:
        (run_dir / damage).unlink()
    with pytest.raises(ModelError, match=re.escape(message)) as info:
        export_run(run_dir)
    assert len(str(info.value).splitlines()) == 1
    assert not list(run_dir.glob("*.onnx"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"fmt": "tflite"},
            "unknown export format 'tflite' for an ONNX file; use one of onnx, web",
        ),
        ({"quantize": "int4"}, "unknown quantization 'int4'; use one of int8"),
    ],
)
def test_bad_export_options(options: dict, message: str, make_run, tmp_path: Path) -> None:
    from aslrec.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        export_run(make_run("seed-baseline"), tmp_path / "x.onnx", **options)


def test_export_cli_bad_input_is_one_line(tmp_path: Path, aslrec_cli: Callable[..., Any]) -> None:
    result = aslrec_cli("export", tmp_path / "nope")
    assert result.returncode == 1
    assert result.stderr == f"error: {tmp_path / 'nope'}: model directory not found\n"


def test_export_cli_writes_a_checked_file(
    make_run: Callable[[str], Path], tmp_path: Path, aslrec_cli: Callable[..., Any]
) -> None:
    out = tmp_path / "deploy" / "asl.onnx"
    result = aslrec_cli("export", make_run("seed-baseline"), "--format", "onnx", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{out} (") and "top-1 agreement 100.00%" in result.stdout
    assert read_metadata(out).architecture == "seed-baseline"
    assert [p.name for p in out.parent.iterdir()] == ["asl.onnx"]  # no temporary left behind


def test_export_that_does_not_match_is_refused(
    make_run: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aslrec.errors import ModelError
    from aslrec.workflows import export as onnx_export

    real = onnx_export.torch_logits
    monkeypatch.setattr(onnx_export, "torch_logits", lambda *a, **k: real(*a, **k) + 1e-3)
    out = tmp_path / "out" / "model.onnx"
    with pytest.raises(ModelError, match=r"does not match PyTorch .* nothing written"):
        export_run(make_run("seed-baseline"), out)
    assert list(out.parent.iterdir()) == []


def test_int8_keeps_the_input_layer_fp32(make_run: Callable[[str], Path], tmp_path: Path) -> None:
    """isl-hybrid's input projection reads features of very different sizes; quantised, it lost
    the small ones (10% top-1 agreement on a trained model). It must stay a float MatMul."""
    import onnx

    result = export_run(make_run("isl-hybrid"), tmp_path / "h.int8.onnx", quantize="int8")
    nodes = {node.name: node.op_type for node in onnx.load(str(result.path)).graph.node}
    assert nodes["/stem/stem.0/MatMul"] == "MatMul"
    assert sum(op == "MatMulInteger" for op in nodes.values()) >= 10  # the rest is int8


def test_int8_that_changes_predictions_is_refused(
    make_run: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aslrec.errors import ModelError
    from aslrec.workflows import export as onnx_export

    real = onnx_export.torch_logits

    def shuffled(*args, **kwargs):  # type: ignore[no-untyped-def]
        logits = real(*args, **kwargs)
        return np.roll(logits, 1, axis=1)  # every top-1 moves to another class

    monkeypatch.setattr(onnx_export, "torch_logits", shuffled)
    out = tmp_path / "out" / "model.int8.onnx"
    with pytest.raises(ModelError, match=r"int8 quantisation changes too many predictions"):
        export_run(make_run("seed-baseline"), out, quantize="int8")
    assert list(out.parent.iterdir()) == []


def test_an_ensemble_directory_is_not_exported_as_one_model(
    make_run: Callable[[str], Path], tmp_path: Path
) -> None:
    from aslrec.errors import ModelError
    from aslrec.runs.ensemble import create_ensemble

    create_ensemble([make_run("seed-baseline")], tmp_path / "ens")
    with pytest.raises(ModelError, match="an ensemble directory; export each member"):
        export_run(tmp_path / "ens")
