"""The hand-shape SVM fitted in closed form: libsvm's machine carried exactly, new people read,
and a run that loads, reloads and exports like any other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aslrec.data.labels import canonical_clips
from aslrec.data.loaders import load_dataset
from aslrec.data.preprocessing import arrays_for_model
from aslrec.models import create_model
from aslrec.models.kernel import HandShapeSVM
from aslrec.runs.config import preset
from aslrec.training.kernel import SCALES, _kernel, _load_svc, fit_svm, is_closed_form

FS16 = "fingerspelling16.npz"
PREPROCESSING = preset("handshape-svm").preprocessing


@pytest.fixture(scope="module")
def letters(shared_data: Path) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """fingerspelling16's clips, and as the preset feeds them: x, mask, label index, person."""
    clips = canonical_clips(load_dataset(shared_data / FS16))
    x, mask = arrays_for_model(clips, PREPROCESSING)
    classes = sorted({c.label for c in clips})
    y = np.array([classes.index(c.label) for c in clips])
    return clips, x, mask, y, np.array([c.signer for c in clips])


def test_the_model_carries_libsvms_machine_exactly(letters) -> None:
    """On real hand shapes, the model's one-vs-one decisions are scikit-learn's, and a class
    with no training frames is never chosen."""
    from sklearn.svm import SVC

    _, x, _, y, people = letters
    some = np.flatnonzero(np.isin(people, ["user_3", "user_4"]) & (y != 5))  # class 5 absent
    machine = HandShapeSVM(num_classes=24, support_per_class=1)
    with torch.no_grad():
        frames = machine.standardised(torch.from_numpy(x[some, 0])).double().numpy()
    svc = SVC(C=10, gamma=float(machine.gamma), decision_function_shape="ovo")
    svc.fit(frames, y[some])
    _load_svc(machine, svc)
    with torch.no_grad():
        kernel = _kernel(machine, frames)
        decisions = machine.decisions(kernel).numpy()
        logits = machine.classify(kernel)
    present = svc.classes_
    ours = np.stack(
        [decisions[:, a, b] for i, a in enumerate(present) for b in present[i + 1 :]], axis=1
    )
    reference = svc.decision_function(frames)
    assert np.abs(ours - reference).max() < 1e-3 * max(1.0, np.abs(reference).max())
    assert np.allclose(decisions, -decisions.transpose(0, 2, 1))
    assert 5 not in logits.argmax(dim=1).tolist()
    votes = (decisions > 0).sum(axis=-1)
    assert (votes.argmax(axis=1) == svc.predict(frames)).all()  # libsvm's own vote


def test_fitted_on_five_people_it_reads_a_sixth(letters) -> None:
    """... and answers each photo and its mirror image alike (preprocessing turns the mirror
    image back into the same input; the mirrored views train it for two-handed clips)."""
    clips, x, mask, y, people = letters
    train = np.isin(people, ["user_3", "user_4", "user_5", "user_6", "user_7"])
    test = people == "user_10"
    model = create_model("handshape-svm", 24, mirror_invariant=True, mirror_canonical=True)
    assert is_closed_form(model)
    fit = fit_svm(model, x[train], mask[train], y[train], people[train])
    assert fit.frames == train.sum()  # one distinct frame per still photo, none mirrored
    assert SCALES[0] < fit.scale < SCALES[-1]  # a calibrated scale, not the grid's edge
    assert fit.train_top1 > 0.98
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x[test]), torch.from_numpy(mask[test]))
        flipped = [clip.mirrored() for clip, held in zip(clips, test, strict=True) if held]
        mirrored = model(*map(torch.from_numpy, arrays_for_model(flipped, PREPROCESSING)))
    assert (logits.argmax(1).numpy() == y[test]).mean() > 0.85  # 24 letters: chance is 4%
    assert torch.allclose(logits, mirrored, atol=1e-4)


