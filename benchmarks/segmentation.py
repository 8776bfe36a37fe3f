"""Streaming recognition on long videos made of real signs (issue #6).

Builds long test videos at run time (in a temporary folder, never committed) by concatenating
the real sign videos of ``../shared/data/videos`` in random orders with pauses between them:
grey frames (nobody in view) or the previous video's last frame frozen (the picture stays, hands
included where the video ends with hands up, so only motion tells the signs apart). Every video
is resampled to 30 fps and letterboxed into 640x480, then written with OpenCV (mp4v) and read
back, so decoding is part of the measurement as for any file.

Truth: a sign spans the first to the last frame in which offline tracking
(``HandTracker.process_video``) finds a hand in its own source video; the signers' rest position
is out of view.

Measured:

1. Segmentation, label-agnostic, on landmarks tracked causally (``HandTracker.process``, as
   live): segment-level precision / recall (a detected segment matches a true one when their
   intersection over union is >= 0.5, one-to-one), start/end errors, for several segmenters:
   hands leaving only (several end gaps), hands leaving or stopping (several still durations),
   and a sliding window with a "no sign" decision by the model.
2. Recognition with the default segmenter: events (label, probability against the unknown
   threshold) vs the truth; sequence accuracy = streams whose recognised label sequence equals
   the true sequence of in-vocabulary signs (out-of-vocabulary signs must come out unknown or not
   at all); word error rate.
3. Latency at 30 fps on one core (process pinned to CPU 0, torch 1 thread): per-frame processing
   time (tracking + model), and the delay from the end of a sign to its event, from a real-time
   run (frames released at their timestamps by ``FramePump``, dropped when processing falls
   behind) with the drop count.

Usage::

    python -m benchmarks.segmentation [--model DIR] [--streams 6] [--realtime 2] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aslrec.inference.fingerspelling import edit_distance
from benchmarks._common import SHARED_DATA, command_line, header, load_note, write_section
from benchmarks.streams import (
    Stream,
    Tracked,
    TrueSign,
    build_stream,
    random_plans,
    track_stream,
)


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def match(
    truth: Sequence[tuple[float, float]], found: Sequence[tuple[float, float]], min_iou: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(truth index, found index, iou)``, greedy by IoU."""
    pairs = sorted(
        ((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
        reverse=True,
    )
    used_t: set[int] = set()
    used_f: set[int] = set()
    out = []
    for value, i, j in pairs:
        if value < min_iou:
            break
        if i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        out.append((i, j, value))
    return out


# --------------------------------------------------------------------------------------------
# Tracking once, segmenting many ways
# --------------------------------------------------------------------------------------------
@dataclass
class Found:
    start_s: float
    end_s: float
    closed_s: float
    label: str | None = None
    probability: float = 0.0


def run_segmenter(tracked: Tracked, config: object) -> list[Found]:
    from aslrec.inference.streaming import Segmenter

    seg = Segmenter(config)  # type: ignore[arg-type]
    out = []
    for lm, pr, ts in zip(tracked.landmarks, tracked.presence, tracked.timestamps, strict=True):
        out += [Found(s.start_s, s.end_s, s.closed_s) for s in seg.push(lm, pr, ts)]
    out += [Found(s.start_s, s.end_s, s.closed_s) for s in seg.flush()]
    return out


def run_recogniser(
    tracked: Tracked, recognizer: object, config: object
) -> tuple[list[Found], list[float], list[float]]:
    """Default streaming recogniser on tracked landmarks: events incl. unknown, processing ms
    per frame, ms per model call (a sign's early answer, or its closing when that could not
    reuse it)."""
    from aslrec.inference.streaming import StreamingRecognizer

    stream = StreamingRecognizer(recognizer, config=config, emit_unknown=True)  # type: ignore[arg-type]
    out: list[Found] = []
    per_frame_model = []
    for lm, pr, ts in zip(tracked.landmarks, tracked.presence, tracked.timestamps, strict=True):
        t0 = time.perf_counter()
        events = stream.push_landmarks(lm, pr, ts)
        ms = (time.perf_counter() - t0) * 1000.0
        per_frame_model.append(ms)
        out += [Found(e.start_s, e.end_s, e.decided_s, e.label, e.probability) for e in events]
    out += [Found(e.start_s, e.end_s, e.decided_s, e.label, e.probability) for e in stream.flush()]
    return out, per_frame_model, list(stream.stats.model_ms)


def run_window(
    tracked: Tracked, recognizer: object, threshold: float, window_s: float = 1.0, stride: int = 6
) -> tuple[list[Found], list[float]]:
    """Sliding window with a "no sign" decision: every ``stride`` frames the last ``window_s``
    is classified; below ``threshold`` (or < 5 hand frames) it is "no sign". Consecutive windows
    with one label form a segment spanning their hand frames."""
    from aslrec.landmarks.clip import LandmarkClip

    ts = tracked.timestamps
    out: list[Found] = []
    current: Found | None = None
    per_frame = [0.0] * len(ts)
    for t in range(stride - 1, len(ts), stride):
        lo = int(np.searchsorted(ts, ts[t] - window_s + 1e-9))
        sl = slice(lo, t + 1)
        hands = tracked.presence[sl].any(axis=1)
        label = None
        if hands.sum() >= 5:
            t0 = time.perf_counter()
            clip = LandmarkClip(tracked.landmarks[sl], tracked.presence[sl], ts[sl])
            pred = recognizer.predict_clips([clip], 1)[0]  # type: ignore[attr-defined]
            per_frame[t] = (time.perf_counter() - t0) * 1000.0
            if pred.probability >= threshold:
                label = pred.label
        hand_ts = ts[sl][hands]
        if current is not None and label == current.label:
            current.end_s = float(hand_ts[-1]) if hand_ts.size else current.end_s
            current.closed_s = float(ts[t])
            continue
        if current is not None:
            current.closed_s = float(ts[t])
            out.append(current)
            current = None
        if label is not None:
            current = Found(float(hand_ts[0]), float(hand_ts[-1]), float(ts[t]), label)
    if current is not None:
        out.append(current)
    return out, per_frame


@dataclass
class Score:
    tp: int = 0
    found: int = 0
    truth: int = 0
    ious: list[float] = field(default_factory=list)
    start_err: list[float] = field(default_factory=list)
    end_err: list[float] = field(default_factory=list)
    delay: list[float] = field(default_factory=list)

    def add(
        self, signs: Sequence[TrueSign], found: Sequence[Found]
    ) -> list[tuple[int, int, float]]:
        m = match([(s.start_s, s.end_s) for s in signs], [(f.start_s, f.end_s) for f in found])
        self.tp += len(m)
        self.found += len(found)
        self.truth += len(signs)
        for i, j, v in m:
            self.ious.append(v)
            self.start_err.append(found[j].start_s - signs[i].start_s)
            self.end_err.append(found[j].end_s - signs[i].end_s)
            self.delay.append(found[j].closed_s - signs[i].end_s)
        return m

    @property
    def precision(self) -> float:
        return self.tp / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.truth if self.truth else 0.0

    def row(self, name: str) -> str:
        med = lambda v: f"{np.median(np.abs(v)) * 1000:.0f}" if v else "-"  # noqa: E731
        delay = f"{np.median(self.delay) * 1000:.0f}" if self.delay else "-"
        return (
            f"| {name} | {self.precision:.1%} | {self.recall:.1%} | {self.found} / {self.truth} | "
            f"{np.mean(self.ious) if self.ious else 0:.2f} | {med(self.start_err)} | "
            f"{med(self.end_err)} | {delay} |"
        )


# --------------------------------------------------------------------------------------------
# Real time
# --------------------------------------------------------------------------------------------
def realtime_run(
    stream: Stream, recognizer: object, config: object, speed: float = 1.0
) -> dict[str, object]:
    """Play ``stream`` at its frame rate through FramePump + StreamingRecognizer (tracking
    included), dropping frames when behind; wall-clock delays from each true sign end.

    ``speed=2`` halves every timestamp: a 60 fps camera, to see frames dropped."""
    from aslrec.inference.streaming import FramePump, StreamingRecognizer
    from aslrec.landmarks.video import FrameSource

    source = FrameSource(stream.path)
    frames = ((rgb, ts / speed) for rgb, ts in source)
    pump = FramePump(frames, pace=True, drop=True, on_close=source.close)
    frame_ms: list[float] = []
    events: list[tuple[float, object]] = []
    first_pending: dict[tuple[float, float], tuple[float, str]] = {}  # span -> (when, label)
    with StreamingRecognizer(recognizer, config=config, emit_unknown=True) as sr:  # type: ignore[arg-type]
        sr.warm_up()  # MediaPipe and the model loaded before the clock starts
        for rgb, ts in pump:
            t0 = time.perf_counter()
            new = sr.push_frame(rgb, ts)
            frame_ms.append((time.perf_counter() - t0) * 1000.0)
            now = time.monotonic() - pump.t0
            events += [(now, e) for e in new]
            if (p := sr.pending) is not None:
                first_pending.setdefault((p.start_s, p.end_s), (now, p.label))
        events += [(time.monotonic() - pump.t0, e) for e in sr.flush()]
    found = [Found(e.start_s, e.end_s, t, e.label, e.probability) for t, e in events]  # type: ignore[attr-defined]
    truth = [(s.start_s / speed, s.end_s / speed) for s in stream.signs]
    m = match(truth, [(f.start_s, f.end_s) for f in found])
    delays = [found[j].closed_s - truth[i][1] for i, j, _ in m]
    # the pending label of the same span, where one came first (StreamingRecognizer.pending)
    early = [(i, j, first_pending.get((found[j].start_s, found[j].end_s))) for i, j, _ in m]
    pending_delays = [p[0] - truth[i][1] for i, _, p in early if p is not None]
    pending_same = sum(p[1] == found[j].label for _, j, p in early if p is not None)
    return {
        "pending_delays": pending_delays,
        "pending_same": pending_same,
        "frames": pump.delivered,
        "dropped": pump.dropped,
        "frame_ms": frame_ms,
        "delays": delays,
        "matched": len(m),
        "signs": len(stream.signs),
        "found": len(found),
    }


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------
def pin_one_core() -> str:
    import torch

    torch.set_num_threads(1)
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="run dir (default: bundled)")
    parser.add_argument("--streams", type=int, default=6)
    parser.add_argument("--realtime", type=int, default=2, help="streams also played in real time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)

    from aslrec.inference.recognizer import Recognizer, default_model_dir
    from aslrec.inference.streaming import DEFAULT_THRESHOLD, SegmenterConfig

    pinned = pin_one_core()
    load_before = os.getloadavg()[0]
    videos = SHARED_DATA / "videos"
    model_dir = args.model or default_model_dir()
    recognizer = Recognizer.load(model_dir)
    threshold = recognizer.threshold if recognizer.threshold is not None else DEFAULT_THRESHOLD
    vocabulary = set(recognizer.classes)
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    with tempfile.TemporaryDirectory(prefix="aslrec-seg-") as tmp:
        spans: dict[str, tuple[float, float]] = {}
        streams = []
        for k, plan in enumerate(random_plans(args.streams, args.seed)):
            streams.append(
                build_stream(plan, Path(tmp) / f"stream{k}.mp4", videos=videos, spans=spans)
            )
            log(f"built stream {k}: {streams[-1].duration_s:.1f} s, {[w for w, _, _ in plan]}")
        tracked = []
        for s in streams:
            tracked.append(track_stream(s.path))
            log(f"tracked {s.path.name}: {np.median(tracked[-1].track_ms):.1f} ms/frame")

        # 1. segmenters compared
        variants: list[tuple[str, object]] = []
        for gap in (0.06, 0.1, 0.2):  # 2, 3 and 6 frames at 30 fps
            variants.append(
                (
                    f"hands leaving, gap {gap * 1000:.0f} ms",
                    SegmenterConfig(end_gap_s=gap, motion=False),
                )
            )
        for still in (0.2, 0.3, 0.5):
            name = f"hands leaving or still {still * 1000:.0f} ms"
            variants.append((name, SegmenterConfig(still_s=still)))
        default = SegmenterConfig()
        seg_rows = []
        scores = {}
        for name, cfg in variants:
            score = Score()
            for s, t in zip(streams, tracked, strict=True):
                score.add(s.signs, run_segmenter(t, cfg))
            scores[name] = score
            mark = " (default)" if cfg == default else ""
            seg_rows.append(score.row(name + mark))
            log(seg_rows[-1])
        window_score = Score()
        window_ms: list[float] = []
        for s, t in zip(streams, tracked, strict=True):
            found, per_frame = run_window(t, recognizer, threshold)
            window_score.add(s.signs, found)
            window_ms += [m for m in per_frame if m > 0]
        seg_rows.append(
            window_score.row(f"sliding window 1 s / 0.2 s, no sign below {threshold:.2f}")
        )
        log(seg_rows[-1])

        # 2. recognition with the default segmenter
        rec_score = Score()
        seq_ok = 0
        errors = words = 0
        in_vocab = correct = oov = oov_quiet = wrong = 0
        per_word: dict[str, int] = {}
        model_ms: list[float] = []
        per_frame_total: list[float] = []
        transcripts = []
        for s, t in zip(streams, tracked, strict=True):
            found, per_frame, calls = run_recogniser(t, recognizer, default)
            per_frame_total += list(np.asarray(per_frame) + t.track_ms)
            model_ms += calls
            m = rec_score.add(s.signs, found)
            by_truth = {i: found[j] for i, j, _ in m}
            for i, sign in enumerate(s.signs):
                f = by_truth.get(i)
                if sign.word in vocabulary:
                    in_vocab += 1
                    hit = bool(f is not None and f.label == sign.word)
                    correct += hit
                    per_word[sign.word] = per_word.get(sign.word, 0) + hit
                    wrong += bool(f is not None and f.label not in (sign.word, "unknown"))
                else:
                    oov += 1
                    oov_quiet += bool(f is None or f.label == "unknown")
            truth_seq = [x.word for x in s.signs if x.word in vocabulary]
            said = [f.label for f in found if f.label and f.label != "unknown"]
            seq_ok += said == truth_seq
            errors += edit_distance(truth_seq, said)
            words += len(truth_seq)
            transcripts.append((truth_seq, said))

        rolled = 0  # the same with a 0.1 s pre-roll (the evidence for pre_roll_s = 0)
        for s, t in zip(streams, tracked, strict=True):
            found, _, _ = run_recogniser(t, recognizer, SegmenterConfig(pre_roll_s=0.1))
            m = match(
                [(x.start_s, x.end_s) for x in s.signs], [(f.start_s, f.end_s) for f in found]
            )
            rolled += sum(found[j].label == s.signs[i].word for i, j, _ in m)

        # 3. real time
        rt = [realtime_run(s, recognizer, default) for s in streams[: args.realtime]]
        stress = realtime_run(streams[0], recognizer, default, speed=2.0)

    load_after = os.getloadavg()[0]
    all_track = np.concatenate([t.track_ms for t in tracked])
    rt_frame = [x for r in rt for x in r["frame_ms"]]  # type: ignore[union-attr]
    rt_delays = [x for r in rt for x in r["delays"]]  # type: ignore[union-attr]
    rt_pending = [x for r in rt for x in r["pending_delays"]]  # type: ignore[union-attr]
    rt_pending_same = sum(int(r["pending_same"]) for r in rt)  # type: ignore[call-overload]
    rt_frames = sum(int(r["frames"]) for r in rt)  # type: ignore[call-overload]
    rt_dropped = sum(int(r["dropped"]) for r in rt)  # type: ignore[call-overload]
    presence_only = scores[variants[1][0]]
    default_score = next(scores[n] for n, c in variants if c == default)
    model_name = (
        "bundled default model"
        if args.model is None
        else f"{args.model} (a run directory given with --model, not the bundled model)"
    )
    total_frames = sum(len(t.timestamps) for t in tracked)
    total_s = sum(s.duration_s for s in streams)
    off_delay = np.asarray(rec_score.delay) * 1000 + np.median(per_frame_total)

    lines = [
        header(command_line()),
        f"Model: {model_name} ({len(recognizer.classes)} classes, temperature "
        f"{recognizer.temperature:.2f}, unknown threshold {threshold:.2f}"
        f"{'' if recognizer.threshold is not None else ' (default: model not calibrated)'}). "
        f"Process {pinned}, torch 1 thread. {load_note(load_before, load_after)}",
        "",
        f"{len(streams)} generated streams ({total_s:.0f} s, {total_frames} frames at 30 fps, "
        f"640x480): each holds the 8 real sign videos once in a random order (seed {args.seed}) "
        "with 0.6-1.5 s pauses (every other stream: the last frame frozen, else grey). 4 of the "
        "8 signs (apple, hello, "
        "school, table) are in the model's vocabulary; deaf, friend, happy and learn are not and "
        "should come out unknown. Truth spans: first to last frame with a hand (offline tracking "
        "of each source video).",
        "",
        "### Segmentation (label-agnostic; match = IoU >= 0.5)",
        "",
        "| segmenter | precision | recall | found / true | mean IoU | median abs start err ms | "
        "median abs end err ms | median end-to-close ms |",
        "|---|---|---|---|---|---|---|---|",
        *seg_rows,
        "",
        f"Choice: with hands leaving alone recall is {presence_only.recall:.0%} (signs merge "
        "while the hands stay in view across a frozen pause); with the stillness rule it is "
        f"{default_score.recall:.0%} at {default_score.precision:.0%} precision, at the same "
        "delay. The stillness duration (200-500 ms) makes no difference on these streams; "
        "300 ms keeps a margin over the longest hold inside a real sign (7 frames of `learn`). "
        f"The sliding window reaches {window_score.precision:.0%} precision, "
        f"{window_score.recall:.0%} recall, mean IoU "
        f"{np.mean(window_score.ious) if window_score.ious else 0:.2f}.",
        "End-to-close = stream time from the true end of a sign to the frame that closes it "
        "(before processing time). The sliding window needs the model every 6 frames "
        f"(median {np.median(window_ms) if window_ms else 0:.1f} ms per call) and finds only "
        "signs the model is sure of.",
        "",
        "### Recognition (default segmenter)",
        "",
        f"- Segments: precision {rec_score.precision:.1%}, recall {rec_score.recall:.1%}.",
        f"- In-vocabulary signs recognised (matched segment with the right label): {correct} / "
        f"{in_vocab}; out-of-vocabulary signs kept quiet (unknown or no event): {oov_quiet} / "
        f"{oov}; in-vocabulary signs given a wrong label: {wrong}. Per sign: "
        + ", ".join(f"{w} {n}/{len(streams)}" for w, n in sorted(per_word.items()))
        + f". With a 0.1 s pre-roll before motion onsets: {rolled} / {in_vocab} recognised.",
        f"- Sequence accuracy (recognised labels == true in-vocabulary sequence): {seq_ok} / "
        f"{len(streams)} streams; word error rate {errors / max(words, 1):.1%}.",
        "- Transcripts (truth -> recognised): "
        + "; ".join(f"{' '.join(a)} -> {' '.join(b) or '(none)'}" for a, b in transcripts[:3]),
        "",
        "### Latency at 30 fps, one core",
        "",
        f"- Tracking (MediaPipe Tasks, full): median {np.median(all_track):.1f} ms/frame, p95 "
        f"{pct(all_track, 95):.1f} ms ({total_frames} frames).",
        f"- Model per call (a sign answered when its end is first seen, or again when it "
        f"closes on other frames): median {np.median(model_ms) if model_ms else 0:.1f} ms, "
        f"p95 {pct(model_ms, 95):.1f} ms ({len(model_ms)} calls).",
        f"- Processing per frame (tracking + segmenting + model): median "
        f"{np.median(per_frame_total):.1f} ms, p95 {pct(per_frame_total, 95):.1f} ms.",
        f"- End of sign to event, offline estimate (end-to-close + median frame processing): "
        f"median {np.median(off_delay) if off_delay.size else float('nan'):.0f} ms, "
        f"p90 {pct(off_delay, 90):.0f} ms.",
        f"- Real time ({len(rt)} streams played at 30 fps through FramePump, frames dropped when "
        f"behind): end of sign to event median {pct(rt_delays, 50) * 1000:.0f} ms, "
        f"p90 {pct(rt_delays, 90) * 1000:.0f} ms over {len(rt_delays)} matched signs; "
        f"processing median {np.median(rt_frame):.1f} ms/frame, p95 {pct(rt_frame, 95):.1f} ms; "
        f"{rt_dropped} of {rt_frames + rt_dropped} frames dropped. The pending label "
        "(`StreamingRecognizer.pending`, what a display can show before the segmenter is sure "
        f"the sign is over) came first for {len(rt_pending)} of them, median "
        f"{pct(rt_pending, 50) * 1000:.0f} ms, p90 {pct(rt_pending, 90) * 1000:.0f} ms after the "
        f"end of the sign, the final label for {rt_pending_same} of them.",
        f"- Overload check, stream 0 as a 60 fps camera (timestamps halved, budget 16.7 ms a "
        f"frame): {stress['dropped']} of {int(stress['frames']) + int(stress['dropped'])} frames "
        f"dropped (queue of 2, oldest dropped), {stress['matched']} of {stress['signs']} signs "
        f"still found, end of sign to event median {pct(stress['delays'], 50) * 1000:.0f} ms.",
    ]
    body = "\n".join(lines)
    print(body)
    raw = {
        "segmenters": {
            k: {"precision": v.precision, "recall": v.recall} for k, v in scores.items()
        },
        "window": {"precision": window_score.precision, "recall": window_score.recall},
        "realtime_delays_ms": [round(x * 1000) for x in rt_delays],
        "realtime_dropped": rt_dropped,
        "stress_delays_ms": [round(x * 1000) for x in stress["delays"]],  # type: ignore[union-attr]
    }
    print(json.dumps(raw), file=sys.stderr)
    if not args.no_write:
        write_section("Streaming (issue #6)", body)


if __name__ == "__main__":
    main()
