"""Fitting :class:`~aslrec.models.kernel.HandShapeSVM` in closed form: frames in, libsvm out.

No epochs, no optimizer: the training clips' frames (a few distinct ones per clip, of the clip
and of its augmented copies, :class:`Copies`, and their mirror images when the model is
mirror-invariant, the views it averages over at inference) go to scikit-learn's ``SVC``
(libsvm, one-vs-one), and its support vectors, coefficients and intercepts become the model's
weights. The copies stand in for what a network sees anew each epoch: on people it never saw,
a kernel fitted on one camera roll per photo reads fewer letters than one fitted on a few.
The one number the SVM does not give, the ``scale`` that turns decisions into calibrated
logits, is fitted on decisions for frames the SVM did not see: a few group folds (by signer
where clips have one, so the scale is that of new people), each fitted apart, then the scale
of least log loss over all held-out frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from aslrec.data.augment import Transform
from aslrec.errors import DataError
from aslrec.models.features import HAND_SHAPE_FEATURES
from aslrec.models.kernel import HandShapeSVM, coupled_logits, frames_with_a_hand
from aslrec.models.symmetry import MirrorAveraged

ABSENT_CLASS_MARGIN = 1e3
"""Decision against a class with no training frames in every pair it is in: never chosen."""
SCALES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 61))
"""The scales tried for calibration (log-spaced)."""


@dataclass(frozen=True)
class SvmFit:
    """What a fit did: shown by ``aslrec train`` and kept in the run's history."""

    frames: int
    support_vectors: int
    scale: float
    heldout_log_loss: float
    """Per frame, on the calibration folds' held-out frames at ``scale`` (nan without folds)."""
    train_top1: float
    seconds: float


