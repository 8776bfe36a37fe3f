"""A run directory's files: the seed card's artifacts, written atomically, and the weights read
back (the typed view of a whole run is :class:`aslrec.runs.directory.RunDirectory`).

Files (names as on the card, plus a safetensors copy of the weights):

- ``best_model.pth``: ``{"model_state_dict", "epoch", "val_acc"}``; tensors and plain numbers
  only, so it loads with ``torch.load(..., weights_only=True)`` (never unpickle untrusted files).
- ``model.safetensors``: the same weights, loadable without torch's pickle machinery at all.
- ``label_encoder_classes.npy``: the class names, index = model output.
- ``model_config.json``: architecture, hyper-parameters, classes, data, split, seed, best epoch,
  metrics.
- ``training_history.npy`` (a structured array: epoch, train_loss, train_acc, val_loss, val_acc,
  and test_loss/test_acc on the held-out fold when an inner split selected the epoch, NaN
  otherwise; loads with ``allow_pickle=False``) and ``training_history.png``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aslrec.atomic import atomic_path, write_text
from aslrec.data.labels import LabelEncoder
from aslrec.errors import ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

CHECKPOINT = "best_model.pth"
SAFETENSORS = "model.safetensors"
CLASSES = LabelEncoder.FILENAME
CONFIG = "model_config.json"
HISTORY = "training_history.npy"
HISTORY_PLOT = "training_history.png"
HISTORY_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")


def save_weights(run_dir: Path, model: nn.Module, *, epoch: int, val_acc: float) -> None:
    import torch
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(run_dir / CHECKPOINT) as tmp:
        torch.save({"model_state_dict": state, "epoch": epoch, "val_acc": val_acc}, tmp)
    with atomic_path(run_dir / SAFETENSORS) as tmp:
        save_file(state, str(tmp), metadata={"epoch": str(epoch)})


def save_history(run_dir: Path, history: dict[str, list[float]]) -> None:
    n = len(history.get("train_loss", []))
    table = np.zeros(n, dtype=[("epoch", "i4")] + [(k, "f4") for k in HISTORY_FIELDS])
    table["epoch"] = np.arange(1, n + 1)
    for key in HISTORY_FIELDS:
        values = history.get(key, [])[:n]
        table[key] = np.nan
        table[key][: len(values)] = values
    with atomic_path(run_dir / HISTORY) as tmp, open(tmp, "wb") as fh:
        np.save(fh, table, allow_pickle=False)


def load_history(run_dir: Path) -> dict[str, list[float]]:
    table = np.load(run_dir / HISTORY, allow_pickle=False)
    return {key: table[key].tolist() for key in HISTORY_FIELDS}


def save_config(run_dir: Path, config: dict[str, Any]) -> None:
    write_text(run_dir / CONFIG, json.dumps(config, indent=2, sort_keys=False) + "\n")


def load_state_dict(run_dir: Path) -> dict[str, torch.Tensor]:
    """Weights from safetensors if present, else from ``best_model.pth`` (weights only)."""

    if (run_dir / SAFETENSORS).is_file():
        from safetensors.torch import load_file

        try:
            return load_file(str(run_dir / SAFETENSORS))
        except Exception as exc:  # safetensors raises several unrelated types on corrupt files
            raise ModelError(f"{run_dir / SAFETENSORS}: unreadable weights ({exc})") from None
    if (run_dir / CHECKPOINT).is_file():
        return _load_checkpoint_weights(run_dir / CHECKPOINT)
    raise ModelError(f"{run_dir}: no weights ({SAFETENSORS} or {CHECKPOINT})")


_UNSAFE_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def load_checkpoint(path: Path, remedy: str = "") -> dict[str, Any]:
    """A ``.pth``/``.ckpt`` file loaded weights-only, or a one-line :class:`ModelError`.

    A pickle that asks for anything beyond tensors and plain data (a function such as
    ``os.system``, an arbitrary class) is refused as "not a safe checkpoint". torch's own message
    suggests retrying with ``weights_only=False``, which would run whatever the file asks for,
    so it is never passed on; nor are its multi-line notes for corrupt files. ``remedy`` is
    appended to the message (what the user can do instead).
    """
    import pickle

    import torch

    tail = f"; {remedy}" if remedy else ""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _UNSAFE_GLOBAL.search(str(exc))
        what = f"it asks for {found.group(1)}" if found else "it holds more than tensors"
        raise ModelError(
            f"{path}: not a safe checkpoint ({what}, which could run code when loaded); "
            f"aslrec loads only tensors and numbers{tail}"
        ) from None
    except Exception as exc:  # torch.load raises many types for corrupt or truncated files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{path}: unreadable checkpoint, truncated or corrupt ({first}){tail}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise ModelError(f"{path}: not a checkpoint (a {type(checkpoint).__name__}){tail}")
    return checkpoint


def _load_checkpoint_weights(path: Path) -> dict[str, torch.Tensor]:
    """``model_state_dict`` of a run's ``.pth`` (see :func:`load_checkpoint`)."""
    checkpoint = load_checkpoint(path)
    if not isinstance(checkpoint.get("model_state_dict"), dict):
        raise ModelError(f"{path}: not an aslrec checkpoint (no model_state_dict)")
    return checkpoint["model_state_dict"]
