"""Ensembles: several trained runs (seeds or architectures) answering as one model.

An ensemble is a directory holding ``ensemble.json``::

    {"members": ["../runs/best-seed1", "../runs/seed"], "tta": true}

Member paths are relative to the ensemble directory (or absolute). Because it is a directory
like a run, everything that takes a model (``aslrec predict/transcribe/live/serve``, the
``Recognizer``, ``aslrec evaluate``) takes an ensemble too, and it can carry its own
``calibration.json``. The members' logits are averaged (each member preprocesses the clips its
own way and may use TTA, :mod:`aslrec.inference.tta`); every member must know the same classes
in the same order, which is checked when the ensemble is made and when it is loaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aslrec.atomic import write_text
from aslrec.data.labels import LabelEncoder
from aslrec.errors import ConfigError, ModelError
from aslrec.runs.artifacts import CONFIG
from aslrec.runs.directory import RunDirectory

ENSEMBLE_FILE = "ensemble.json"


@dataclass(frozen=True)
class EnsembleSpec:
    members: tuple[Path, ...]
    tta: bool = False

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> EnsembleSpec:
        path = Path(directory) / ENSEMBLE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            members = tuple(Path(directory) / m for m in data["members"])
            tta = bool(data.get("tta", False))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: not a readable ensemble file ({exc})") from None
        if not members:
            raise ModelError(f"{path}: an ensemble needs at least one member")
        return cls(members, tta)


def is_ensemble(directory: str | os.PathLike[str]) -> bool:
    return (Path(directory) / ENSEMBLE_FILE).is_file()


def member_dirs(directory: str | os.PathLike[str]) -> list[Path]:
    """The run directories behind a model directory: its members, or itself for a run."""
    if is_ensemble(directory):
        return list(EnsembleSpec.read(directory).members)
    return [Path(directory)]


def is_model_dir(directory: str | os.PathLike[str]) -> bool:
    """A trained run (``model_config.json``) or an ensemble (``ensemble.json``)."""
    return is_ensemble(directory) or (Path(directory) / CONFIG).is_file()


def union_classes(classes: Sequence[Sequence[str]], names: Sequence[object]) -> list[str]:
    """The classes of an ensemble: the first member's, then each later member's new ones in
    its order. Members may know different signs (a letters model beside a words model); one
    that shares no sign with the first has nothing to be compared on and is refused."""
    union = list(classes[0])
    for other, name in zip(classes[1:], names[1:], strict=True):
        if not set(other) & set(classes[0]):
            raise ModelError(
                f"{name}: ensemble members must share some classes (none of its "
                f"{len(other)} is among the {len(classes[0])} of {names[0]})"
            )
        union += [c for c in other if c not in union]
    return union


def held_out_run(model_dirs: Sequence[str | os.PathLike[str]]) -> RunDirectory:
    """The run whose held-out fold belongs to every run behind ``model_dirs`` (runs or
    ensembles): all of them must share their split, else no clip is held out from all."""
    runs = [RunDirectory(run) for model_dir in model_dirs for run in member_dirs(model_dir)]
    if len({run.split for run in runs}) > 1:
        raise ConfigError(
            f"{model_dirs[0]}: ensemble members were trained on different splits, so no fold is "
            "held out from all of them; evaluate on other data (--all / --data)"
        )
    return runs[0]


def create_ensemble(
    members: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *, tta: bool = False
) -> Path:
    """Write ``out/ensemble.json`` for ``members`` after checking they load and agree."""
    out = Path(out)
    if not members:
        raise ModelError(f"{out}: an ensemble needs at least one member")
    resolved = [Path(m).resolve() for m in members]
    union_classes([LabelEncoder.load(m).classes for m in resolved], resolved)
    relative = [os.path.relpath(m, out.resolve()) for m in resolved]
    out.mkdir(parents=True, exist_ok=True)
    target = out / ENSEMBLE_FILE
    write_text(target, json.dumps({"members": relative, "tta": tta}, indent=1) + "\n")
    return target
