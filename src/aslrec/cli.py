"""The ``aslrec`` command: parses arguments and delegates; no logic of its own lives here."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from aslrec.errors import AslrecError, ConfigError, ExitCode
from aslrec.serving.settings import MIB, ServiceSettings, Setting, settable

app = typer.Typer(
    help="Recognise American Sign Language signs from video via MediaPipe hand landmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataOption = Annotated[
    list[str],
    typer.Option(
        "--data",
        "-d",
        help="Landmark data: .npz (WLASL-50 / GISLR / letters), an MP_Data folder, a GISLR "
        "train.csv, an aslrec data set folder, a shard set from `aslrec convert`, a folder "
        "of .pose files (labels: sub-folder names), or the URL of a data set `aslrec extract` "
        "wrote (s3://..., needs aslrec[remote]). Repeat to combine.",
    ),
]

RunDataOption = Annotated[
    list[str] | None,
    typer.Option(
        "--data",
        "-d",
        help="The run's training data, as `aslrec train --data` takes it (a path, or a store's "
        "URL: s3://...); default: as the run records it.",
    ),
]
"""Strings, not paths: a ``Path`` would fold ``memory://x`` into ``memory:/x``."""


ModelOption = Annotated[
    Path | None,
    typer.Option(help="Run or ensemble directory, or an exported .onnx file (default: bundled)."),
]
BackendOption = Annotated[
    str,
    typer.Option(
        help="Inference runtime: auto (torch if installed, else onnx; onnx for a .onnx file), "
        "torch or onnx."
    ),
]
CameraOption = Annotated[int | None, typer.Option(help="Camera index (default 0).")]
FastOption = Annotated[
    bool, typer.Option(help="With --video: as fast as possible, not in real time.")
]
TtaOption = Annotated[
    bool | None,
    typer.Option(
        "--tta/--no-tta",
        help="Average over test-time augmentation views (default: what the model says).",
    ),
]
BothViewsOption = Annotated[
    bool,
    typer.Option(
        "--both-views/--single-view",
        help="Track a video as recorded and flipped left-right and average the two, so a video "
        "and its mirror image get the same answer (twice the tracking time).",
    ),
]
SignsOption = Annotated[
    str | None,
    typer.Option(
        help="Only these signs may win, comma-separated (e.g. eat,hello,no): an app that knows "
        "which signs can come. Default: every sign the model knows.",
    ),
]


def _signs(text: str | None) -> list[str] | None:
    from aslrec.inference.recognizer import split_signs

    return None if text is None else split_signs(text)


@app.command()
def train(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to create.")] = Path(
        "runs/latest"
    ),
    train_only: Annotated[
        list[str] | None,
        typer.Option(
            help="More data that is always trained on, never held out: the held-out fold comes "
            "from --data alone (e.g. --data msasl6 --split signer --train-only wlasl50_mp.npz)."
        ),
    ] = None,
    preset: Annotated[str, typer.Option(help="Recipe to start from (seed = the card's).")] = "seed",
    model: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size.")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    patience: Annotated[int | None, typer.Option(help="Early-stopping patience (epochs).")] = None,
    folds: Annotated[int | None, typer.Option(help="Number of cross-validation folds.")] = None,
    fold: Annotated[int | None, typer.Option(help="Which fold to hold out for validation.")] = None,
    split: Annotated[str | None, typer.Option(help="stratified or signer.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (splits, init, batches).")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    teacher: Annotated[
        list[Path] | None,
        typer.Option(
            help="Distil from this run directory (repeat for several; same data and split)."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="JSON file of training options (see TrainConfig).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override any training option: key=value (JSON value)."),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in --out.")] = False,
    devices: Annotated[
        str, typer.Option(help="Devices per node (GPUs, or CPU processes), a number or auto.")
    ] = "1",
    num_nodes: Annotated[int, typer.Option(help="Machines taking part (DDP).")] = 1,
    strategy: Annotated[
        str, typer.Option(help="Lightning strategy: auto, ddp, ddp_spawn, fsdp, ...")
    ] = "auto",
    precision: Annotated[
        str, typer.Option(help="32-true, bf16-mixed (CPU or GPU), 16-mixed (GPU).")
    ] = "32-true",
    num_workers: Annotated[int, typer.Option(help="DataLoader worker processes.")] = 0,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help="Read the data block by block instead of in memory (default: when a --data is "
            "a shard set from `aslrec convert`).",
        ),
    ] = None,
) -> None:
    """Train a model and write the card's artifacts (best_model.pth, classes, config, history)."""
    from aslrec.runs.config import parse_override, resolve_config
    from aslrec.workflows.train import TrainerOptions
    from aslrec.workflows.train import train as run_training

    overrides = dict(parse_override(item) for item in set_ or [])
    named = {
        "model": model,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "patience": patience,
        "folds": folds,
        "fold": fold,
        "split": split,
        "seed": seed,
        "threads": threads,
        "teachers": [str(t) for t in teacher] if teacher else None,
    }
    overrides.update({k: v for k, v in named.items() if v is not None})
    result = run_training(
        data,
        out,
        resolve_config(preset, config, overrides),
        train_only=train_only or [],
        resume=resume,
        trainer_options=TrainerOptions(
            devices=int(devices) if devices.isdigit() else devices,
            num_nodes=num_nodes,
            strategy=strategy,
            precision=precision,
            num_workers=num_workers,
            stream=stream,
        ),
    )
    if result is not None:  # None: a process other than rank 0 of a multi-process run
        typer.echo(result.summary_line())


