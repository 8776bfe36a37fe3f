"""Build the bundled default model and the demo clips from the shared real data.

Steps (each re-runnable; ``--run-dir`` keeps the trained run so packaging can be redone):

1. Train ``--preset`` on the union of WLASL-50, GISLR hello/thankyou and the letters, labels in
   the card's spellings, with fold 0 of a 5-fold stratified, group-safe split held out and the
   epoch chosen on an inner split of the training folds: the shipped model's held-out numbers are
   honest because it never saw those clips.
2. Fit temperature scaling and the "unknown" threshold (``aslrec calibrate``), export an int8
   ONNX copy (so ``--backend onnx`` works without torch), and copy weights (safetensors),
   config, classes, calibration and the ONNX file to ``src/aslrec/assets/default_model``.
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

    from aslrec.export.onnx_export import export_run
    from aslrec.inference.calibration import calibrate_run

    if not (args.run_dir / "calibration.json").exists():
        print(calibrate_run(args.run_dir, data).summary_line())
    if not (args.run_dir / "model.int8.onnx").exists():
        export_run(args.run_dir, quantize="int8")

    target = ASSETS / "default_model"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in (
        "model.safetensors",
        "model_config.json",
        "label_encoder_classes.npy",
        "calibration.json",
        "model.int8.onnx",
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
    write_model_card(target, [clips[i] for i in heldout])
    print(json.dumps(json.loads((target / "model_config.json").read_text())["metrics"], indent=1))


def seed_recipe_rows() -> str:
    """The seed rows of the 5-fold seed-recipe table (benchmarks/seed_recipe.py)."""
    text = (REPO / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    section = text.split("## Seed recipe (issue #3)", 1)[-1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    if len(table) < 3:
        return "(not measured yet)"
    return "\n".join(table[:2] + [line for line in table[2:] if "| seed |" in line])


def write_model_card(target: Path, heldout: list) -> None:
    """MODEL_CARD.md: data, split, held-out metrics per source, real videos, limitations."""
    from aslrec.inference.recognizer import Recognizer

    recognizer = Recognizer.load(target)
    config = recognizer.backend.config
    rows = []
    for name in DATA:
        part = [c for c in heldout if c.source.startswith(str(SHARED / name))]
        probs = recognizer.probabilities(part)
        truth = [recognizer.classes.index(c.label) for c in part]
        top1 = sum(int(p.argmax() == t) for p, t in zip(probs, truth, strict=True)) / len(part)
        top5 = sum(int(t in p.argsort()[-5:]) for p, t in zip(probs, truth, strict=True)) / len(
            part
        )
        rows.append(f"| {name} | {len(part)} | {top1:.1%} | {top5:.1%} |")
    video_rows = []
    manifest = (SHARED / "videos" / "MANIFEST.tsv").read_text().splitlines()[1:]
    for line in manifest:
        file, word = line.split("\t")[:2]
        prediction = recognizer.predict(SHARED / "videos" / file, top_k=5)
        known = word in recognizer.classes
        labels = [label for label, _ in prediction.top_k]
        rank = labels.index(word) + 1 if word in labels else None
        video_rows.append(
            f"| {file} | {word}{'' if known else ' (not in vocabulary)'} | "
            f"{prediction.label} ({prediction.probability:.0%}) | "
            f"{rank if rank else '-'} | {prediction.hand_rate:.0%} |"
        )
    metrics = config["metrics"]
    preprocessing = config["preprocessing"]
    card = f"""# aslrec default model

Architecture `{config["architecture"]}` (the seed card's `ImprovedASLModel`),
{config["num_parameters"]:,} parameters, {config["num_classes"]} classes, input
`({config["preprocessing"]["seq_len"]}, 2, 21, 3)` + frame mask
({preprocessing["frame_sampling"]} frame sampling, "{preprocessing["normalisation"]}"
normalisation to [-1, 1]). Probabilities are temperature-scaled (`calibration.json`); below the
stored threshold the streaming recogniser reports "unknown".

## Data
Union of the shared real landmark sets, labels in the seed card's spellings where they coincide
(`thankyou` -> `thank_you`), kept otherwise: WLASL-50 (50 words, many signers, MediaPipe
Holistic), GISLR hello/thank_you (21 participants, Holistic), fingerspelled letters A-Z (one
signer, MediaPipe Hands, windows of 30 consecutive frames). {config["data"]["num_clips"]} clips.

## Split and training
Fold {config["split"]["fold"]} of a {config["split"]["folds"]}-fold stratified split (seed
{config["seed"]}) held out: WLASL near-duplicates grouped, letters held out as contiguous frame
blocks. The model trained on {config["data"]["num_train"]} clips; the epoch
({config["best_epoch"]} of {config["epochs_run"]}) was chosen on an inner validation split of
{config["data"]["num_inner_val"]} training clips, so the held-out numbers below come from clips
the model never saw in any way. Seed recipe: {json.dumps(config["training"])}

## Held-out fold

{config["data"]["num_val"]} clips: top-1 {metrics["val_top1"]:.1%}, top-5
{metrics["val_top5"]:.1%}, macro F1 {metrics["val_macro_f1"]:.3f}, ECE {metrics["val_ece"]:.3f}.

| source | clips | top-1 | top-5 |
|---|---|---|---|
{chr(10).join(rows)}

Variation over folds (same architecture and recipe, each data set alone, 5 folds, from
`benchmarks/seed_recipe.py`; mean ± std):

{seed_recipe_rows()}

## Real videos of other people (`../shared/data/videos`, extracted by aslrec with MediaPipe Hands)

| video | truth | recognised | rank of truth in top-5 | frames with a hand |
|---|---|---|---|---|
{chr(10).join(video_rows)}

## Known limitations
- Vocabulary: {config["num_classes"]} classes; of the card's 51 words only book, drink, family,
  go, help, no, school, yes, hello and thank_you have public data here. Any other sign is forced
  onto one of these classes: read the probability, not only the label.
- Signers: WLASL-50 has no signer ids, so its held-out fold may share signers with training;
  letters come from one signer in one session (expect much lower accuracy on other people's
  fingerspelling); GISLR is the only participant-held-out check.
- Landmark source: training landmarks come from MediaPipe Holistic (words) and Hands
  (letters); aslrec extracts with Hands/HandLandmarker, whose hand presence differs slightly.
- Lighting, camera angle, distance: only what the source videos cover (mostly frontal, indoor).
  Hands leaving the frame or motion blur drop frames; the clip is then shorter, not wrong.
"""
    (target / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(card)


if __name__ == "__main__":
    main()
