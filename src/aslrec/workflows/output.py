"""How predictions are shown: a rich table, JSON or CSV. Exit code 2 when nothing was found."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence

from aslrec.errors import AslrecError, ExitCode, NoHandsError
from aslrec.inference.recognizer import Prediction

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
        print(f"{source}: {result.frames} frames, hands in {result.hand_rate:.0%}")
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
        f"{correct}/{len(rows)} recognised correctly. Next: `aslrec predict YOUR_VIDEO.mp4`."
    )
