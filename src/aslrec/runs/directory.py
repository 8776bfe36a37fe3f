"""A trained run as one typed object: its manifest (``model_config.json``), classes, model and
held-out clips.

Everything that takes a run (evaluation, calibration, export, distillation teachers, the torch
backend, benchmarks, the default-model build) reads it through :class:`RunDirectory`, so the
manifest is parsed in one place and a run's held-out fold is rebuilt one way: the same data,
canonical labels and :class:`~aslrec.data.splits.SplitSpec` that training used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aslrec.data.labels import LabelEncoder, canonical_clips
from aslrec.data.preprocessing import PreprocessingSpec
from aslrec.data.splits import Selection, SplitSpec
from aslrec.errors import AslrecError, ConfigError, DataError, ModelError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.runs import artifacts
from aslrec.version import __version__

if TYPE_CHECKING:
    from torch import nn

    from aslrec.data.shards import SourceSet
    from aslrec.runs.config import TrainConfig

SELECTION_NOTE: dict[Selection, str] = {
    "val-fold": "the held-out fold itself (the card's recipe; optimistic)",
    "inner": "an inner validation split of the training folds (held-out fold never used)",
    "fixed": "none: a fixed number of epochs, the last one kept (held-out fold never used)",
}


class RunDirectory:
    """A run directory written by ``aslrec train``, read and checked once.

    ``config`` is the whole manifest as plain data (it travels into exported ONNX files); the
    typed views (:attr:`preprocessing`, :attr:`split`, :attr:`training`) are what code reads.
    The model is built on first use of :attr:`model`, so reading a manifest needs no torch.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.config = _read_manifest(self.path)
        if not (self.path / artifacts.CLASSES).is_file():
            raise ModelError(f"{self.path}: no {artifacts.CLASSES}")
        self.classes: list[str] = LabelEncoder.load(self.path / artifacts.CLASSES).classes
        try:
            self.preprocessing = PreprocessingSpec.from_dict(self.config["preprocessing"])
            self.split = SplitSpec.from_dict(self.config.get("split", {}))
        except AslrecError as exc:
            raise ModelError(f"{self.path / artifacts.CONFIG}: {exc}") from None
        self.architecture = str(self.config["architecture"])
        self.model_kwargs: dict[str, Any] = dict(self.config.get("model_kwargs", {}))

    @property
    def seq_len(self) -> int:
        return self.preprocessing.seq_len

    @property
    def selection(self) -> Selection | None:
        """What chose the kept epoch (None for runs that do not record it)."""
        return self.config.get("training", {}).get("selection")

    @property
    def sources(self) -> list[str]:
        """The training data as recorded (paths as given to ``aslrec train``)."""
        return [str(p) for p in self.config.get("data", {}).get("sources", [])]

    @cached_property
    def training(self) -> TrainConfig:
        """The run's resolved training config (older flat manifests included)."""
        from aslrec.runs.config import TrainConfig  # its presets validate augmentation: torch

        try:
            return TrainConfig.from_dict(self.config.get("training", {}))
        except AslrecError as exc:
            raise ModelError(f"{self.path}: cannot read its training config ({exc})") from None

    @property
    def added_signs(self) -> list[dict[str, Any]]:
        """Prototypes added from examples (``aslrec add-sign``), in weight order: each
        ``{"label", "examples", "sources"}``, a new sign or a trained one (a user's examples of
        it); empty for a trained run."""
        return list(self.config.get("added_signs", {}).get("signs", []))

    @property
    def base_classes(self) -> int:
        """How many of :attr:`classes` the trained classifier has (the rest were added)."""
        return int(self.config.get("added_signs", {}).get("base_classes", len(self.classes)))

    @cached_property
    def model(self) -> nn.Module:
        """The trained model in eval mode (weights from safetensors, else weights-only .pth),
        wrapped in a :class:`~aslrec.models.prototypes.PrototypeHead` when signs were added."""
        from aslrec.models.prototypes import PrototypeHead
        from aslrec.models.registry import create_model

        try:
            model = create_model(
                self.architecture, num_classes=self.base_classes, **self.model_kwargs
            )
        except ConfigError as exc:
            raise ModelError(f"{self.path}: {exc}") from None
        state = artifacts.load_state_dict(self.path)
        if self.added_signs:
            index = {name: i for i, name in enumerate(self.classes)}
            targets = [index.get(str(s["label"]), -1) for s in self.added_signs]
            prototypes = state.get("prototypes")
            if (
                -1 in targets
                or prototypes is None
                or prototypes.ndim != 2
                or len(prototypes) != len(targets)
            ):
                raise ModelError(
                    f"{self.path}: the manifest's {len(targets)} added signs do not match its "
                    "classes and the prototypes in its weights"
                )
            try:
                model = PrototypeHead.like(model, targets, self.base_classes, prototypes.shape[1])
            except ValueError as exc:
                raise ModelError(f"{self.path}: {exc}") from None
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ModelError(
                f"{self.path}: weights do not match the architecture ({first})"
            ) from None
        return model.eval()

    def held_out_clips(
        self, data: Sequence[str | os.PathLike[str]] | None = None
    ) -> list[LandmarkClip]:
        """The clips training held out (see :meth:`split_clips`)."""
        return self.split_clips(data)[1]

    def split_clips(
        self, data: Sequence[str | os.PathLike[str]] | None = None
    ) -> tuple[list[LandmarkClip], list[LandmarkClip]]:
        """``(trained on, held out)``: ``data`` (default: the recorded training data) split
        by the run's :class:`SplitSpec`. Refuses data that is not what the run trained on
        (another clip count), since its fold would then be someone else's training clips."""
        from aslrec.data.loaders import load_datasets

        sources = self._data(data)
        clips = canonical_clips(load_datasets(sources))
        self._check_count(len(clips), sources)
        train, held_out = self.split.train_held_out(clips)
        return [clips[i] for i in train], [clips[i] for i in held_out]

    def streamed_held_out(
        self, data: Sequence[str | os.PathLike[str]] | None = None
    ) -> tuple[SourceSet, np.ndarray]:
        """:meth:`held_out_clips` without loading the clips: ``data`` as streaming sources
        (:class:`~aslrec.data.shards.SourceSet`: a shard set reads only its label, signer and
        group columns) and the indices of the held-out fold in them, split as
        :meth:`split_clips` (and streamed training) split them."""
        from aslrec.data.shards import SourceSet

        sources = self._data(data)
        clip_set = SourceSet(sources)
        self._check_count(len(clip_set), sources)
        return clip_set, clip_set.split(self.split, "fixed")[1]

    def _data(self, data: Sequence[str | os.PathLike[str]] | None) -> list[str]:
        """``data`` (default: the recorded training data) as paths or URLs, checked to exist
        (a URL is checked by opening it)."""
        from aslrec.data.remote import local_path

        sources = [str(p) for p in data] if data else self.sources
        if not sources:
            raise DataError(f"{self.path}: the run records no training data; pass --data")
        missing = [s for s in sources if (p := local_path(s)) is not None and not p.exists()]
        if missing:
            raise DataError(
                f"{missing[0]}: no such file (the run's data; pass --data to locate it)"
            )
        return sources

    def _check_count(self, count: int, sources: Sequence[str]) -> None:
        """Refuse data that is not what the run trained on (another clip count): its fold
        would be someone else's training clips."""
        expected = self.config.get("data", {}).get("num_clips")
        if expected is not None and int(expected) != count:
            raise DataError(
                f"{sources[0]}: {count} clips, but the run trained on {expected}; pass the "
                "run's own --data so its held-out fold can be reproduced"
            )

    def label_indices(self, clips: Sequence[LandmarkClip]) -> np.ndarray:
        """Class indices of ``clips``' labels; DataError naming a label the model does not know."""
        return label_indices(self.classes, clips)


