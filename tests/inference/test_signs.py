"""Choosing among some signs (``Recognizer(signs=...)``, ``--signs``) with the bundled model on
real clips: the answer is the model's own over those signs, everywhere a model answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aslrec import Recognizer
from aslrec.errors import ConfigError, ExitCode
from aslrec.numerics import softmax
from aslrec.workflows.predict import demo_data_dir

CHOSEN = ["hello", "table", "B"]


@pytest.fixture(scope="module")
def clips() -> list[Any]:
    """The bundled demo's real held-out letters clips."""
    return Recognizer.load_landmarks(demo_data_dir())


def test_restricted_answer_is_the_models_own_over_the_chosen_signs(clips: list[Any]) -> None:
    full = Recognizer.load()
    chosen = Recognizer.load(signs=[" hello", "table", "B", "hello"])  # spaces, a repeat
    assert chosen.classes == CHOSEN and len(full.classes) > 50
    columns = [full.classes.index(sign) for sign in CHOSEN]
    logits = full.logits(clips)
    np.testing.assert_allclose(chosen.logits(clips), logits[:, columns], rtol=1e-6, atol=1e-6)
    probabilities = chosen.probabilities(clips)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        probabilities, softmax(logits[:, columns], full.temperature), atol=1e-9
    )
    answers = chosen.predict_clips(clips, top_k=5)
    assert all(
        len(a.top_k) == 3 and {label for label, _ in a.top_k} == set(CHOSEN) for a in answers
    )
    # the unrestricted model reads these letters as letters, never as hello or table
    assert {full.classes[i] for i in logits.argmax(axis=1)} - set(CHOSEN)


@pytest.mark.parametrize(
    ("signs", "message"),
    [(["hello", "helo"], "unknown sign(s) 'helo'; the model knows: "), (["hello"], "at least 2")],
)
def test_unknown_or_too_few_signs_are_refused(signs: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Recognizer.load(signs=signs)


def test_predict_with_signs(aslrec_cli: Callable[..., Any]) -> None:
    clip = sorted((demo_data_dir() / "clips").glob("*.npz"))[0]
    result = aslrec_cli("predict", clip, "--signs", "hello,table", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {p["label"] for p in payload["predictions"]} == {"hello", "table"}
    assert sum(p["probability"] for p in payload["predictions"]) == pytest.approx(1, abs=1e-5)
    refused = aslrec_cli("predict", clip, "--signs", "hello,tabel")
    assert refused.returncode == ExitCode.ERROR, refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert "unknown sign(s) 'tabel'" in line and "Traceback" not in refused.stderr


def test_service_answers_among_its_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from aslrec.serving.app import create_app
    from aslrec.serving.settings import ServiceSettings

    monkeypatch.setenv("ASLREC_SIGNS", "hello, table")
    app = create_app(settings=ServiceSettings.from_env())
    with TestClient(app) as client:
        assert client.get("/v1/labels").json() == {"labels": ["hello", "table"], "count": 2}
    with pytest.raises(ConfigError, match="'nope'"):
        create_app(settings=ServiceSettings(signs="hello,nope"))


def test_evaluate_among_some_signs_leaves_out_clips_of_others(tmp_path: Path) -> None:
    """``aslrec evaluate --signs`` on real MS-ASL clips: choosing among the set's own words
    can only keep or add right answers (each clip's sign is among them), and clips of signs
    outside the choice are left out and counted, not scored wrong."""
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.workflows.evaluate import evaluate_run

    msasl6 = Path(__file__).parents[2] / "data" / "msasl6"
    words = ["eat", "happy", "hello", "nice", "no", "teacher"]
    run = default_model_dir()
    every = evaluate_run(run, [msasl6], out=tmp_path / "all", held_out_only=False)
    among = evaluate_run(run, [msasl6], out=tmp_path / "six", held_out_only=False, signs=words)
    assert every.num_clips == among.num_clips == 47 and among.other_signs == 0
    assert among.report.top1 >= every.report.top1
    assert json.loads((tmp_path / "six" / "metrics.json").read_text())["extra"]["signs"] == words
    two = evaluate_run(
        run, [msasl6], out=tmp_path / "two", held_out_only=False, signs=["hello", "no"]
    )
    assert (two.num_clips, two.other_signs) == (12, 35)
    assert "35 clips of signs outside --signs left out" in two.summary_line()
