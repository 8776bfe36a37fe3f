"""Build the bundled default model and the demo clips from the shared real data.

Steps (each re-runnable; ``--run-dir`` keeps the trained run so packaging can be redone):

1. Train ``--preset`` on the union of WLASL-50, GISLR hello/thankyou and the letters, labels in
   the card's spellings, with fold 0 of a 5-fold stratified, group-safe split held out and the
   epoch chosen on an inner split of the training folds: the shipped model's held-out numbers are
   honest because it never saw those clips.
2. Copy weights (safetensors), config and classes to ``src/aslrec/assets/default_model``.
3. Save one held-out letters clip per letter (MIT-licensed data, credited) as the demo set in
   ``src/aslrec/assets/demo_letters`` (aslrec's own format), so `aslrec demo` shows
   recognition of clips the bundled model has never seen.

Usage::

    python tools/build_default_model.py --run-dir runs/default
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
ASSETS = REPO / "src" / "aslrec" / "assets"
DATA = ("wlasl50_mp.npz", "gislr_hello_thankyou.npz", "letters_static.npz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs" / "default")
    parser.add_argument("--preset", default="seed")
    parser.add_argument("--set", action="append", default=[], help="training override key=value")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from aslrec.data.loaders import load_datasets
    from aslrec.data.store import ClipStore
    from aslrec.training.config import parse_override, resolve_config
    from aslrec.training.run import canonical_clips, split_indices, train

    overrides = dict(parse_override(item) for item in args.set)
    config = resolve_config(
        args.preset, overrides={"selection": "inner", "threads": args.threads, **overrides}
    )
    data = [SHARED / name for name in DATA]
    if not (args.run_dir / "model_config.json").exists():
        resume = (args.run_dir / "checkpoints" / "last.ckpt").exists()
        print(train(data, args.run_dir, config, resume=resume).summary_line())

    target = ASSETS / "default_model"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in (
        "model.safetensors",
        "model_config.json",
        "label_encoder_classes.npy",
        "training_history.png",
    ):
        shutil.copy2(args.run_dir / name, target / name)

    clips = canonical_clips(load_datasets(data))
    _, heldout, _ = split_indices(clips, config)
    demo_dir = ASSETS / "demo_letters"
    shutil.rmtree(demo_dir, ignore_errors=True)
    store = ClipStore(demo_dir, create=True)
    seen: set[str] = set()
    for i in heldout:
        clip = clips[i]
        if clip.source.startswith(str(SHARED / "letters_static.npz")) and clip.label not in seen:
            seen.add(clip.label or "")
            store.add(
                clip.__class__(
                    landmarks=clip.landmarks,
                    presence=clip.presence,
                    label=clip.label,
                    group=clip.group,
                    source=f"letters_static.npz ({clip.source.split('#', 1)[1]})",
                ),
                f"letter_{clip.label}",
            )
    print(f"packaged {target} and {len(store)} demo clips in {demo_dir}")
    print(json.dumps(json.loads((target / "model_config.json").read_text())["metrics"], indent=1))


if __name__ == "__main__":
    main()
