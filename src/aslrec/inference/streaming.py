"""Continuous recognition: find where signs start and end in a stream, classify each sign once.

:class:`Segmenter` turns a stream of landmark frames into closed sign segments;
:class:`StreamingRecognizer` adds hand tracking (frames in) and the classifier (events out);
:class:`FramePump` feeds frames from a camera or a video on a thread through a bounded queue,
dropping frames (and counting them) when processing falls behind.

How signs are found (measured with ``benchmarks/segmentation.py`` on the real sign videos in
``../shared/data/videos``; numbers in ``benchmarks/RESULTS.md``):

- **Hands leaving.** A sign starts when a hand appears and ends when no hand has been seen for
  ``end_gap_s`` (0.1 s = 3 frames at 30 fps). The rest position of the signers in those videos
  is out of the frame, and inside a sign the tracker loses the hands for at most one frame
  (apple, deaf, happy: single-frame gaps), so a 3-frame gap separates signs without splitting
  one. Shorter gaps mean less delay (the event cannot come before the gap has passed).
- **Hands stopping.** When the hands stay in view between signs, only motion tells signs apart.
  Motion energy = the mean speed of the 21 landmarks of each hand in hand sizes per second (hand
  size = the diagonal of its box, so the distance to the camera does not matter), the faster
  hand counting. Inside real signs it stays below 0.3 hand sizes/s (0.01 per frame at 30 fps)
  for at most 7 frames in a row (the hold of ``learn``); a frozen or paused picture drops below
  that within 3 frames and stays there. So ``still_speed=0.3`` held for ``still_s=0.3`` s ends a
  sign; a new one starts when the hands move faster than ``move_speed`` again, at that frame:
  a pre-roll of the still frames before it (``pre_roll_s``) put the previous sign's final pose
  into the next clip and cost recognitions (``hello`` after a frozen ``friend``: 0.28 with a
  0.1 s pre-roll, 0.64 without; no sign gained), so it is off by default.
- **Sliding window with a "no sign" decision**, the third option of issue #6, is measured in
  the benchmark against these rules: classify the last second every 0.2 s, "no sign" below the
  unknown threshold, merge equal labels. On 6 generated streams (48 real signs) it reached 52 %
  precision and 73 % recall (mean IoU 0.72) against 98 % / 100 % (IoU 0.94) for hands leaving
  or stopping, and 94 % / 92 % for hands leaving alone (short-trained model; see RESULTS.md).
  It also runs the model 5 times a second and only finds signs the model is sure of, so
  signs outside the vocabulary vanish instead of being reported as unknown.

A closed segment shorter than ``min_sign_s`` or with fewer than ``min_hand_frames`` frames with a
hand is discarded (a hand glimpsed while passing). A segment longer than ``max_sign_s`` is closed
there, so the buffer stays bounded whatever happens.

Events. Each kept segment is classified once, when it closes, so one sign gives one event (no
per-frame flicker to debounce); a display that wants the label sooner reads
:attr:`StreamingRecognizer.pending`, the event the sign gives if it is over, answered as soon as
its end can be seen (when the sign then closes on those frames, that answer is its event).
Its top-1 probability (temperature-scaled when the model has a ``calibration.json``) is
compared with the unknown threshold: below it the segment is ``unknown``, reported only with
``emit_unknown=True`` and otherwise only counted. A segment with the same label as the previous
event that starts within ``repeat_gap_s`` of its end is taken as the same sign split by a
tracking dropout and not emitted again.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from aslrec.errors import ConfigError
from aslrec.landmarks.clip import COORDS, HANDS, POINTS, LandmarkClip

if TYPE_CHECKING:
    from aslrec.inference.recognizer import Prediction, Recognizer
    from aslrec.landmarks.hands import HandTracker

UNKNOWN = "unknown"
DEFAULT_THRESHOLD = 0.5
"""Unknown threshold for a model without ``calibration.json`` (see ``aslrec calibrate``)."""

_EPS = 1e-6
"""Slack in time comparisons, so 3 frames at 30 fps count as 0.1 s despite rounding."""

EndReason = Literal["hands_left", "still", "max_length", "end_of_stream"]


# --------------------------------------------------------------------------------------------
# Segmentation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmenterConfig:
    """Where a sign starts and ends; all durations in seconds, speeds in hand sizes per second.

    ``motion=False`` ends signs only on hands leaving (or ``max_sign_s``).
    """

    end_gap_s: float = 0.1
    motion: bool = True
    still_speed: float = 0.3
    still_s: float = 0.3
    move_speed: float = 0.6
    pre_roll_s: float = 0.0
    min_sign_s: float = 0.2
    min_hand_frames: int = 5
    max_sign_s: float = 6.0
    max_frames: int = 600

    def __post_init__(self) -> None:
        for name in ("end_gap_s", "still_s", "min_sign_s", "max_sign_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number of seconds, not {value}")
        if not 0 <= self.pre_roll_s < self.max_sign_s:
            raise ConfigError(f"pre_roll_s must be in [0, max_sign_s), not {self.pre_roll_s}")
        if not 0 < self.still_speed <= self.move_speed:
            raise ConfigError("need 0 < still_speed <= move_speed")
        if self.min_hand_frames < 1 or self.max_frames < self.min_hand_frames:
            raise ConfigError("need 1 <= min_hand_frames <= max_frames")


@dataclass(frozen=True)
class Segment:
    """One closed sign: its span and its frames (the clip the classifier sees)."""

    start_s: float
    end_s: float
    closed_s: float
    """Stream time of the frame that closed it (the earliest an event can be emitted)."""
    reason: EndReason
    clip: LandmarkClip


def motion_speed(
    prev: tuple[np.ndarray, np.ndarray, float] | None,
    landmarks: np.ndarray,
    presence: np.ndarray,
    timestamp_s: float,
) -> float | None:
    """Motion energy between two frames: the faster hand's mean landmark speed, in hand sizes
    per second. ``inf`` when a hand appeared or vanished; None without any hand."""
    if not presence.any():
        return None
    if prev is None:
        return math.inf
    p_lm, p_pr, p_ts = prev
    if not np.array_equal(p_pr, presence):
        return math.inf
    dt = max(timestamp_s - p_ts, 1e-3)
    speeds = []
    for h in np.flatnonzero(presence):
        now, before = landmarks[h, :, :2], p_lm[h, :, :2]
        size = float(np.linalg.norm(np.ptp(now, axis=0)))
        step = float(np.linalg.norm(now - before, axis=1).mean())
        speeds.append(step / max(size, 1e-6) / dt)
    return max(speeds)


class Segmenter:
    """Landmark frames in, closed :class:`Segment` s out (see the module docstring for rules).

    States: ``idle`` (no hand), ``active`` (a sign in progress), ``held`` (hands in view but
    still after a sign ended on stillness; waits for motion). Memory is bounded: the current
    sign holds at most ``max_frames`` frames and the pre-roll a handful.
    """

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        self.config = config or SegmenterConfig()
        self.reset()

    def reset(self) -> None:
        self.state: Literal["idle", "active", "held"] = "idle"
        self._frames: deque[tuple[np.ndarray, np.ndarray, float]] = deque(
            maxlen=self.config.max_frames
        )
        self._pre_roll: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=16)
        self._prev: tuple[np.ndarray, np.ndarray, float] | None = None
        self._last_hand_s = -math.inf
        self._still_since: float | None = None
        self.discarded = 0

    @property
    def in_sign(self) -> bool:
        return self.state == "active"

    @property
    def still_since(self) -> float | None:
        """When the hands of the sign in progress stopped moving (None while they move)."""
        return self._still_since

    def current_clip(self) -> LandmarkClip | None:
        """The sign in progress so far (for a provisional display), or None."""
        if self.state != "active" or not self._frames:
            return None
        return _clip(list(self._frames), source="<live>")

    def push(
        self, landmarks: np.ndarray, presence: np.ndarray, timestamp_s: float
    ) -> list[Segment]:
        """Add one frame; returns the segments it closed (0, or 1; 2 only on a forced split)."""
        cfg = self.config
        lm = np.asarray(landmarks, dtype=np.float32).reshape(HANDS, POINTS, COORDS)
        pr = np.asarray(presence, dtype=bool).reshape(HANDS)
        ts = float(timestamp_s)
        speed = motion_speed(self._prev, lm, pr, ts)
        self._prev = (lm, pr, ts) if pr.any() else None
        frame = (lm, pr, ts)
        has_hand = bool(pr.any())
        closed: list[Segment] = []

        if self.state == "active":
            start_s = self._frames[0][2]
            if ts - start_s >= cfg.max_sign_s - _EPS or len(self._frames) >= cfg.max_frames:
                # too long: close it here; this frame starts the next sign if it has a hand
                closed += self._close(self._frames[-1][2], ts, "max_length")
                self.state = "idle"
                if has_hand:
                    self._begin([frame], ts)
                return closed
            if has_hand:
                self._last_hand_s = ts
            self._frames.append(frame)
            if has_hand and cfg.motion and speed is not None and speed < cfg.still_speed:
                if self._still_since is None:
                    self._still_since = ts
            else:
                self._still_since = None
            if not has_hand and ts - self._last_hand_s >= cfg.end_gap_s - _EPS:
                closed += self._close(self._last_hand_s, ts, "hands_left")
                self.state = "idle"
            elif self._still_since is not None and ts - self._still_since >= cfg.still_s - _EPS:
                closed += self._close(self._still_since, ts, "still")
                self.state = "held"
            return closed

        if not has_hand:
            self.state = "idle"
            self._pre_roll.clear()
            return closed
        if self.state == "held" and (speed is None or speed < cfg.move_speed):
            self._pre_roll.append(frame)
            return closed
        # a hand appeared (idle) or the still hands started moving (held): a sign begins
        roll = [f for f in self._pre_roll if ts - f[2] <= cfg.pre_roll_s + _EPS]
        self._begin([*roll, frame], ts)
        return closed

    def _begin(self, frames: list[tuple[np.ndarray, np.ndarray, float]], ts: float) -> None:
        self.state = "active"
        self._frames.clear()
        self._frames.extend(frames)
        self._pre_roll.clear()
        self._last_hand_s = ts
        self._still_since = None

    def flush(self, timestamp_s: float | None = None) -> list[Segment]:
        """End of stream: close the sign in progress, if any."""
        if self.state != "active" or not self._frames:
            self.state = "idle"
            return []
        end = self._still_since if self._still_since is not None else self._last_hand_s
        closed_s = timestamp_s if timestamp_s is not None else self._frames[-1][2]
        out = self._close(end, closed_s, "end_of_stream")
        self.state = "idle"
        return out

    def candidate(self, reason: Literal["hands_left", "still"], now_s: float) -> Segment | None:
        """The segment the sign in progress would close as if it ended now for ``reason``
        (None when there is no sign or it would be dropped); nothing changes."""
        if self.state != "active" or not self._frames:
            return None
        end = self._still_since if reason == "still" else self._last_hand_s
        if end is None:
            return None
        return self._segment(end, now_s, reason)

    def _close(self, end_s: float, closed_s: float, reason: EndReason) -> list[Segment]:
        segment = self._segment(end_s, closed_s, reason)
        self._frames.clear()
        self._still_since = None
        self._pre_roll.clear()
        if segment is None:
            self.discarded += 1
            return []
        return [segment]

    def _segment(self, end_s: float, closed_s: float, reason: EndReason) -> Segment | None:
        """The frames so far as a kept segment, or None when they are too short to keep."""
        cfg = self.config
        frames = list(self._frames)  # a "still" sign keeps its final hold: it shows the handshape
        while frames and not frames[-1][1].any():  # trailing frames without hands
            frames.pop()
        hand_frames = sum(bool(f[1].any()) for f in frames)
        if not frames or hand_frames < cfg.min_hand_frames:
            return None
        start_s = next(f[2] for f in frames if f[1].any())
        if end_s - start_s < cfg.min_sign_s:
            return None
        return Segment(start_s, end_s, closed_s, reason, _clip(frames, source="<stream>"))


def _same_frames(a: Segment, b: Segment) -> bool:
    """Whether two segments of one stream hold the same frames."""
    ta, tb = a.clip.timestamps, b.clip.timestamps
    if ta is None or tb is None or len(ta) != len(tb) or not len(ta):
        return False
    return bool(ta[0] == tb[0] and ta[-1] == tb[-1])


def merge_views(
    landmarks: np.ndarray, presence: np.ndarray, other: np.ndarray, other_presence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One frame from two trackings of it: a hand seen in both is their mean, a hand seen in
    one is that one. Symmetric, and mirroring commutes with it, so the merged stream of a
    mirrored video is the mirror image of the original's and signs are found at the same
    times in both."""
    a, b = np.asarray(presence, bool), np.asarray(other_presence, bool)
    both = (a & b)[:, None, None]
    merged = np.where(both, (landmarks + other) / 2, np.where(a[:, None, None], landmarks, other))
    return merged.astype(np.float32), a | b


