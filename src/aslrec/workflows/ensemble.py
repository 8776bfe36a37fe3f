"""Is the ensemble better than its best member? Scored on the members' shared held-out fold.

Averaging logits usually helps, but not always: a weak or miscalibrated member can drag the
ensemble below its best member, and then the ensemble is the worse model to ship. ``aslrec
ensemble`` only writes a file, so without this check nobody would notice (issue #21). The
check lives here rather than in :mod:`aslrec.runs.ensemble` because it runs models, and the
runs layer must not import inference.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aslrec.errors import AslrecError
from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.clip import LandmarkClip
from aslrec.runs.directory import label_indices
from aslrec.runs.ensemble import held_out_run


@dataclass(frozen=True)
class EnsembleScore:
    """Top-1 of the ensemble and of each member on ``clips`` held-out clips."""

    ensemble: float
    members: dict[str, float]
    clips: int

    @property
    def best_member(self) -> tuple[str, float]:
        return max(self.members.items(), key=lambda item: item[1])

    def message(self) -> str:
        """One line: a warning when the ensemble scores below its best member, else info."""
        name, best = self.best_member
        if self.ensemble < best:
            return (
                f"warning: the ensemble's held-out top-1 is {self.ensemble:.1%}, below its best "
                f"member {name} at {best:.1%} ({self.clips} clips); use that member alone or "
                "drop the weaker members"
            )
        return (
            f"held-out top-1 {self.ensemble:.1%} on {self.clips} clips "
            f"(best member {name}: {best:.1%})"
        )


def top1(model_dir: str | os.PathLike[str], clips: Sequence[LandmarkClip]) -> float:
    """Share of ``clips`` whose top-1 is their label (the number the warning compares; a
    member that does not know a clip's sign gets it wrong)."""
    recognizer = Recognizer.load(model_dir)
    predicted = np.array(recognizer.classes)[recognizer.logits(clips).argmax(axis=1)]
    return float(np.mean(predicted == np.array([c.label for c in clips])))


def score_ensemble(
    ensemble_dir: str | os.PathLike[str], members: Sequence[str | os.PathLike[str]]
) -> EnsembleScore | str:
    """The ensemble and each member scored on their shared held-out fold, or why it cannot be
    (members on different splits, recorded data missing or too few clips) as one line."""
    try:
        clips = held_out_run([ensemble_dir]).held_out_clips()
        if not clips:
            return f"{ensemble_dir}: no held-out clips to compare the ensemble with its members"
        label_indices(Recognizer.load(ensemble_dir).classes, clips)  # every label known
        scores = {str(m): top1(m, clips) for m in members}
        return EnsembleScore(top1(ensemble_dir, clips), scores, len(clips))
    except AslrecError as exc:
        return f"not compared with its members: {exc}"
