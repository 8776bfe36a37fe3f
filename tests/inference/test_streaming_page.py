"""The page's port of the streaming segmenter (``web/src/live.js``) against Python's, under node.

The page must cut a stream into the same signs as ``aslrec live`` (:class:`Segmenter`, same
config) and answer them early on the same frames (``StreamingRecognizer.pending``): checked on
the real two-sign stream. Its pending answer (the event a sign gives if it
ends now, shown before the segmenter is sure) must appear as soon as the end can be seen, be
withdrawn when the sign goes on, and, when hands leave, be the final event itself, from the same
frames and one model call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aslrec.inference.streaming import Segmenter, SegmenterConfig

NODE = shutil.which("node")
LIVE_JS = Path(__file__).resolve().parents[2] / "web" / "src" / "live.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node not installed")
FPS = 30.0

RUNNER = """
import { readFileSync } from "node:fs";
import { Segmenter, Transcriber } from "%s";
const { config, frames } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const asFrame = (f) => ({ landmarks: Float32Array.from(f.landmarks),
                          presence: Uint8Array.from(f.presence), t: f.t });
const segmenter = new Segmenter(config);
const segments = [];
const calls = [];
const transcriber = new Transcriber({ segmenter: config, threshold: 0.5, repeatGapS: 0.0,
  minHandFrames: config.min_hand_frames,
  classify: async (clip) => {
    calls.push(clip.frames);
    return { label: `sign${calls.length}`, probability: 0.9, top_k: [] };
  } });
