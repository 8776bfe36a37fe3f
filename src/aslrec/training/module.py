"""The Lightning wrapper: loss, augmentation, optimiser and schedule of a training config."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from aslrec.data.augment import build_augmentation, mixup, mixup_alpha
from aslrec.runs.config import TrainConfig
from aslrec.training.contrastive import supcon_loss
from aslrec.training.distill import distillation_loss, online_teacher_probabilities


def class_weights(y: np.ndarray, num_classes: int) -> torch.Tensor:
    """sklearn's "balanced" weights, n / (C * n_c): the card's class-weighted loss."""
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, len(y) / (num_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def balanced_weights(
    y: np.ndarray, unit: np.ndarray, num_classes: int, class_weighted: bool
) -> np.ndarray:
    """One loss weight per clip: its class's weight (:func:`class_weights`, or 1 unweighted),
    shared equally by the units (``unit``: the data set a clip came from, or its signer) that
    bring clips of the class, and within one unit equally by its clips. A class's summed
    weight is what class weighting gives it."""
    per_class = (
        class_weights(y, num_classes).numpy().astype(np.float64)
        if class_weighted
        else np.ones(num_classes)
    )
    pairs, group, group_size = np.unique(
        np.stack([y, unit], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    class_size = np.bincount(y, minlength=num_classes)
    units = np.bincount(pairs[:, 0], minlength=num_classes)  # units per class
    weights = per_class[y] * class_size[y] / (units[y] * group_size[group.ravel()])
    return weights.astype(np.float32)


def signer_units(
    origin: np.ndarray, signers: Sequence[str | None], groups: Sequence[str | None]
) -> np.ndarray:
    """An integer per clip naming who signed it, for :func:`balanced_weights`: the data set
    and signer id when known, else the data set and the clip's recording (``group``), else
    the clip itself. Ids are per data set: two sets' ``"1"`` are not one person."""
    names = [
        f"{o}:signer:{s}" if s is not None else f"{o}:group:{g}" if g is not None else f"clip:{i}"
        for i, (o, s, g) in enumerate(zip(origin.tolist(), signers, groups, strict=True))
    ]
    return np.unique(np.asarray(names, dtype=object), return_inverse=True)[1].ravel()


