"""``aslrec add-sign`` / ``remove-sign``: a new model directory with a sign added from a few
examples (or an added one removed), the old directory untouched, nothing retrained. Examples
of a sign the model already knows add a prototype for it (personalisation: a user's own style
of the sign), removed again the same way.

The examples are embedded by the run's own encoder and averaged into a class prototype beside
the trained classifier (:class:`~aslrec.models.prototypes.PrototypeHead`); the scale that puts
prototype logits on the classifier's scale is fitted on the old classes' training clips (at most
:data:`FIT_CLIPS_PER_CLASS` per class, so adding stays within seconds), or read from the run's
stored :data:`REFERENCE_FILE` when it has one and no ``--data`` is given: the bundled model
ships it, since its users do not have its training data. The new directory is built in a
temporary folder beside ``--out`` and renamed into place when complete. Its manifest lists each
added sign with the sources of its examples (``added_signs``; shown by ``aslrec add-sign
--list``). A calibrated run is recalibrated on its held-out fold (old signs only: the examples
are all a new sign has), or keeps its old temperature and threshold when that data is not at
hand, and says which.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aslrec.data.labels import LabelEncoder
from aslrec.data.loaders import load_dataset
from aslrec.data.preprocessing import arrays_for_model
from aslrec.data.remote import local_path
from aslrec.errors import AslrecError, ConfigError, DataError, ModelError
from aslrec.inference.onnx_backend import MODEL_FILENAME
from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.extract import collect_inputs
from aslrec.landmarks.video import is_trackable_file
from aslrec.runs import artifacts
from aslrec.runs.calibration import CALIBRATION_FILE, read_calibration
from aslrec.runs.directory import RunDirectory
from aslrec.runs.ensemble import is_ensemble
from aslrec.workflows.export import export_run

if TYPE_CHECKING:
    import torch
    from torch import nn

    from aslrec.models.prototypes import PrototypeHead

REFERENCE_FILE = "old_classes.safetensors"
"""The old classes' :class:`Reference`, stored in a run directory so signs can be added where
its training data is not (the bundled model, installed without ``../shared``)."""
FIT_CLIPS_PER_CLASS = 16
"""Training clips per old class embedded for the scale fit and the report (seeded draw)."""
NEAREST_SHOWN = 3
KEPT_FILES = (artifacts.HISTORY, artifacts.HISTORY_PLOT, REFERENCE_FILE)
"""Files of the old run copied as they are (they describe the trained part)."""


@dataclass
class SignChange:
    """What ``add-sign``/``remove-sign`` did, and the add-time report."""

    out: Path
    label: str
    classes: int
    seconds: float
    calibration: str
    nearest: list[tuple[str, float]] = field(default_factory=list)
    mutual_similarity: float | None = None
    warnings: list[str] = field(default_factory=list)
    own_similarity: float | None = None
    """For examples of a trained sign: their prototype's cosine to the sign's own."""

    def lines(self) -> list[str]:
        out = [f"wrote {self.out} ({self.classes} classes) in {self.seconds:.1f} s"]
        if self.nearest:
            near = ", ".join(f"{label} {sim:.2f}" for label, sim in self.nearest)
            out.append(f"nearest known signs to {self.label!r} (prototype cosine): {near}")
        if self.own_similarity is not None:
            out.append(
                f"examples of the trained sign {self.label!r}: similarity to its own training "
                f"clips {self.own_similarity:.2f} (an extra prototype for it)"
            )
        if self.mutual_similarity is not None:
            out.append(f"examples' mutual similarity: {self.mutual_similarity:.2f}")
        out.append(self.calibration)
        return out + [f"warning: {w}" for w in self.warnings]


@dataclass
class Reference:
    """The old classes as the encoder sees them: prototypes from their training clips, the
    fitted scale, and what counts as "alike" among them (for the add-time warnings)."""

    prototypes: torch.Tensor
    scale: float
    bias: float
    r2: float
    clips: int
    low_mutual: float
    """10th percentile of the old classes' own mutual similarity."""
    closest_pair: float
    """Highest cosine between two old classes' prototypes."""

    NUMBERS = ("scale", "bias", "r2", "clips", "low_mutual", "closest_pair")

    def save(self, path: Path) -> None:
        """Prototypes as a tensor, the numbers as safetensors metadata (no pickle); atomic."""
        from safetensors.torch import save_file

        from aslrec.atomic import atomic_path

        numbers = {name: repr(getattr(self, name)) for name in self.NUMBERS}
        with atomic_path(path) as tmp:
            save_file({"prototypes": self.prototypes.contiguous()}, str(tmp), metadata=numbers)

    @classmethod
    def load(cls, path: Path) -> Reference:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                numbers = f.metadata() or {}
                prototypes = f.get_tensor("prototypes")
            values = {name: float(numbers[name]) for name in cls.NUMBERS}
        except Exception as exc:  # safetensors raises several types on a corrupt file
            raise ModelError(f"{path}: unreadable old-class reference ({exc})") from None
        values["clips"] = int(values["clips"])
        return cls(prototypes, **values)  # type: ignore[arg-type]