@app.command()
def convert(
    data: Annotated[
        list[str],
        typer.Argument(
            help="Landmark data sets (any format `aslrec train` reads), or URLs of data sets "
            "`aslrec extract` wrote (s3://..., needs aslrec[remote])."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Shard set folder to create.")],
    clips_per_shard: Annotated[int, typer.Option(help="Clips per parquet file.")] = 8192,
    rows_per_group: Annotated[
        int, typer.Option(help="Clips per row group (the unit of streaming and shuffling).")
    ] = 256,
) -> None:
    """Write data sets as one shard set (parquet row groups) that `aslrec train` streams."""
    from aslrec.workflows.convert import convert as run_convert

    count = run_convert(data, out, clips_per_shard=clips_per_shard, rows_per_group=rows_per_group)
    typer.echo(f"{count:,} clips -> {out}")


@app.command()
def evaluate(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="A run directory written by `aslrec train`, an ensemble directory, or several "
            "run directories to evaluate as one ensemble."
        ),
    ],
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            help="Landmark data to score, as `aslrec train --data` takes it (default: the data "
            "the run records it trained on); a shard set is read block by block. Repeat to "
            "combine.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default RUN_DIR/evaluation-<data>).")
    ] = None,
    all_clips: Annotated[
        bool, typer.Option("--all", help="Score every clip, not the run's held-out fold.")
    ] = False,
    tta: TtaOption = None,
    signs: Annotated[
        str | None,
        typer.Option(
            help="The model chooses among these signs only, comma-separated, as predict --signs "
            "does; clips of other signs are left out (and counted).",
        ),
    ] = None,
) -> None:
    """Top-1/top-5, per-class P/R/F1, confusion matrix PNG and metrics.json on held-out data."""
    from aslrec.workflows.evaluate import evaluate_run

    result = evaluate_run(
        run_dirs,
        data or None,
        out=out,
        held_out_only=not all_clips,
        tta=tta,
        signs=_signs(signs),
    )
    typer.echo(result.summary_line())


@app.command()
def ensemble(
    members: Annotated[list[Path], typer.Argument(help="Run directories to combine.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Ensemble directory to write.")],
    tta: Annotated[bool, typer.Option(help="Also average over test-time augmentation.")] = False,
) -> None:
    """Combine trained runs into one model directory that predict, serve and live accept."""
    from aslrec.runs.ensemble import create_ensemble
    from aslrec.workflows.ensemble import EnsembleScore, score_ensemble

    typer.echo(f"wrote {create_ensemble(members, out, tta=tta)}")
    score = score_ensemble(out, members)
    typer.echo(score.message() if isinstance(score, EnsembleScore) else score, err=True)


