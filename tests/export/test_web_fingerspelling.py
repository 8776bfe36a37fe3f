"""The page's fingerspelling decoder (``web/src/fingerspelling.js``) is Python's, under node.

Streams of held letters built from several people's real fingerspelling16 photos (the
fingerspelling benchmark's own stream builder, double letters and word breaks included) go
through :class:`aslrec.inference.fingerspelling.FingerspellingDecoder` with the bundled model;
every window it classifies is recorded with the letter probabilities the model gave it. node
then runs the page's decoder on the same frames, answering its classifications with the same
probabilities in the same order: it must classify the same windows and emit the same letters
(confidence, hold start, emission time) and close the same words at the same times for the same
reasons, with the same alternatives. Three runs: held letters with the motion letters off;
the same with a strict ``min_probability`` (0.995), under which many letters are late letters
(emitted when a hold ends); and words with Z, traced by letters_static's signer and moved onto
each person's hand (the benchmark's splicing), with the default settings (Z as a motion).
Every run snaps its words to the fingerspelling benchmark's 1,000-word lexicon (plus the words
spelled), as ``aslrec live --lexicon`` and the page of ``aslrec export --format web --lexicon``
do: the same lexicon word at the same distance for every word.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
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
Z_WORDS = ["ZOO", "PIZZA", "ZERO", "FIZZ", "QUIZ"]  # Z traced: letters_static's recordings

RUNNER = """
import { readFileSync } from "node:fs";
import { Lexicon, Speller } from "%s";
const { classes, lexicon, streams } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const s of streams) {
  const config = s.config;
  const windows = [];
  let call = 0;
  const words = new Lexicon(lexicon, config.max_edit_fraction);
  const speller = new Speller(config, classes, async (frames) => {
    windows.push(frames.length);
    return s.probabilities[call++];
  }, words);
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


def spelling_config(**changes: object) -> SpellingConfig:
    return SpellingConfig(**changes)  # type: ignore[arg-type]


def test_the_pages_speller_emits_pythons_letters_and_words(
    shared_data: Path, tmp_path: Path
) -> None:
    from aslrec.data.loaders import load_fingerspelling_npz, load_letters_npz
    from aslrec.inference.fingerspelling import read_lexicon
    from aslrec.inference.recognizer import Recognizer
    from benchmarks.fingerspelling import FPS, build_stream
    from benchmarks.fingerspelling import WORDS as LEXICON

    model = Recognizer.load()
    photos: dict[str, dict[str, list[np.ndarray]]] = {p: {} for p in PEOPLE}
    for clip in load_fingerspelling_npz(shared_data / "fingerspelling16.npz", frames=1):
        if clip.signer in photos and clip.presence[0, RIGHT]:
            photos[clip.signer].setdefault(str(clip.label), []).append(clip.landmarks[0, RIGHT])
    motions: dict[str, list[np.ndarray]] = {}
    for clip in load_letters_npz(shared_data / "letters_static.npz", window=60, stride=60):
        if clip.label == "Z":
            motions.setdefault("Z", []).append(clip.landmarks[:, RIGHT])
    held, strict = (
        spelling_config(motion_letters=""),
        spelling_config(motion_letters="", min_probability=0.995),
    )
    runs = [(c, p, WORDS) for c in (held, strict) for p in PEOPLE]
    runs += [(spelling_config(), p, Z_WORDS) for p in PEOPLE]
    lexicon = [*read_lexicon(LEXICON), *WORDS, *Z_WORDS]
    expected, streams = [], []
    for seed, (config, person, words) in enumerate(runs):
        rng = np.random.default_rng(seed % 2)
        stream = build_stream(person, photos[person], words, rng, motions)
        recorded: list[list[float]] = []
        windows: list[int] = []

        def probabilities(clips: list, recorded: list = recorded, windows: list = windows):
            rows = np.asarray(model.probabilities(clips), dtype=np.float64)
            recorded.append(rows[0].tolist())
            windows.append(len(clips[0].landmarks))
            return rows

        recorder = SimpleNamespace(classes=model.classes, probabilities=probabilities)
        decoder = FingerspellingDecoder(recorder, config, lexicon)  # type: ignore[arg-type]
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
    payload.write_text(
        json.dumps({"classes": model.classes, "lexicon": lexicon, "streams": streams})
    )
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER % SPELLING_JS.as_uri())
    done = subprocess.run(
        [NODE, str(runner), str(payload)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    letters = words = late = zs = repaired = 0
    for (items, windows, calls, config), got in zip(expected, json.loads(done.stdout), strict=True):
        assert got["calls"] == calls and got["windows"] == windows
        assert len(got["items"]) == len(items)
        for want, js in zip(items, got["items"], strict=True):
            if isinstance(want, Letter):
                letters += 1
                late += want.confidence < config.min_probability
                zs += want.letter == "Z"
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
                assert (js["snapped"], js["distance"]) == (want.snapped, want.distance), want
                repaired += bool(want.distance)
    spelled = [w.text for items, *_ in expected for w in items if not isinstance(w, Letter)]
    print(
        f"{letters} letters ({late} late, {zs} Z), {words} words ({repaired} snapped to another "
        f"lexicon word), the same in node: {spelled}"
    )
    assert letters > 100 and words >= 5 * len(WORDS) and late > 10 and zs > 5 and repaired > 0
