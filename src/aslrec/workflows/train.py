"""``aslrec train``: data -> split -> Lightning fit -> the card's artifacts in a run directory."""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from aslrec.atomic import write_text
from aslrec.data.labels import LabelEncoder, canonical_clips
from aslrec.data.loaders import load_datasets
from aslrec.data.preprocessing import arrays_for_model
from aslrec.data.remote import Location, is_url
from aslrec.data.shards import SourceSet, is_shard_set
from aslrec.data.splits import limit_per_class, split_indices
from aslrec.errors import ConfigError, InterruptedRun, ModelError
from aslrec.models.logits import torch_logits
from aslrec.models.registry import count_parameters, create_model
from aslrec.numerics import softmax
from aslrec.runs import artifacts
from aslrec.runs.config import TrainConfig
from aslrec.runs.directory import SELECTION_NOTE, build_manifest
from aslrec.training.distill import load_teachers, teacher_probabilities
from aslrec.training.streaming import ClipStream, StreamEpochs, batches_of

CHECKPOINT_DIR = "checkpoints"
PLAN = "train_config.json"
"""In ``checkpoints/``: the resolved config and data of a run, written before its first epoch,
so that ``--resume`` can refuse to continue it with other hyperparameters."""
CLOSED_FORM_NOTE = "none: fitted in closed form on all training folds (held-out fold never used)"
_MAY_DIFFER_ON_RESUME = frozenset({"threads"})
"""Plan fields a resumed run may change: they do not change what is computed."""


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int
    epochs_run: int
    val_top1: float
    val_top5: float
    num_parameters: int
    wall_time_s: float

    def summary_line(self) -> str:
        return (
            f"best epoch {self.best_epoch}/{self.epochs_run}: val top-1 {self.val_top1:.2%}, "
            f"top-5 {self.val_top5:.2%} ({self.num_parameters:,} parameters, "
            f"{self.wall_time_s:.0f} s) -> {self.run_dir}"
        )


@dataclass(frozen=True)
class TrainerOptions:
    """Where and how a run trains, not what it computes: Lightning's devices, nodes, strategy
    and precision, DataLoader workers, and whether the data is streamed. A run may resume with
    other values (``--resume`` with 1 device from a 2-process run): schedules count one
    process's steps per epoch, so the epochs a run trains are the same on any device count
    (with N processes an optimizer step sees N batches, N times the batch size).

    ``stream``: None streams when any data set is a shard set (``aslrec convert``); True also
    streams the GISLR layout file by file and any other set from memory block by block.
    ``epoch_steps`` cuts every epoch to at most that many optimizer steps (Lightning's
    ``limit_train_batches``; the schedule is fitted to it): a few hundred steps of a large set.
    """

    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    num_workers: int = 0
    stream: bool | None = None
    epoch_steps: int | None = None

    def __post_init__(self) -> None:
        if self.devices != "auto" and (not isinstance(self.devices, int) or self.devices < 1):
            raise ConfigError(f"--devices must be a number >= 1 or auto, not {self.devices!r}")
        if self.num_nodes < 1:
            raise ConfigError(f"--num-nodes must be >= 1, not {self.num_nodes}")
        if self.num_workers < 0:
            raise ConfigError(f"--num-workers must be >= 0, not {self.num_workers}")


