"""``aslrec train``: data -> split -> Lightning fit -> the card's artifacts in a run directory."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aslrec.data.labels import LabelEncoder, canonical_clips
from aslrec.data.loaders import load_datasets
from aslrec.data.preprocessing import arrays_for_model
from aslrec.data.splits import limit_per_class, split_indices
from aslrec.errors import ConfigError
from aslrec.models.logits import torch_logits
from aslrec.models.registry import count_parameters, create_model
from aslrec.numerics import softmax
from aslrec.runs import artifacts
from aslrec.runs.config import TrainConfig
from aslrec.runs.directory import SELECTION_NOTE, build_manifest
from aslrec.training.distill import load_teachers, teacher_probabilities

CHECKPOINT_DIR = "checkpoints"


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


def predict_proba(model: torch.nn.Module, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return softmax(torch_logits(model, x, mask))


def _quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


def train(
    data: Sequence[Path],
    out: Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train ``config.model`` on ``data`` and write the run directory ``out``."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from aslrec.evaluation import classification_report, plot_training_history, write_evaluation
    from aslrec.training.module import ClassifierModule, HistoryCallback, class_weights

    started = time.perf_counter()
    out = Path(out)
    last_ckpt = out / CHECKPOINT_DIR / "last.ckpt"
    if resume and not last_ckpt.is_file():
        raise ConfigError(f"{out}: nothing to resume (no {CHECKPOINT_DIR}/last.ckpt)")
    if not resume and (out / artifacts.CONFIG).exists():
        raise ConfigError(f"{out}: already holds a trained model; choose another --out or --resume")

    # Everything that can fail on bad input happens before the run directory is touched.
    clips = canonical_clips(load_datasets(data))
    encoder = LabelEncoder.fit([c.label or "" for c in clips])
    train_idx, heldout_idx, select_idx = split_indices(clips, config.split, config.selection)
    if config.max_clips_per_class:
        # Only the training part shrinks: the held-out clips stay the same at every size, so
        # learning-curve points are comparable.
        train_idx = limit_per_class(
            train_idx, [c.label or "" for c in clips], config.max_clips_per_class, config.split.seed
        )
    x, mask = arrays_for_model(clips, config.preprocessing)
    y = encoder.encode([c.label or "" for c in clips])
    if config.threads:
        torch.set_num_threads(config.threads)
    # Teachers are checked (and, offline, run over every clip) before the run directory is
    # touched, with the run's thread count.
    distill = config.distill
    teachers = (
        load_teachers(distill.teachers, encoder.classes, config.split, config.selection)
        if distill.teachers
        else []
    )
    teacher_targets = (
        teacher_probabilities(teachers, clips, distill.temperature)
        if teachers and not distill.online
        else None
    )
    _quiet_lightning()
    L.seed_everything(config.split.seed, workers=True, verbose=False)
    model = create_model(
        config.model.name, num_classes=len(encoder.classes), **config.model.constructor_kwargs()
    )
    weights = (
        class_weights(y[train_idx], len(encoder.classes)) if config.optim.class_weighted else None
    )
    online_teachers = [run.model for run in teachers] if distill.online else []
    module = ClassifierModule(model, config, weights, teachers=online_teachers)

    def loader(idx: np.ndarray, shuffle: bool) -> torch.utils.data.DataLoader:
        arrays = [x[idx], mask[idx], y[idx]]
        if shuffle and teacher_targets is not None:  # teachers only shape the training loss
            arrays.append(teacher_targets[idx])
        dataset = torch.utils.data.TensorDataset(*map(torch.from_numpy, arrays))
        generator = torch.Generator().manual_seed(config.split.seed)
        # A last training batch of one clip would break BatchNorm ("expected more than 1 value
        # per channel"); drop it then (one clip per epoch, a different one each epoch).
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=config.optim.batch_size,
            shuffle=shuffle,
            generator=generator,
            drop_last=shuffle and len(idx) % config.optim.batch_size == 1,
        )

    out.mkdir(parents=True, exist_ok=True)
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
    train_loader = loader(train_idx, shuffle=True)
    trainer = L.Trainer(
        max_epochs=config.optim.epochs_for(len(train_loader)),
        accelerator="auto",
        devices=1,
        gradient_clip_val=config.optim.grad_clip,
        deterministic=True,
        logger=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        num_sanity_val_steps=0,
        default_root_dir=out,
        callbacks=[last, history]
        if fixed
        else [
            EarlyStopping(monitor="val_acc", mode="max", patience=config.optim.patience),
            best,
            last,
            history,
        ],
    )
    # Loader 0 selects the epoch (none with a fixed schedule); the held-out fold is logged as
    # "test" for the learning curves but never used for a decision.
    trainer.fit(
        module,
        train_dataloaders=train_loader,
        val_dataloaders=([] if fixed else [loader(select_idx, shuffle=False)])
        + ([loader(heldout_idx, shuffle=False)] if config.selection != "val-fold" else []),
        ckpt_path=str(last_ckpt) if resume else None,
    )

    kept = last_ckpt if fixed else Path(best.best_model_path)
    best_state = torch.load(kept, map_location="cpu", weights_only=True)
    module.load_state_dict(best_state["state_dict"])
    best_epoch = int(best_state["epoch"]) + 1
    model = module.inference_model.cpu().eval()
    probs = predict_proba(model, x[heldout_idx], mask[heldout_idx])
    report = classification_report(y[heldout_idx], probs, encoder.classes)
    wall_time = time.perf_counter() - started

    artifacts.save_weights(out, model, epoch=best_epoch, val_acc=report.top1)
    encoder.save(out / artifacts.CLASSES)
    artifacts.save_history(out, history.history)
    plot_training_history(history.history, out / artifacts.HISTORY_PLOT)
    write_evaluation(report, out / "evaluation", extra={"split": "validation (held-out fold)"})
    metrics = {
        "val_top1": report.top1,
        "val_top5": report.top5,
        "val_macro_f1": report.macro_f1,
        "val_ece": report.ece,
        "epoch_selected_on": SELECTION_NOTE[config.selection],
    }
    artifacts.save_config(
        out,
        build_manifest(
            config,
            classes=encoder.classes,
            num_parameters=count_parameters(model),
            data=[str(p) for p in data],
            num_clips=len(clips),
            num_train=len(train_idx),
            num_selection=len(select_idx) if config.selection == "inner" else 0,
            num_val=len(heldout_idx),
            best_epoch=best_epoch,
            epochs_run=len(history.history["train_loss"]),
            metrics=metrics,
            wall_time_s=wall_time,
        ),
    )
    return TrainResult(
        run_dir=out,
        best_epoch=best_epoch,
        epochs_run=len(history.history["train_loss"]),
        val_top1=report.top1,
        val_top5=report.top5,
        num_parameters=count_parameters(model),
        wall_time_s=wall_time,
    )
