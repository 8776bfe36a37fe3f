"""The prototype head: old logits kept exactly, cosine logits for added classes, the scale fit,
a safetensors/weights-only round trip through RunDirectory, and ONNX export parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aslrec.models import create_model
from aslrec.models.prototypes import (
    PrototypeHead,
    class_prototypes,
    embed_arrays,
    fit_scale,
    normalised,
)

SMALL = {"dim": 32, "stages": 1, "conv_per_stage": 1}
ARCHITECTURES = [
    ("isl-hybrid", {**SMALL, "mirror_invariant": True}),
    ("isl-hybrid", SMALL),
    ("seed-baseline", {"hidden": 16, "head_hidden": 24}),
]


def inputs(n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    landmarks = torch.randn(n, 30, 2, 21, 3)
    landmarks[0, :, 0] = 0
    mask = torch.ones(n, 30)
    mask[1, 12:] = 0
    return landmarks, mask


def extended(name: str, kwargs: dict, classes: int = 4, added: int = 2) -> PrototypeHead:
    torch.manual_seed(0)
    base = create_model(name, num_classes=classes, **kwargs).eval()
    features, _ = base.embed_and_logits(*inputs())
    targets = list(range(classes, classes + added))
    return PrototypeHead(base, features[:added].detach(), targets, classes, 7.5, -2.0).eval()


@pytest.mark.parametrize(("name", "kwargs"), ARCHITECTURES)
def test_old_logits_exact_new_ones_cosine(name: str, kwargs: dict) -> None:
    model = extended(name, kwargs)
    landmarks, mask = inputs()
    with torch.inference_mode():
        logits = model(landmarks, mask)
        old = model.model(landmarks, mask)
        features, _ = model.model.embed_and_logits(landmarks, mask)
    assert logits.shape == (5, 6)
    assert torch.equal(logits[:, :4], old)  # bit for bit
    cosine = normalised(features) @ normalised(features[:2]).T
    assert torch.allclose(logits[:, 4:], 7.5 * cosine - 2.0, atol=1e-5)
    assert torch.allclose(logits[[0, 1], [4, 5]], torch.tensor([5.5, 5.5]), atol=1e-5)


def test_prototypes_of_a_trained_class_can_only_raise_it() -> None:
    """Personalisation: a prototype for trained class 1 and two for added class 4."""
    torch.manual_seed(0)
    base = create_model("isl-hybrid", num_classes=4, **SMALL).eval()
    landmarks, mask = inputs()
    with torch.inference_mode():
        features, old = base.embed_and_logits(landmarks, mask)
        model = PrototypeHead(base, features[:3], [1, 4, 4], 4, 7.5, -2.0)
        logits = model(landmarks, mask)
    cosine = 7.5 * (normalised(features) @ normalised(features[:3]).T) - 2.0
    assert logits.shape == (5, 5)
    assert torch.equal(logits[:, [0, 2, 3]], old[:, [0, 2, 3]])
    assert torch.equal(logits[:, 1], torch.maximum(old[:, 1], cosine[:, 0]))
    assert torch.equal(logits[:, 4], torch.maximum(cosine[:, 1], cosine[:, 2]))
    with pytest.raises(ValueError, match="without a prototype"):
        PrototypeHead(base, features[:1], [5], 4, 1.0, 0.0)


def test_mirror_invariant_base_keeps_added_logits_invariant() -> None:
    from aslrec.data.augment import mirror_batch

    model = extended("isl-hybrid", {**SMALL, "mirror_invariant": True})
    landmarks, mask = inputs()
    with torch.inference_mode():
        assert torch.allclose(
            model(landmarks, mask), model(mirror_batch(landmarks), mask), atol=1e-5
        )


def test_fit_scale_recovers_a_linear_relation() -> None:
    torch.manual_seed(0)
    labels = torch.arange(40) % 4
    embeddings = torch.randn(40, 8) + 3 * torch.eye(8)[labels]
    cosine = normalised(embeddings) @ class_prototypes(embeddings, labels, 4).T
    fit = fit_scale(embeddings, 3.0 * cosine + 1.0, labels)
    assert fit.scale == pytest.approx(3.0, abs=1e-5)
    assert fit.bias == pytest.approx(1.0, abs=1e-5)
    assert fit.r2 == pytest.approx(1.0, abs=1e-6)


def write_extended_run(run_dir: Path, model: PrototypeHead, kwargs: dict) -> Path:
    from aslrec.data.labels import LabelEncoder
    from aslrec.data.preprocessing import PreprocessingSpec
    from aslrec.runs import artifacts

    classes = ["a", "b", "c", "d", "new1", "new2"]
    artifacts.save_weights(run_dir, model, epoch=0, val_acc=0.0)
    LabelEncoder(classes).save(run_dir / artifacts.CLASSES)
    signs = [{"label": c, "examples": 1, "sources": ["x"]} for c in classes[4:]]
    artifacts.save_config(
        run_dir,
        {
            "architecture": "isl-hybrid",
            "model_kwargs": kwargs,
            "classes": classes,
            "preprocessing": PreprocessingSpec().to_dict(),
            "added_signs": {"base_classes": 4, "signs": signs, "scale": 7.5, "bias": -2.0},
        },
    )
    return run_dir


def test_round_trip_through_run_directory(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from aslrec.runs.directory import RunDirectory

    kwargs = {**SMALL, "mirror_invariant": True}
    model = extended("isl-hybrid", kwargs)
    run_dir = write_extended_run(tmp_path, model, kwargs)
    weights = load_file(str(run_dir / "model.safetensors"))
    assert weights["prototypes"].shape == (2, 64)
    checkpoint = torch.load(run_dir / "best_model.pth", weights_only=True)
    assert torch.equal(checkpoint["model_state_dict"]["scale"], torch.tensor(7.5))
    rebuilt = RunDirectory(run_dir).model
    assert isinstance(rebuilt, PrototypeHead)
    landmarks, mask = inputs()
    with torch.inference_mode():
        assert torch.equal(rebuilt(landmarks, mask), model(landmarks, mask))


def test_onnx_export_parity_of_an_extended_model(tmp_path: Path) -> None:
    from aslrec.export.onnx_export import synthetic_inputs
    from aslrec.inference.onnx_backend import OnnxBackend
    from aslrec.workflows.export import export_run

    torch.set_num_threads(1)
    kwargs = {**SMALL, "mirror_invariant": True}
    model = extended("isl-hybrid", kwargs)
    run_dir = write_extended_run(tmp_path, model, kwargs)
    result = export_run(run_dir)  # refuses (raises) when ONNX Runtime disagrees with PyTorch
    assert result.parity.ok and len(result.metadata.classes) == 6
    x, mask = synthetic_inputs(30, num_clips=8, seed=3)
    onnx = OnnxBackend.load(result.path).logits(x, mask)
    _, torch_logits = embed_arrays(model, x, mask)
    assert np.abs(onnx - torch_logits.numpy()).max() < 1e-4