@app.command()
def extract(
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write (see --format), or the URL of a data set on object storage "
            "(s3://bucket/data, gs://...; needs aslrec[remote] and s3fs/gcsfs).",
        ),
    ],
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="Videos, photos, folders of videos, or image-sequence folders."),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option(
            help="CSV of videos to extract: file,label[,signer,group,start,end,anchor,clip_id] "
            "(file relative to the CSV; a start/end window in seconds is cut to the sign in it)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Parallel processes.")] = 1,
    resume: Annotated[bool, typer.Option(help="Skip videos already extracted.")] = True,
    backend: Annotated[str, typer.Option(help="MediaPipe API: tasks or legacy.")] = "tasks",
    landmark_model: Annotated[str, typer.Option(help="full or lite hand model.")] = "full",
    max_side: Annotated[
        int | None, typer.Option(help="Downscale frames to this longer side first.")
    ] = None,
    body: Annotated[
        bool,
        typer.Option(
            help="Also track the shoulders and face (MediaPipe Pose, every 2nd frame) into "
            "each clip's pose."
        ),
    ] = False,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="aslrec (a data set folder) or pose (one pose-format .pose file per video, "
            "OUT/<label>/<clip>.pose; needs aslrec[pose]).",
        ),
    ] = "aslrec",
    ray: Annotated[
        str | None,
        typer.Option(
            help="Run on a Ray cluster instead of local processes: auto (the running cluster, "
            "else a local one of --workers CPUs) or its address (needs aslrec[ray])."
        ),
    ] = None,
    retries: Annotated[
        int, typer.Option(help="With --ray: retries of a video whose worker died.")
    ] = 3,
    photos: Annotated[
        bool,
        typer.Option(
            "--photos",
            help="Every image is a photo of its own, held still as a clip (else an images-only "
            "folder is the frames of one clip).",
        ),
    ] = False,
) -> None:
    """Extract MediaPipe hand landmarks from videos into a data set `aslrec train` reads.

    Labels: a video inside a sub-folder of a given folder gets the sub-folder's name, any other
    video its file stem; with --index, the CSV's label, signer and group (so `--split signer`
    can hold signers out). Re-running skips finished videos; bad videos are reported, not fatal.
    """
    from aslrec.landmarks.hands import TrackerOptions
    from aslrec.workflows.extract import run_extraction

    if not inputs and index is None:
        raise typer.BadParameter("give videos or folders to extract, or --index CSV")
    options = TrackerOptions(backend=backend, landmark_model=landmark_model)  # type: ignore[arg-type]
    summary = run_extraction(
        inputs or [],
        out,
        index=index,
        workers=workers,
        resume=resume,
        options=options,
        max_side=max_side,
        body=body,
        output_format=output_format,  # type: ignore[arg-type]
        ray=ray,
        max_retries=retries,
        photos=photos,
    )
    summary.print()
    if summary.errors and not (summary.ok or summary.skipped):
        raise typer.Exit(ExitCode.ERROR)


@app.command()
def predict(
    source: Annotated[
        str,
        typer.Argument(
            help="A video, a photo, a folder of videos, a landmark file/data set, or a data "
            "set's URL."
        ),
    ],
    model: ModelOption = None,
    top_k: Annotated[int, typer.Option(help="How many labels to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, one row per clip.")] = False,
    backend: BackendOption = "auto",
    tta: TtaOption = None,
    both_views: BothViewsOption = True,
    photos: Annotated[
        bool,
        typer.Option(
            "--photos",
            help="A folder's images are photos, one row each (else an images-only folder is "
            "the frames of one clip).",
        ),
    ] = False,
    signs: SignsOption = None,
) -> None:
    """Recognise the sign in a video (or every clip in a folder / landmark file).

    `frames` counts the input's frames (a video: every decoded frame, hands or not), and
    `hand_detection_rate` is the fraction of those frames with a hand.
    """
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.output import print_predictions
    from aslrec.workflows.predict import predict_inputs

    if top_k < 1:
        raise typer.BadParameter("--top-k must be at least 1")
    with Recognizer.load(
        model, backend=backend, tta=tta, both_views=both_views, signs=_signs(signs)
    ) as recognizer:
        rows = predict_inputs(recognizer, source, top_k, photos=photos)
    code = print_predictions(rows, fmt="json" if as_json else "csv" if as_csv else "text")
    raise typer.Exit(code)


