"""Fixtures for the export tests: real WLASL-50 clips and a run directory per registered model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

WLASL = "wlasl50_mp.npz"


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One thread: on a shared, busy CPU, torch's thread pool is many times slower than one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def wlasl_clips(shared_data: Path) -> list:
    from aslrec.data.loaders import load_dataset

    return load_dataset(shared_data / WLASL)


@pytest.fixture(scope="session")
def real_batch(wlasl_clips: list) -> tuple[np.ndarray, np.ndarray]:
    """96 real clips, one batch mixing lengths: every third has trailing padding (as recorded)."""
    from aslrec.data.preprocessing import clips_to_arrays

    x, mask = clips_to_arrays(wlasl_clips, 30, "resample")
    padded = np.flatnonzero(mask.min(axis=1) < 0.5)[:32]
    full = np.flatnonzero(mask.min(axis=1) > 0.5)[:64]
    order = np.sort(np.concatenate([padded, full]))
    assert len(padded) == 32 and len(set(mask[padded].sum(axis=1))) > 3
    return x[order], mask[order]


def build_run(
    run_dir: Path,
    architecture: str,
    classes: list[str],
    x: np.ndarray,
    mask: np.ndarray,
    model_kwargs: dict | None = None,
) -> Path:
    """A run directory as `aslrec train` writes it, with seeded weights.

    BatchNorm statistics are estimated on real clips (one train-mode pass), so the exported
    graph sees realistic running means and variances rather than the 0/1 defaults.
    """
    import torch
    from torch import nn

    from aslrec.data.labels import LabelEncoder
    from aslrec.data.preprocessing import PreprocessingSpec
    from aslrec.models import create_model
    from aslrec.runs import artifacts
    from aslrec.training.natural_view import fit_natural_view, needs_natural_view

    torch.manual_seed(0)
    model = create_model(architecture, num_classes=len(classes), **(model_kwargs or {}))
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the pass
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(x), torch.from_numpy(mask))
    for norm in norms:
        norm.momentum = 0.1
    model.eval()
    if needs_natural_view(model):  # fitted as training fits it, on the same real clips
        fit_natural_view(model, x, mask)
    run_dir.mkdir(parents=True)
    artifacts.save_weights(run_dir, model, epoch=1, val_acc=0.0)
    LabelEncoder(classes).save(run_dir)
    artifacts.save_config(
        run_dir,
        {
            "architecture": architecture,
            "model_kwargs": model_kwargs or {},
            "num_classes": len(classes),
            "classes": classes,
            "preprocessing": PreprocessingSpec().to_dict(),
            "split": {"strategy": "stratified", "folds": 5, "fold": 0, "seed": 42},
        },
    )
    return run_dir


@pytest.fixture(scope="session")
def make_run(
    tmp_path_factory: pytest.TempPathFactory,
    wlasl_clips: list,
    real_batch: tuple[np.ndarray, np.ndarray],
) -> Callable[[str], Path]:
    """``make_run(architecture, **model_kwargs)`` -> a run directory on WLASL-50's 50 classes
    (cached)."""
    classes = sorted({c.label for c in wlasl_clips})
    cache: dict[tuple, Path] = {}

    def make(architecture: str, **model_kwargs: Any) -> Path:
        key = (architecture, *sorted(model_kwargs.items()))
        if key not in cache:
            root = tmp_path_factory.mktemp(f"run-{architecture}")
            cache[key] = build_run(
                root / "run", architecture, classes, *real_batch, model_kwargs=model_kwargs
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def exported(make_run: Callable[[str], Path]) -> Callable[[str], Path]:
    """``exported(architecture)`` -> the run directory, with ``model.onnx`` written (cached)."""
    from aslrec.workflows.export import export_run

    done: dict[str, Path] = {}

    def export(architecture: str) -> Path:
        if architecture not in done:
            run_dir = make_run(architecture)
            export_run(run_dir)
            done[architecture] = run_dir
        return done[architecture]

    return export