def predict_proba(model: torch.nn.Module, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return softmax(torch_logits(model, x, mask))


def _quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    # checkpoints/ always holds the run's plan (PLAN) before Lightning's first save.
    warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
    # Held-out sums are reduced over the processes by ClassifierModule itself.
    warnings.filterwarnings("ignore", message=".*sync_dist=True.*")
    # ClipStream's length is exact for each worker (it splits the epoch by worker itself).
    warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__` defined.*")


def _plan(
    config: TrainConfig, data: Sequence[Location], train_only: Sequence[Location] = ()
) -> dict[str, object]:
    """What a run computes: its resolved config and the data it reads (absolute paths, so the
    same run resumed from another working directory is still the same run; URLs as given)."""
    plan: dict[str, object] = {"config": config.to_dict(), "data": _absolute(data)}
    if train_only:
        plan["train_only"] = _absolute(train_only)
    return plan


def _absolute(locations: Sequence[Location]) -> list[str]:
    return [str(p) if is_url(p) else str(Path(p).resolve()) for p in locations]


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    """Nested plain data as ``{"optim.lr": 0.003, ...}``, to name the fields that differ."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, object] = {}
    for key, item in value.items():
        out |= _flat(item, f"{prefix}.{key}" if prefix else str(key))
    return out


def _check_resumable(
    out: Path, config: TrainConfig, data: Sequence[Location], train_only: Sequence[Location]
) -> None:
    """Refuse a resume that would fail inside Lightning with a traceback (a truncated, corrupt
    or unsafe ``last.ckpt``) or would silently mix two recipes in one run (other
    hyperparameters or data than the run started with)."""
    last_ckpt = out / CHECKPOINT_DIR / "last.ckpt"
    state = artifacts.load_checkpoint(last_ckpt, "start a new run with another --out")
    if not {"state_dict", "epoch"} <= state.keys():
        raise ModelError(f"{last_ckpt}: not a training checkpoint (no state_dict and epoch)")
    plan_file = out / CHECKPOINT_DIR / PLAN
    if not plan_file.is_file():  # a run started before plans were written: nothing to compare
        return
    try:
        stored = _flat(json.loads(plan_file.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{plan_file}: unreadable ({' '.join(str(exc).split())})") from None
    wanted = _flat(_plan(config, data, train_only))
    differing = sorted(
        key
        for key in stored.keys() | wanted.keys()
        if stored.get(key) != wanted.get(key)
        and key.removeprefix("config.") not in _MAY_DIFFER_ON_RESUME
    )
    if differing:
        shown = ", ".join(
            f"{key.removeprefix('config.')} {stored.get(key)!r} -> {wanted.get(key)!r}"
            for key in differing[:5]
        )
        more = f" and {len(differing) - 5} more" if len(differing) > 5 else ""
        raise ConfigError(
            f"{out}: --resume with other settings than the run started with ({shown}{more}); "
            "resume with the same options, or train a new run with another --out"
        )


def _interrupted(out: Path, created: bool, epoch: int) -> InterruptedRun:
    """The one-line report of a Ctrl-C in ``trainer.fit``: what is kept and how to go on.

    Without a finished epoch nothing is worth keeping: the plan and the empty folders this run
    made are removed, so a rerun starts clean instead of finding a run that holds nothing.
    """
    checkpoints = out / CHECKPOINT_DIR
    if (checkpoints / "last.ckpt").is_file():
        return InterruptedRun(
            f"{out}: training interrupted in epoch {epoch + 1}; its last finished epoch is kept "
            f"in {checkpoints / 'last.ckpt'}: rerun the same command with --resume to continue"
        )
    (checkpoints / PLAN).unlink(missing_ok=True)
    if checkpoints.is_dir() and not any(checkpoints.iterdir()):
        checkpoints.rmdir()
    if created and not any(out.iterdir()):
        shutil.rmtree(out)
        return InterruptedRun(
            f"{out}: training interrupted in epoch {epoch + 1}, before any epoch finished; "
            "nothing was kept (the run folder is removed)"
        )
    return InterruptedRun(
        f"{out}: training interrupted in epoch {epoch + 1}, before any epoch finished; "
        "nothing was kept"
    )


class _InMemoryData:
    """Every clip loaded and preprocessed once (the default for the formats on disk here)."""

    def __init__(self, data: Sequence[Location], train_only: Sequence[Location]) -> None:
        per_input = [canonical_clips(load_datasets([p])) for p in [*data, *train_only]]
        self.split_clips = [c for clips in per_input[: len(data)] for c in clips]
        self.clips = [c for clips in per_input for c in clips]
        self.num_split_clips = len(self.split_clips)
        self.labels = [c.label or "" for c in self.clips]
        # Which input each clip came from (source-balanced class weights).
        self.origin = np.repeat(np.arange(len(per_input)), [len(c) for c in per_input])

    def split(self, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        train_idx, heldout_idx, select_idx = split_indices(
            self.split_clips, config.split, config.selection
        )
        extra = np.arange(self.num_split_clips, len(self.clips))
        return np.concatenate([train_idx, extra]), heldout_idx, select_idx

    def prepare(self, config: TrainConfig) -> None:
        self.x, self.mask = arrays_for_model(self.clips, config.preprocessing)

    def predict(
        self, model: torch.nn.Module, idx: np.ndarray, y: np.ndarray, config: TrainConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        return y[idx], predict_proba(model, self.x[idx], self.mask[idx])


class _StreamedData:
    """Clips read block by block (:mod:`aslrec.data.shards`): only each clip's label, signer and
    group are read up front, to hold a fold out; the landmarks stream through training."""

    def __init__(self, data: Sequence[Location], train_only: Sequence[Location]) -> None:
        self.source_set = SourceSet([*data, *train_only])
        self.sources = self.source_set.sources
        self.num_data_sources = len(data)
        self.num_split_clips = int(self.source_set.offsets[len(data)])
        self.labels = self.source_set.labels

    def split(self, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        train_idx, heldout_idx, select_idx = self.source_set.split(
            config.split, config.selection, self.num_data_sources
        )
        extra = np.arange(self.num_split_clips, len(self.labels))
        return np.concatenate([train_idx, extra]), heldout_idx, select_idx

    def prepare(self, config: TrainConfig) -> None:
        """Nothing: clips are preprocessed as they stream."""

    def stream(
        self,
        idx: np.ndarray,
        y: np.ndarray,
        config: TrainConfig,
        *,
        train: bool,
        workers: int,
        world: tuple[int, int] | None = None,
    ) -> ClipStream:
        return ClipStream(
            self.sources,
            idx,
            y,
            config.preprocessing,
            config.optim.batch_size,
            train=train,
            seed=config.split.seed,
            num_workers=workers,
            world=world,
        )

    def predict(
        self, model: torch.nn.Module, idx: np.ndarray, y: np.ndarray, config: TrainConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        """The held-out fold streamed through ``model`` in this one process."""
        labels, probs = [], []
        for x, mask, target in self.stream(idx, y, config, train=False, workers=0, world=(0, 1)):
            probs.append(predict_proba(model, x.numpy(), mask.numpy()))
            labels.append(target.numpy())
        return np.concatenate(labels), np.concatenate(probs)


def train(
    data: Sequence[Location],
    out: Path,
    config: TrainConfig,
    *,
    train_only: Sequence[Location] = (),
    resume: bool = False,
    progress: bool = True,
    trainer_options: TrainerOptions | None = None,
) -> TrainResult | None:
    """Train ``config.model`` on ``data`` and write the run directory ``out``.

    ``train_only`` data is trained on but never split: every clip of it joins the training
    part, and the held-out fold comes from ``data`` alone. Why: a signer-held-out score on a
    small multi-signer set (msasl6's 27 signers) is only meaningful for a model that also
    learned from the big sets, which have no signer ids to split by (WLASL-50).

    With several processes (``trainer_options``: devices x nodes) every process runs this
    function; only global rank 0 writes the run directory and returns the result (the others
    return None). Streamed data (:class:`TrainerOptions`) is split from its clips' labels,
    signers and groups alone, and read block by block, so memory does not grow with it.
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from aslrec.training.kernel import is_closed_form
    from aslrec.training.module import (
        ClassifierModule,
        HistoryCallback,
        balanced_weights,
        class_weights,
        signer_units,
    )
    from aslrec.training.natural_view import fit_natural_view, needs_natural_view

    started = time.perf_counter()
    options = trainer_options or TrainerOptions()
    out = Path(out)
    last_ckpt = out / CHECKPOINT_DIR / "last.ckpt"
    if resume and not last_ckpt.is_file():
        raise ConfigError(f"{out}: nothing to resume (no {CHECKPOINT_DIR}/last.ckpt)")
    if not resume and (out / artifacts.CONFIG).exists():
        raise ConfigError(f"{out}: already holds a trained model; choose another --out or --resume")
    if not resume and any((out / CHECKPOINT_DIR).glob("*.ckpt")):
        raise ConfigError(
            f"{out}: holds an interrupted run ({CHECKPOINT_DIR}/ but no {artifacts.CONFIG}); "
            "continue it with --resume, or choose another --out"
        )
    if resume:
        _check_resumable(out, config, data, train_only)

    # Everything that can fail on bad input happens before the run directory is touched.
    streaming = (
        options.stream
        if options.stream is not None
        else any(is_shard_set(p) for p in [*data, *train_only])
    )
    distill = config.distill
    if streaming and distill.teachers:
        raise ConfigError(
            "--teacher runs the teachers over every clip in memory: not with streamed data"
        )
    if streaming and config.optim.clip_weighted:
        raise ConfigError(
            "source_balanced/signer_balanced weigh clips in memory: not with streamed data"
        )
    data_set = _StreamedData(data, train_only) if streaming else _InMemoryData(data, train_only)
    train_idx, heldout_idx, select_idx = data_set.split(config)
    labels = data_set.labels
    encoder = LabelEncoder.fit(labels)
    if config.max_clips_per_class:
        # Only the training part shrinks: the held-out clips stay the same at every size, so
        # learning-curve points are comparable.
        train_idx = limit_per_class(
            train_idx, labels, config.max_clips_per_class, config.split.seed
        )
    y = encoder.encode(labels)
    data_set.prepare(config)
    if config.threads:
        torch.set_num_threads(config.threads)
    # Teachers are checked (and, offline, run over every clip) before the run directory is
    # touched, with the run's thread count.
    teachers = (
        load_teachers(distill.teachers, encoder.classes, config.split, config.selection)
        if distill.teachers
        else []
    )
    teacher_targets = (
        teacher_probabilities(teachers, data_set.clips, distill.temperature)
        if teachers and not distill.online
        else None
    )
    _quiet_lightning()
    L.seed_everything(config.split.seed, workers=True, verbose=False)
    model = create_model(
        config.model.name, num_classes=len(encoder.classes), **config.model.constructor_kwargs()
    )
    closed_form = is_closed_form(model)
    if needs_natural_view(model) and streaming:
        raise ConfigError(
            "mirror_answer=natural is fitted on training clips in memory: not with streamed data"
        )
    if config.augmented_copies and not closed_form:
        raise ConfigError(
            f"augmented_copies is for closed-form models (handshape-svm); {config.model.name} "
            "draws its augmentation anew each epoch"
        )
    if closed_form:
        if streaming:
            raise ConfigError(f"{config.model.name} is fitted in memory: not with streamed data")
        # Nothing to select without epochs: an inner split's clips are fitted on too.
        if config.selection == "inner":
            train_idx, select_idx = np.concatenate([train_idx, select_idx]), select_idx[:0]
    weights = (
        class_weights(y[train_idx], len(encoder.classes)) if config.optim.class_weighted else None
    )
    clip_weights = None
    if config.optim.clip_weighted:  # in memory only (refused above for streamed data)
        units = (
            data_set.origin
            if config.optim.source_balanced
            else signer_units(
                data_set.origin,
                [c.signer for c in data_set.clips],
                [c.group for c in data_set.clips],
            )
        )
        clip_weights = balanced_weights(
            y[train_idx], units[train_idx], len(encoder.classes), config.optim.class_weighted
        )
    write_run = partial(
        _write_run,
        out=out,
        config=config,
        data_set=data_set,
        encoder=encoder,
        y=y,
        split=(train_idx, heldout_idx, select_idx),
        data=data,
        train_only=train_only,
        started=started,
    )
    if closed_form:
        assert isinstance(data_set, _InMemoryData)
        fitted = _fit_closed_form(
            model, data_set, y, train_idx, clip_weights, config, out, progress
        )
        out.mkdir(parents=True, exist_ok=True)  # only now: an interrupted fit leaves nothing
        return write_run(model.eval(), fitted, 1, CLOSED_FORM_NOTE)
    online_teachers = [run.model for run in teachers] if distill.online else []
    module = ClassifierModule(model, config, weights, teachers=online_teachers)

    fixed = config.selection == "fixed"
    history = HistoryCallback()
    # Both save at train-epoch end, after HistoryCallback has recorded the epoch (Lightning runs
    # checkpoint callbacks last), so a resumed run continues with a complete history. "last" is
    # a separate unmonitored callback because Lightning only refreshes save_last when the
    # monitored metric improves.
    best = ModelCheckpoint(
        dirpath=out / CHECKPOINT_DIR,
        filename="best",
        monitor="val_acc",
        mode="max",
        enable_version_counter=False,
        save_on_train_epoch_end=True,
    )
    last = ModelCheckpoint(
        dirpath=out / CHECKPOINT_DIR,
        filename="last",
        monitor=None,
        save_top_k=1,
        enable_version_counter=False,
        save_on_train_epoch_end=True,
    )
    epochs = StreamEpochs()
    batches = batches_of(len(train_idx), config.optim.batch_size, drop_single=True)
    try:
        trainer = L.Trainer(
            max_epochs=config.optim.epochs_for(batches),
            limit_train_batches=options.epoch_steps,
            accelerator="auto",
            devices=options.devices,
            num_nodes=options.num_nodes,
            strategy=options.strategy,
            precision=options.precision,  # type: ignore[arg-type]
            use_distributed_sampler=False,  # the loaders below shard by rank themselves
            gradient_clip_val=config.optim.grad_clip,
            deterministic=True,
            logger=False,
            enable_model_summary=False,
            enable_progress_bar=progress,
            num_sanity_val_steps=0,
            default_root_dir=out,
            callbacks=[last, history, epochs]
            if fixed
            else [
                EarlyStopping(monitor="val_acc", mode="max", patience=config.optim.patience),
                best,
                last,
                history,
                epochs,
            ],
        )
    except (ValueError, TypeError, RuntimeError) as exc:  # Lightning's own checks of the options
        raise ConfigError(f"bad --devices/--num-nodes/--strategy/--precision ({exc})") from None
    rank, world = trainer.global_rank, trainer.world_size

    def loader(idx: np.ndarray, shuffle: bool) -> torch.utils.data.DataLoader:
        if streaming:
            stream = data_set.stream(
                idx, y, config, train=shuffle, workers=options.num_workers, world=(rank, world)
            )
            if shuffle:
                epochs.streams.append(stream)
            return torch.utils.data.DataLoader(
                stream, batch_size=None, num_workers=options.num_workers
            )
        arrays = [data_set.x[idx], data_set.mask[idx], y[idx]]
        if shuffle and clip_weights is not None:  # the training loader: idx is train_idx
            arrays.append(clip_weights)
        if shuffle and teacher_targets is not None:  # teachers only shape the training loss
            arrays.append(teacher_targets[idx])
        dataset = torch.utils.data.TensorDataset(*map(torch.from_numpy, arrays))
        generator = torch.Generator().manual_seed(config.split.seed)
        size = config.optim.batch_size
        if world == 1:
            # A last training batch of one clip would break BatchNorm ("expected more than 1
            # value per channel"); drop it then (one clip per epoch, a different one each epoch).
            return torch.utils.data.DataLoader(
                dataset,
                batch_size=size,
                shuffle=shuffle,
                generator=generator,
                drop_last=shuffle and len(idx) % size == 1,
                num_workers=options.num_workers,
            )
        if shuffle:  # every rank the same number of clips (DistributedSampler pads)
            sampler = torch.utils.data.DistributedSampler(
                dataset, num_replicas=world, rank=rank, shuffle=True, seed=config.split.seed
            )
            per_rank = -(-len(idx) // world)
            return torch.utils.data.DataLoader(
                dataset,
                batch_size=size,
                sampler=sampler,
                drop_last=per_rank % size == 1,
                num_workers=options.num_workers,
            )
        # Held-out and selection clips: each rank its share, none repeated (the module sums
        # correct answers over all ranks).
        return torch.utils.data.DataLoader(
            dataset, batch_size=size, sampler=range(rank, len(idx), world)
        )

    created = not out.exists()
    if trainer.is_global_zero:
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            plan = _plan(config, data, train_only)
            write_text(out / CHECKPOINT_DIR / PLAN, json.dumps(plan, indent=2))
    # Loader 0 selects the epoch (none with a fixed schedule); the held-out fold is logged as
    # "test" for the learning curves but never used for a decision.
    try:
        trainer.fit(
            module,
            train_dataloaders=loader(train_idx, shuffle=True),
            val_dataloaders=([] if fixed else [loader(select_idx, shuffle=False)])
            + ([loader(heldout_idx, shuffle=False)] if config.selection != "val-fold" else []),
            ckpt_path=str(last_ckpt) if resume else None,
            weights_only=True,
        )
    except SystemExit:
        # Lightning answers Ctrl-C with a silent sys.exit(1) after its own shutdown.
        if not trainer.interrupted:
            raise
        if not trainer.is_global_zero:
            raise
        raise _interrupted(out, created, trainer.current_epoch) from None
    if not trainer.is_global_zero:
        return None

    kept = last_ckpt if fixed else Path(best.best_model_path)
    best_state = torch.load(kept, map_location="cpu", weights_only=True)
    module.load_state_dict(best_state["state_dict"])
    best_epoch = int(best_state["epoch"]) + 1
    model = module.inference_model.cpu().float().eval()
    if needs_natural_view(model):
        assert isinstance(data_set, _InMemoryData)
        fit = fit_natural_view(model, data_set.x[train_idx], data_set.mask[train_idx])
        if progress:
            print(
                f"{out}: natural view fitted on {fit.pairs:,} training clips and their mirror "
                f"images: their own view chosen for {fit.given_chosen:.1%} ({fit.seconds:.1f} s)"
            )
    return write_run(model, history.history, best_epoch)


def _fit_closed_form(
    model: torch.nn.Module,
    data_set: _InMemoryData,
    y: np.ndarray,
    train_idx: np.ndarray,
    clip_weights: np.ndarray | None,
    config: TrainConfig,
    out: Path,
    progress: bool,
) -> dict[str, list[float]]:
    """A model solved for rather than trained (:func:`~aslrec.training.kernel.fit_svm`),
    in place: one "epoch", its history the fit's training accuracy and held-out log loss."""
    from aslrec.data.augment import build_augmentation
    from aslrec.training.kernel import Copies, fit_svm

    groups = np.array(
        [c.signer or c.group or f"clip {i}" for i, c in enumerate(data_set.clips)], dtype=object
    )
    if progress:
        print(f"{out}: fitting the hand-shape SVM to {len(train_idx):,} training clips")
    fit = fit_svm(
        model,
        data_set.x[train_idx],
        data_set.mask[train_idx],
        y[train_idx],
        groups[train_idx],
        weights=clip_weights,
        copies=Copies(
            config.augmented_copies, build_augmentation(config.augment), config.split.seed
        ),
    )
    if progress:
        print(
            f"{out}: fitted on {fit.frames:,} frames: {fit.support_vectors:,} support vectors, "
            f"scale {fit.scale:.3g}, training top-1 {fit.train_top1:.2%} ({fit.seconds:.0f} s)"
        )
    return {"train_acc": [fit.train_top1], "train_loss": [fit.heldout_log_loss]}


def _write_run(
    model: torch.nn.Module,
    history: dict[str, list[float]],
    best_epoch: int,
    selected_on: str | None = None,
    *,
    out: Path,
    config: TrainConfig,
    data_set: _InMemoryData | _StreamedData,
    encoder: LabelEncoder,
    y: np.ndarray,
    split: tuple[np.ndarray, np.ndarray, np.ndarray],
    data: Sequence[Location],
    train_only: Sequence[Location],
    started: float,
) -> TrainResult:
    """Score the held-out fold with the finished ``model`` and write the run's artifacts."""
    from aslrec.evaluation import classification_report, plot_training_history, write_evaluation

    train_idx, heldout_idx, select_idx = split
    held_y, probs = data_set.predict(model, heldout_idx, y, config)
    report = classification_report(held_y, probs, encoder.classes)
    wall_time = time.perf_counter() - started

    artifacts.save_weights(out, model, epoch=best_epoch, val_acc=report.top1)
    encoder.save(out / artifacts.CLASSES)
    artifacts.save_history(out, history)
    plot_training_history(history, out / artifacts.HISTORY_PLOT)
    write_evaluation(report, out / "evaluation", extra={"split": "validation (held-out fold)"})
    metrics = {
        "val_top1": report.top1,
        "val_top5": report.top5,
        "val_macro_f1": report.macro_f1,
        "val_ece": report.ece,
        "epoch_selected_on": selected_on or SELECTION_NOTE[config.selection],
    }
    artifacts.save_config(
        out,
        build_manifest(
            config,
            classes=encoder.classes,
            num_parameters=count_parameters(model),
            data=[str(p) for p in data],
            train_only=[str(p) for p in train_only],
            num_clips=data_set.num_split_clips,
            num_train=len(train_idx),
            num_selection=len(select_idx) if config.selection == "inner" else 0,  # 0 if fitted
            num_val=len(heldout_idx),
            best_epoch=best_epoch,
            epochs_run=len(history["train_loss"]),
            metrics=metrics,
            wall_time_s=wall_time,
        ),
    )
    return TrainResult(
        run_dir=out,
        best_epoch=best_epoch,
        epochs_run=len(history["train_loss"]),
        val_top1=report.top1,
        val_top5=report.top5,
        num_parameters=count_parameters(model),
        wall_time_s=wall_time,
    )
