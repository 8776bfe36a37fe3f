"""One WebSocket stream: frames of hands in, sign events and progress out.

A frame arrives either in aslrec's slots (``landmarks`` + ``presence``) or as the raw hands a
MediaPipe build reported (``hands``: label, score, 21 points each; what the browser page
sends). Raw hands get their slots from the Python tracker's own pipeline,
:class:`~aslrec.landmarks.hands.HandSlotter` (duplicates of one hand dropped, detections linked
into tracks, each track's slot following its accumulated handedness vote, so one flickering
label does not swap the hands), so a hand lands in the same slot as it would offline.

Handedness (``handedness`` of a frame message) names the convention the labels were made under,
mapped to slots by :data:`~aslrec.landmarks.hands.LABEL_SLOTS`: ``"selfie"`` for MediaPipe
Hands for JavaScript, which, like the legacy Python graph, labels hands as if the image were a
mirror (the page sends the camera's un-mirrored frames and mirrors only what it draws, so
``"Left"`` is the signer's own right hand, slot 1); ``"signer"`` for labels that already name
the signer's hand (MediaPipe Tasks on un-mirrored video). Coordinates are never flipped.

Then, in ``mode="signs"`` (the default), :class:`~aslrec.inference.streaming.StreamingRecognizer`
(issue #6) segments and classifies; in ``mode="fingerspelling"``,
:class:`~aslrec.inference.fingerspelling.FingerspellingDecoder` (issue #23) spells.

Messages out in ``signs`` mode (JSON objects, ``type`` first):

- ``event``: a sign ended: ``start_s``, ``end_s``, ``label`` (``"unknown"`` below the model's
  threshold, only sent when the socket asked for ``unknown=true``), ``probability``,
  ``top_k`` [{label, probability}], ``known``.
- ``pending``: the event the sign in progress gives if it ends as it looks now
  (:attr:`~aslrec.inference.streaming.StreamingRecognizer.pending`: answered at the first
  frame without a hand, or after 0.1 s of stillness, before the segmenter is sure the sign is
  over), with the fields of ``event``; sent when it changes; ``label`` null alone when it is
  withdrawn (the sign went on). The ``event`` that follows replaces it.
- ``partial``: sent at most every ``partial_every_s`` seconds of stream time (every frame when
  frames come slower): ``t``, ``in_sign``, the provisional
  ``label`` / ``probability`` / ``top_k`` of the sign in progress (null when none), and
  ``presence`` [left, right] of the latest frame (which slots the hands went to).

In ``fingerspelling`` mode, as soon as the decoder decides them:

- ``letter``: ``letter``, ``confidence``, ``start_s`` (the hand settled on it), ``emitted_s``
  (the frame that decided it: a frame's letters come in the replies to that frame; a late
  letter, decided when its hold ended, comes with the first frame after it), ``alternatives``
  [{letter, probability}] (the runner-ups, at most 3).
- ``word``: a word closed (the hand dropped, a pause, or ``flush``): ``word`` (the raw
  spelling), ``snapped`` / ``distance`` (the lexicon's nearest word, null without a lexicon or
  when every word is too far), ``letters`` (as in ``letter``), ``start_s``, ``closed_s``,
  ``reason``.
- ``partial`` (same rate as above): ``t``, ``spelling`` (the letters of the word in progress),
  ``presence``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from aslrec.inference.fingerspelling import (
    FingerspellingDecoder,
    Letter,
    Lexicon,
    SpellingConfig,
)
from aslrec.inference.recognizer import Prediction, Recognizer
from aslrec.inference.streaming import SegmenterConfig, SignEvent, StreamingRecognizer
from aslrec.landmarks.hands import HandDetection, HandSlotter
from aslrec.serving.schemas import FrameMessage

Mode = Literal["signs", "fingerspelling"]
MODES: tuple[Mode, ...] = ("signs", "fingerspelling")


class StreamInputError(ValueError):
    """A frame the stream cannot take (the socket answers with an ``error`` message)."""


@dataclass(frozen=True)
class StreamOptions:
    """Per-socket choices: what the stream decodes (``mode``), event labels, progress rate, the
    segmenter's settings (signs) and the decoder's (fingerspelling)."""

    mode: Mode = "signs"
    top_k: int = 3
    emit_unknown: bool = False
    partial_every_s: float = 0.25
    provisional_every_s: float = 0.2
    segmenter: SegmenterConfig | None = None
    spelling: SpellingConfig | None = None


def _finite(pairs: list[tuple[str, float]]) -> bool:
    return all(math.isfinite(p) for _, p in pairs)


def _sendable(event: SignEvent) -> bool:
    """Whether an event's numbers are finite (JSON cannot carry the others)."""
    return _finite(event.top_k) and math.isfinite(event.probability)


