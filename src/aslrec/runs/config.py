"""Training configuration as plain data: frozen, nested dataclasses, presets by name, JSON on disk.

A :class:`TrainConfig` groups its knobs as they are used: the model, the input preprocessing
(the one :mod:`aslrec.data.preprocessing` applies), optimisation, augmentation, the split
(:class:`~aslrec.data.splits.SplitSpec`), epoch selection and distillation. It is frozen:
``updated()`` returns a new one, so a preset can never be changed through a config made from it.

Every leaf also has a flat name (``lr``, ``fold``, ``split``, ``distill_weight``; the
:data:`FLAT_NAMES` table), the names ``--set key=value`` and older run directories use; a dotted
path (``optim.lr``) works too. Precedence, lowest to highest: the preset, a ``--config`` JSON
file, ``--set key=value`` and the named command-line options. The resolved config is saved,
nested, in every run's ``model_config.json``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aslrec.data.preprocessing import PreprocessingSpec
from aslrec.data.splits import Selection, SplitSpec
from aslrec.errors import AslrecError, ConfigError
from aslrec.plaindata import PlainData

Scheduler = Literal["onecycle", "cosine", "none"]
MirrorAnswer = Literal["mean", "confident", "one_view", "natural"]


@dataclass(frozen=True)
class ModelSpec(PlainData):
    """Which registered architecture, with what constructor arguments."""

    name: str = "seed"
    kwargs: dict[str, Any] = field(default_factory=dict)
    dropout: float = 0.3
    mirror_invariant: bool = False
    """Average the logits of each clip and its mirror image
    (:class:`~aslrec.models.symmetry.MirrorAveraged`): one answer for both."""
    mirror_canonical: bool = False
    """With ``mirror_invariant``: a clip whose mirror image preprocessing maps back onto it is
    its own mirrored view (needs ``dominance="moving"``, the rule it mirrors)."""
    mirror_answer: MirrorAnswer = "mean"
    """With ``mirror_invariant``, how the two views answer: ``"mean"`` averages their logits
    (and trains on each clip as it is or mirrored, half and half); ``"confident"`` trains on
    clips as preprocessing gives them and answers with the view the model is surer of;
    ``"one_view"`` trains as the mean does and answers with one pass on the pair's canonical
    view (half the cost of the other two); ``"natural"`` trains as ``"confident"`` does and
    answers with one pass on the view that looks more like the training clips (a score fitted
    after training)."""

    def __post_init__(self) -> None:
        self.check_types()
        _require(0 <= self.dropout < 1, "dropout must be in [0, 1)")

    def constructor_kwargs(self) -> dict[str, Any]:
        """What :func:`~aslrec.models.registry.create_model` takes (and a run's manifest
        records as ``model_kwargs``); ``mirror_invariant`` only when on, so older runs and
        their manifests stay as they were."""
        extra: dict[str, Any] = {"mirror_invariant": True} if self.mirror_invariant else {}
        if self.mirror_canonical:
            extra["mirror_canonical"] = True
        if self.mirror_answer != "mean":
            extra["mirror_answer"] = self.mirror_answer
        return {"dropout": self.dropout, **self.kwargs, **extra}


@dataclass(frozen=True)
class OptimConfig(PlainData):
    """The optimiser, its schedule and the loss. Defaults are the seed card's recipe.

    ``min_steps`` lengthens the run on small training sets: ``epochs`` becomes at least
    ``ceil(min_steps / batches per epoch)``. A schedule counted in epochs gives 10 clips per
    class less than half the optimizer steps of the full WLASL-50 fold, and the held-out
    accuracy logged per epoch was still following the learning rate down at the end; counted
    in steps, every training-set size gets the same schedule.
    """

    epochs: int = 100
    min_steps: int = 0
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 15
    scheduler: Scheduler = "onecycle"
    label_smoothing: float = 0.0
    ema: float | None = None  # EMA decay of the weights, e.g. 0.999; None = off
    class_weighted: bool = True
    # Within each class, every data set given to ``train`` (``--data`` and ``--train-only``)
    # weighs the same in the loss, however many clips it brings: a class's total weight is
    # unchanged, its clips' shares are not. Why: GISLR's 375 `hello` clips gave MS-ASL's 8 a
    # 2% say in what `hello` looks like, and the bundled model read most of them wrong although
    # it had trained on them (issue #22). Off = the card's per-class weights.
    source_balanced: bool = False
    # Within each class, every signer weighs the same, whichever data set they are in; a clip
    # whose signer is unknown counts as its own recording (its ``group``: a WLASL video, a
    # letters_static block). Why: source balancing gave letters_static's one signer half of
    # each letter against fingerspelling16's 12 people, and the bundled model retrained so lost
    # points on every source; counting people keeps MS-ASL's few `hello` signers from being
    # drowned by GISLR's repeats without handing one person a data set's share.
    signer_balanced: bool = False
    # A supervised contrastive loss (SupCon, :mod:`aslrec.training.contrastive`) on the
    # L2-normalised embedding the prototype head of added signs compares, added to the
    # cross-entropy with this weight: clips of one sign pulled together in angle, so a sign
    # added later from a few examples has a tight class to average (issue #24). 0 = off.
    supcon_weight: float = 0.0
    supcon_temperature: float = 0.1

    @property
    def clip_weighted(self) -> bool:
        """Whether training clips carry their own loss weights (source or signer balanced)."""
        return self.source_balanced or self.signer_balanced

    def __post_init__(self) -> None:
        self.check_types()
        for ok, message in [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.min_steps >= 0, "min_steps must be >= 0"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.grad_clip > 0, "grad_clip must be > 0"),
            (self.patience >= 1, "patience must be >= 1"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.ema is None or 0 < self.ema < 1, "ema must be in (0, 1) or null"),
            (
                not (self.source_balanced and self.signer_balanced),
                "source_balanced and signer_balanced are two ways to weigh clips: choose one",
            ),
            (self.supcon_weight >= 0, "supcon_weight must be >= 0"),
            (self.supcon_temperature > 0, "supcon_temperature must be > 0"),
        ]:
            _require(ok, message)

    def epochs_for(self, batches_per_epoch: int) -> int:
        """Epochs to train when an epoch has ``batches_per_epoch`` optimizer steps."""
        return max(self.epochs, math.ceil(self.min_steps / max(batches_per_epoch, 1)))


@dataclass(frozen=True)
class DistillConfig(PlainData):
    """Knowledge distillation (Hinton et al., 2015) from ``teachers``: run directories trained
    on the same data and split (see :mod:`aslrec.training.distill`); none = off."""

    teachers: tuple[str, ...] = ()
    temperature: float = 2.0
    weight: float = 0.5  # share of the loss that matches the teachers
    online: bool = False  # teachers predict on each augmented batch (else once per clip)

    def __post_init__(self) -> None:
        self.check_types()
        _require(self.temperature > 0, "distill_temperature must be > 0")
        _require(0 < self.weight <= 1, "distill_weight must be in (0, 1]")


def _default_augment() -> dict[str, Any]:
    return {"gaussian_noise": {"std": 0.02}}


@dataclass(frozen=True)
class TrainConfig(PlainData):
    """Every knob of a training run. Defaults are the seed card's recipe.

    ``selection`` says what picks the best epoch (early stopping and the kept checkpoint):
    ``"val-fold"`` is the card's recipe, the held-out fold itself, which makes the reported
    accuracy optimistic; ``"inner"`` holds out an inner validation split (1/8) of the training
    folds for that, so the held-out fold is scored by a model that never saw it in any way.
    ``"fixed"`` selects nothing: the model trains on all training folds for ``epochs`` epochs
    and the last epoch is kept (honest too, and 1/8 more data; with OneCycle the learning rate
    has annealed to ~0 by then, so the last epoch is a stable one).
    """

    model: ModelSpec = field(default_factory=ModelSpec)
    preprocessing: PreprocessingSpec = field(default_factory=PreprocessingSpec)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: dict[str, Any] = field(default_factory=_default_augment)
    augmented_copies: int = 0
    """Closed-form models only (``handshape-svm``): each training clip is fitted together with
    this many copies of it drawn through ``augment`` (seeded by the split's seed), what a network
    sees anew each epoch; a network refuses it."""
    split: SplitSpec = field(default_factory=SplitSpec)
    selection: Selection = "val-fold"
    distill: DistillConfig = field(default_factory=DistillConfig)
    max_clips_per_class: int | None = None  # training clips per class (learning curves)
    threads: int | None = None

    def __post_init__(self) -> None:
        self.check_types()
        # A deep copy: presets share no mutable state with the configs made from them.
        object.__setattr__(self, "augment", copy.deepcopy(self.augment))
        from aslrec.data.augment import build_augmentation

        build_augmentation(self.augment)
        _require(self.augmented_copies >= 0, "augmented_copies must be >= 0")
        if self.model.mirror_answer != "mean":
            _require(self.model.mirror_invariant, "mirror_answer needs mirror_invariant")
        if self.model.mirror_canonical:
            _require(self.model.mirror_invariant, "mirror_canonical needs mirror_invariant")
            _require(
                self.preprocessing.dominant_hand and self.preprocessing.dominance == "moving",
                "mirror_canonical needs dominant_hand with dominance=moving (the rule it mirrors)",
            )

    def to_dict(self) -> dict[str, Any]:
        """Nested plain data (JSON-ready), as saved in ``model_config.json``."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """A config from nested data (``to_dict``) or the flat names of older runs."""
        return cls().updated(**_flatten(data))

    def updated(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` by flat name (``lr=3e-3``) or dotted path (``optim.lr``)."""
        tree = dataclasses.asdict(self)
        for key, value in changes.items():
            path = FLAT_NAMES.get(key) or _dotted(key)
            node = tree
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        return _build(tree)


# Flat name -> nested path, for every leaf: the names of ``--set`` and of older run directories.
FLAT_NAMES: dict[str, tuple[str, ...]] = {
    "model": ("model", "name"),
    "model_kwargs": ("model", "kwargs"),
    "dropout": ("model", "dropout"),
    "mirror_invariant": ("model", "mirror_invariant"),
    "mirror_canonical": ("model", "mirror_canonical"),
    "mirror_answer": ("model", "mirror_answer"),
    **{f.name: ("preprocessing", f.name) for f in dataclasses.fields(PreprocessingSpec)},
    **{f.name: ("optim", f.name) for f in dataclasses.fields(OptimConfig)},
    "augment": ("augment",),
    "augmented_copies": ("augmented_copies",),
    "split": ("split", "strategy"),
    **{name: ("split", name) for name in ("folds", "fold", "seed")},
    "selection": ("selection",),
    "teachers": ("distill", "teachers"),
    **{f"distill_{name}": ("distill", name) for name in ("temperature", "weight", "online")},
    "max_clips_per_class": ("max_clips_per_class",),
    "threads": ("threads",),
}
_GROUPS: dict[str, type] = {
    "model": ModelSpec,
    "preprocessing": PreprocessingSpec,
    "optim": OptimConfig,
    "split": SplitSpec,
    "distill": DistillConfig,
}


def _dotted(key: str) -> tuple[str, ...]:
    path = tuple(key.split("."))
    leaves = {p for p in FLAT_NAMES.values()}
    if path not in leaves:
        raise ConfigError(f"unknown training option {key!r}; known: {sorted(FLAT_NAMES)}")
    return path


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"optim": {"lr": 1}}`` -> ``{"optim.lr": 1}``; flat names pass through."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _GROUPS and isinstance(value, Mapping):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _build(tree: dict[str, Any]) -> TrainConfig:
    try:
        groups = {name: kind(**tree[name]) for name, kind in _GROUPS.items()}
        return TrainConfig(**{**tree, **groups})
    except AslrecError as exc:
        raise ConfigError(
            f"bad training config: {str(exc).removeprefix('bad training config: ')}"
        ) from None
    except TypeError as exc:
        raise ConfigError(f"bad training config ({exc})") from None


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(f"bad training config: {message}")