@app.command()
def demo(
    model: ModelOption = None,
    backend: BackendOption = "auto",
    video: Annotated[
        Path | None,
        typer.Option(help="Your own video instead: its top-3 and a picture of the tracked hands."),
    ] = None,
    preview: Annotated[
        Path | None,
        typer.Option(help="Where --video's picture goes (default VIDEO-preview.png, here)."),
    ] = None,
    both_views: BothViewsOption = True,
) -> None:
    """Recognise the bundled demo clips with the bundled model and show them next to the truth."""
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.output import print_demo, print_predictions
    from aslrec.workflows.predict import demo_data_dir, demo_video, predict_inputs

    with Recognizer.load(model, backend=backend, both_views=both_views) as recognizer:
        if video is None:
            print_demo(predict_inputs(recognizer, demo_data_dir(), top_k=3))
            return
        out = preview or Path(f"{video.stem}-preview.png")
        prediction, picture = demo_video(recognizer, video, out)
    print_predictions([(str(video), prediction)])
    typer.echo(f"tracked hands drawn on its best frame: {picture}")


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `aslrec train`.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write (default RUN_DIR/model.onnx; model.int8.onnx with --quantize); "
            "with --format web, the folder to write (required).",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="onnx: one ONNX file; web: a static folder that recognises signs in the browser "
            "(hand tracking and the model in the page, no server).",
        ),
    ] = "onnx",
    quantize: Annotated[
        str | None, typer.Option(help="int8: ONNX Runtime dynamic int8 quantisation.")
    ] = None,
    half: Annotated[
        bool,
        typer.Option(
            "--half",
            help="With --format web: the model's weights stored as fp16, computed in fp32 "
            "(about half the model's bytes; top-1 agreement checked as for int8).",
        ),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            help="Landmark data to check parity on, as `aslrec train --data` takes it (a path "
            "or a store's URL; default: synthetic).",
        ),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="With --format web: a word list (one word a line) that the page's "
            "fingerspelling mode snaps each spelled word to, as `aslrec live --lexicon` does."
        ),
    ] = None,
) -> None:
    """Export a run to ONNX (self-describing, checked against PyTorch) for torch-free inference,
    or to a static web folder."""
    from aslrec.workflows.export import export_run, export_web
    from aslrec.workflows.spelling import read_lexicon

    if fmt == "web":
        if out is None:
            raise ConfigError("--format web needs --out DIR, the folder to write")
        words = read_lexicon(lexicon) if lexicon is not None else None
        result = export_web(
            run_dir, out, quantize=quantize, half=half, check_data=data, lexicon=words
        )
        typer.echo(result.summary_line())
        return
    if half or lexicon is not None:
        raise ConfigError(
            f"{'--half' if half else '--lexicon'} is for --format web (the ONNX file is the "
            "model alone)"
        )
    result = export_run(run_dir, out, fmt=fmt, quantize=quantize, check_data=data)
    typer.echo(result.summary_line())


