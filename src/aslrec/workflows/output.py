"""How predictions are shown: a rich table, JSON or CSV, and the progress of a long video."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

import numpy as np

from aslrec.errors import AslrecError, ExitCode, NoHandsError
from aslrec.inference.recognizer import Prediction
from aslrec.landmarks.video import FrameSource

Row = tuple[str, Prediction | AslrecError]


def _as_dict(source: str, result: Prediction | AslrecError) -> dict[str, object]:
    if isinstance(result, Prediction):
        return result.to_dict()
    return {"source": source, "error": str(result)}


def exit_code(rows: Sequence[Row]) -> int:
    """OK if any clip was recognised; NO_HANDS if every input lacked hands; else ERROR."""
    errors = [r for _, r in rows if isinstance(r, AslrecError)]
    if not rows or len(errors) < len(rows):
        return ExitCode.OK
    if all(isinstance(e, NoHandsError) for e in errors):
        return ExitCode.NO_HANDS
    return ExitCode.ERROR


def print_predictions(rows: Sequence[Row], fmt: str = "text") -> int:
    """Print ``rows``; returns the exit code. One input in JSON is a single object."""
    if fmt == "json":
        payload = [_as_dict(s, r) for s, r in rows]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "source",
                "label",
                "probability",
                "top_k",
                "frames",
                "hand_detection_rate",
                "truth",
                "error",
            ]
        )
        for source, result in rows:
            if isinstance(result, Prediction):
                # Same numbers as the JSON answers (Prediction.probability_json's rounding).
                top = ";".join(
                    f"{label}:{Prediction.probability_json(p)}" for label, p in result.top_k
                )
                writer.writerow(
                    [
                        source,
                        result.label,
                        Prediction.probability_json(result.probability),
                        top,
                        result.frames,
                        f"{result.hand_rate:.3f}",
                        result.truth or "",
                        "",
                    ]
                )
            else:
                writer.writerow([source, "", "", "", "", "", "", str(result)])
        sys.stdout.write(buffer.getvalue())
    else:
        _print_text(rows)
    return exit_code(rows)


def _print_text(rows: Sequence[Row]) -> None:
    for source, result in rows:
        if isinstance(result, AslrecError):
            print(f"error: {result}", file=sys.stderr)
            continue
        frames = "1 frame (a photo, held)" if result.frames == 1 else f"{result.frames} frames"
        print(f"{source}: {frames}, hands in {result.hand_rate:.0%}")
        for rank, (label, p) in enumerate(result.top_k, 1):
            print(f"  {rank}. {label:<14s} {p:6.1%}  {'#' * round(p * 30)}")


def print_demo(rows: Sequence[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="aslrec demo: bundled model on held-out clips")
    for column in ("clip", "truth", "recognised", "probability", "runner-up", ""):
        table.add_column(column)
    correct = 0
    for source, result in rows:
        if not isinstance(result, Prediction):
            table.add_row(source, "", f"error: {result}", "", "", "")
            continue
        hit = result.label == result.truth
        correct += hit
        runner_up = (
            f"{result.top_k[1][0]} ({result.top_k[1][1]:.0%})" if len(result.top_k) > 1 else ""
        )
        table.add_row(
            source,
            result.truth or "?",
            result.label,
            f"{result.probability:.0%}",
            runner_up,
            "[green]ok[/]" if hit else "[red]x[/]",
        )
    console = Console()
    console.print(table)
    console.print(
        f"{correct}/{len(rows)} recognised correctly. Next, on a video of yours: "
        "`aslrec demo --video YOUR_VIDEO.mp4` (with a picture of the tracked hands)."
    )


PROGRESS_MIN_S = 5.0
"""Videos shorter than this are tracked in about as long as a bar would take to be read."""


def track_progress(
    frames: FrameSource, stream: TextIO | None = None
) -> Iterator[tuple[np.ndarray, float]]:
    """``frames``, with a progress bar on ``stream`` (default stderr) for a video of at least
    :data:`PROGRESS_MIN_S` seconds: tracking runs at about real time on a laptop CPU, so a
    10-minute video is minutes without output otherwise. Only on a terminal, so JSON, CSV and
    piped output stay exactly what they were; the bar is removed when done. The total is the
    header's frame count, an estimate (:class:`~aslrec.landmarks.video.FrameSource`)."""
    stream = sys.stderr if stream is None else stream
    info = frames.info
    if not stream.isatty() or info.frame_count < PROGRESS_MIN_S * info.fps:
        yield from frames
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("tracking hands in {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        console=Console(file=stream, force_terminal=True),
        transient=True,
    ) as bar:
        task = bar.add_task(frames.path.name, total=info.frame_count)
        for frame in frames:
            yield frame
            bar.advance(task)
