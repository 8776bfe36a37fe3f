"""Knowledge distillation (Hinton, Vinyals & Dean, 2015): learn from teachers' soft predictions.

On WLASL-50 the seed model and ``best`` make different mistakes: of the 261 held-out clips (of
1,500) that exactly one of them gets right, their averaged prediction gets 195 right (RESULTS.md,
"where the errors are"), but running both costs 1.3x the seed model's parameters and time.
Distillation trains one small model to match their averaged, softened output, so it can learn
which classes look alike (the "dark knowledge" of the wrong-class probabilities) as well as the
labels.

Two ways to ask the teachers:

- offline (default): once per clip, each teacher with its own preprocessing, on the clean
  clip, while the student sees augmented versions of it (cheap: one pass over the data);
- online (``distill_online``): on the very batch the student sees, augmented and mixed, as
  Beyer et al. (CVPR 2022, "a good teacher is patient and consistent") recommend; costs one
  forward pass of every teacher per step. The teachers then read the student's preprocessing:
  the seed model's held-out WLASL-50 accuracy is unchanged by that (within 0.3 points on each of
  5 folds, mirrored left hands and span sampling included).

Teachers must come from the same data and split as the student, so none has seen the clips the
student is scored on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from aslrec.data.preprocessing import arrays_for_model
from aslrec.data.splits import Selection, SplitSpec
from aslrec.errors import ConfigError
from aslrec.landmarks.clip import LandmarkClip
from aslrec.models.logits import torch_logits
from aslrec.runs.directory import RunDirectory


def load_teachers(
    teachers: Sequence[str], classes: Sequence[str], split: SplitSpec, selection: Selection
) -> list[RunDirectory]:
    """The teachers' runs, each checked against the student's classes and split.

    Raises :class:`ConfigError` naming the teacher when its classes or its split differ from
    the student's (a teacher trained on another split may have seen the held-out clips), or
    when it chose its epoch on the held-out fold while the student does not (the student would
    inherit that look at the clips it is scored on).
    """
    runs = []
    for teacher in teachers:
        run = RunDirectory(teacher)
        if list(run.classes) != list(classes):
            raise ConfigError(f"{teacher}: teacher's classes differ from the training data's")
        if run.split != split:
            raise ConfigError(
                f"{teacher}: teacher was trained on another split ({run.split.to_dict()}, not "
                f"{split.to_dict()}); it may have seen the clips this run is scored on"
            )
        honest = ("inner", "fixed")
        if selection in honest and run.selection not in honest:
            raise ConfigError(
                f"{teacher}: teacher chose its epoch on the held-out fold; retrain it with "
                "--set selection=inner"
            )
        _ = run.model  # built now: a broken teacher fails before training starts
        runs.append(run)
    return runs


def teacher_probabilities(
    teachers: Sequence[RunDirectory], clips: Sequence[LandmarkClip], temperature: float
) -> np.ndarray:
    """``(len(clips), classes)`` mean of the teachers' ``softmax(logits / temperature)``, each
    teacher reading the clips with its own preprocessing (offline distillation)."""
    probabilities = []
    for run in teachers:
        x, mask = arrays_for_model(clips, run.preprocessing)
        logits = torch.from_numpy(torch_logits(run.model, x, mask)) / temperature
        probabilities.append(torch.softmax(logits, dim=1).numpy())
    return np.mean(probabilities, axis=0).astype(np.float32)


@torch.no_grad()
def online_teacher_probabilities(
    teachers: Sequence[torch.nn.Module],
    landmarks: torch.Tensor,
    mask: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """The teachers' mean softened prediction on a training batch as the student sees it."""
    probabilities = [
        torch.softmax(teacher.to(landmarks.device)(landmarks, mask) / temperature, dim=1)
        for teacher in teachers
    ]
    return torch.stack(probabilities).mean(dim=0)


def distillation_loss(
    logits: torch.Tensor, teacher: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``T^2 * KL(teacher || softmax(logits / T))``, batch mean; the ``T^2`` keeps its gradient
    on the scale of the label loss whatever the temperature (Hinton et al., section 2)."""
    log_student = torch.log_softmax(logits / temperature, dim=1)
    return torch.nn.functional.kl_div(log_student, teacher, reduction="batchmean") * temperature**2
