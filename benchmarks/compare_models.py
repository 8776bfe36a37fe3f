"""Issue #10's table: our model against the seed model, same folds, same protocol.

Rows, each cross-validated on the same folds as `seed_recipe.py` (5-fold leakage-safe
stratified on WLASL-50, participant-held-out on GISLR, block-held-out on the letters), every
trained model choosing its epoch on an inner split of the training folds (never on the scored
fold):

- ``seed``: the seed model with the seed recipe (``--preset seed``): the very cells of
  ``seed_recipe.py``, shared through its cache rather than trained twice;
- ``best``: ``--preset best`` (see ``aslrec.runs.config.PRESETS``);
- ``best-fast distilled``: ``--preset best-fast`` (one convolution block per stage) with an
  inner split, taught by the seed and best runs of the same fold; ``best-fast distilled, fixed
  schedule``: the same on a fixed schedule (all training folds, the last of 120 epochs kept;
  added after the others, post hoc); ``best-fast, fixed schedule`` is the preset as it stands
  (no teachers; at least 4,000 optimizer steps, so smaller training sets train for more
  epochs) and ``seed, fixed schedule`` the seed model on the fixed schedule;
- ``best-fast + hand dropout, fixed schedule``: the preset plus the ``hand_dropout``
  augmentation (added after the streaming benchmark showed tracking losing a hand);
- ``best + TTA``, ``best + seed ensemble`` and both: inference-only combinations of those runs
  (the last added after the first two were measured: a post-hoc row, said so in the table).

Plus, on WLASL-50: where the errors are (clips the seed, best and their ensemble miss, per fold,
and the ensemble's most frequent confusions), an ablation table (the best recipe with one
augmentation / feature removed at a time) and a learning curve (5, 10 and 15 training clips per
class, and all 21, the held-out clips unchanged) plotted to ``benchmarks/learning_curve.png``.
``--seeds 43 44`` repeats the main cells with other seeds (each draws another assignment of
clips or participants to folds, and other initial weights): on GISLR the 98% goal is a
difference of a few of 747 clips, so one 5-fold CV cannot settle it. Finished cells are cached;
the run resumes, and ``--table-only`` rebuilds the section of RESULTS.md from the cache.

    python benchmarks/compare_models.py --jobs 2 --parts main ablation curve
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _cells import DATASETS, FOLDS, Cell, run_cells
from _common import (
    REPO,
    SHARED_DATA,
    command_line,
    file_slug,
    header,
    mean_std,
    write_section,
)

from aslrec.atomic import write_text
from aslrec.runs.config import preset

TABLE = "compare_models"
# The seed model on best-fast's schedule counted in steps: the control for the learning curve
# (only run with fewer clips; at full size it would differ from ``seed, fixed schedule`` by
# 6 epochs).
STEP_MATCHED_SEED = "seed, fixed schedule, min 4,000 steps"
# best-fast with one hand lost over a span of frames in 20% of the training clips (added after
# the streaming benchmark showed a tracker losing the non-dominant hand of ``school``).
HAND_DROPOUT = "best-fast + hand dropout, fixed schedule"
# best-fast where a hand that stays still while the other signs is never taken for the dominant
# one (``dominance="moving"``; added after GISLR participant 29302's still left hand turned 3
# clips into misses for every row).
MOVING_DOMINANCE = "best-fast, moving hand dominant, fixed schedule"
BEST_AUGMENT = preset("best").augment
# Trained rows: name -> (cache table, preset, overrides). The seed row *is* seed_recipe.py's cell
# (same preset, folds and inner selection), so the two tables never train the same model twice.
# The distilled rows were measured before ``min_steps`` joined the best-fast preset; they keep
# the epoch-counted schedule they ran (at full WLASL-50 and letters size the two are the same).
# The best-fast rows measured before the preset's ``dominance="moving"`` keep the rule they ran.
SEEN = {"dominance": "seen"}
TRAINED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "seed": ("seed_recipe", "seed", {"model": "seed"}),
    "seed, fixed schedule": (TABLE, "seed", {"model": "seed", "selection": "fixed"}),
    STEP_MATCHED_SEED: (
        TABLE,
        "seed",
        {"model": "seed", "selection": "fixed", "min_steps": 4000},
    ),
    "best": (TABLE, "best", {}),
    "best-fast distilled": (TABLE, "best-fast", {"selection": "inner", "min_steps": 0, **SEEN}),
    "best-fast, fixed schedule": (TABLE, "best-fast", {"selection": "fixed", **SEEN}),
    "best-fast distilled, fixed schedule": (
        TABLE,
        "best-fast",
        {"selection": "fixed", "min_steps": 0, **SEEN},
    ),
    HAND_DROPOUT: (
        TABLE,
        "best-fast",
        {"selection": "fixed", "augment": {**BEST_AUGMENT, "hand_dropout": {"p": 0.2}}, **SEEN},
    ),
    MOVING_DOMINANCE: (TABLE, "best-fast", {"selection": "fixed", "dominance": "moving"}),
}
# Distilled rows learn from these rows' runs of the same fold (and training-set size), so they
# train after them.
TEACHERS: dict[str, tuple[str, ...]] = {
    "best-fast distilled": ("seed", "best"),
    "best-fast distilled, fixed schedule": ("seed", "best"),
}
# Inference-only rows over the trained runs of the same fold: (members, test-time augmentation).
# Members are fixed here, never chosen on a scored fold.
COMBINED: dict[str, tuple[tuple[str, ...], bool]] = {
    "best + TTA": (("best",), True),
    "best + seed ensemble": (("best", "seed"), False),
    "best + seed ensemble + TTA": (("best", "seed"), True),
}
ROWS = [*TRAINED, *COMBINED]
ABLATIONS: dict[str, dict[str, Any]] = {
    "- speed/time warp": {"augment": {"drop": "speed_and_warp"}},
    "- temporal mask": {"augment": {"drop": "temporal_mask"}},
    "- affine": {"augment": {"drop": "affine"}},
    "- finger dropout": {"augment": {"drop": "finger_dropout"}},
    "- mixup": {"augment": {"drop": "mixup"}},
    "- dominant-hand mirroring": {"dominant_hand": False},
    "- velocities": {"model_kwargs": {"velocities": False}},
    "- fingertip distances": {"model_kwargs": {"distances": False}},
    "- label smoothing": {"label_smoothing": 0.0},
}
CURVE_SIZES = (5, 10, 15)
# The presets' seed: the main cells, which set none. Repetitions of the GISLR cross-validation
# add two more (the 98% goal sits within a few of its 747 clips).
MAIN_SEED = preset("seed").seed
REPEAT_SEEDS = (MAIN_SEED, 43, 44)


def ablation_overrides(change: dict[str, Any]) -> dict[str, Any]:
    """Concrete overrides of the best preset for one ablation row."""
    out = {k: v for k, v in change.items() if k != "augment"}
    if "augment" in change:
        drop = change["augment"]["drop"]
        out["augment"] = {k: v for k, v in BEST_AUGMENT.items() if k != drop}
    return out


def trained_cell(name: str, dataset: str, fold: int, **extra: Any) -> Cell:
    table, preset_name, overrides = TRAINED[name]
    if extra:
        table, overrides = TABLE, {**overrides, **extra}
    if name in TEACHERS:
        teachers = [trained_cell(t, dataset, fold, **extra).run_dir for t in TEACHERS[name]]
        overrides = {**overrides, "teachers": [str(t.relative_to(REPO)) for t in teachers]}
    row = name + "".join(
        f"@{extra['max_clips_per_class']}" if key == "max_clips_per_class" else f" seed {value}"
        for key, value in extra.items()
    )
    return Cell(table, row, dataset, preset_name, fold, overrides=overrides)


def _cached_json(path: Path, compute: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """``compute()`` once, cached at ``path`` (None: not computable yet, nothing cached)."""
    if path.is_file():
        return json.loads(path.read_text())
    row = compute()
    if row is not None:
        write_text(path, json.dumps(row, indent=1))
    return row


def combined_row(name: str, dataset: str, fold: int) -> dict[str, Any] | None:
    """Top-1/top-5 of an inference-only row on one fold, from its members' trained runs."""
    members, tta = COMBINED[name]
    cells = [trained_cell(m, dataset, fold) for m in members]
    path = REPO / "benchmarks" / "results" / TABLE / f"{dataset}-{file_slug(name)}-fold{fold}.json"

    def compute() -> dict[str, Any] | None:
        if not all(
            c.cache.is_file() and (c.run_dir / "model_config.json").is_file() for c in cells
        ):
            return None
        from aslrec.workflows.evaluate import evaluate_run

        filename, _ = DATASETS[dataset]
        result = evaluate_run(
            [c.run_dir for c in cells],
            [SHARED_DATA / filename],
            out=cells[0].run_dir / f"evaluation-{file_slug(name)}",
            tta=tta,
        )
        trained = [json.loads(c.cache.read_text()) for c in cells]
        return {
            "row": name,
            "dataset": dataset,
            "fold": fold,
            "top1": result.report.top1,
            "top5": result.report.top5,
            "num_parameters": sum(r["num_parameters"] for r in trained),
            "wall_time_s": sum(r["wall_time_s"] for r in trained),
        }

    return _cached_json(path, compute)