def _clip(frames: list[tuple[np.ndarray, np.ndarray, float]], *, source: str) -> LandmarkClip:
    return LandmarkClip(
        landmarks=np.stack([f[0] for f in frames]),
        presence=np.stack([f[1] for f in frames]),
        timestamps=np.array([f[2] for f in frames], dtype=np.float64),
        source=source,
    )


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------
@dataclass
class SignEvent:
    """One recognised sign (``label`` is ``"unknown"`` below the threshold)."""

    start_s: float
    end_s: float
    label: str
    probability: float
    top_k: list[tuple[str, float]]
    decided_s: float = 0.0
    """Stream time of the frame whose processing emitted the event."""
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.label != UNKNOWN

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON, its top-k shaped and rounded like every other answer's."""
        # imported here: the recogniser module loads the model backends (PyTorch, ~1 s), which
        # segmentation alone (recording, settings) never needs
        from aslrec.inference.recognizer import Prediction

        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "label": self.label,
            "probability": Prediction.probability_json(self.probability),
            "top_k": Prediction.top_k_json(self.top_k),
        }


@dataclass
class StreamStats:
    """Counters and per-frame timings of a :class:`StreamingRecognizer` (timings bounded)."""

    frames: int = 0
    hand_frames: int = 0
    dropped: int = 0
    segments: int = 0
    events: int = 0
    rejected: int = 0
    repeats: int = 0
    track_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    model_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    @property
    def hand_rate(self) -> float:
        return self.hand_frames / self.frames if self.frames else 0.0

    def summary(self) -> str:
        track = f", tracking {np.median(self.track_ms):.1f} ms/frame" if self.track_ms else ""
        return (
            f"{self.frames} frames (hands in {self.hand_rate:.0%}), {self.events} signs, "
            f"{self.rejected} unsure, {self.dropped} dropped{track}"
        )


