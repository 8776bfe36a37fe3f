"""``/v1/stream?mode=fingerspelling`` on real landmark streams: held letters built from one
person's fingerspelling16 photos by the fingerspelling benchmark's own stream builder, decoded by
the bundled model (trained on these people: a test of the protocol, not a held-out figure)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from aslrec.errors import ConfigError
from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.clip import RIGHT
from aslrec.serving import ServiceSettings, create_app
from aslrec.serving.settings import StreamSettings
from aslrec.serving.stream import StreamOptions, StreamSession
from benchmarks.fingerspelling import FPS, Stream, build_stream

PERSON = "user_3"
WORDS = ["CAT", "HELLO", "BOOK"]


@pytest.fixture(scope="module")
def speller() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def stream(shared_data: Path) -> Stream:
    from aslrec.data.loaders import load_fingerspelling_npz

    photos: dict[str, list[np.ndarray]] = {}
    for clip in load_fingerspelling_npz(shared_data / "fingerspelling16.npz", frames=1):
        if clip.signer == PERSON and clip.presence[0, RIGHT]:
            photos.setdefault(str(clip.label), []).append(clip.landmarks[0, RIGHT])
    return build_stream(PERSON, photos, WORDS, np.random.default_rng(0))


@pytest.fixture(scope="module")
def client(speller: Recognizer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    lexicon = tmp_path_factory.mktemp("lexicon") / "words.txt"
    lexicon.write_text("# most frequent first\ncat\nhello\nbook\nboot\n", encoding="utf-8")
    settings = ServiceSettings(  # a partial after every frame: it ends that frame's replies
        lexicon=str(lexicon), max_stream_fps=10_000.0, stream=StreamSettings(partial_every_s=0.0)
    )
    with TestClient(create_app(recognizer=speller, settings=settings)) as c:
        yield c


def _frame(stream: Stream, t: int) -> dict[str, Any]:
    return {
        "type": "frame",
        "t": t / FPS,
        "landmarks": stream.landmarks[t].tolist(),
        "presence": stream.presence[t].tolist(),
    }


def test_letters_come_with_their_frame_and_words_close(
    client: TestClient, stream: Stream, speller: Recognizer
) -> None:
    replies: list[tuple[int, dict[str, Any]]] = []
    with client.websocket_connect("/v1/stream?mode=fingerspelling") as ws:
        ready = ws.receive_json()
        assert ready["mode"] == "fingerspelling" and ready["lexicon"] == 4
        assert set(ready["letters"]) == {c.upper() for c in speller.classes if len(c) == 1}
        for t in range(len(stream.presence)):
            ws.send_json(_frame(stream, t))
            while (message := ws.receive_json())["type"] != "partial":
                replies.append((t, message))
            replies.append((t, message))
            assert message["t"] == round(t / FPS, 3)
    letters = [(t, m) for t, m in replies if m["type"] == "letter"]
    words = [m for _, m in replies if m["type"] == "word"]
    assert [w["word"] for w in words] == WORDS
    assert [w["snapped"] for w in words] == WORDS and all(w["distance"] == 0 for w in words)
    assert {w["reason"] for w in words} <= {"hand_dropped", "pause"}
    assert "".join(m["letter"] for _, m in letters) == "".join(WORDS)
    for t, m in letters:  # a letter is sent in the replies to the frame that decided it
        assert m["emitted_s"] == round(t / FPS, 3) and 0.0 < m["confidence"] <= 1.0
        assert all(a["probability"] < m["confidence"] for a in m["alternatives"])
        assert m["start_s"] < m["emitted_s"] <= m["start_s"] + 0.3
    assert [m["letter"] for m in words[1]["letters"]] == list("HELLO")
    spelling = [m["spelling"] for _, m in replies if m["type"] == "partial"]
    assert "HEL" in spelling or "HELL" in spelling, spelling


def test_flush_closes_the_word_in_progress_and_reset_forgets_it(
    client: TestClient, stream: Stream
) -> None:
    end = stream.holds[1].last + 1  # "CA" of CAT, hand still up
    with client.websocket_connect("/v1/stream?mode=fingerspelling") as ws:
        ws.receive_json()
        for t in range(end):
            ws.send_json(_frame(stream, t))
        ws.send_json({"type": "flush"})
        messages: list[dict[str, Any]] = []
        while (message := ws.receive_json())["type"] != "flushed":
            messages.append(message)
        (word,) = [m for m in messages if m["type"] == "word"]
        assert word["word"] == "CA" and word["reason"] == "end_of_stream"
        assert word["snapped"] == "CAT" and word["distance"] == 1
        ws.send_json({"type": "reset"})  # times may start again from 0
        while ws.receive_json()["type"] != "reset":
            pass
        for t in range(end):
            ws.send_json(_frame(stream, t))
        ws.send_json({"type": "reset"})  # forgets the "CA" in progress
        while ws.receive_json()["type"] != "reset":
            pass
        ws.send_json({"type": "flush"})
        assert ws.receive_json() == {"type": "flushed"}  # nothing left to close


def test_unknown_mode_is_refused_with_a_reason(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream?mode=spell") as ws:
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_input"
        assert "signs, fingerspelling" in error["message"] and "'spell'" in error["message"]
        closed = ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == 1008


def test_a_model_without_letters_cannot_spell() -> None:
    with pytest.raises(ConfigError, match="no letter classes"):
        StreamSession(
            SimpleNamespace(classes=["book", "yes"]), StreamOptions(mode="fingerspelling")
        )  # type: ignore[arg-type]


def test_a_bad_lexicon_stops_the_app_before_it_serves(speller: Recognizer, tmp_path: Path) -> None:
    bad = tmp_path / "words.txt"
    bad.write_text("cat\nsan jose\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"words.txt:2: 'san jose' is not a word"):
        create_app(recognizer=speller, settings=ServiceSettings(lexicon=str(bad)))