RUNTIMES = ("torch", "onnx")


def latency_ms(name: str) -> dict[str, float] | None:
    """Median CPU latency per clip of a row in PyTorch and in ONNX Runtime (fp32), 1 thread,
    batch 1, 200 real WLASL-50 clips, preprocessing included, through the ``Recognizer`` (so
    TTA and ensembles count in full). Measured on the fold-0 WLASL-50 runs and cached."""
    members, tta = COMBINED.get(name, ((name,), False))
    cells = [trained_cell(m, "wlasl50", 0) for m in members]
    path = REPO / "benchmarks" / "results" / TABLE / f"latency-{file_slug(name)}.json"

    def compute() -> dict[str, Any] | None:
        if not all((c.run_dir / "model_config.json").is_file() for c in cells):
            return None
        import tempfile

        import torch

        from aslrec.data.loaders import load_dataset
        from aslrec.export.onnx_export import export_run
        from aslrec.inference.backends import load_backend
        from aslrec.inference.onnx_backend import OnnxBackend
        from aslrec.inference.recognizer import Recognizer

        torch.set_num_threads(1)
        clips = load_dataset(SHARED_DATA / "wlasl50_mp.npz")[:200]
        out: dict[str, Any] = {"row": name, "threads": 1}
        with tempfile.TemporaryDirectory() as tmp:
            exported = [
                export_run(c.run_dir, Path(tmp) / f"{i}.onnx").path for i, c in enumerate(cells)
            ]
            backends = {
                "torch": [load_backend(c.run_dir) for c in cells],
                "onnx": [OnnxBackend.load(p, threads=1) for p in exported],
            }
            for runtime in RUNTIMES:
                recognizer = Recognizer(backends[runtime], tta=tta)
                times = []
                for clip in clips:
                    start = time.perf_counter()
                    recognizer.logits([clip])
                    times.append((time.perf_counter() - start) * 1000)
                out[runtime] = statistics.median(times)
        return out

    return _cached_json(path, compute)