PRESETS: dict[str, TrainConfig] = {
    # The seed card, item by item: stratified 80/20 (fold 0 of 5), Gaussian noise, class-weighted
    # CE, AdamW 1e-3 / 1e-4, OneCycleLR, dropout 0.3, clip 1.0, batch 32, 100 epochs, patience 15.
    "seed": TrainConfig(),
    # Issue #10's recipe: the Kaggle-ISLR-style conv+transformer over in-model features,
    # left-handed signing mirrored onto the right hand, the card's "next steps" augmentations,
    # label smoothing, and honest epoch selection on an inner split. Measured against the seed
    # on the same folds, alone and averaged with the seed model: benchmarks/RESULTS.md, "Model
    # comparison (issue #10)", rows `best` and `best + seed ensemble`.
    "best": TrainConfig().updated(
        model="isl-hybrid",
        frame_sampling="span",
        dropout=0.2,
        lr=2e-3,
        weight_decay=0.05,
        epochs=120,
        patience=40,
        label_smoothing=0.1,
        dominant_hand=True,
        selection="inner",
        augment={
            "speed_and_warp": {"speed": [0.7, 1.3], "warp": 0.2},
            "temporal_mask": {"p": 0.5, "max_fraction": 0.2},
            "affine": {"scale": 0.15, "rotate_deg": 10.0, "shear": 0.1, "translate": 0.05},
            "finger_dropout": {"p": 0.05},
            "gaussian_noise": {"std": 0.005},
            "mixup": {"alpha": 0.2},
        },
    ),
}
# Issue #10's winner: ``best`` with one convolution block per stage, a fixed schedule (all
# training folds, 120 epochs but at least 4,000 optimizer steps, the last epoch kept: the inner
# split kept picking early, worse epochs; a full WLASL-50 fold is ~4,500 steps, so only smaller
# training sets train longer) and the ``moving`` dominance rule (a still hand is never the
# signing one: GISLR participant 29302's resting left hand made the frame-count rule mirror that
# participant's clips, and the streaming version of ``school`` read as thank_you). Its figures
# (accuracy, fewer training clips, size and latency, repeated CVs) and the variants tried and
# not kept (distillation from fold-matched teachers via ``--teacher``, the ``hand_dropout``
# augmentation, the frame-count rule) are in benchmarks/RESULTS.md, "Model comparison (issue
# #10)": row `best-fast, moving hand dominant, fixed schedule` and the rows beside it.
PRESETS["best-fast"] = PRESETS["best"].updated(
    model_kwargs={"conv_per_stage": 1}, selection="fixed", min_steps=4000, dominance="moving"
)