@app.command()
def transcribe(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines, one per sign (or spelled word).")
    ] = False,
    as_srt: Annotated[bool, typer.Option("--srt", help="SubRip subtitles (.srt).")] = False,
    model: ModelOption = None,
    threshold: Annotated[
        float | None, typer.Option(help="Unknown below this probability (default: calibrated).")
    ] = None,
    unknown: Annotated[bool, typer.Option("--unknown", help="Also list unsure signs.")] = False,
    backend: BackendOption = "auto",
    fingerspelling: Annotated[
        bool,
        typer.Option(
            "--fingerspelling",
            help="Spelled words, letter by letter with each letter's confidence (a model with "
            "letter classes, e.g. the bundled one).",
        ),
    ] = False,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="With --fingerspelling: a word list (one word a line) to snap each spelled "
            "word to; the raw spelling is kept beside it."
        ),
    ] = None,
    both_views: BothViewsOption = True,
    signs: SignsOption = None,
) -> None:
    """The signs in a long video with their time spans (text, JSON lines or subtitles), or with
    --fingerspelling its spelled words."""
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.live import Transcript, to_jsonl, to_srt, to_text, transcribe_video
    from aslrec.workflows.spelling import (
        SpellingTranscript,
        read_lexicon,
        spell_video,
        words_jsonl,
        words_text,
    )

    if as_json and as_srt:
        raise typer.BadParameter("choose one of --json and --srt")
    if lexicon is not None and not fingerspelling:
        raise typer.BadParameter("--lexicon needs --fingerspelling")
    if fingerspelling and as_srt:
        raise typer.BadParameter("--srt lists signs; with --fingerspelling use text or --json")
    words = read_lexicon(lexicon) if lexicon is not None else None
    result: Transcript | SpellingTranscript
    # Signs are found and classified in both views; spelled letters are read from one.
    with Recognizer.load(
        model, backend=backend, both_views=both_views, signs=_signs(signs)
    ) as recognizer:
        if fingerspelling:
            result = spell_video(recognizer, video, lexicon=words)
            text = (words_jsonl if as_json else words_text)(result.words)
        else:
            result = transcribe_video(recognizer, video, threshold=threshold, emit_unknown=unknown)
            text = (to_jsonl if as_json else to_srt if as_srt else to_text)(result.events)
    sys.stdout.write(text)
    typer.echo(f"transcribe: {result.summary}", err=True)
    if result.error is not None:
        raise result.error


@app.command()
def live(
    camera: CameraOption = None,
    video: Annotated[
        Path | None, typer.Option(help="Play a video file as if it were a camera.")
    ] = None,
    headless: Annotated[
        bool, typer.Option(help="No window: print each sign as a JSON line.")
    ] = False,
    fast: FastOption = False,
    model: ModelOption = None,
    threshold: Annotated[
        float | None, typer.Option(help="Unknown below this probability (default: calibrated).")
    ] = None,
    backend: BackendOption = "auto",
    fingerspelling: Annotated[
        bool,
        typer.Option(
            "--fingerspelling",
            help="Spell letter by letter: letters appear as they are signed, a word closes when "
            "the hand drops or pauses.",
        ),
    ] = False,
    lexicon: Annotated[
        Path | None,
        typer.Option(help="With --fingerspelling: a word list (one word a line) to snap to."),
    ] = None,
    both_views: Annotated[
        bool,
        typer.Option(
            "--both-views/--single-view",
            help="Track each frame as seen and flipped left-right, as predict does (a camera "
            "and its mirror image give the same signs; half the frame rate).",
        ),
    ] = False,
    signs: SignsOption = None,
) -> None:
    """Recognise signs live from a camera: landmarks, top-3 bars and a running transcript."""
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.live import run_live
    from aslrec.workflows.spelling import read_lexicon

    if lexicon is not None and not fingerspelling:
        raise typer.BadParameter("--lexicon needs --fingerspelling")
    words = read_lexicon(lexicon) if lexicon is not None else None
    with Recognizer.load(
        model, backend=backend, both_views=both_views, signs=_signs(signs)
    ) as recognizer:
        result = run_live(
            recognizer,
            camera=camera,
            video=video,
            headless=headless,
            fast=fast,
            threshold=threshold,
            fingerspelling=fingerspelling,
            lexicon=words,
        )
    typer.echo(f"live: {result.summary}", err=True)