REAL_VIDEOS = ("apple", "school", "table")  # ../shared/data/videos in the WLASL-50 vocabulary
# "stream": each video as the streaming benchmark plays it (30 fps, letterboxed into 640x480,
# mp4v re-encoded), where the tracker loses the second hand of school for ~40 frames.
REAL_VIDEO_VARIANTS = ("original", "stream")


def real_video_clips(variant: str = "original") -> list[Any]:
    """aslrec's own extraction (#4: HandLandmarker, not Holistic) of the real videos of other
    people whose word WLASL-50 knows; cached in the (ignored) runs folder."""
    import tempfile

    from segmentation import build_stream

    from aslrec.data.loaders import load_store
    from aslrec.data.store import ClipStore
    from aslrec.landmarks.extract import extract_video

    suffix = "" if variant == "original" else f"_{variant}"
    folder = REPO / "benchmarks" / "runs" / f"real_videos{suffix}"
    store = ClipStore(folder, create=True)
    for word in REAL_VIDEOS:
        if store.has(word):
            continue
        video = SHARED_DATA / "videos" / f"{word}.mp4"
        with tempfile.TemporaryDirectory() as tmp:
            if variant == "stream":
                video = build_stream(
                    [(word, 0.0, "blank")], Path(tmp) / f"{word}.mp4", videos=video.parent, lead_s=0
                ).path
            store.add(extract_video(video, label=word), word)
    return load_store(folder)


def real_video_hits(name: str, fold: int, variant: str = "original") -> dict[str, Any] | None:
    """Which of :data:`REAL_VIDEOS` a row's fold model recognises (top-1), cached."""
    members, tta = COMBINED.get(name, ((name,), False))
    cells = [trained_cell(m, "wlasl50", fold) for m in members]
    prefix = "real" if variant == "original" else f"real-{variant}"
    path = REPO / "benchmarks" / "results" / TABLE / f"{prefix}-{file_slug(name)}-fold{fold}.json"

    def compute() -> dict[str, Any] | None:
        if not all((c.run_dir / "model_config.json").is_file() for c in cells):
            return None
        from aslrec.inference.backends import load_backend
        from aslrec.inference.recognizer import Recognizer

        recognizer = Recognizer([load_backend(c.run_dir) for c in cells], tta=tta)
        predictions = recognizer.predict_clips(real_video_clips(variant), top_k=5)
        return {
            "row": name,
            "fold": fold,
            "predicted": {p.truth: [label for label, _ in p.top_k] for p in predictions},
        }

    return _cached_json(path, compute)


