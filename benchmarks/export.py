"""ONNX export (issue #8): speed, size, parity and int8 accuracy, torch vs ONNX Runtime.

For each model (the seed model trained on WLASL-50, and the bundled default model), side by side
in one run:

- file sizes: safetensors (PyTorch weights), ONNX fp32, ONNX int8 (dynamic quantisation);
- CPU latency per clip: batch 1, one thread, median (and p90) of ``--repeats`` real clips, after
  a warm-up; throughput: batch 64, one thread, clips/s from the median batch time;
- parity with PyTorch on every WLASL-50 clip (1,500, 588 with padding): max |logit difference|
  and top-1 agreement;
- held-out accuracy of torch, ONNX fp32 and ONNX int8 on the run's held-out fold (reproduced
  by ``RunDirectory.held_out_clips``), restricted to WLASL-50 clips, and the int8 delta.

Models: ``--seed-run`` / ``--default-run`` if given. Otherwise the seed model is the seed
recipe's WLASL-50 fold-0 run (``benchmarks/runs/seed_recipe/wlasl50-seed-fold0``, see
``seed_recipe.py``), or a 2-epoch MP_Data run when that has not been trained. The default model
is ``src/aslrec/assets/default_model`` when bundled, else a 2-epoch MP_Data run (seconds; speed
and size only, its accuracy is meaningless).

Usage::

    python -m benchmarks.export                 # writes "## Export (issue #8)" in RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aslrec.landmarks.clip import LandmarkClip
from aslrec.runs.directory import RunDirectory
from benchmarks._common import REPO, SHARED_DATA, command_line, header, load_note, write_section

OUT = REPO / "benchmarks" / "runs" / "export"
SEED_RECIPE_RUN = REPO / "benchmarks" / "runs" / "seed_recipe" / "wlasl50-seed-fold0"
BUNDLED = REPO / "src" / "aslrec" / "assets" / "default_model"
WLASL = "wlasl50_mp.npz"
TITLE = "Export (issue #8)"


@dataclass
class Model:
    name: str
    run_dir: Path
    note: str
    rows: dict[str, dict[str, float | str]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def seed_model(explicit: Path | None) -> Model:
    if explicit:
        return Model("seed", explicit, f"`{explicit}`")
    if (SEED_RECIPE_RUN / "model_config.json").is_file():
        rel = SEED_RECIPE_RUN.relative_to(REPO)
        return Model("seed", SEED_RECIPE_RUN, f"seed recipe, WLASL-50 fold 0 (`{rel}`)")
    return Model("seed", short_run(), "2-epoch MP_Data run (no WLASL-50 seed run found)")


def default_models(explicit: Path | None) -> list[Model]:
    """The bundled model's runs (each member of an ensemble is exported on its own)."""
    from aslrec.runs.ensemble import is_model_dir, member_dirs

    if explicit:
        return [Model("default", explicit, f"`{explicit}`")]
    if is_model_dir(BUNDLED):
        return [
            Model(
                f"default/{run_dir.name}" if run_dir != BUNDLED else "default",
                run_dir,
                f"bundled `{run_dir.relative_to(REPO)}`",
            )
            for run_dir in member_dirs(BUNDLED)
        ]
    return [
        Model(
            "default (stand-in)",
            short_run(),
            "not bundled yet: a 2-epoch MP_Data seed run (speed and size only)",
        )
    ]


def short_run() -> Path:
    from aslrec.runs.config import preset
    from aslrec.workflows.train import train

    out = OUT / "mp-data-2-epochs"
    if not (out / "model_config.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        train(
            [SHARED_DATA / "samples" / "MP_Data"],
            out,
            preset("seed").updated(epochs=2, threads=1),
            progress=False,
        )
    return out