class ClassifierModule(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        class_weights: torch.Tensor | None,
        teachers: Sequence[nn.Module] = (),
    ) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.loss = nn.CrossEntropyLoss(
            weight=class_weights, label_smoothing=config.optim.label_smoothing
        )
        self.generator = torch.Generator().manual_seed(config.split.seed)
        self.augment = build_augmentation(config.augment)
        self.mixup_alpha = mixup_alpha(config.augment)
        self._sums: dict[str, torch.Tensor] = {}  # held-out sums of the running validation
        # Exponential moving average of the weights (Polyak averaging; used by most Kaggle ISLR
        # top solutions): evaluated, selected and saved instead of the raw weights when on.
        # Online distillation's teachers: a plain tuple, so they are neither trained, switched to
        # train mode, nor saved in checkpoints.
        self.teachers = tuple(teacher.eval() for teacher in teachers)
        self.ema = (
            AveragedModel(
                model, multi_avg_fn=get_ema_multi_avg_fn(config.optim.ema), use_buffers=True
            )
            if config.optim.ema
            else None
        )

    @property
    def inference_model(self) -> nn.Module:
        """The weights that are validated and saved: the EMA copy when EMA is on."""
        return self.ema.module if self.ema is not None else self.model

    def forward(self, landmarks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(landmarks, mask)

    def _loss(
        self, logits: torch.Tensor, target: torch.Tensor, clip_weight: torch.Tensor | None
    ) -> torch.Tensor:
        """The configured loss; with per-clip weights (source or signer balanced), their
        weighted mean of the label-smoothed cross-entropy."""
        if clip_weight is None:
            return self.loss(logits, target)
        per_clip = F.cross_entropy(
            logits, target, reduction="none", label_smoothing=self.config.optim.label_smoothing
        )
        return (per_clip * clip_weight).sum() / clip_weight.sum()

    def _supcon(
        self,
        features: torch.Tensor,
        target: torch.Tensor,
        order: torch.Tensor | None,
        lam: float,
    ) -> torch.Tensor:
        """SupCon on the training batch's embeddings (``supcon_weight``); a mixed-up batch
        mixes it as cross-entropy is mixed: ``lam`` of it with each clip's own labels, the rest
        with its partner's (every clip of the batch is mixed with the same ``lam``, so either
        labelling is one consistent labelling of the whole batch)."""
        temperature = self.config.optim.supcon_temperature
        loss = supcon_loss(features, target, temperature)
        if order is not None:
            loss = lam * loss + (1 - lam) * supcon_loss(features, target[order], temperature)
        return loss

    def _step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        """One batch: ``(landmarks, mask, labels)``, then in training batches each clip's loss
        weight (source or signer balanced) and the teachers' probabilities (offline
        distillation)."""
        landmarks, mask, target, *offline_targets = batch
        clip_weight = None
        if stage == "train" and self.config.optim.clip_weighted:
            clip_weight, *offline_targets = offline_targets
        order, lam = None, 1.0
        if stage == "train":
            landmarks, mask = self.augment(landmarks, mask, self.generator)
            if self.mixup_alpha:
                landmarks, mask, order, lam = mixup(
                    landmarks, mask, self.generator, self.mixup_alpha
                )
        features = None
        if stage == "train" and self.config.optim.supcon_weight > 0:
            features, logits = self.model.embed_and_logits(landmarks, mask)
        else:
            logits = (self.model if stage == "train" else self.inference_model)(landmarks, mask)
        loss = self._loss(logits, target, clip_weight)
        if order is not None:
            mixed = None if clip_weight is None else clip_weight[order]
            loss = lam * loss + (1 - lam) * self._loss(logits, target[order], mixed)
        temperature = self.config.distill.temperature
        soft = offline_targets[0] if offline_targets else None
        if stage == "train" and self.teachers:
            soft = online_teacher_probabilities(self.teachers, landmarks, mask, temperature)
        elif soft is not None and order is not None:  # offline targets: mixed like the clips
            soft = lam * soft + (1 - lam) * soft[order]
        if soft is not None:
            weight = self.config.distill.weight
            loss = (1 - weight) * loss + weight * distillation_loss(logits, soft, temperature)
        if features is not None:
            contrastive = self._supcon(features, target, order, lam)
            self.log(
                "train_supcon",
                contrastive.detach(),
                on_step=False,
                on_epoch=True,
                batch_size=target.shape[0],
                sync_dist=True,
            )
            loss = loss + self.config.optim.supcon_weight * contrastive
        correct = (logits.argmax(dim=1) == target).float()
        size = target.shape[0]
        if stage != "train":
            # Summed here, reduced over all processes at the epoch's end: the whole fold's
            # accuracy, not a mean of each process's part.
            sums = torch.stack(
                [loss.detach().float() * size, correct.sum(), correct.new_tensor(size)]
            )
            self._sums[stage] = self._sums.get(stage, 0) + sums
            return loss
        options = {
            "on_step": False,
            "on_epoch": True,
            "batch_size": size,
            "add_dataloader_idx": False,
            "sync_dist": True,  # every process trains on as many clips
        }
        self.log(f"{stage}_loss", loss, **options)
        self.log(f"{stage}_acc", correct.mean(), prog_bar=True, **options)
        return loss

    def setup(self, stage: str) -> None:
        """Each process augments with its own stream (the seed plus its rank; rank 0 keeps the
        seed, so one process trains as it always did); the model's initial weights are the
        same everywhere (seeded before the module is built, and DDP broadcasts rank 0's)."""
        self.generator.manual_seed(self.config.split.seed + self.global_rank)

    def on_validation_epoch_start(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}

    def on_validation_epoch_end(self) -> None:
        # Every process reduces the same stages, also one that got no clip of a stage (a
        # collective that one process skips would wait forever).
        selection = self.config.selection
        stages = {"fixed": ("test",), "inner": ("val", "test"), "val-fold": ("val",)}[selection]
        for stage in stages:
            sums = self._sums.get(stage, torch.zeros(3, device=self.device))
            loss, correct, size = self.trainer.strategy.reduce(sums, reduce_op="sum").tolist()
            if size:
                self.log(f"{stage}_loss", loss / size)
                self.log(f"{stage}_acc", correct / size, prog_bar=True)

    def on_train_start(self) -> None:
        """A run resumed on another number of devices has another number of steps per epoch:
        its schedule is stretched to the new total at the point it had reached, so it ends
        where a run on one device count would."""
        total = int(self.trainer.estimated_stepping_batches)
        for config in self.trainer.lr_scheduler_configs:
            rescale_schedule(config.scheduler, total)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def on_train_batch_end(self, outputs: object, batch: object, batch_idx: int) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    def validation_step(
        self, batch: tuple[torch.Tensor, ...], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        # Loader 0 selects the epoch; the held-out fold (loader 1 with inner selection, the only
        # loader with a fixed schedule) is logged per epoch for the learning curves but never
        # used for any decision.
        fixed = self.config.selection == "fixed"
        self._step(batch, "test" if dataloader_idx == 1 or fixed else "val")

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=self.config.optim.lr,
            weight_decay=self.config.optim.weight_decay,
        )
        if self.config.optim.scheduler == "none":
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)
        if self.config.optim.scheduler == "onecycle":
            scheduler: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.config.optim.lr, total_steps=total_steps
            )
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def rescale_schedule(scheduler: object, total: int) -> None:
    """Stretch a OneCycle or cosine schedule to ``total`` steps, keeping the fraction done."""
    if isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR):
        old = scheduler.total_steps
        if old != total:
            for phase in scheduler._schedule_phases:
                phase["end_step"] = (phase["end_step"] + 1) * total / old - 1
            scheduler.total_steps = total
            scheduler.last_epoch = round(scheduler.last_epoch * total / old)
    elif isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
        old = scheduler.T_max
        if old != total:
            scheduler.T_max = total
            scheduler.last_epoch = round(scheduler.last_epoch * total / old)


class HistoryCallback(L.Callback):
    """Per-epoch train/val loss and accuracy; saved in checkpoints so a resumed run keeps it."""

    KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {key: [] for key in self.KEYS}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = trainer.callback_metrics
        if "val_acc" not in metrics and "test_acc" not in metrics:
            return  # no validation ran this epoch
        for key in self.KEYS:
            if key in metrics:
                self.history[key].append(float(metrics[key]))

    def state_dict(self) -> dict[str, list[float]]:
        return {key: list(values) for key, values in self.history.items()}

    def load_state_dict(self, state_dict: dict[str, list[float]]) -> None:
        self.history = {key: list(state_dict.get(key, [])) for key in self.KEYS}