def add_sign(
    model_dir: str | os.PathLike[str],
    label: str,
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    data: Sequence[str | os.PathLike[str]] | None = None,
) -> SignChange:
    """Write ``out``: ``model_dir`` with a prototype of ``label`` from the examples in
    ``inputs`` (videos, image folders, landmark files or data sets; a data set's clips labelled
    ``label`` or unlabelled): a new sign, or more of one the model knows (personalisation).
    ``data`` defaults to the run's recorded training data."""
    import torch

    from aslrec.models.prototypes import embed_arrays, mutual_similarity, prototype

    start = time.perf_counter()
    out = _check_out(out)
    recognizer = _recognizer(model_dir)
    run: RunDirectory = recognizer.backend.run  # type: ignore[attr-defined]
    label = label.strip()
    if not label:
        raise ConfigError("the sign's label is empty")
    examples = _load_examples(recognizer, label, inputs)
    base, head = _unwrapped(recognizer.backend.model)  # type: ignore[attr-defined]
    reference = run_reference(run, base, data)
    x, mask = arrays_for_model(examples, run.preprocessing)
    embeddings, _ = embed_arrays(base, x, mask)
    new = prototype(embeddings)[None]
    if head is None:
        prototypes, scale, bias = new, reference.scale, reference.bias
    else:  # earlier signs keep their logits: same scale, prototypes appended
        prototypes, (scale, bias) = torch.cat([head.prototypes, new]), _scale_bias(head)
    trained = run.classes[: run.base_classes]
    similarity = (reference.prototypes @ new[0]).tolist()
    order = [i for i in np.argsort(similarity)[::-1] if trained[i] != label][:NEAREST_SHOWN]
    nearest = [(trained[i], float(similarity[i])) for i in order]
    mutual = mutual_similarity(embeddings) if len(examples) > 1 else None
    warnings = _warnings(nearest, mutual, reference, len(examples))
    own = similarity[trained.index(label)] if label in trained else None
    sign = {
        "label": label,
        "examples": len(examples),
        "sources": [c.source for c in examples],
        "added": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    added = {
        "base_classes": run.base_classes,
        "signs": [*run.added_signs, sign],
        "scale": scale,
        "bias": bias,
        "fit": {
            "what": "least squares of the classifier's logits on prototype cosines, every "
            "(training clip, old class) pair",
            "clips": reference.clips,
            "r2": round(reference.r2, 4),
        },
    }
    classes = run.classes if label in run.classes else [*run.classes, label]
    model = _head(run, base, prototypes, added, classes)
    calibration = _write_run(run, model, classes, added, out, data, reference)
    return SignChange(
        out,
        label,
        len(classes),
        time.perf_counter() - start,
        calibration,
        nearest=nearest,
        mutual_similarity=mutual,
        warnings=warnings,
        own_similarity=own,
    )


def remove_sign(
    model_dir: str | os.PathLike[str],
    label: str,
    out: str | os.PathLike[str],
    *,
    data: Sequence[str | os.PathLike[str]] | None = None,
) -> SignChange:
    """Write ``out``: ``model_dir`` without the prototypes of ``label``: an added sign goes,
    a trained sign loses the examples added to it and keeps its classifier."""
    start = time.perf_counter()
    out = _check_out(out)
    run = RunDirectory(model_dir)
    added = _added_labels(run)
    if label not in added:
        what = "a trained sign without added examples" if label in run.classes else "not a sign"
        listed = ", ".join(dict.fromkeys(added)) or "none"
        raise ConfigError(
            f"{label!r} is {what} of {run.path}; only added signs and examples can be removed "
            f"(added: {listed})"
        )
    base, head = _unwrapped(run.model)
    keep = [i for i, name in enumerate(added) if name != label]
    trained = run.classes[: run.base_classes]
    classes = run.classes if label in trained else [c for c in run.classes if c != label]
    model: nn.Module = base
    manifest_added = None
    if keep and head is not None:
        manifest_added = {**run.config["added_signs"], "signs": [run.added_signs[i] for i in keep]}
        model = _head(run, base, head.prototypes[keep], manifest_added, classes)
    calibration = _write_run(run, model, classes, manifest_added, out, data)
    return SignChange(out, label, len(classes), time.perf_counter() - start, calibration)


def _head(
    run: RunDirectory,
    base: nn.Module,
    prototypes: torch.Tensor,
    added: dict[str, Any],
    classes: list[str],
) -> PrototypeHead:
    from aslrec.models.prototypes import PrototypeHead

    targets = [classes.index(s["label"]) for s in added["signs"]]
    return PrototypeHead(base, prototypes, targets, run.base_classes, added["scale"], added["bias"])


def list_added_signs(model_dir: str | os.PathLike[str]) -> list[str]:
    """One line per added sign of ``model_dir``: label, example count and their sources."""
    run = RunDirectory(model_dir)
    return [
        f"{s['label']}: {s['examples']} examples ({', '.join(map(str, s['sources']))})"
        for s in run.added_signs
    ]


def _added_labels(run: RunDirectory) -> list[str]:
    return [str(s["label"]) for s in run.added_signs]


def _check_out(out: str | os.PathLike[str]) -> Path:
    out = Path(out)
    if out.exists():
        raise ConfigError(f"{out}: --out already exists; give a new directory")
    return out


def _recognizer(model_dir: str | os.PathLike[str]) -> Recognizer:
    if is_ensemble(Path(model_dir)):
        raise ModelError(f"{model_dir}: an ensemble directory; add the sign to a single run")
    return Recognizer.load(model_dir, backend="torch")


def _unwrapped(model: nn.Module) -> tuple[nn.Module, PrototypeHead | None]:
    """``(trained model, its prototype head or None)``."""
    from aslrec.models.prototypes import PrototypeHead

    return (model.model, model) if isinstance(model, PrototypeHead) else (model, None)


def _scale_bias(head: PrototypeHead) -> tuple[float, float]:
    return float(head.scale), float(head.bias)


def _load_examples(
    recognizer: Recognizer, label: str, inputs: Sequence[str | os.PathLike[str]]
) -> list[LandmarkClip]:
    """Every example clip: a video or image folder is tracked as ``aslrec predict`` tracks it,
    a landmark file or data set (also a store's URL, read by ``load_dataset`` as everywhere)
    gives its clips labelled ``label`` (or unlabelled)."""
    if not inputs:
        raise DataError("no examples given")
    clips: list[LandmarkClip] = []
    for given in inputs:
        source = local_path(given)
        if source is None:  # a URL: a data set there, never a video
            clips += _labelled(load_dataset(given), label, given)
            continue
        if not source.exists():
            raise DataError(f"{source}: no such file or folder")
        if source.is_file() and is_trackable_file(source):
            clips.append(_tracked(recognizer, source))
            continue
        try:
            found = Recognizer.load_landmarks(source) if source.is_file() else load_dataset(source)
        except DataError:
            if source.is_file():
                raise
            clips += [_tracked(recognizer, job.path) for job in collect_inputs([source])]
            continue
        clips += _labelled(found, label, source)
    return clips


def _labelled(
    found: list[LandmarkClip], label: str, source: str | os.PathLike[str]
) -> list[LandmarkClip]:
    """The clips of ``found`` labelled ``label`` or unlabelled; DataError when there are none."""
    matching = [c for c in found if c.label in (None, label)]
    if not matching:
        labels = ", ".join(sorted({str(c.label) for c in found})[:8])
        raise DataError(f"{source}: no clip labelled {label!r} (its labels: {labels})")
    return matching


def _tracked(recognizer: Recognizer, video: Path) -> LandmarkClip:
    clip, _ = recognizer.extract(video)
    return replace(clip, source=str(video))


def run_reference(
    run: RunDirectory, base: nn.Module, data: Sequence[str | os.PathLike[str]] | None = None
) -> Reference:
    """The run's stored :data:`REFERENCE_FILE` unless ``data`` is given, else computed from
    its (recorded or given) training data."""
    stored = run.path / REFERENCE_FILE
    if data is None and stored.is_file():
        return Reference.load(stored)
    train_clips, _ = run.split_clips(data)
    return old_class_reference(run, base, train_clips)


def write_reference(
    model_dir: str | os.PathLike[str], data: Sequence[str | os.PathLike[str]] | None = None
) -> Path:
    """Store the run's old-class reference in it (from its training data), so ``add-sign``
    works on that directory without the data."""
    run = RunDirectory(model_dir)
    base, _ = _unwrapped(run.model)
    train_clips, _ = run.split_clips(data)
    path = run.path / REFERENCE_FILE
    old_class_reference(run, base, train_clips).save(path)
    return path


def old_class_reference(
    run: RunDirectory, base: nn.Module, train_clips: list[LandmarkClip]
) -> Reference:
    """Embed a seeded draw of the old classes' training clips; fit the scale on them."""
    import torch

    from aslrec.models.prototypes import (
        class_prototypes,
        embed_arrays,
        fit_scale,
        mutual_similarity,
    )

    old = run.classes[: run.base_classes]
    index = {name: i for i, name in enumerate(old)}
    rng = np.random.default_rng(0)
    chosen: list[LandmarkClip] = []
    for name in old:
        own = [c for c in train_clips if c.label == name]
        if not own:
            raise DataError(f"{run.path}: no training clip of {name!r} to fit the new sign's scale")
        picks = rng.choice(len(own), min(FIT_CLIPS_PER_CLASS, len(own)), replace=False)
        chosen += [own[i] for i in sorted(picks)]
    x, mask = arrays_for_model(chosen, run.preprocessing)
    embeddings, logits = embed_arrays(base, x, mask)
    labels = torch.tensor([index[c.label] for c in chosen])  # type: ignore[index]
    fit = fit_scale(embeddings, logits, labels)
    prototypes = class_prototypes(embeddings, labels, len(old))
    mutual = [mutual_similarity(embeddings[labels == c]) for c in range(len(old))]
    pairs = prototypes @ prototypes.T - 2 * torch.eye(len(old))
    return Reference(
        prototypes,
        fit.scale,
        fit.bias,
        fit.r2,
        len(chosen),
        float(np.percentile(mutual, 10)),
        float(pairs.max()),
    )


def _warnings(
    nearest: list[tuple[str, float]], mutual: float | None, reference: Reference, k: int
) -> list[str]:
    out = []
    if mutual is not None and mutual < reference.low_mutual:
        out.append(
            f"the examples disagree: mutual similarity {mutual:.2f}, below 90% of the known "
            f"signs' own clips ({reference.low_mutual:.2f}); check they all show the sign"
        )
    if nearest and nearest[0][1] > reference.closest_pair:
        out.append(
            f"looks like the known sign {nearest[0][0]!r} (similarity {nearest[0][1]:.2f}, "
            f"closer than any two known signs are, {reference.closest_pair:.2f})"
        )
    if k < 3:
        out.append(f"only {k} example(s): 5 or more give a more reliable prototype")
    return out


def _write_run(
    run: RunDirectory,
    model: nn.Module,
    classes: list[str],
    added: dict[str, Any] | None,
    out: Path,
    data: Sequence[str | os.PathLike[str]] | None,
    reference: Reference | None = None,
) -> str:
    """Build the new run in a temporary folder beside ``out``, recalibrate it (or keep the old
    calibration), export it again if the old run had an ONNX file (the old one would be
    stale), then rename it into place; returns what happened to calibration and ONNX. The
    old-class ``reference`` is stored with it (the next add needs no training data)."""
    config = {k: v for k, v in run.config.items() if k != "added_signs"}
    config |= {"classes": classes, "num_classes": len(classes), "derived_from": run.path.name}
    if added:
        config["added_signs"] = added
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        epoch = int(run.config.get("best_epoch", 0))
        val_acc = float(run.config.get("metrics", {}).get("val_top1", 0.0))
        artifacts.save_weights(tmp, model, epoch=epoch, val_acc=val_acc)
        LabelEncoder(classes).save(tmp / artifacts.CLASSES)
        artifacts.save_config(tmp, config)
        for name in KEPT_FILES:
            if (run.path / name).is_file():
                shutil.copy2(run.path / name, tmp / name)
        if reference is not None:
            reference.save(tmp / REFERENCE_FILE)
        note = _recalibrate(run, tmp, data)
        if (run.path / MODEL_FILENAME).is_file():  # a torch-free install runs the ONNX file
            export_run(tmp)
            note += f"; {MODEL_FILENAME} re-exported (parity checked)"
        os.chmod(tmp, 0o755)
        if out.exists():
            raise ConfigError(f"{out}: --out appeared while writing; nothing replaced")
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return note


def _recalibrate(
    run: RunDirectory, new_dir: Path, data: Sequence[str | os.PathLike[str]] | None
) -> str:
    from aslrec.workflows.calibrate import calibrate_run

    old = read_calibration(run.path)
    if old is None:
        return "calibration: none (the old run had none; `aslrec calibrate` fits one)"
    try:
        result = calibrate_run(
            new_dir, list(data) if data else None, target_accuracy=old.target_accuracy
        )
    except ConfigError:  # the data is there but cannot be read here (a package is missing)
        raise
    except AslrecError as exc:  # the data is not at hand
        shutil.copy2(run.path / CALIBRATION_FILE, new_dir / CALIBRATION_FILE)
        return f"calibration: kept the old temperature and threshold ({exc})"
    c = result.calibration
    return (
        f"calibration: refitted on {c.fitted_on.get('clips')} held-out clips of the old signs: "
        f"T {old.temperature:.3f} -> {c.temperature:.3f}, threshold {old.threshold:.3f} -> "
        f"{c.threshold:.3f}"
    )