class StreamingRecognizer:
    """Frames (or landmark frames) one at a time in, :class:`SignEvent` s out when signs end.

    Args:
        recognizer: the classifier (its temperature and unknown threshold are used).
        tracker: a :class:`~aslrec.landmarks.hands.HandTracker` for :meth:`push_frame`; built
            from ``recognizer.tracker_options`` on first use when not given.
        config: segmentation settings.
        threshold: top-1 probability below which a sign is ``unknown``; default the model's
            calibrated threshold, else :data:`DEFAULT_THRESHOLD`.
        top_k: how many labels an event carries.
        emit_unknown: also emit events labelled ``unknown`` (otherwise they are only counted).
        repeat_gap_s: see the module docstring.
        both_views: track every frame also flipped left-right (a second tracker, twice the
            tracking time), as ``aslrec predict`` does: signs are found in the two views
            merged (:func:`merge_views`) and each is classified from both (the flipped one
            mirrored back), so a video and its mirror image give the same events.
        pending_still_s: stillness after which :attr:`pending` answers (before ``still_s``).
    """

    def __init__(
        self,
        recognizer: Recognizer,
        *,
        tracker: HandTracker | None = None,
        config: SegmenterConfig | None = None,
        threshold: float | None = None,
        top_k: int = 3,
        emit_unknown: bool = False,
        repeat_gap_s: float = 0.25,
        both_views: bool = False,
        pending_still_s: float = 0.1,
    ) -> None:
        self.recognizer = recognizer
        self._tracker = tracker
        self._own_tracker = tracker is None
        self.both_views = both_views
        self._flipped_tracker: HandTracker | None = None
        # Both views of the frames a sign in progress may still need, by timestamp.
        self._views: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.segmenter = Segmenter(config)
        if threshold is None:
            threshold = getattr(recognizer, "threshold", None)
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, not {self.threshold}")
        self.top_k = max(1, int(top_k))
        self.emit_unknown = emit_unknown
        self.repeat_gap_s = repeat_gap_s
        self.stats = StreamStats()
        self.events: list[SignEvent] = []
        self.segments: list[tuple[Segment, Prediction]] = []
        self.last_landmarks: tuple[np.ndarray, np.ndarray] | None = None
        self._last_ts: float | None = None
        self._provisional: tuple[float, Prediction | None] = (-math.inf, None)
        self.pending_still_s = pending_still_s
        self._early: tuple[str, Segment, Prediction] | None = None  # for :attr:`pending`

    @property
    def tracker(self) -> HandTracker:
        if self._tracker is None:
            self._tracker = self._new_tracker()
        return self._tracker

    def _new_tracker(self) -> HandTracker:
        """A hand tracker with the recogniser's options (MediaPipe loads only when needed)."""
        from aslrec.landmarks.hands import HandTracker

        return HandTracker(getattr(self.recognizer, "tracker_options", None))

    def warm_up(self) -> None:
        """Load MediaPipe and run the model once, so the first frame and the first sign of a
        live stream do not pay for start-up (about a second) and get dropped or delayed."""
        _ = self.tracker
        rng = np.random.default_rng(0)
        dummy = LandmarkClip(
            rng.uniform(0.3, 0.7, (8, HANDS, POINTS, COORDS)), np.ones((8, HANDS), bool)
        )
        self.recognizer.predict_clips([dummy], self.top_k)

    # -- input ---------------------------------------------------------------------------
    def push_frame(self, rgb: np.ndarray, timestamp_s: float) -> list[SignEvent]:
        """Track one RGB frame and advance; returns the events it completed."""
        t0 = time.perf_counter()
        landmarks, presence = self.tracker.process(rgb, timestamp_s)
        if self.both_views:
            flipped = self._track_flipped(rgb, timestamp_s)
            oldest = timestamp_s - self.segmenter.config.max_sign_s - 1.0  # before any open sign
            while self._views and next(iter(self._views)) < oldest:
                del self._views[next(iter(self._views))]
            self._views[float(timestamp_s)] = (landmarks, presence, *flipped)
            landmarks, presence = merge_views(landmarks, presence, *flipped)
        self.stats.track_ms.append((time.perf_counter() - t0) * 1000.0)
        return self.push_landmarks(landmarks, presence, timestamp_s)

    def _track_flipped(self, rgb: np.ndarray, timestamp_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The frame flipped left-right, tracked by a tracker of its own (MediaPipe's video
        mode follows one stream), its hands mirrored back into the frame as recorded."""
        if self._flipped_tracker is None:
            self._flipped_tracker = self._new_tracker()
        landmarks, presence = self._flipped_tracker.process(
            np.ascontiguousarray(rgb[:, ::-1]), timestamp_s
        )
        back = LandmarkClip(landmarks[None], np.asarray(presence, bool)[None]).mirrored()
        return back.landmarks[0], back.presence[0]

    def push_landmarks(
        self, landmarks: np.ndarray, presence: np.ndarray, timestamp_s: float
    ) -> list[SignEvent]:
        """Advance by one landmark frame ``(2, 21, 3)`` + ``(2,)``; returns completed events."""
        ts = float(timestamp_s)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"timestamps must increase: {ts} after {self._last_ts}")
        self._last_ts = ts
        self.stats.frames += 1
        pr = np.asarray(presence, dtype=bool)
        self.stats.hand_frames += bool(pr.any())
        self.last_landmarks = (np.asarray(landmarks), pr)
        segments = self.segmenter.push(landmarks, pr, ts)
        if segments:
            return self._classify(segments, ts)
        self._answer_early(bool(pr.any()), ts)
        return []

    def flush(self) -> list[SignEvent]:
        """End of stream: classify the sign in progress."""
        ts = self._last_ts if self._last_ts is not None else 0.0
        return self._classify(self.segmenter.flush(ts), ts)

    # -- output --------------------------------------------------------------------------
    def _classify(self, segments: list[Segment], ts: float) -> list[SignEvent]:
        if not segments:
            return []
        out = []
        early = self._early
        self._early = None
        if early is not None and len(segments) == 1 and _same_frames(early[1], segments[0]):
            predictions = [early[2]]  # answered when the sign's end was first seen
        else:
            t0 = time.perf_counter()
            predictions = self._predict(segments)
            self.stats.model_ms.append((time.perf_counter() - t0) * 1000.0)
        for segment, prediction in zip(segments, predictions, strict=True):
            self.stats.segments += 1
            self.segments.append((segment, prediction))
            event = self._event(segment, prediction, ts)
            if event is not None:
                out.append(event)
        self._provisional = (-math.inf, None)
        return out

    def _predict(self, segments: list[Segment]) -> list[Prediction]:
        if self.both_views:
            return [self._predict_both_views(s) for s in segments]
        return self.recognizer.predict_clips([s.clip for s in segments], self.top_k)

    def _predict_both_views(self, segment: Segment) -> Prediction:
        """A sign's frames as tracked in each view, classified as one clip with its retracked
        view (the flipped view alone is left out when it saw no hand, as in ``predict``).
        Frames pushed as landmarks have one view only: such a sign is classified as it is."""
        frames = [self._views.get(float(t)) for t in segment.clip.timestamps]
        if any(f is None for f in frames):
            return self.recognizer.predict_clips([segment.clip], self.top_k)[0]
        clips = [
            replace(segment.clip, landmarks=np.stack([f[i] for f in frames]),
                    presence=np.stack([f[i + 1] for f in frames]))
            for i in (0, 2)
        ]  # fmt: skip
        recorded, flipped = clips
        if not recorded.presence.any():  # the hand was seen in the flipped view only
            recorded, flipped = flipped, recorded
        retracked = [flipped] if flipped.presence.any() else None
        return self.recognizer.predict_clips([recorded], self.top_k, retracked=retracked)[0]

    def _decide(
        self, segment: Segment, prediction: Prediction, ts: float
    ) -> tuple[SignEvent | None, SignEvent | None]:
        """``(event, merged_into)``: the segment's event, or the earlier event it continues
        (the same label again within ``repeat_gap_s``); nothing changes."""
        known = prediction.probability >= self.threshold
        label = prediction.label if known else UNKNOWN
        previous = next((e for e in reversed(self.events) if e.known), None)
        if (
            known
            and previous is not None
            and previous.label == label
            and segment.start_s - previous.end_s < self.repeat_gap_s
        ):
            return None, previous
        event = SignEvent(
            start_s=segment.start_s,
            end_s=segment.end_s,
            label=label,
            probability=prediction.probability,
            top_k=list(prediction.top_k),
            decided_s=ts,
            reason=segment.reason,
        )
        return event, None

    def _event(self, segment: Segment, prediction: Prediction, ts: float) -> SignEvent | None:
        event, merged_into = self._decide(segment, prediction, ts)
        if merged_into is not None:
            merged_into.end_s = segment.end_s
            self.stats.repeats += 1
            return None
        assert event is not None
        if not event.known:
            self.stats.rejected += 1
            if not self.emit_unknown:
                return None
        else:
            self.stats.events += 1
        self.events.append(event)
        return event

    @property
    def pending(self) -> SignEvent | None:
        """The event the sign in progress gives if it ends as it looks now: answered as soon as
        its end can be seen (the first frame without a hand, or ``pending_still_s`` of
        stillness), before the segmenter has waited long enough to be sure (``end_gap_s``,
        ``still_s``); None while the sign goes on, or when it would not be emitted. When the
        sign then closes on the very frames it was answered on (hands leaving), that answer is
        the event, with no second model call. For a display that shows a sign's label early
        and marks it pending (the browser page does)."""
        if self._early is None:
            return None
        _, segment, prediction = self._early
        event, _ = self._decide(segment, prediction, segment.closed_s)
        if event is None or not (event.known or self.emit_unknown):
            return None
        return event

    def _answer_early(self, has_hand: bool, ts: float) -> None:
        """Keep :attr:`pending`'s answer the one for how the sign in progress would end now."""
        seg = self.segmenter
        still = seg.still_since
        reason: Literal["hands_left", "still"] | None = None
        if seg.in_sign:
            if not has_hand:
                reason = "hands_left"
            elif still is not None and ts - still >= self.pending_still_s - _EPS:
                reason = "still"
        if reason is None:
            self._early = None
            return
        if self._early is not None and self._early[0] == reason:
            return
        segment = seg.candidate(reason, ts)
        if segment is None:
            self._early = None
            return
        t0 = time.perf_counter()
        prediction = self._predict([segment])[0]
        self.stats.model_ms.append((time.perf_counter() - t0) * 1000.0)
        self._early = (reason, segment, prediction)

    def provisional(self, every_s: float = 0.2) -> Prediction | None:
        """Top-k of the sign in progress, recomputed at most every ``every_s`` (for display)."""
        clip = self.segmenter.current_clip()
        if clip is None or clip.frame_mask.sum() < self.segmenter.config.min_hand_frames:
            return None
        when, cached = self._provisional
        now = self._last_ts if self._last_ts is not None else 0.0
        if cached is None or now - when >= every_s:
            cached = self.recognizer.predict_clips([clip], self.top_k)[0]
            self._provisional = (now, cached)
        return cached

    def transcript(self) -> list[str]:
        return [e.label for e in self.events if e.known]

    def close(self) -> None:
        if self._own_tracker and self._tracker is not None:
            self._tracker.close()
            self._tracker = None
        if self._flipped_tracker is not None:
            self._flipped_tracker.close()
            self._flipped_tracker = None

    def __enter__(self) -> StreamingRecognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Feeding frames: a thread and a bounded queue
# --------------------------------------------------------------------------------------------
_END = object()


class FramePump:
    """Reads ``(rgb, timestamp_s)`` frames on a thread and hands them over a bounded queue.

    ``pace=True`` releases each frame at its own timestamp on the wall clock (a video played as
    if it were a camera); ``drop=True`` drops the oldest waiting frame when the queue is full
    instead of waiting, so a slow consumer always gets recent frames and latency stays bounded
    (a camera always drops; a video played ``--fast`` never does). Errors of the source are
    raised in the consumer. Iterate once; ``dropped`` counts dropped frames, ``delivered`` the
    others, and ``t0`` is the wall-clock (``time.monotonic``) time the first frame was released
    (a paced frame with timestamp ``ts`` is released at ``t0 + ts - first_ts``).
    """

    def __init__(
        self,
        frames: Iterable[tuple[np.ndarray, float]],
        *,
        pace: bool,
        drop: bool,
        maxsize: int = 2,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._frames = frames
        self.pace = pace
        self.drop = drop
        self.maxsize = maxsize
        self.dropped = 0
        self.delivered = 0
        self.t0 = 0.0
        self._queue: deque[Any] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_close = on_close

    def _put(self, item: Any, *, force: bool = False) -> bool:
        with self._cond:
            while not force and len(self._queue) >= self.maxsize:
                if self.drop:
                    self._queue.popleft()
                    self.dropped += 1
                    break
                if self._stop.is_set():
                    return False
                self._cond.wait(0.05)
            self._queue.append(item)
            self._cond.notify_all()
            return True

    def _run(self) -> None:
        try:
            first: float | None = None
            for rgb, ts in self._frames:
                if self._stop.is_set():
                    break
                if self.pace:
                    if first is None:
                        first = ts
                    wait = self.t0 + (ts - first) - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        break
                if not self._put((rgb, ts)):
                    break
            self._put(_END, force=True)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc, force=True)

    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        if self._thread is not None:
            raise RuntimeError("a FramePump can be iterated once")
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="aslrec-frames", daemon=True)
        self._thread.start()
        try:
            while True:
                with self._cond:
                    while not self._queue:
                        self._cond.wait(0.1)
                    item = self._queue.popleft()
                    self._cond.notify_all()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                self.delivered += 1
                yield item
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        if self._on_close is not None:
            with contextlib.suppress(Exception):
                self._on_close()
            self._on_close = None