def heldout_wlasl(run: RunDirectory) -> tuple[list[LandmarkClip], str]:
    """The run's held-out fold (:meth:`RunDirectory.held_out_clips`), restricted to WLASL-50
    clips; recorded data paths that do not exist here are looked up in the shared data."""
    sources = [Path(p) for p in run.sources]
    sources = [p if p.exists() else SHARED_DATA / p.name for p in sources]
    if not any(p.name == WLASL for p in sources) or not all(p.exists() for p in sources):
        return [], "not trained on WLASL-50"
    wlasl = str(next(p for p in sources if p.name == WLASL))
    picked = [c for c in run.held_out_clips(sources) if c.source.startswith(wlasl)]
    split = run.split
    return picked, f"WLASL-50 clips of held-out fold {split.fold}/{split.folds}"


def time_calls(fn, inputs: list, repeats: int, warmup: int = 10) -> np.ndarray:
    for i in range(warmup):
        fn(*inputs[i % len(inputs)])
    times = []
    for i in range(repeats):
        args = inputs[i % len(inputs)]
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return np.array(times)


def bench_model(model: Model, clips: list, args) -> None:
    import torch

    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.export.onnx_export import backend_logits, compare_logits
    from aslrec.inference.onnx_backend import OnnxBackend
    from aslrec.models.logits import torch_logits
    from aslrec.runs.artifacts import SAFETENSORS
    from aslrec.workflows.export import export_run

    run = RunDirectory(model.run_dir)
    out = OUT / model.name.split()[0]
    out.mkdir(parents=True, exist_ok=True)
    fp32 = export_run(model.run_dir, out / "model.onnx")
    int8 = export_run(model.run_dir, out / "model.int8.onnx", quantize="int8")
    model.sizes = {
        "safetensors": (model.run_dir / SAFETENSORS).stat().st_size,
        "fp32": fp32.size_bytes,
        "int8": int8.size_bytes,
    }
    x_all, m_all = arrays_for_model(clips, run.preprocessing)
    backends = {
        "ONNX Runtime fp32": OnnxBackend.load(fp32.path, threads=args.threads),
        "ONNX Runtime int8": OnnxBackend.load(int8.path, threads=args.threads),
    }
    torch.set_num_threads(args.threads)

    def torch_call(x: np.ndarray, m: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return run.model(torch.from_numpy(x), torch.from_numpy(m)).numpy()

    runtimes = {"PyTorch": torch_call, **{k: b.logits for k, b in backends.items()}}
    reference = torch_logits(run.model, x_all, m_all)
    heldout, heldout_desc = heldout_wlasl(run)
    if heldout:
        hx, hm = arrays_for_model(heldout, run.preprocessing)
        hy = run.label_indices(heldout)
    singles = [(x_all[i : i + 1], m_all[i : i + 1]) for i in range(0, len(x_all), 7)]
    batches = [(x_all[i : i + 64], m_all[i : i + 64]) for i in range(0, len(x_all) - 63, 64)]
    for name, fn in runtimes.items():
        row: dict[str, float | str] = {}
        lat = time_calls(fn, singles, args.repeats)
        row["ms_median"] = float(np.median(lat) * 1e3)
        row["ms_p90"] = float(np.percentile(lat, 90) * 1e3)
        thr = time_calls(fn, batches, args.batches, warmup=2)
        row["clips_per_s"] = 64 / float(np.median(thr))
        if name != "PyTorch":
            logits = backend_logits(backends[name], x_all, m_all)
            parity = compare_logits(reference, logits, m_all, WLASL)
            row["max_diff"] = parity.max_abs_diff
            row["agreement"] = parity.top1_agreement
            row["parity_clips"] = f"{parity.num_clips} ({parity.num_padded} padded)"
        if heldout:
            logits = torch_logits(run.model, hx, hm) if name == "PyTorch" else fn(hx, hm)
            row["heldout_top1"] = float((logits.argmax(1) == hy).mean())
        model.rows[name] = row
    model.note += f"; held-out: {heldout_desc} ({len(heldout)} clips)" if heldout else ""
    model.note += f"; {run.architecture}, {len(run.classes)} classes"


def render(models: list[Model], args, elapsed: float, load_before: float) -> str:
    from aslrec.export.onnx_export import OPSET

    lines = [header(command_line()).rstrip(), ""]
    lines += [
        "| model | weights | safetensors MB | ONNX fp32 MB | ONNX int8 MB | int8 / fp32 |",
        "|---|---|---|---|---|---|",
    ]
    for m in models:
        s = m.sizes
        lines.append(
            f"| {m.name} | {m.note} | {s['safetensors'] / 1e6:.2f} | {s['fp32'] / 1e6:.2f} | "
            f"{s['int8'] / 1e6:.2f} | {s['int8'] / s['fp32']:.2f} |"
        )
    lines += [
        "",
        f"Speed: CPU, {args.threads} thread(s) for every runtime. Latency: batch 1, median (p90) "
        f"of {args.repeats} real WLASL-50 clips after 10 warm-up calls. Throughput: batch 64, "
        f"clips/s from the median of {args.batches} batches. Parity: every WLASL-50 clip vs the "
        "PyTorch forward (packed-sequence LSTM). Held-out top-1: the run's held-out fold.",
        "",
        "| model | runtime | latency ms/clip (b=1) | p90 ms | throughput clips/s (b=64) | "
        "speed-up b=1 / b=64 vs torch | max abs logit diff vs torch | top-1 agreement | "
        "held-out top-1 | delta vs torch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in models:
        base = m.rows["PyTorch"]
        for name, r in m.rows.items():
            speed = (
                f"{base['ms_median'] / r['ms_median']:.2f}x / "  # type: ignore[operator]
                f"{r['clips_per_s'] / base['clips_per_s']:.2f}x"  # type: ignore[operator]
            )
            diff = f"{r['max_diff']:.1e}" if "max_diff" in r else "(reference)"
            agree = f"{r['agreement']:.2%}" if "agreement" in r else "-"
            top1 = f"{r['heldout_top1']:.2%}" if "heldout_top1" in r else "n/a"
            delta = (
                f"{(r['heldout_top1'] - base['heldout_top1']) * 100:+.2f} pp"  # type: ignore[operator]
                if "heldout_top1" in r and name != "PyTorch"
                else "-"
            )
            lines.append(
                f"| {m.name} | {name} | {r['ms_median']:.2f} | {r['ms_p90']:.2f} | "
                f"{r['clips_per_s']:.0f} | {speed} | {diff} | {agree} | {top1} | {delta} |"
            )
    lines += [
        "",
        f"Export: `aslrec export RUN_DIR [--quantize int8]`, TorchScript-based "
        f"`torch.onnx.export(dynamo=False)`, opset {OPSET}, dynamic batch and frames; packed "
        "BiLSTMs become ONNX `LSTM` with `sequence_lens`. int8: ONNX Runtime "
        "`quantize_dynamic` (int8 weights for LSTM, MatMul/Gemm and Conv; activations "
        "quantised per call). Parity threshold for fp32: 1e-4 max abs logit difference and "
        ">= 99% top-1 agreement.",
        "",
        f"{load_note(load_before, os.getloadavg()[0])} Benchmark took {elapsed:.0f} s.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-run", type=Path, default=None)
    parser.add_argument("--default-run", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=200, help="batch-1 calls timed")
    parser.add_argument("--batches", type=int, default=20, help="batch-64 calls timed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    import torch

    from aslrec.data.loaders import load_dataset

    torch.set_num_threads(args.threads)
    clips = load_dataset(SHARED_DATA / WLASL)
    models = [seed_model(args.seed_run), *default_models(args.default_run)]
    for model in models:
        print(f"{model.name}: {model.run_dir}", flush=True)
        bench_model(model, clips, args)
    body = render(models, args, time.perf_counter() - started, load_before)
    print(body)
    if not args.no_write:
        write_section(TITLE, body)


if __name__ == "__main__":
    main()
