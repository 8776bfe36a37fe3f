"""How to normalise landmarks to [-1, 1]: per frame (the card's) vs per clip, side by side.

The seed model with the seed recipe on WLASL-50, the same folds for both, one CPU thread each,
run in parallel. ``--epochs`` shortens the OneCycle schedule (it anneals fully either way);
``--selection val-fold`` picks the epoch on the scored fold (the card's way, optimistic,
comparable with the ~92% sanity figure), ``inner`` on an inner split.

    python -m benchmarks.normalisation --epochs 40 --folds-run 0
"""

from __future__ import annotations

import argparse
import json
import shutil
from concurrent.futures import ProcessPoolExecutor

from benchmarks._common import REPO, SHARED_DATA, command_line, header, mean_std, write_section

RUNS = REPO / "benchmarks" / "runs" / "normalisation"


def run(mode: str, fold: int, epochs: int, selection: str) -> dict:
    from aslrec.runs.config import preset
    from aslrec.workflows.train import train

    out = RUNS / f"{mode}-fold{fold}"
    shutil.rmtree(out, ignore_errors=True)
    config = preset("seed").updated(
        normalisation=mode, fold=fold, epochs=epochs, selection=selection, threads=1
    )
    result = train([SHARED_DATA / "wlasl50_mp.npz"], out, config, progress=False)
    return {
        "mode": mode,
        "fold": fold,
        "top1": result.val_top1,
        "top5": result.val_top5,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "wall_time_s": result.wall_time_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--folds-run", type=int, nargs="+", default=[0])
    parser.add_argument("--selection", default="val-fold", choices=["val-fold", "inner"])
    args = parser.parse_args()
    cells = [(m, f) for f in args.folds_run for m in ("frame", "clip")]
    with ProcessPoolExecutor(2) as pool:
        rows = list(
            pool.map(
                run,
                *zip(*cells, strict=True),
                [args.epochs] * len(cells),
                [args.selection] * len(cells),
            )
        )
    print(json.dumps(rows, indent=1))
    lines = [
        "| normalisation | folds | top-1 | top-5 | best epoch | s/run |",
        "|---|---|---|---|---|---|",
    ]
    for mode in ("frame", "clip"):
        part = [r for r in rows if r["mode"] == mode]
        lines.append(
            f"| {mode} | {len(part)} | {mean_std([r['top1'] for r in part])} | "
            f"{mean_std([r['top5'] for r in part])} | "
            f"{sum(r['best_epoch'] for r in part) / len(part):.0f} | "
            f"{sum(r['wall_time_s'] for r in part) / len(part):.0f} |"
        )
    selected_on = (
        "the scored fold (optimistic)" if args.selection == "val-fold" else "an inner split"
    )
    body = (
        header(command_line())
        + f"\nSeed model, seed recipe with {args.epochs} epochs (OneCycle over {args.epochs}), "
        f"WLASL-50 5-fold stratified group split, folds {args.folds_run}, seed 42, epoch "
        f"selected on {selected_on}.\n\n" + "\n".join(lines)
    )
    write_section("Normalisation: frame vs clip (issue #3)", body)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