class StreamSession:
    """The state of one socket. Not thread-safe: call it from one thread at a time.

    ``lexicon`` (fingerspelling mode) is shared by all sockets: it is only read. A recogniser
    without letter classes cannot spell: ``ConfigError`` here, before any frame.
    """

    def __init__(
        self,
        recognizer: Recognizer,
        options: StreamOptions | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.options = options or StreamOptions()
        self.lexicon = lexicon
        self.slotter = HandSlotter()
        self.frames = 0
        self.events = 0
        self._t0 = time.monotonic()
        self._last_t: float | None = None
        self._last_partial_t = -math.inf
        self._pending_key: tuple[float, float, str] | None = None  # the pending event sent
        self.speller: FingerspellingDecoder | None = None
        if self.options.mode == "fingerspelling":
            self.speller = FingerspellingDecoder(recognizer, self.options.spelling, lexicon)
        self._stream = self._new_stream()

    def _new_stream(self) -> StreamingRecognizer:
        return StreamingRecognizer(
            self.recognizer,
            config=self.options.segmenter,
            top_k=self.options.top_k,
            emit_unknown=self.options.emit_unknown,
        )

    @property
    def stream(self) -> StreamingRecognizer:
        return self._stream

    def frame(self, message: FrameMessage, arrived_s: float | None = None) -> list[dict[str, Any]]:
        """Take one frame; returns the messages to send back (events, maybe a partial)."""
        t = message.t
        if t is None:  # arrival time, kept strictly increasing
            now = (arrived_s if arrived_s is not None else time.monotonic()) - self._t0
            t = now if self._last_t is None else max(now, self._last_t + 1e-3)
        elif self._last_t is not None and t <= self._last_t:
            raise StreamInputError(
                f"frame time t={t} must be after the previous frame's t={self._last_t}"
            )
        if message.hands is not None:
            detections = [
                HandDetection.from_label(h.landmarks, h.label, h.score, message.handedness)
                for h in message.hands
            ]
            landmarks, presence = self.slotter.assign(detections, t)
        else:
            landmarks = np.asarray(message.landmarks, dtype=np.float32)
            if message.presence is not None:
                presence = np.asarray(message.presence, dtype=bool)
            else:
                presence = np.abs(landmarks).sum(axis=(1, 2)) > 0
        self._last_t = t
        self.frames += 1
        if self.speller is not None:
            out = self._spelled(self.speller.push(landmarks, presence, t))
        else:
            out = self._events(self._stream.push_landmarks(landmarks, presence, t))
            out += self._pending(out)
        if t - self._last_partial_t >= self.options.partial_every_s:
            self._last_partial_t = t
            out.append(self._partial(t, presence))
        return out

    def _partial(self, t: float, presence: np.ndarray) -> dict[str, Any]:
        if self.speller is not None:
            return {
                "type": "partial",
                "t": round(t, 3),
                "spelling": self.speller.current,
                "presence": [bool(p) for p in presence],
            }
        guess: Prediction | None = self._stream.provisional(self.options.provisional_every_s)
        if guess is not None and not _finite(guess.top_k):
            guess = None
        return {
            "type": "partial",
            "t": round(t, 3),
            "in_sign": self._stream.segmenter.in_sign,
            "label": guess.label if guess else None,
            "probability": Prediction.probability_json(guess.probability) if guess else None,
            "top_k": Prediction.top_k_json(guess.top_k) if guess else [],
            "presence": [bool(p) for p in presence],
        }

    def _events(self, events: list[SignEvent]) -> list[dict[str, Any]]:
        out = []
        for event in events:
            if not _sendable(event):
                continue
            self.events += 1
            out.append({"type": "event", **event.to_dict(), "known": event.known})
        return out

    def _pending(self, sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A ``pending`` message when the stream's pending event changed; none when an event
        just replaced it."""
        event = self._stream.pending
        if event is not None and not _sendable(event):
            event = None
        key = None if event is None else (event.start_s, event.end_s, event.label)
        if key == self._pending_key:
            return []
        shown, self._pending_key = self._pending_key is not None, key
        if event is not None:
            return [{"type": "pending", **event.to_dict(), "known": event.known}]
        replaced = any(m["type"] == "event" for m in sent)
        return [{"type": "pending", "label": None}] if shown and not replaced else []

    def _spelled(self, events: list[Any]) -> list[dict[str, Any]]:
        """Letter and word messages; the decoder's list of closed words is emptied, so a socket
        open for hours keeps no history."""
        self.events += len(events)
        assert self.speller is not None
        self.speller.words.clear()
        return [
            {"type": "letter" if isinstance(event, Letter) else "word", **event.to_dict()}
            for event in events
        ]

    def flush(self) -> list[dict[str, Any]]:
        """Finish the sign (or close the spelled word) in progress now (end of stream)."""
        if self.speller is not None:
            return self._spelled(list(self.speller.flush()))
        out = self._events(self._stream.flush())
        return out + self._pending(out)

    def reset(self) -> None:
        """Forget everything so far; times may start again from 0."""
        if self.speller is not None:
            self.speller.reset()
        self._stream.close()
        self._stream = self._new_stream()
        self.slotter.reset()
        self._last_t = None
        self._last_partial_t = -math.inf
        self._pending_key = None
        self._t0 = time.monotonic()

    def stats(self) -> dict[str, Any]:
        return {"frames": self.frames, "events": self.events}

    def close(self) -> None:
        self._stream.close()
