"""Issue #10's table: the winner against the seed model, same folds, same run.

Rows, each cross-validated on the same folds as `seed_recipe.py` (5-fold leakage-safe
stratified on WLASL-50, participant-held-out on GISLR, block-held-out on the letters), every
model choosing its epoch on an inner split of the training folds (never on the scored fold):

- ``seed``: the seed model with the seed recipe (``--preset seed``);
- ``best``: ``--preset best`` (see ``aslrec.training.config.PRESETS``).

Plus, on WLASL-50: an ablation table (the best recipe with one augmentation / feature removed at
a time) and a learning curve (5, 10, 15 and 24 training clips per class, the held-out clips
unchanged) plotted to ``benchmarks/learning_curve.png``. Latency: one CPU thread, batch 1,
median of 200 real clips. Finished cells are cached; the run resumes.

    python benchmarks/compare_models.py --jobs 2 --parts main ablation curve
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _cells import DATASETS, Cell, cached, run_cells
from _common import REPO, SHARED_DATA, command_line, header, mean_std, write_section

TABLE = "compare_models"
ROWS = {"seed": {}, "best": {}}
ABLATIONS: dict[str, dict[str, Any]] = {
    "best": {},
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
CURVE_SIZES = (5, 10, 15, 24)


def ablation_overrides(change: dict[str, Any]) -> dict[str, Any]:
    """Concrete overrides of the best preset for one ablation row."""
    from aslrec.training.config import preset

    best = preset("best")
    out = {k: v for k, v in change.items() if k != "augment"}
    if "augment" in change:
        out["augment"] = {k: v for k, v in best.augment.items() if k != change["augment"]["drop"]}
    return out


def latency_ms(run_dir: str) -> float:
    """Median CPU latency per clip of a trained run: 1 thread, batch 1, 200 real clips."""
    import torch

    from aslrec.data.loaders import load_dataset
    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.training.artifacts import load_run

    torch.set_num_threads(1)
    run = load_run(run_dir)
    clips = load_dataset(SHARED_DATA / "wlasl50_mp.npz")[:200]
    x, mask = arrays_for_model(clips, run.config["preprocessing"])
    times = []
    with torch.inference_mode():
        for i in range(len(clips)):
            xb, mb = torch.from_numpy(x[i : i + 1]), torch.from_numpy(mask[i : i + 1])
            start = time.perf_counter()
            run.model(xb, mb)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| data (split) | recipe | folds | top-1 | top-5 | error | params | ms/clip "
        "| train s/fold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, (_, split) in DATASETS.items():
        for name in ROWS:
            part = [r for r in rows if r["dataset"] == dataset and r["row"] == name]
            if not part:
                continue
            top1 = [r["top1"] for r in part]
            lines.append(
                f"| {dataset} ({split}) | {name} | {len(part)}/5 | {mean_std(top1)} | "
                f"{mean_std([r['top5'] for r in part])} | {1 - statistics.mean(top1):.2%} | "
                f"{part[0]['num_parameters']:,} | {latency_ms(part[0]['run_dir']):.1f} | "
                f"{statistics.mean(r['wall_time_s'] for r in part):.0f} |"
            )
    return "\n".join(lines)


def learning_curve(rows: list[dict[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["| clips/class | " + " | ".join(ROWS) + " |", "|---" * (len(ROWS) + 1) + "|"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ROWS:
        points = []
        for size in CURVE_SIZES:
            part = [r for r in rows if r["row"] == f"{name}@{size}"]
            if part:
                points.append((size, statistics.mean(r["top1"] for r in part)))
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
    for size in CURVE_SIZES:
        cells = []
        for name in ROWS:
            part = [r["top1"] for r in rows if r["row"] == f"{name}@{size}"]
            cells.append(mean_std(part) if part else "-")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    ax.set_xlabel("training clips per class (WLASL-50)")
    ax.set_ylabel("held-out top-1")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPO / "benchmarks" / "learning_curve.png", dpi=120)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", nargs="+", default=["main"], choices=["main", "ablation", "curve"]
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--folds-run", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()

    cells: list[Cell] = []
    if "main" in args.parts:
        cells += [
            Cell(TABLE, name, d, name, f, overrides=overrides)
            for d in sorted(args.datasets, key=["letters", "gislr", "wlasl50"].index)
            for name, overrides in ROWS.items()
            for f in args.folds_run
        ]
    if "ablation" in args.parts:
        cells += [
            Cell(
                TABLE,
                f"ablation:{name}",
                "wlasl50",
                "best",
                f,
                overrides=ablation_overrides(change),
            )
            for name, change in ABLATIONS.items()
            for f in args.folds_run
        ]
    if "curve" in args.parts:
        cells += [
            Cell(
                TABLE, f"{name}@{size}", "wlasl50", name, f, overrides={"max_clips_per_class": size}
            )
            for size in CURVE_SIZES
            for name in ROWS
            for f in args.folds_run
        ]
    if not args.table_only:
        run_cells(cells, args.jobs)

    rows = cached(TABLE)
    for row in rows:
        row["run_dir"] = str(
            Cell(
                **{
                    k: row[k]
                    for k in ("table", "row", "dataset", "preset", "fold", "folds", "overrides")
                }
            ).run_dir
        )
    body = [
        header(command_line()),
        "Epoch chosen on an inner 1/8 split of the training folds "
        "for every row (seed included); scored once on the held-out fold. Seeds: 42.",
        "",
        main_table(rows),
    ]
    ablation = [r for r in rows if r["row"].startswith("ablation:")]
    if ablation:
        body += [
            "",
            "Ablation (WLASL-50): the best recipe with one part removed.",
            "",
            "| variant | folds | top-1 |",
            "|---|---|---|",
        ]
        for name in ABLATIONS:
            part = [r["top1"] for r in ablation if r["row"] == f"ablation:{name}"]
            if part:
                body.append(f"| {name} | {len(part)} | {mean_std(part)} |")
    if any("@" in r["row"] for r in rows):
        body += [
            "",
            "Learning curve (WLASL-50; held-out clips fixed):",
            "",
            learning_curve(rows),
            "",
            "![learning curve](learning_curve.png)",
        ]
    text = "\n".join(body)
    write_section("Model comparison (issue #10)", text)
    print(text)


if __name__ == "__main__":
    main()