const row = (s) => [s.start_s, s.end_s, s.reason, s.frames.length];
const steps = [];
for (const f of frames) {
  for (const s of segmenter.push(asFrame(f))) segments.push(row(s));
  const events = await transcriber.push(asFrame(f));
  const p = transcriber.pending;
  steps.push({ events: events.map((e) => [e.label, e.start_s, e.end_s, e.reason]),
               pending: p && [p.label, p.start_s, p.end_s, p.reason] });
}
for (const s of segmenter.flush()) segments.push(row(s));
console.log(JSON.stringify({ segments, steps, calls }));
"""

rng = np.random.default_rng(0)
SHAPE = rng.uniform(-0.05, 0.05, size=(21, 3)).astype(np.float32)


def run_page(frames: list[tuple[Any, Any, float]], tmp_path: Path) -> dict[str, Any]:
    """Feed ``(landmarks (2, 21, 3), presence (2,), t)`` frames to the page's module in node."""
    script = tmp_path / "run.mjs"
    script.write_text(RUNNER % LIVE_JS.as_uri())
    data = tmp_path / "frames.json"
    payload = [
        {"landmarks": lm.reshape(-1).tolist(), "presence": pr.astype(int).tolist(), "t": t}
        for lm, pr, t in frames
    ]
    data.write_text(json.dumps({"config": asdict(SegmenterConfig()), "frames": payload}))
    done = subprocess.run(
        [str(NODE), str(script), str(data)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def synthetic(centres: list[tuple[float, float] | None]) -> list[tuple[Any, Any, float]]:
    """A rigid right hand at each centre (None = no hand), 30 frames a second."""
    frames = []
    for i, centre in enumerate(centres):
        lm = np.zeros((2, 21, 3), np.float32)
        pr = np.zeros(2, bool)
        if centre is not None:
            lm[1] = SHAPE + np.array([centre[0], centre[1], 0.0], np.float32)
            pr[1] = True
        frames.append((lm, pr, i / FPS))
    return frames


def moving(n: int, start: float = 0.3) -> list[tuple[float, float] | None]:
    return [(start + 0.01 * i, 0.5 + 0.05 * np.sin(i / 3)) for i in range(n)]


def test_the_page_cuts_a_real_stream_into_the_signs_aslrec_live_finds(
    two_sign_tracked: Any, tmp_path: Path
) -> None:
    t = two_sign_tracked
    frames = list(zip(t.landmarks, t.presence, t.timestamps, strict=True))
    python = Segmenter()
    expected = []
    for lm, pr, ts in frames:
        expected += python.push(lm, pr, ts)
    expected += python.flush()
    page = run_page(frames, tmp_path)
    assert len(expected) == 2
    assert [s[2] for s in page["segments"]] == [s.reason for s in expected]
    for (start, end, _, count), segment in zip(page["segments"], expected, strict=True):
        assert start == pytest.approx(segment.start_s, abs=1e-6)
        assert end == pytest.approx(segment.end_s, abs=1e-6)
        assert count == segment.clip.num_frames


class Answers:
    """A recogniser answering every clip with one sure label (``predict_clips`` only)."""

    threshold = None
    tracker_options = None
    classes = ("sign",)

    def predict_clips(self, clips: list[Any], top_k: int = 3) -> list[Any]:
        from aslrec.inference.recognizer import Prediction

        return [Prediction(c.source, [("sign", 0.9)], c.num_frames, 1.0) for c in clips]


def test_the_pages_pending_events_are_aslrec_lives_on_a_real_stream(
    two_sign_tracked: Any, tmp_path: Path
) -> None:
    from aslrec.inference.streaming import StreamingRecognizer

    t = two_sign_tracked
    frames = list(zip(t.landmarks, t.presence, t.timestamps, strict=True))
    stream = StreamingRecognizer(Answers(), threshold=0.5, repeat_gap_s=0.0)  # type: ignore[arg-type]
    python = []
    for lm, pr, ts in frames:
        stream.push_landmarks(lm, pr, ts)
        p = stream.pending
        python.append(None if p is None else (p.start_s, p.end_s, p.reason))
    page = [s["pending"] and tuple(s["pending"][1:]) for s in run_page(frames, tmp_path)["steps"]]
    assert sum(p is not None for p in python) > 0
    assert [p is None for p in page] == [p is None for p in python]
    for ours, theirs in zip(page, python, strict=True):
        if ours is not None:
            assert ours[:2] == pytest.approx(theirs[:2], abs=1e-6) and ours[2] == theirs[2]


def test_hands_leaving_the_pending_event_comes_first_and_is_the_final_one(tmp_path: Path) -> None:
    out = run_page(synthetic([None] * 5 + moving(20) + [None] * 10), tmp_path)
    steps = out["steps"]
    pending_at = next(i for i, s in enumerate(steps) if s["pending"])
    final_at = next(i for i, s in enumerate(steps) if s["events"])
    assert pending_at == 25  # the first frame without a hand
    assert final_at == 27  # end_gap_s = 0.1 s = 3 frames later
    assert all(s["pending"] == steps[pending_at]["pending"] for s in steps[pending_at:final_at])
    label, start, end, reason = steps[final_at]["events"][0]
    assert steps[pending_at]["pending"] == [label, start, end, reason]
    assert reason == "hands_left" and out["calls"] == [20]  # answered once, on the sign's frames
    assert steps[final_at]["pending"] is None


def test_a_one_frame_dropout_withdraws_the_pending_event(tmp_path: Path) -> None:
    centres = moving(20)
    centres[10] = None  # the tracker loses the hand for one frame
    steps = run_page(synthetic(centres + [None] * 10), tmp_path)["steps"]
    assert steps[10]["pending"] is not None and steps[11]["pending"] is None
    assert sum(len(s["events"]) for s in steps) == 1


def test_still_hands_get_a_pending_event_before_still_s(tmp_path: Path) -> None:
    first = moving(20)
    out = run_page(synthetic(first + [first[-1]] * 15 + [None] * 5), tmp_path)
    steps = out["steps"]
    pending_at = next(i for i, s in enumerate(steps) if s["pending"])
    final_at = next(i for i, s in enumerate(steps) if s["events"])
    # still from frame 20 (the first frame without motion): pending 0.1 s, final 0.3 s later
    assert (pending_at, final_at) == (23, 29)
    assert steps[pending_at]["pending"][3] == steps[final_at]["events"][0][3] == "still"
    assert steps[pending_at]["pending"][1:3] == steps[final_at]["events"][0][1:3]
    # the final clip holds more of the hold, so it is classified again
    assert out["calls"] == [24, 30]
