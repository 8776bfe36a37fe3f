"""Run directories with random weights: tests of plumbing must not depend on model quality."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_random_run(
    run_dir: Path, architecture: str, classes: list[str], preprocessing: dict[str, Any], seed: int
) -> Path:
    """A run directory holding ``architecture`` with random weights (seeded)."""
    import torch

    from aslrec.data.labels import LabelEncoder
    from aslrec.models.registry import create_model
    from aslrec.runs import artifacts

    torch.manual_seed(seed)
    model = create_model(architecture, num_classes=len(classes))
    artifacts.save_weights(run_dir, model, epoch=0, val_acc=0.0)
    LabelEncoder(classes).save(run_dir / artifacts.CLASSES)
    artifacts.save_config(
        run_dir, {"architecture": architecture, "model_kwargs": {}, "preprocessing": preprocessing}
    )
    return run_dir