def label_indices(classes: Sequence[str], clips: Sequence[LandmarkClip]) -> np.ndarray:
    """Indices of ``clips``' labels in ``classes``; a label outside them is an error naming the
    clip, never silently dropped."""
    index = {name: i for i, name in enumerate(classes)}
    unknown = [c for c in clips if c.label not in index]
    if unknown:
        raise DataError(
            f"{unknown[0].source}: label {unknown[0].label!r} is not one of the model's "
            f"{len(index)} classes ({len({c.label for c in unknown})} unknown labels)"
        )
    return np.array([index[c.label] for c in clips], dtype=np.int64)  # type: ignore[index]


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = path / artifacts.CONFIG
    if not path.is_dir():
        raise ModelError(f"{path}: model directory not found")
    if not manifest.is_file():
        raise ModelError(f"{path}: not a model directory (no {artifacts.CONFIG})")
    try:
        config = json.loads(manifest.read_text(encoding="utf-8"))
        _ = config["architecture"], config["preprocessing"]["seq_len"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"{manifest}: unreadable model config ({exc!r})") from None
    return config


def build_manifest(
    config: TrainConfig,
    *,
    classes: list[str],
    num_parameters: int,
    data: list[str],
    train_only: list[str],
    num_clips: int,
    num_train: int,
    num_selection: int,
    num_val: int,
    best_epoch: int,
    epochs_run: int,
    metrics: dict[str, Any],
    wall_time_s: float,
) -> dict[str, Any]:
    """The ``model_config.json`` of a run: everything needed to rebuild, judge and reproduce it."""
    return {
        "architecture": config.model.name,
        "model_kwargs": config.model.constructor_kwargs(),
        "num_classes": len(classes),
        "classes": classes,
        "num_parameters": num_parameters,
        "preprocessing": config.preprocessing.to_dict(),
        "training": config.to_dict(),
        "data": {
            "sources": data,
            **({"train_only": train_only} if train_only else {}),
            "num_clips": num_clips,
            "num_train": num_train,
            "num_inner_val": num_selection,
            "num_val": num_val,
        },
        "split": config.split.to_dict(),
        "seed": config.split.seed,
        "best_epoch": best_epoch,
        "epochs_run": epochs_run,
        "metrics": metrics,
        "wall_time_s": round(wall_time_s, 1),
        "aslrec_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
