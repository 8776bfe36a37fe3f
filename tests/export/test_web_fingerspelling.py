"""The page's fingerspelling decoder (``web/src/fingerspelling.js``) is Python's, under node.

Streams of held letters built from several people's real fingerspelling16 photos (the
fingerspelling benchmark's own stream builder, double letters and word breaks included) go
through :class:`aslrec.inference.fingerspelling.FingerspellingDecoder` with the bundled model;
every window it classifies is recorded with the letter probabilities the model gave it. node
then runs the page's decoder on the same frames, answering its classifications with the same
probabilities in the same order: it must classify the same windows and emit the same letters
(confidence, hold start, emission time) and close the same words at the same times for the same
reasons, with the same alternatives; once with the default settings and once with a strict
``min_probability`` (0.995), under which many letters are late letters (emitted when a hold
ends). The J/Z motion letters are Python's alone, so they are switched off on both sides.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from aslrec.inference.fingerspelling import FingerspellingDecoder, Letter, SpellingConfig
from aslrec.landmarks.clip import RIGHT

NODE = shutil.which("node")
SPELLING_JS = Path(__file__).resolve().parents[2] / "web" / "src" / "fingerspelling.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node not installed")
PEOPLE = ("user_3", "user_7")
WORDS = ["CAT", "HELLO", "BOOK", "COFFEE", "ABC"]

RUNNER = """
import { readFileSync } from "node:fs";
import { Speller } from "%s";
const { classes, streams } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const s of streams) {
  const config = s.config;
  const windows = [];
  let call = 0;
  const speller = new Speller(config, classes, async (frames) => {
    windows.push(frames.length);
    return s.probabilities[call++];
  });
  const items = [];
  for (let t = 0; t < s.presence.length; t++) {
    const landmarks = Float32Array.from(s.landmarks[t]);
    const presence = Uint8Array.from(s.presence[t]);
    items.push(...(await speller.push({ landmarks, presence, t: s.times[t] })));
  }
  items.push(...speller.flush());
  results.push({ items, windows, calls: speller.modelCalls });
}
console.log(JSON.stringify(results));
"""


def python_config(**changes: float) -> SpellingConfig:
    """The defaults with ``changes``, without the motion letters where this Python has them (a
    flag, or the letters to look for)."""
    field = {f.name: f for f in fields(SpellingConfig)}.get("motion_letters")
    if field is not None:
        changes["motion_letters"] = "" if isinstance(field.default, str) else False  # type: ignore[assignment]
    return SpellingConfig(**changes)  # type: ignore[arg-type]


def test_the_pages_speller_emits_pythons_letters_and_words(
    shared_data: Path, tmp_path: Path
) -> None:
    from aslrec.data.loaders import load_fingerspelling_npz
    from aslrec.inference.recognizer import Recognizer
    from benchmarks.fingerspelling import FPS, build_stream

    model = Recognizer.load()
    photos: dict[str, dict[str, list[np.ndarray]]] = {p: {} for p in PEOPLE}
    for clip in load_fingerspelling_npz(shared_data / "fingerspelling16.npz", frames=1):
        if clip.signer in photos and clip.presence[0, RIGHT]:
            photos[clip.signer].setdefault(str(clip.label), []).append(clip.landmarks[0, RIGHT])
    expected, streams = [], []
    runs = [(c, p) for c in (python_config(), python_config(min_probability=0.995)) for p in PEOPLE]
    for seed, (config, person) in enumerate(runs):
        stream = build_stream(person, photos[person], WORDS, np.random.default_rng(seed % 2))
        recorded: list[list[float]] = []
        windows: list[int] = []

        def probabilities(clips: list, recorded: list = recorded, windows: list = windows):
            rows = np.asarray(model.probabilities(clips), dtype=np.float64)
            recorded.append(rows[0].tolist())
            windows.append(len(clips[0].landmarks))
            return rows

        recorder = SimpleNamespace(classes=model.classes, probabilities=probabilities)
        decoder = FingerspellingDecoder(recorder, config)  # type: ignore[arg-type]
        times = [t / FPS for t in range(len(stream.presence))]
        items = []
        for t, ts in enumerate(times):
            items += decoder.push(stream.landmarks[t], stream.presence[t], ts)
        items += decoder.flush()
        expected.append((items, windows, decoder.model_calls, config))
        streams.append({
            "config": asdict(config),
            "landmarks": stream.landmarks.reshape(len(times), -1).tolist(),
            "presence": stream.presence.astype(int).tolist(),
            "times": times,
            "probabilities": recorded,
        })  # fmt: skip
    payload = tmp_path / "streams.json"
    payload.write_text(json.dumps({"classes": model.classes, "streams": streams}))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER % SPELLING_JS.as_uri())
    done = subprocess.run(
        [NODE, str(runner), str(payload)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    letters = words = late = 0
    for (items, windows, calls, config), got in zip(expected, json.loads(done.stdout), strict=True):
        assert got["calls"] == calls and got["windows"] == windows
        assert len(got["items"]) == len(items)
        for want, js in zip(items, got["items"], strict=True):
            if isinstance(want, Letter):
                letters += 1
                late += want.confidence < config.min_probability
                assert js["type"] == "letter" and js["letter"] == want.letter, (want, js)
                assert js["confidence"] == pytest.approx(want.confidence, abs=1e-9)
                assert (js["start_s"], js["emitted_s"]) == (want.start_s, want.emitted_s)
                alternatives = [tuple(a) for a in js["alternatives"]]
                assert [a for a, _ in alternatives] == [a for a, _ in want.alternatives]
                assert [p for _, p in alternatives] == pytest.approx(
                    [p for _, p in want.alternatives], abs=1e-9
                )
            else:
                words += 1
                assert js["type"] == "word" and js["word"] == want.text, (want, js)
                assert (js["closed_s"], js["reason"]) == (want.closed_s, want.reason)
    spelled = [w.text for items, *_ in expected for w in items if not isinstance(w, Letter)]
    print(f"{letters} letters ({late} late), {words} words, the same in node: {spelled}")
    assert letters > 60 and words >= 4 * len(WORDS) and late > 10