@dataclass(frozen=True)
class Copies:
    """``count`` augmented copies of each training clip, drawn through ``augment`` with a
    generator seeded by ``seed`` (the same copies for the same seed)."""

    count: int = 0
    augment: Transform | None = None
    seed: int = 0

    def of(self, landmarks: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The clips followed by their copies: ``(1 + count) * N`` clips, copy ``k`` of clip
        ``i`` at ``(k + 1) * N + i``."""
        if not self.count or self.augment is None:
            return landmarks, mask
        generator = torch.Generator().manual_seed(self.seed)
        drawn = [self.augment(landmarks, mask, generator) for _ in range(self.count)]
        return (
            torch.cat([landmarks, *(x for x, _ in drawn)]),
            torch.cat([mask, *(m for _, m in drawn)]),
        )


def is_closed_form(model: nn.Module) -> bool:
    """Whether ``model`` is fitted by :func:`fit_svm` rather than by gradient descent."""
    return isinstance(_machine(model), HandShapeSVM)


def _machine(model: nn.Module) -> nn.Module:
    return model.model if isinstance(model, MirrorAveraged) else model


def fit_svm(
    model: nn.Module,
    x: np.ndarray,
    mask: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    copies: Copies = Copies(),
    c: float = 10.0,
    frames_per_clip: int = 4,
    calibration_folds: int = 3,
) -> SvmFit:
    """Fit ``model`` (a :class:`HandShapeSVM`, bare or mirror-averaged) to training clips
    ``x (N, T, 2, 21, 3)``, ``mask (N, T)`` with labels ``y`` and ``groups`` (clips of one
    group, e.g. one signer, are held out together for calibration), and ``copies`` of them;
    in place. ``weights``: one per clip (``source_balanced``/``signer_balanced``), libsvm's
    per-sample C factors; a clip's copies share its weight as its frames do."""
    started = time.perf_counter()
    machine = _machine(model)
    assert isinstance(machine, HandShapeSVM)
    landmarks, frame_mask = copies.of(torch.from_numpy(x), torch.from_numpy(mask))
    source = np.tile(np.arange(len(x)), len(landmarks) // len(x))  # the clip each one copies
    views = [landmarks]
    if isinstance(model, MirrorAveraged):
        mirrored = model.mirrored_view(landmarks, frame_mask)
        # A clip that is its own mirrored view (canonical) adds nothing as one.
        own = (mirrored == landmarks).flatten(1).all(dim=1)
        views.append(mirrored * ~own[:, None, None, None, None])
    picked = [training_frames(machine, view, frame_mask, frames_per_clip) for view in views]
    features = np.concatenate([f for f, _, _ in picked])
    present = np.concatenate([p for _, p, _ in picked])
    clip = source[np.concatenate([i for _, _, i in picked])]
    labels, frame_groups = y[clip], np.asarray(groups)[clip]
    if len(np.unique(labels)) < 2:
        raise DataError(
            f"{len(features)} frames with a hand, of {len(np.unique(labels))} sign(s): an SVM "
            "needs frames of at least two signs"
        )
    # A clip's weight is shared by the frames it and its copies give, so a moving clip counts
    # as a still one.
    per_frame = np.ones(len(clip)) if weights is None else np.asarray(weights, np.float64)[clip]
    per_frame /= np.bincount(clip, minlength=len(x))[clip]
    per_frame *= len(per_frame) / per_frame.sum()  # mean 1: C keeps its meaning

    # Statistics of present hands only: an absent hand is 0 after standardising, whatever
    # share of frames lack it.
    count = np.maximum(present.sum(axis=0), 1)
    mean = (features * present).sum(axis=0) / count
    std = np.sqrt((((features - mean) * present) ** 2).sum(axis=0) / count)
    std[std < 1e-6] = 1.0
    scaled = (features - mean) / std * present
    gamma = 1.0 / HAND_SHAPE_FEATURES  # scikit-learn's "scale" for one standardised hand
    with torch.no_grad():
        machine.mean.copy_(torch.from_numpy(mean))
        machine.std.copy_(torch.from_numpy(std))
        machine.gamma.fill_(gamma)

    scale, log_loss = _calibrated_scale(
        machine, scaled, labels, per_frame, frame_groups, c, calibration_folds
    )
    _load_svc(machine, _svc(scaled, labels, per_frame, c, gamma))
    with torch.no_grad():
        machine.log_scale.fill_(float(np.log(scale)))
        logits = machine.classify(_kernel(machine, scaled))
    return SvmFit(
        frames=len(scaled),
        support_vectors=machine.support.shape[0],
        scale=scale,
        heldout_log_loss=log_loss,
        train_top1=float((logits.argmax(1).numpy() == labels).mean()),
        seconds=time.perf_counter() - started,
    )


def training_frames(
    machine: HandShapeSVM, landmarks: torch.Tensor, mask: torch.Tensor, per_clip: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``per_clip`` distinct frames with a hand from each clip, evenly spaced through
    it (a still clip gives one): raw features, which hand each feature's is present, and the
    clip index of each frame."""
    with torch.no_grad():
        raw, hand = machine.frame_features(landmarks)
    features = np.concatenate([raw.numpy(), hand.numpy()], axis=-1).astype(np.float64)
    seen = frames_with_a_hand(landmarks, mask).numpy()
    rows, owner = [], []
    for i in range(len(features)):
        frames = features[i][seen[i]]
        if not len(frames):
            continue
        _, first = np.unique(frames, axis=0, return_index=True)
        distinct = frames[np.sort(first)]
        keep = np.unique(np.linspace(0, len(distinct) - 1, per_clip).round().astype(int))
        rows.append(distinct[keep])
        owner.append(np.full(len(keep), i))
    width = raw.shape[-1]
    if not rows:
        return np.zeros((0, width)), np.zeros((0, width)), np.zeros(0, dtype=int)
    picked = np.concatenate(rows)
    return picked[:, :width], picked[:, width:], np.concatenate(owner)


def _svc(features: np.ndarray, labels: np.ndarray, weights: np.ndarray, c: float, gamma: float):  # type: ignore[no-untyped-def]
    from sklearn.svm import SVC

    svc = SVC(C=c, kernel="rbf", gamma=gamma, decision_function_shape="ovo", cache_size=1000)
    return svc.fit(features, labels, sample_weight=weights)


def _load_svc(machine: HandShapeSVM, svc) -> None:  # type: ignore[no-untyped-def]
    """libsvm's one-vs-one machine as :class:`HandShapeSVM` weights (see its docstring).

    ``dual_coef_[r, s]`` is support vector ``s``'s coefficient in the pair of its class ``l``
    with the ``r``-th other class (``r`` if ``r < l``, else ``r + 1``); ``intercept_`` lists
    the pairs ``(a, b)``, ``a < b``, in order."""
    total = machine.num_classes
    present = svc.classes_.astype(int)
    own = np.repeat(np.arange(len(present)), svc.n_support_)  # local class of each SV
    coef = np.zeros((len(own), total))
    for r in range(len(present) - 1):
        other = np.where(r < own, r, r + 1)
        coef[np.arange(len(own)), present[other]] = svc.dual_coef_[r]
    intercept = np.zeros((total, total))
    pairs = [(a, b) for a in range(len(present)) for b in range(a + 1, len(present))]
    for p, (a, b) in enumerate(pairs):
        intercept[present[a], present[b]] = svc.intercept_[p]
    for absent in sorted(set(range(total)) - set(present.tolist())):
        intercept[absent, absent + 1 :] = -ABSENT_CLASS_MARGIN
        intercept[:absent, absent] = ABSENT_CLASS_MARGIN
    intercept = np.triu(intercept, 1)
    membership = np.eye(total)[present[own]]
    as_tensor = {"support": svc.support_vectors_, "coef": coef, "membership": membership}
    state = {k: torch.from_numpy(v).float() for k, v in as_tensor.items()}
    state["intercept"] = torch.from_numpy(intercept).float()
    machine.load_state_dict(state, strict=False)


def _kernel(machine: HandShapeSVM, scaled: np.ndarray) -> torch.Tensor:
    """The embedding of single standardised frames (``(N, F)`` -> ``(N, S)``), as the model
    computes it for a clip of one frame."""
    with torch.no_grad():
        return machine.kernel(torch.from_numpy(scaled)).float()


def _calibrated_scale(
    machine: HandShapeSVM,
    scaled: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    c: float,
    folds: int,
) -> tuple[float, float]:
    """The decision scale of least (weighted) log loss on frames of groups left out of the
    fit."""
    from sklearn.model_selection import GroupKFold

    folds = min(folds, len(np.unique(groups)))
    if folds < 2:
        return 1.0, float("nan")
    fold_machine = HandShapeSVM(machine.num_classes, 1)
    fold_machine.load_state_dict(machine.state_dict())
    decisions, held = [], []
    gamma = float(machine.gamma)
    for train, test in GroupKFold(folds).split(scaled, labels, groups):
        test = test[np.isin(labels[test], labels[train])]  # a class it could not know: no say
        _load_svc(fold_machine, _svc(scaled[train], labels[train], weights[train], c, gamma))
        with torch.no_grad():
            decisions.append(fold_machine.decisions(_kernel(fold_machine, scaled[test])))
        held.append(test)
    stacked, order = torch.cat(decisions), np.concatenate(held)
    target, weight = torch.from_numpy(labels[order]), torch.from_numpy(weights[order])
    losses = []
    for scale in SCALES:
        logits = coupled_logits(scale * stacked, fold_machine.orientation)
        loss = nn.functional.cross_entropy(logits, target, reduction="none").double()
        losses.append(float((loss * weight).sum() / weight.sum()))
    best = int(np.argmin(losses))
    return float(SCALES[best]), losses[best]