@app.command()
def collect(
    label: Annotated[str, typer.Argument(help="The sign to record, e.g. hello.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="aslrec data set folder to add to.")],
    count: Annotated[int, typer.Option(help="How many clips to record.")] = 100,
    camera: CameraOption = None,
    video: Annotated[
        Path | None, typer.Option(help="Cut clips from a video file instead of a camera.")
    ] = None,
    headless: Annotated[bool, typer.Option(help="No window; progress on stderr.")] = False,
    fast: FastOption = False,
    signer: Annotated[
        str | None, typer.Option(help="Who signs (enables signer-held-out splits).")
    ] = None,
    countdown: Annotated[
        float | None, typer.Option(help="Seconds before recording (camera default 3).")
    ] = None,
    add_to: Annotated[
        Path | None,
        typer.Option(
            "--add-to",
            help="Then add the sign to this run directory as `aslrec add-sign` does, from every "
            "clip of LABEL in --out (needs --new-model).",
        ),
    ] = None,
    new_model: Annotated[
        Path | None, typer.Option(help="The new run directory --add-to writes.")
    ] = None,
) -> None:
    """Record clips of one sign into a data set `aslrec train` reads (safe to interrupt)."""
    from aslrec.workflows.collect import run_collect

    if (add_to is None) != (new_model is None):
        raise typer.BadParameter("--add-to and --new-model go together")
    if new_model is not None and new_model.exists():
        raise typer.BadParameter(f"{new_model}: --new-model already exists; give a new directory")
    if add_to is not None:
        from aslrec.runs.directory import RunDirectory

        RunDirectory(add_to)  # a bad model fails before anything is recorded
    result = run_collect(
        label,
        count=count,
        out=out,
        camera=camera,
        video=video,
        headless=headless,
        fast=fast,
        countdown_s=countdown,
        signer=signer,
    )
    typer.echo(f"collect: {result.summary_line()}", err=True)
    if not result.saved:
        raise typer.Exit(ExitCode.NOTHING_SAVED)
    if add_to is not None and new_model is not None:
        from aslrec.workflows.add_sign import add_sign

        for line in add_sign(add_to, label, [out], new_model).lines():
            typer.echo(line)


@app.command()
def calibrate(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `aslrec train`.")],
    data: RunDataOption = None,
    target_accuracy: Annotated[
        float, typer.Option(help="Accuracy the unknown threshold must reach.")
    ] = 0.9,
) -> None:
    """Fit temperature scaling and the unknown threshold on the run's held-out fold."""
    from aslrec.workflows.calibrate import calibrate_run

    result = calibrate_run(run_dir, data or None, target_accuracy=target_accuracy)
    typer.echo(result.summary_line())
    c = result.calibration
    if not c.target_reached:
        typer.echo(
            f"warning: target accuracy {c.target_accuracy:.1%} NOT reached: the best threshold "
            f"({c.threshold:.3f}) answers at {c.accuracy_at_threshold:.1%} accuracy; "
            "calibration.json holds it anyway",
            err=True,
        )
        raise typer.Exit(ExitCode.TARGET_NOT_REACHED)


@app.command("add-sign")
def add_sign_command(
    label: Annotated[str | None, typer.Argument(help="The new sign's label.")] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Examples: videos, image folders, landmark files or data sets (also a store's "
            "URL, s3://...)."
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Run directory to add to (default: bundled).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="New run directory to write.")
    ] = None,
    data: RunDataOption = None,
    list_added: Annotated[
        bool, typer.Option("--list", help="List the model's added signs and their examples.")
    ] = False,
) -> None:
    """Add a sign from a few examples to a copy of a run, without retraining."""
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.workflows.add_sign import add_sign, list_added_signs

    model_dir = model or default_model_dir()
    if list_added:
        for line in list_added_signs(model_dir) or [f"{model_dir}: no added signs"]:
            typer.echo(line)
        return
    if label is None or not inputs or out is None:
        raise typer.BadParameter("give LABEL, at least one example and --out (or --list)")
    change = add_sign(model_dir, label, inputs, out, data=data or None)
    for line in change.lines():
        typer.echo(line, err=line.startswith("warning"))


@app.command("remove-sign")
def remove_sign_command(
    label: Annotated[str, typer.Argument(help="An added sign's label.")],
    model: Annotated[Path, typer.Option(help="Run directory with added signs.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New run directory to write.")],
    data: RunDataOption = None,
) -> None:
    """Remove a sign added by `aslrec add-sign`, into a new run directory."""
    from aslrec.workflows.add_sign import remove_sign

    for line in remove_sign(model, label, out, data=data or None).lines():
        typer.echo(line)


def _shown_default(setting: Setting) -> str:
    """A setting's default with its unit, for ``--help`` (bytes also in MiB when whole)."""
    if setting.default is None:
        return "none"
    text = f"{setting.default} {setting.unit}".rstrip()
    if setting.unit == "bytes" and isinstance(setting.default, int) and setting.default % MIB == 0:
        text += f" = {setting.default // MIB} MiB"
    return text


def _setting_parameter(setting: Setting) -> inspect.Parameter:
    """The keyword parameter Typer turns into ``--<name>`` for ``setting``: ``None`` unless
    given, so the environment and the default stay with :meth:`ServiceSettings.from_env`; an
    out of range value is a usage error naming the option."""

    def in_range(value: object) -> object:
        problem = setting.problem(value)
        if problem is not None:
            raise typer.BadParameter(problem)
        return value

    flag = f"--{setting.name.replace('_', '-')}"
    option = typer.Option(
        f"{flag}/--no-{flag[2:]}" if setting.kind is bool else flag,
        help=f"{setting.help} Env: {setting.env}.",
        show_default=_shown_default(setting),
        callback=in_range,
        rich_help_panel="Limits (an option beats its environment variable)",
    )
    return inspect.Parameter(
        setting.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[setting.kind | None, option],
    )


def _with_setting_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with one option per :func:`~aslrec.serving.settings.settable` field, handed
    to it as ``settings=``: the options are derived from ``ServiceSettings`` rather than listed
    again here, and a value the settings refuse (``$ASLREC_...`` out of range, a budget below
    an upload cap) is a usage error (exit 2) like a bad option."""
    settings_fields = settable()

    @functools.wraps(command)
    def with_settings(**kwargs: Any) -> None:
        given = {s.name: kwargs.pop(s.name) for s in settings_fields}
        try:
            settings = ServiceSettings.from_env(**given)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
        command(**kwargs, settings=settings)

    own = inspect.signature(command, eval_str=True).parameters.values()
    parameters = [p for p in own if p.name != "settings"]
    parameters += map(_setting_parameter, settings_fields)
    with_settings.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return with_settings


@app.command()
@_with_setting_options
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: ModelOption = None,
    backend: BackendOption = "auto",
    *,
    settings: ServiceSettings,
) -> None:
    """Serve the HTTP/WebSocket API and the browser page (http://HOST:PORT/).

    Every limit below can also be set as $ASLREC_<NAME> (e.g. ASLREC_MAX_UPLOAD_BYTES).
    """
    from aslrec.inference.backends import resolve_backend
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.serving.run import serve as run_service

    runtime = resolve_backend(model or default_model_dir(), backend)
    run_service(host=host, port=port, model_dir=model, backend=runtime, settings=settings)


CARD_CLASSES = 77
"""The seed card's vocabulary size: `aslrec models` quotes parameter counts for it, the number
the card states (a model's head, and so its count, depends on the classes it is trained on)."""


@app.command("models")
def list_models_command() -> None:
    """List registered model architectures with their parameter counts for the seed card's 77
    classes (a trained model's count depends on its own number of classes)."""
    from aslrec.errors import ConfigError
    from aslrec.inference.backends import TRAIN_EXTRA, torch_available

    if not torch_available():  # the architectures are PyTorch modules
        raise ConfigError(
            f"`aslrec models` builds PyTorch models: it needs the train extra ({TRAIN_EXTRA})"
        )
    from aslrec.models import count_parameters, create_model, list_models

    header = f"{'model':20s} {'parameters':>12s}"
    typer.echo(f"{header}  (with a head for the seed card's {CARD_CLASSES} classes)")
    for name in list_models():
        count = count_parameters(create_model(name, num_classes=CARD_CLASSES))
        typer.echo(f"{name:20s} {count:>12,d}")


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit code."""
    from aslrec.native_logs import native_stderr_silenced

    try:
        with native_stderr_silenced():
            app()
    except AslrecError as exc:
        kind = "interrupted" if exc.exit_code == ExitCode.INTERRUPTED else "error"
        typer.echo(f"{kind}: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    main()