def real_video_column(name: str, folds: Sequence[int]) -> str:
    """``top-1/top-5 of n`` per variant of the real videos, e.g. ``11/15 of 15; 9/14 of 15``."""
    cells = []
    for variant in REAL_VIDEO_VARIANTS:
        found = [r for r in (real_video_hits(name, f, variant) for f in folds) if r is not None]
        if not found:
            return "-"
        top1 = sum(r["predicted"][w][0] == w for r in found for w in REAL_VIDEOS)
        top5 = sum(w in r["predicted"][w] for r in found for w in REAL_VIDEOS)
        cells.append(f"{top1}/{top5} of {len(found) * len(REAL_VIDEOS)}")
    return "; ".join(cells)


def rows_of(name: str, dataset: str, folds: Sequence[int]) -> list[dict[str, Any]]:
    if name in COMBINED:
        found = [combined_row(name, dataset, f) for f in folds]
    else:
        cells = [trained_cell(name, dataset, f) for f in folds]
        found = [json.loads(c.cache.read_text()) if c.cache.is_file() else None for c in cells]
    return [r for r in found if r is not None]


def main_table(folds: Sequence[int]) -> tuple[str, dict[str, dict[str, list[float]]]]:
    lines = [
        "| data (split) | recipe | folds | top-1 | top-5 | error | params | ms/clip torch "
        "| ms/clip ONNX | train s/fold | real videos top-1/top-5 (original; stream) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    top1: dict[str, dict[str, list[float]]] = {}
    for dataset, (_, split) in DATASETS.items():
        for name in ROWS:
            part = rows_of(name, dataset, folds)
            if not part:
                continue
            values = [r["top1"] for r in part]
            top1.setdefault(dataset, {})[name] = values
            latency = latency_ms(name)
            lines.append(
                f"| {dataset} ({split}) | {name} | {len(part)}/5 | {mean_std(values)} | "
                f"{mean_std([r['top5'] for r in part])} | {1 - statistics.mean(values):.2%} | "
                f"{part[0]['num_parameters']:,} | "
                + " | ".join(f"{latency[r]:.1f}" if latency else "-" for r in RUNTIMES)
                + " | "
                f"{statistics.mean(r['wall_time_s'] for r in part):.0f} | "
                f"{real_video_column(name, folds) if dataset == 'wlasl50' else ''} |"
            )
    return "\n".join(lines), top1


def goals(top1: dict[str, dict[str, list[float]]], folds: Sequence[int]) -> str:
    """The issue's goals, each with the measured figure (folds where both rows exist)."""
    lines = []
    wlasl = top1.get("wlasl50", {})
    fixed_seed = "seed, fixed schedule"
    for name in ROWS[1:]:
        # Fixed-schedule rows are also compared with the seed model trained the same way.
        baselines = ["seed"] + ([fixed_seed] if "fixed" in name and name != fixed_seed else [])
        for baseline in baselines:
            pairs = [
                (s["top1"], w["top1"])
                for f in folds
                for s in rows_of(baseline, "wlasl50", [f])
                for w in rows_of(name, "wlasl50", [f])
            ]
            if not pairs or name not in wlasl:
                continue
            seed_err = 1 - statistics.mean(p[0] for p in pairs)
            err = 1 - statistics.mean(p[1] for p in pairs)
            top5 = statistics.mean(r["top5"] for r in rows_of(name, "wlasl50", folds))
            lines.append(
                f"- WLASL-50, {name}: error {err:.2%} vs {baseline} {seed_err:.2%} on the same "
                f"{len(pairs)} fold(s) = {err / seed_err:.2f} of the seed's (goal <= 0.60); "
                f"top-5 {top5:.2%} (goal >= 99%)"
            )
    gislr = top1.get("gislr", {})
    for name, values in gislr.items():
        if name != "seed":
            lines.append(
                f"- GISLR participant-held-out, {name}: {statistics.mean(values):.2%} "
                f"over {len(values)} fold(s) (goal >= 98%){repeated_cv(name, 'gislr')}"
            )
    few = {
        name: {
            f: json.loads(c.cache.read_text())["top1"]
            for f in folds
            if (c := trained_cell(name, "wlasl50", f, max_clips_per_class=10)).cache.is_file()
        }
        for name in TRAINED
    }
    for name in list(TRAINED)[1:]:
        # Rows whose schedule counts steps are also compared with the seed on that schedule.
        step_matched = min_steps(name) and name != STEP_MATCHED_SEED
        for baseline in ["seed"] + ([STEP_MATCHED_SEED] if step_matched else []):
            paired = sorted(set(few[baseline]) & set(few[name]))
            if paired:
                gain = statistics.mean(few[name][f] - few[baseline][f] for f in paired)
                lines.append(
                    f"- 10 training clips per class (WLASL-50), {name} vs {baseline}: "
                    f"{gain * 100:+.1f} points over fold(s) {', '.join(map(str, paired))} "
                    "(goal >= +10)"
                )
    seed_lat, seed_rows = latency_ms("seed"), rows_of("seed", "wlasl50", [0])
    for name in list(TRAINED)[1:]:
        latency, rows = latency_ms(name), rows_of(name, "wlasl50", [0])
        if seed_lat and latency and seed_rows and rows:
            params = rows[0]["num_parameters"] / seed_rows[0]["num_parameters"]
            speed = ", ".join(f"{latency[r] / seed_lat[r]:.2f}x in {r}" for r in RUNTIMES)
            lines.append(
                f"- Size and speed, {name} vs seed: {params:.2f}x the parameters (goal <= 0.33); "
                f"latency per clip {speed} (goal <= 0.5)"
            )
    return "\n".join(lines)


def seed_extra(seed: int) -> dict[str, int]:
    """``trained_cell`` extras for a repetition of the CV with another seed (none: main cells).

    The seed draws the participant-to-fold assignment as well as the weights, so each repetition
    holds out every clip once again, in other company (repeated k-fold CV)."""
    return {} if seed == MAIN_SEED else {"seed": seed}


def repeated_cv(name: str, dataset: str) -> str:
    """``; over seeds ...`` for a row whose 5-fold CV has been repeated with other seeds, from
    every complete repetition: the mean of the per-seed means +- their std, clips missed."""
    if name not in TRAINED:
        return ""
    per_seed = {}
    for seed in REPEAT_SEEDS:
        cells = [trained_cell(name, dataset, f, **seed_extra(seed)) for f in range(FOLDS)]
        if all(c.cache.is_file() for c in cells):
            per_seed[seed] = [json.loads(c.cache.read_text()) for c in cells]
    if len(per_seed) < 2:
        return ""
    means = [statistics.mean(r["top1"] for r in rows) for rows in per_seed.values()]
    missed = [
        round(sum((1 - r["top1"]) * r["num_val"] for r in rows)) for rows in per_seed.values()
    ]
    return (
        f"; 5-fold CV repeated with seeds {', '.join(map(str, per_seed))}: "
        f"{mean_std(means)} (clips missed {', '.join(map(str, missed))})"
    )


ALL_CLIPS = "all"


def min_steps(name: str) -> int:
    """The ``min_steps`` a trained row's recipe resolves to (0: its schedule counts epochs)."""
    from aslrec.runs.config import preset

    _, preset_name, overrides = TRAINED[name]
    return preset(preset_name).updated(**overrides).min_steps


def full_size(name: str) -> int:
    """Training clips per class with no limit: 24 (4/5 of 30) for fixed-schedule rows, 21 for
    rows that give 1/8 of them to the inner selection split."""
    return 24 if TRAINED[name][2].get("selection") == "fixed" else 21


def learning_curve(folds: Sequence[int]) -> str:
    """Top-1 at 5, 10, 15 training clips per class and with all of them (:func:`full_size`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes: list[int | str] = [*CURVE_SIZES, ALL_CLIPS]
    reduced = {
        (n, f)
        for n in TRAINED
        for f in folds
        for size in CURVE_SIZES
        if trained_cell(n, "wlasl50", f, max_clips_per_class=size).cache.is_file()
    }
    # Rows and folds with at least one reduced-size cell, so every point averages the same folds.
    names = [n for n in TRAINED if any(n == name for name, _ in reduced)]
    folds = sorted({f for _, f in reduced})
    lines = [
        "| clips/class | " + " | ".join(names) + " | folds |",
        "|---" * (len(names) + 2) + "|",
    ]
    fig, ax = plt.subplots(figsize=(6, 4))
    table: dict[str, dict[int | str, list[float]]] = {}
    for name in names:
        for size in sizes:
            limit = {} if size == ALL_CLIPS else {"max_clips_per_class": size}
            cells = [trained_cell(name, "wlasl50", f, **limit) for f in folds]
            values = [json.loads(c.cache.read_text())["top1"] for c in cells if c.cache.is_file()]
            if values:
                table.setdefault(name, {})[size] = values
        points = sorted(
            (full_size(name) if size == ALL_CLIPS else int(size), statistics.mean(v))
            for size, v in table.get(name, {}).items()
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
    for size in sizes:
        cells = [mean_std(table.get(name, {}).get(size, [])) for name in names]
        counts = sorted({len(table.get(name, {}).get(size, [])) for name in names})
        label = "all (21, or 24 with a fixed schedule)" if size == ALL_CLIPS else str(size)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {'/'.join(map(str, counts))} |")
    ax.set_xlabel("training clips per class (WLASL-50)")
    ax.set_ylabel("held-out top-1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(REPO / "benchmarks" / "learning_curve.png", dpi=120)
    return "\n".join(lines)


ERROR_MEMBERS = ("seed", "best", "best + seed ensemble")


def fold_errors(fold: int) -> dict[str, Any] | None:
    """Which held-out WLASL-50 clips of one fold the seed, best and their ensemble get wrong,
    and what they are taken for (from ``aslrec evaluate``'s predictions.csv), cached."""
    cells = [trained_cell(m, "wlasl50", fold) for m in ("seed", "best")]
    path = REPO / "benchmarks" / "results" / TABLE / f"errors-wlasl50-fold{fold}.json"

    def compute() -> dict[str, Any] | None:
        if not all((c.run_dir / "model_config.json").is_file() for c in cells):
            return None
        seed_dir, best_dir = (c.run_dir for c in cells)
        models = dict(
            zip(ERROR_MEMBERS, ([seed_dir], [best_dir], [best_dir, seed_dir]), strict=True)
        )
        wrong = {
            name: wrong_clips(
                dirs, "wlasl50", cells[0].run_dir / f"evaluation-errors-{file_slug(name)}"
            )
            for name, dirs in models.items()
        }
        return {
            "fold": fold,
            "clips": wrong[ERROR_MEMBERS[0]][0],
            "wrong": {n: w for n, (_, w) in wrong.items()},
        }

    return _cached_json(path, compute)


def wrong_clips(dirs: Sequence[Path], dataset: str, out: Path) -> tuple[int, dict[str, str]]:
    """``aslrec evaluate`` of a run (or several as an ensemble) on its own held-out clips:
    how many there are, and the missed ones as ``source -> "truth -> predicted"``."""
    import csv

    from aslrec.evaluation.report import PREDICTIONS_CSV
    from aslrec.workflows.evaluate import evaluate_run

    evaluate_run(list(dirs), [SHARED_DATA / DATASETS[dataset][0]], out=out)
    with (out / PREDICTIONS_CSV).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return len(rows), {
        r["source"]: f"{r['truth']} -> {r['predicted']}"
        for r in rows
        if r["predicted"] != r["truth"]
    }


# A GISLR clip this short, or with a hand in this few of its frames, carries next to no sign.
NEAR_EMPTY_FRAMES, NEAR_EMPTY_HAND_RATE = 6, 0.3


def gislr_errors(folds: Sequence[int]) -> str:
    """Where the GISLR errors are: which held-out clips every trained row misses, and whether
    those clips hold a sign at all (the accuracy ceiling of this data)."""
    import numpy as np

    from aslrec.data.loaders import load_dataset

    names = [n for n in TRAINED if all(trained_cell(n, "gislr", f).cache.is_file() for f in folds)]
    path = REPO / "benchmarks" / "results" / TABLE / "errors-gislr.json"
    if path.is_file() and set(json.loads(path.read_text())["wrong"]) != set(names):
        path.unlink()  # a row was added since: recompute

    def compute() -> dict[str, Any] | None:
        if not names:
            return None
        wrong: dict[str, dict[str, str]] = {n: {} for n in names}
        clips = 0
        for f in folds:
            for n in names:
                run = trained_cell(n, "gislr", f).run_dir
                count, missed = wrong_clips([run], "gislr", run / "evaluation-errors")
                wrong[n].update(missed)
            clips += count
        return {"folds": list(folds), "clips": clips, "wrong": wrong}

    found = _cached_json(path, compute)
    if found is None:
        return ""
    by_source = {c.source: c for c in load_dataset(SHARED_DATA / DATASETS["gislr"][0])}
    missed_by_all = set.intersection(*(set(w) for w in found["wrong"].values()))
    near_empty = [
        s
        for s in missed_by_all
        if s in by_source
        and (
            len(by_source[s].landmarks) <= NEAR_EMPTY_FRAMES
            or by_source[s].presence.any(axis=1).mean() < NEAR_EMPTY_HAND_RATE
        )
    ]
    clips = found["clips"]
    allowed = int(np.floor(0.02 * clips))
    counts = ", ".join(f"{n} {len(w)}" for n, w in found["wrong"].items())
    how_many = "all" if len(near_empty) == len(missed_by_all) else str(len(near_empty))
    return (
        f"Where the GISLR errors are ({clips} held-out clips over {len(found['folds'])} folds): "
        f"clips missed per row: {counts}; the 98% goal allows {allowed}. "
        f"{len(missed_by_all)} clips are missed by every row, {how_many} of them "
        f"near-empty (at most {NEAR_EMPTY_FRAMES} frames, or a hand in under "
        f"{NEAR_EMPTY_HAND_RATE:.0%} of them): these alone cap any model's top-1 near "
        f"{1 - len(near_empty) / clips:.1%}. The rows differ by a few clips each, within the "
        f"binomial standard error of {np.sqrt(0.02 * 0.98 / clips) * clips:.1f} clips at 98%."
    )


def error_analysis(folds: Sequence[int]) -> str:
    """Where the WLASL-50 errors are: clips both models miss bound what averaging them can fix,
    and the confusions that remain show what the landmarks cannot separate."""
    from collections import Counter

    found = [e for e in (fold_errors(f) for f in folds) if e is not None]
    if not found:
        return ""
    seed, best, ensemble = ERROR_MEMBERS
    lines = [
        "| fold | clips | seed wrong | best wrong | both wrong (same clip) | ensemble wrong "
        "| ensemble wrong, one model right |",
        "|---|---|---|---|---|---|---|",
    ]
    totals = Counter()
    pairs: Counter[str] = Counter()
    for e in found:
        w = {k: set(v) for k, v in e["wrong"].items()}
        both = w[seed] & w[best]
        counts = {
            "clips": e["clips"],
            "seed": len(w[seed]),
            "best": len(w[best]),
            "both": len(both),
            "ensemble": len(w[ensemble]),
            "fixable": len(w[ensemble] - both),
        }
        totals.update(counts)
        pairs.update(e["wrong"][ensemble].values())
        lines.append(
            f"| {e['fold']} | "
            + " | ".join(str(counts[k]) for k in ("clips", "seed", "best", "both", "ensemble"))
            + f" | {counts['fixable']} |"
        )
    lines.append(
        f"| all | {totals['clips']} | {totals['seed']} | {totals['best']} | {totals['both']} | "
        f"{totals['ensemble']} | {totals['fixable']} |"
    )
    top = pairs.most_common(8)
    in_top = sum(n for _, n in top)
    lines += [
        "",
        f"Clips both models miss: {totals['both'] / totals['clips']:.2%} of all (averaging "
        f"the two rarely rescues these); the ensemble also misses {totals['fixable']} clips one "
        f"member got right. Ensemble error {totals['ensemble'] / totals['clips']:.2%}; the goal "
        f"(0.60 x the seed's) is {0.6 * totals['seed'] / totals['clips']:.2%}, "
        f"{totals['ensemble'] - int(0.6 * totals['seed'])} clips of {totals['clips']} away. "
        f"The errors are spread over many pairs, not a few confusable signs: the ensemble's "
        f"most frequent confusions (truth -> predicted, {len(found)} folds) cover {in_top} of "
        f"its {totals['ensemble']} errors: " + ", ".join(f"{pair} ({n})" for pair, n in top) + ".",
    ]
    return "\n".join(lines)


def ablation_cell(name: str, fold: int) -> Cell:
    return Cell(
        TABLE,
        f"ablation:{name}",
        "wlasl50",
        "best",
        fold,
        overrides=ablation_overrides(ABLATIONS[name]),
    )


def ablation_table(folds: Sequence[int]) -> str:
    lines = ["| variant | folds | top-1 | vs best on the same folds |", "|---|---|---|---|"]
    for name in ABLATIONS:
        done = [f for f in folds if ablation_cell(name, f).cache.is_file()]
        if not done:
            continue
        values = [json.loads(ablation_cell(name, f).cache.read_text())["top1"] for f in done]
        best = [r["top1"] for r in rows_of("best", "wlasl50", done)]
        delta = (
            f"{statistics.mean(values) - statistics.mean(best):+.2%}"
            if len(best) == len(done)
            else "-"
        )
        lines.append(f"| {name} | {len(done)} | {mean_std(values)} | {delta} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", nargs="+", default=["main"], choices=["main", "ablation", "curve"]
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--rows", nargs="+", default=list(TRAINED), choices=list(TRAINED))
    parser.add_argument("--folds-run", type=int, nargs="+", default=list(range(FOLDS)))
    parser.add_argument("--ablations", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    parser.add_argument("--curve-sizes", type=int, nargs="+", default=list(CURVE_SIZES))
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[MAIN_SEED], help="repeat the main CV cells"
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()

    cells: list[Cell] = []
    if "main" in args.parts:
        cells += [
            trained_cell(name, d, f, **seed_extra(seed))
            for seed in args.seeds
            for d in sorted(args.datasets, key=["letters", "gislr", "wlasl50"].index)
            for f in args.folds_run
            for name in args.rows
        ]
    if "ablation" in args.parts:
        cells += [ablation_cell(name, f) for f in args.folds_run for name in args.ablations]
    if "curve" in args.parts:
        cells += [
            trained_cell(name, "wlasl50", f, max_clips_per_class=size)
            for size in args.curve_sizes
            for f in args.folds_run
            for name in args.rows
        ]
    if not args.table_only:
        run_cells([c for c in cells if "teachers" not in c.overrides], args.jobs)
        run_cells([c for c in cells if "teachers" in c.overrides], args.jobs)

    folds = range(FOLDS)
    table, top1 = main_table(folds)
    body = [
        header(command_line()),
        "Every trained row is scored once on the held-out fold, seed 42, and never looks at it "
        "before: rows without 'fixed schedule' choose their epoch on an inner 1/8 split of the "
        "training folds (seed included); 'fixed schedule' rows choose nothing: they train on "
        "all training folds for the recipe's epochs (seed 100, best-fast 120, and for "
        "`best-fast, fixed schedule` at least 4,000 optimizer steps: more epochs only on "
        "training sets smaller than a WLASL-50 fold, i.e. GISLR and the learning curve) and "
        "keep the last, which the one-cycle schedule has annealed. The seed row is the same "
        "cells as the seed-recipe table. The `best + ...` rows reuse the trained runs of the "
        "same fold (members and TTA views fixed in advance; inference only); `best + seed "
        "ensemble + TTA` was added after the other rows had been measured, so it is one more "
        "look at the same folds, not a pre-registered choice. ms/clip: the `Recognizer` "
        "(preprocessing included), 1 thread, batch 1, median "
        "of 200 WLASL-50 clips, fold-0 runs, measured in one process per row. Real videos: "
        f"{', '.join(REAL_VIDEOS)} from `../shared/data/videos` (other people, other "
        "recordings), landmarks by aslrec's own extractor (HandLandmarker; the training data "
        "came from Holistic), predicted by each fold's model: right at top-1 / in the top-5, "
        "of (folds x videos); 'stream': the same videos as the streaming benchmark plays them "
        "(30 fps, letterboxed into 640x480, mp4v re-encoded), where the tracker loses the "
        "second hand of school for ~40 frames. `best-fast distilled` learns from the seed and "
        "best runs of its own fold (their averaged predictions on the training clips at "
        "temperature 2, half the loss). The fixed-schedule rows were added after the "
        "distilled row had been measured, because the held-out accuracy logged per epoch "
        "(never used for any choice) showed the inner split picking early, worse epochs: post "
        "hoc, like the TTA ensemble row; the seed and best-fast fixed-schedule rows without "
        "teachers are their controls. `best-fast + hand dropout` adds one augmentation to the "
        "preset (one hand removed over up to 60% of the frames of 20% of the training clips), "
        "tried once, after the streaming benchmark showed the tracker losing a hand. "
        f"`{MOVING_DOMINANCE}` is the best-fast preset since the rule for which hand leads "
        "changed: a hand that stays still while the other signs is never taken for the "
        'dominant one (`dominance="moving"`; the earlier rows mirror a clip whenever the '
        "left hand is seen in 1.2x more frames). It was designed after reading the GISLR "
        "errors of the earlier rows (participant 29302 keeps a still left hand in view; 3 of "
        "that participant's clips were missed by every row), so its GISLR gain is measured on "
        "the folds that prompted it; the 5-fold CVs with seeds 43 and 44 draw other "
        "participant folds. It changes the input of 5 GISLR clips and 1 WLASL-50 clip. The "
        "stream version of school, lost the same way (its still base hand seen more often than "
        "the moving one), was checked only afterwards.",
        "",
        table,
        "",
        "Goals (issue #10):",
        "",
        goals(top1, folds),
    ]
    if any(ablation_cell(n, f).cache.is_file() for n in ABLATIONS for f in folds):
        body += [
            "",
            "Ablation (WLASL-50): the best recipe with one part removed. On one fold (300 "
            "held-out clips) the binomial standard error of a top-1 near 89% is 1.8 points, so "
            "only differences beyond about 3.6 points stand out from noise.",
            "",
            ablation_table(folds),
        ]
    errors = error_analysis(folds)
    if errors:
        body += ["", "Where the errors are (WLASL-50, held-out clips of each fold):", "", errors]
    gislr = gislr_errors(folds)
    if gislr:
        body += ["", gislr]
    if any(
        trained_cell(n, "wlasl50", f, max_clips_per_class=size).cache.is_file()
        for n in TRAINED
        for f in folds
        for size in CURVE_SIZES
    ):
        body += [
            "",
            "Learning curve (WLASL-50; held-out clips fixed at every size):",
            "",
            learning_curve(folds),
            "",
            "![learning curve](learning_curve.png)",
        ]
    text = "\n".join(body)
    write_section("Model comparison (issue #10)", text)
    print(text)


if __name__ == "__main__":
    main()