# Issue #22's hand-shape kernel (:mod:`aslrec.models.kernel`): best-fast's input (hands slotted
# by their 3D shape, left-handed signing mirrored onto the right hand, mirror-invariant), solved
# in closed form (:mod:`aslrec.training.kernel`): the optimizer and epoch settings it inherits
# are not used. Each clip is fitted with 2 copies under best-fast's affine map (another camera
# roll and aspect: the hand shapes of people it never saw vary that way; the other augmentations
# move frames or fingers, which a per-frame shape kernel has no use for). For static hand
# shapes (letters), alone or beside a network in an ensemble: benchmarks/RESULTS.md, "New
# signers".
PRESETS["handshape-svm"] = PRESETS["best-fast"].updated(
    model="handshape-svm",
    model_kwargs={},
    dropout=0.0,
    handedness="chirality",
    mirror_invariant=True,
    mirror_canonical=True,
    augment={"affine": PRESETS["best-fast"].augment["affine"]},
    augmented_copies=2,
)


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name].updated()  # a copy: nothing reaches the preset's augment dict


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` with the value parsed as JSON when possible (numbers, true, null, {...})."""
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().replace("-", "_"), value


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config must be a JSON object")
    return data


def resolve_config(
    preset_name: str,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    config = preset(preset_name)
    if config_file is not None:
        config = config.updated(**load_config_file(config_file))
    if overrides:
        config = config.updated(**{k: v for k, v in overrides.items() if v is not None})
    return config
