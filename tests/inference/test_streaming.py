"""StreamingRecognizer: segmentation on real concatenated videos, events, debounce, drops."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aslrec.errors import ConfigError, DataError
from aslrec.inference.recognizer import Prediction, Recognizer
from aslrec.inference.streaming import (
    FramePump,
    Segmenter,
    SegmenterConfig,
    SignEvent,
    StreamingRecognizer,
    motion_speed,
)

FPS = 30.0
rng = np.random.default_rng(0)
SHAPE = rng.uniform(-0.05, 0.05, size=(21, 3)).astype(np.float32)


def hand_frame(centre: tuple[float, float] | None, second: bool = False) -> tuple[Any, Any]:
    """One synthetic landmark frame: a rigid hand at ``centre`` (None = no hand)."""
    lm = np.zeros((2, 21, 3), np.float32)
    pr = np.zeros(2, bool)
    if centre is not None:
        lm[1] = SHAPE + np.array([centre[0], centre[1], 0.0], np.float32)
        pr[1] = True
        if second:
            lm[0] = lm[1] + np.array([0.3, 0.0, 0.0], np.float32)
            pr[0] = True
    return lm, pr


def feed(seg: Segmenter, centres: list[tuple[float, float] | None], t0: float = 0.0) -> list[Any]:
    out = []
    for i, c in enumerate(centres):
        out += seg.push(*hand_frame(c), t0 + i / FPS)
    return out


def moving(n: int, start: float = 0.3) -> list[tuple[float, float] | None]:
    return [(start + 0.01 * i, 0.5 + 0.05 * np.sin(i / 3)) for i in range(n)]


class FakeRecognizer:
    """Answers each clip with the next (label, probability) of a script."""

    threshold = None
    tracker_options = None

    def __init__(self, script: list[tuple[str, float]]) -> None:
        self.classes = ["apple", "hello", "table"]
        self.script = list(script)
        self.calls = 0

    def predict_clips(self, clips: list[Any], top_k: int = 3) -> list[Prediction]:
        out = []
        for clip in clips:
            label, p = self.script[min(self.calls, len(self.script) - 1)]
            self.calls += 1
            others = [(c, (1 - p) / 2) for c in self.classes if c != label]
            out.append(Prediction(clip.source, [(label, p), *others][:top_k], clip.num_frames, 1.0))
        return out


# --------------------------------------------------------------------------------------------
# Real videos
# --------------------------------------------------------------------------------------------
def test_segments_of_concatenated_real_videos_in_order(
    two_sign_stream: Any, two_sign_tracked: Any
) -> None:
    t = two_sign_tracked
    seg = Segmenter()
    found = []
    for lm, pr, ts in zip(t.landmarks, t.presence, t.timestamps, strict=True):
        found += seg.push(lm, pr, ts)
    found += seg.flush()
    truth = two_sign_stream.signs
    assert [s.word for s in truth] == ["hello", "table"]
    assert len(found) == 2
    for sign, segment in zip(truth, found, strict=True):
        assert abs(segment.start_s - sign.start_s) <= 0.2, (sign, segment)
        assert abs(segment.end_s - sign.end_s) <= 0.35, (sign, segment)
        assert segment.closed_s - sign.end_s <= 0.75  # the frozen end waits for still_s
    assert found[0].reason == "hands_left"


def test_streaming_recognizer_events_on_real_landmarks(
    random_run_dir: Path, two_sign_stream: Any, two_sign_tracked: Any
) -> None:
    t = two_sign_tracked
    recognizer = Recognizer.load(random_run_dir)
    stream = StreamingRecognizer(recognizer, threshold=0.0, top_k=2)
    events = []
    for lm, pr, ts in zip(t.landmarks, t.presence, t.timestamps, strict=True):
        events += stream.push_landmarks(lm, pr, ts)
    events += stream.flush()
    assert len(events) == 2
    assert events[0].end_s < events[1].start_s
    for event, sign in zip(events, two_sign_stream.signs, strict=True):
        assert abs(event.start_s - sign.start_s) <= 0.2
        assert event.label in recognizer.classes and len(event.top_k) == 2
        assert set(event.to_dict()) == {"start_s", "end_s", "label", "probability", "top_k"}
    assert stream.stats.frames == len(t.timestamps) and stream.stats.hand_frames > 50


def test_events_and_predictions_share_one_json_shape() -> None:
    # one top-k serialiser (Prediction.top_k_json), one precision, for every JSON answer
    pairs = [("hello", 0.123456789), ("table", 0.0000004)]
    event = SignEvent(0.0, 1.0, "hello", 0.123456789, pairs).to_dict()
    prediction = Prediction("<x>", pairs, 10, 1.0).to_dict()
    want = [{"label": "hello", "probability": 0.123457}, {"label": "table", "probability": 0.0}]
    assert event["top_k"] == prediction["predictions"] == want
    assert event["probability"] == prediction["probability"] == 0.123457


def test_no_event_on_a_real_stretch_without_hands(random_run_dir: Path, grey_video: Path) -> None:
    from aslrec.landmarks.video import read_frames

    with StreamingRecognizer(Recognizer.load(random_run_dir), threshold=0.0) as stream:
        events = [e for rgb, ts in read_frames(grey_video) for e in stream.push_frame(rgb, ts)]
        events += stream.flush()
    assert events == []
    assert stream.stats.frames == 30 and stream.stats.hand_frames == 0


# --------------------------------------------------------------------------------------------
# Segmentation rules (synthetic landmarks)
# --------------------------------------------------------------------------------------------
def test_nothing_without_hands() -> None:
    seg = Segmenter()
    assert feed(seg, [None] * 90) == [] and seg.flush() == []


def test_hands_leaving_end_a_sign_and_a_one_frame_dropout_does_not() -> None:
    seg = Segmenter()
    centres = moving(20)
    centres[10] = None  # the tracker loses the hand for one frame
    out = feed(seg, [None] * 5 + centres + [None] * 10)
    assert len(out) == 1
    s = out[0]
    assert s.reason == "hands_left"
    assert s.start_s == pytest.approx(5 / FPS) and s.end_s == pytest.approx(24 / FPS)
    assert s.closed_s - s.end_s == pytest.approx(3 / FPS)  # end_gap_s = 0.1 s = 3 frames
    assert s.clip.num_frames == 20 and s.clip.frame_mask.sum() == 19


def test_still_hands_end_a_sign_and_motion_starts_the_next() -> None:
    seg = Segmenter()
    first = moving(20)
    hold = [first[-1]] * 15  # 0.5 s frozen
    second = moving(20, start=first[-1][0])
    out = feed(seg, first + hold + second + [None] * 5)
    assert [s.reason for s in out] == ["still", "hands_left"]
    assert out[0].end_s == pytest.approx(20 / FPS)  # where the hands stopped
    assert 35 / FPS <= out[1].start_s <= 36 / FPS  # where they move again
    with_roll = feed(Segmenter(SegmenterConfig(pre_roll_s=0.1)), first + hold + second + [None] * 5)
    assert with_roll[1].start_s == pytest.approx(out[1].start_s - 0.1)


def test_without_motion_rule_still_hands_do_not_split() -> None:
    seg = Segmenter(SegmenterConfig(motion=False))
    first = moving(20)
    out = feed(seg, first + [first[-1]] * 15 + moving(20, start=first[-1][0]) + [None] * 5)
    assert len(out) == 1


def test_short_blip_is_discarded_and_max_length_splits() -> None:
    seg = Segmenter()
    assert feed(seg, moving(3) + [None] * 5) == [] and seg.discarded == 1
    seg = Segmenter(SegmenterConfig(max_sign_s=1.0, max_frames=40))
    out = feed(seg, moving(75) + [None] * 5)
    assert [s.reason for s in out] == ["max_length", "max_length", "hands_left"]
    assert all(s.clip.num_frames <= 30 for s in out)


def test_motion_speed_ignores_distance_to_camera() -> None:
    pr = np.array([True, False])
    near, far = np.stack([SHAPE * 2] * 2), np.stack([SHAPE] * 2)
    a = motion_speed((near, pr, 0.0), near + 0.02, pr, 1 / 30)  # twice as big, twice the step
    b = motion_speed((far, pr, 0.0), far + 0.01, pr, 1 / 30)
    assert a == pytest.approx(b, rel=1e-4)
    assert motion_speed(None, *hand_frame((0.5, 0.5)), 0.0) == np.inf
    assert motion_speed(None, *hand_frame(None), 0.0) is None


def test_bad_config_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="end_gap_s"):
        SegmenterConfig(end_gap_s=0)
    with pytest.raises(ConfigError, match="still_speed"):
        SegmenterConfig(still_speed=2.0, move_speed=1.0)


# --------------------------------------------------------------------------------------------
# Events: threshold, debounce
# --------------------------------------------------------------------------------------------
def push_all(stream: StreamingRecognizer, centres: list[Any]) -> list[Any]:
    events = []
    for i, c in enumerate(centres):
        events += stream.push_landmarks(*hand_frame(c), i / FPS)
    return events + stream.flush()


def test_unsure_sign_is_unknown_and_silent_by_default() -> None:
    centres = moving(20) + [None] * 10 + moving(20) + [None] * 10
    stream = StreamingRecognizer(FakeRecognizer([("hello", 0.9), ("apple", 0.3)]), threshold=0.5)
    events = push_all(stream, centres)
    assert [e.label for e in events] == ["hello"]
    assert stream.stats.rejected == 1 and stream.transcript() == ["hello"]
    loud = StreamingRecognizer(
        FakeRecognizer([("hello", 0.9), ("apple", 0.3)]), threshold=0.5, emit_unknown=True
    )
    assert [e.label for e in push_all(loud, centres)] == ["hello", "unknown"]


def test_one_sign_is_emitted_once() -> None:
    # a sign split by a 5-frame dropout: same label, 0.17 s apart -> one event, extended
    centres = moving(20) + [None] * 5 + moving(20, start=0.5) + [None] * 10
    stream = StreamingRecognizer(FakeRecognizer([("table", 0.8)]), threshold=0.5)
    events = push_all(stream, centres)
    assert len(events) == 1 and stream.stats.repeats == 1
    assert events[0].end_s == pytest.approx(44 / FPS)
    # the same sign twice with a real pause is two events
    centres = moving(20) + [None] * 20 + moving(20) + [None] * 10
    stream = StreamingRecognizer(FakeRecognizer([("table", 0.8)]), threshold=0.5)
    assert len(push_all(stream, centres)) == 2


def pending_trace(stream: StreamingRecognizer, centres: list[Any]) -> list[Any]:
    """Per frame: the events it completed and :attr:`~StreamingRecognizer.pending` after it."""
    trace = []
    for i, c in enumerate(centres):
        events = stream.push_landmarks(*hand_frame(c), i / FPS)
        trace.append((events, stream.pending))
    return trace


def test_hands_leaving_the_pending_event_comes_first_and_is_the_event() -> None:
    recognizer = FakeRecognizer([("hello", 0.9)])
    stream = StreamingRecognizer(recognizer, threshold=0.5)
    trace = pending_trace(stream, [None] * 5 + moving(20) + [None] * 10)
    pending_at = next(i for i, (_, p) in enumerate(trace) if p is not None)
    final_at = next(i for i, (e, _) in enumerate(trace) if e)
    assert (pending_at, final_at) == (25, 27)  # the first frame without a hand; end_gap_s later
    pending, (event,) = trace[pending_at][1], trace[final_at][0]
    assert pending is not None
    assert (pending.label, pending.start_s, pending.end_s) == (
        event.label,
        event.start_s,
        event.end_s,
    )
    assert recognizer.calls == 1  # the pending answer is the event's
    assert trace[final_at][1] is None


def test_the_pending_event_is_withdrawn_when_the_sign_goes_on() -> None:
    centres = moving(20)
    centres[10] = None  # the tracker loses the hand for one frame
    stream = StreamingRecognizer(FakeRecognizer([("hello", 0.9)]), threshold=0.5)
    trace = pending_trace(stream, centres + [None] * 10)
    assert trace[10][1] is not None and trace[11][1] is None
    assert sum(len(e) for e, _ in trace) == 1


def test_still_hands_give_a_pending_event_before_still_s() -> None:
    first = moving(20)
    recognizer = FakeRecognizer([("apple", 0.9)])
    stream = StreamingRecognizer(recognizer, threshold=0.5)
    trace = pending_trace(stream, first + [first[-1]] * 15 + [None] * 5)
    pending_at = next(i for i, (_, p) in enumerate(trace) if p is not None)
    final_at = next(i for i, (e, _) in enumerate(trace) if e)
    assert (pending_at, final_at) == (23, 29)  # still from frame 20: 0.1 s, then still_s
    assert trace[final_at][0][0].reason == "still"
    assert recognizer.calls == 2  # the final clip holds more of the hold: classified again


def test_an_unsure_sign_has_no_pending_event_by_default() -> None:
    stream = StreamingRecognizer(FakeRecognizer([("apple", 0.3)]), threshold=0.5)
    assert all(p is None for _, p in pending_trace(stream, moving(20) + [None] * 10))


def test_timestamps_must_increase() -> None:
    stream = StreamingRecognizer(FakeRecognizer([("hello", 0.9)]))
    stream.push_landmarks(*hand_frame(None), 1.0)
    with pytest.raises(ValueError, match="increase"):
        stream.push_landmarks(*hand_frame(None), 1.0)


# --------------------------------------------------------------------------------------------
# FramePump: bounded, drops when behind
# --------------------------------------------------------------------------------------------
def frames(n: int, fps: float = 100.0) -> Any:
    for i in range(n):
        yield np.zeros((2, 2, 3), np.uint8), i / fps


def test_pump_drops_frames_when_the_consumer_is_slow() -> None:
    pump = FramePump(frames(50), pace=True, drop=True, maxsize=2)
    got = []
    for _, ts in pump:
        got.append(ts)
        time.sleep(0.03)  # 3x slower than the 100 fps source
    assert pump.dropped > 10 and len(got) + pump.dropped == 50
    assert got == sorted(got) and got[-1] == pytest.approx(0.49)  # the newest frame survives


def test_pump_fast_mode_never_drops() -> None:
    pump = FramePump(frames(200), pace=False, drop=False, maxsize=2)
    got = [ts for _, ts in pump]
    assert len(got) == 200 and pump.dropped == 0


def test_pump_raises_the_source_error_and_stops_cleanly() -> None:
    def broken() -> Any:
        yield from frames(3)
        raise DataError("video.mp4: truncated")

    pump = FramePump(broken(), pace=False, drop=False)
    with pytest.raises(DataError, match="truncated"):
        list(pump)
    closed = threading.Event()
    pump = FramePump(frames(10_000), pace=False, drop=False, on_close=closed.set)
    for _ in pump:
        break
    assert closed.is_set() and not pump._thread.is_alive()  # type: ignore[union-attr]


def test_the_live_window_shows_the_pending_word(monkeypatch: pytest.MonkeyPatch) -> None:
    from aslrec.workflows import live

    shown: list[list[str]] = []
    monkeypatch.setattr(
        live, "draw_overlay", lambda bgr, top, transcript, *a, **k: shown.append(transcript)
    )
    monkeypatch.setattr(live, "show_window", lambda bgr: True)
    stream = StreamingRecognizer(FakeRecognizer([("hello", 0.9)]), threshold=0.5)
    window = live._Window()
    rgb = np.zeros((48, 64, 3), np.uint8)
    for i, c in enumerate(moving(20) + [None] * 4):
        stream.push_landmarks(*hand_frame(c), i / FPS)
        assert window.show(rgb, stream)
    assert shown[20] == ["hello?"]  # the first frame without a hand: pending
    assert shown[-1] == ["hello"]  # end_gap_s later: the event