def test_train_writes_a_run_that_reloads_and_exports(shared_data: Path, tmp_path: Path) -> None:
    """``aslrec train --preset handshape-svm``: no epochs, the inner split fitted on too; the
    run loads (safetensors) at the size it was fitted, and its ONNX graph agrees with it."""
    from aslrec.export.onnx_export import PARITY_ATOL
    from aslrec.inference.onnx_backend import OnnxBackend
    from aslrec.models.logits import torch_logits
    from aslrec.runs.directory import RunDirectory
    from aslrec.workflows.export import export_run
    from aslrec.workflows.train import CLOSED_FORM_NOTE, train

    config = preset("handshape-svm").updated(
        split="signer", folds=12, fold=0, selection="inner", threads=1
    )
    result = train([shared_data / FS16], tmp_path / "run", config, progress=False)
    assert result.val_top1 > 0.85 and result.epochs_run == 1
    manifest = json.loads((tmp_path / "run" / "model_config.json").read_text())
    assert manifest["data"]["num_inner_val"] == 0
    assert manifest["data"]["num_train"] == 11 * 240
    assert manifest["metrics"]["epoch_selected_on"] == CLOSED_FORM_NOTE

    run = RunDirectory(tmp_path / "run")
    machine = run.model.model
    assert machine.support.shape[0] not in (0, 4 * len(run.classes))  # resized on loading
    clips = run.held_out_clips()
    assert len({c.signer for c in clips}) == 1
    x, mask = arrays_for_model(clips, run.preprocessing)
    reference = torch_logits(run.model, x, mask)
    truth = np.array([run.classes.index(c.label) for c in clips])
    assert (reference.argmax(1) == truth).mean() == pytest.approx(result.val_top1)

    export_run(tmp_path / "run")
    onnx = OnnxBackend.load(tmp_path / "run").logits(x, mask)
    assert (onnx.argmax(1) == reference.argmax(1)).all()
    assert np.abs(onnx - reference).max() <= PARITY_ATOL


def test_one_sign_is_a_clear_error(letters) -> None:
    from aslrec.errors import DataError

    _, x, mask, y, people = letters
    only_a = y == 0
    model = create_model("handshape-svm", 24)
    with pytest.raises(DataError, match="needs frames of at least two signs"):
        fit_svm(model, x[only_a], mask[only_a], y[only_a], people[only_a])


def test_copies_are_the_clips_then_seeded_augmented_copies(letters) -> None:
    """:class:`Copies`: the clips first, unchanged, then ``count`` augmented copies each, the
    same for the same seed; an absent hand stays absent in every copy."""
    from aslrec.data.augment import build_augmentation
    from aslrec.training.kernel import Copies

    _, x, mask, _, _ = letters
    landmarks, frame_mask = torch.from_numpy(x[:8]), torch.from_numpy(mask[:8])
    affine = build_augmentation({"affine": preset("handshape-svm").augment["affine"]})
    got, got_mask = Copies(2, affine, seed=3).of(landmarks, frame_mask)
    assert got.shape == (24, *landmarks.shape[1:]) and torch.equal(got_mask[8:16], frame_mask)
    assert torch.equal(got[:8], landmarks)
    assert not torch.equal(got[8:16], landmarks) and not torch.equal(got[8:16], got[16:])
    assert torch.equal(got, Copies(2, affine, seed=3).of(landmarks, frame_mask)[0])
    assert not torch.equal(got, Copies(2, affine, seed=4).of(landmarks, frame_mask)[0])
    absent = landmarks.abs().sum(dim=(-1, -2)) == 0  # the letters' empty left-hand slot
    assert absent.any() and (got.abs().sum(dim=(-1, -2)) == 0).equal(absent.repeat(3, 1, 1))
    assert Copies().of(landmarks, frame_mask)[0] is landmarks


def test_affine_copies_are_fitted_beside_each_clip(letters) -> None:
    """The preset's copies: three distinct frames per still photo, and still a machine that
    reads a person it never saw."""
    from aslrec.data.augment import build_augmentation
    from aslrec.training.kernel import Copies

    _, x, mask, y, people = letters
    config = preset("handshape-svm")
    assert config.augmented_copies == 2 and set(config.augment) == {"affine"}
    train = np.isin(people, ["user_3", "user_4", "user_5", "user_6", "user_7"])
    test = people == "user_10"
    model = create_model("handshape-svm", 24, mirror_invariant=True, mirror_canonical=True)
    copies = Copies(config.augmented_copies, build_augmentation(config.augment), seed=42)
    fit = fit_svm(model, x[train], mask[train], y[train], people[train], copies=copies)
    assert fit.frames == 3 * train.sum()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x[test]), torch.from_numpy(mask[test]))
    assert (logits.argmax(1).numpy() == y[test]).mean() > 0.85


def test_a_network_refuses_augmented_copies(shared_data: Path, tmp_path: Path) -> None:
    from aslrec.errors import ConfigError
    from aslrec.workflows.train import train

    with pytest.raises(ConfigError, match="augmented_copies must be >= 0"):
        preset("handshape-svm").updated(augmented_copies=-1)
    config = preset("best-fast").updated(augmented_copies=1, epochs=1, min_steps=0, threads=1)
    with pytest.raises(ConfigError, match="augmented_copies is for closed-form models"):
        train([shared_data / FS16], tmp_path / "run", config, progress=False)
    assert not (tmp_path / "run").exists()
