"""Fingerspelling: a stream of hand landmark frames in, spelled letters and words out.

A spelled word is one hand going from held letter to held letter, 0.2-0.8 s each, with no
pause and no hand leaving between letters, so the sign segmenter of
:mod:`aslrec.inference.streaming` (which closes a sign on a pause) cannot cut it. Instead
:class:`FingerspellingDecoder` detects holds:

- **Settled.** A frame is still when the hand's motion energy
  (:func:`~aslrec.inference.streaming.motion_speed`, hand sizes per second) is below
  ``settle_speed``; ``settle_frames`` still frames in a row are a hold. Moving frames clear the
  window, so the model only ever sees the held pose, never the transition into it.
- **One letter per hold.** While the hand is settled, the frames since it settled (at most
  ``window``) are classified every ``every``-th frame by any :class:`Recognizer` whose classes
  include single letters; only those columns are kept and renormalised (a 77-class model's
  word classes cannot win in spelling mode). The first letter that is top-1 with at least
  ``min_probability`` for ``hold_votes`` classifications in a row is emitted, with the mean of
  those probabilities as its confidence; the rest of the hold emits nothing, so a long hold is
  one letter. **Late letter:** a hold that ends (the hand moves or drops, or ``flush``) with no
  letter yet but at least ``hold_votes`` classifications emits the letter of their mean
  probabilities when that is at least ``late_probability`` (the mean as its confidence): a
  short or wavering hold whose top letter kept changing, or stayed under ``min_probability``,
  is no longer dropped. It comes when the hold ends, not 0.1 s into it.
- **Double letters.** The same letter again needs a new hold *and* a motion of at least
  ``move_speed`` since its first emission: the sideways slide or bounce of "LL". A hold broken
  only by tremor (slower than ``move_speed``) cannot double a letter.
- **Words.** A word closes when no hand has been seen for ``drop_s`` and in at least
  ``drop_frames`` frames in a row (the hand drops out of view: at a low tracking rate one missed
  frame can outlast ``drop_s``, and must not split a word) or, with the hand in view, for
  ``pause_s`` neither a letter came nor the hand moved faster than ``move_speed`` (a long pause:
  a hand still moving between letters is still spelling, even when a letter was missed). With a
  lexicon, the closed word is snapped to the nearest lexicon word by edit distance when that
  distance is at most ``max_edit_fraction`` of its length (at least 1); ties go to the earlier
  word (list a lexicon most frequent first). A substitution costs less than 1 when the lexicon's
  letter was a runner-up of the decoded one (:meth:`Letter.cost`: 1 - its probability / the
  letter's), so the model's own near-misses are the cheap repairs. The raw spelling is always
  kept next to it, and ``distance`` is the plain edit distance.

**J and Z are motions** (issue #23): the pinky traces a J, the index finger a Z, so a J or Z
usually never settles into a hold. Over the last ``motion_window`` frames of one hand (the
signer's right when both are seen) the decoder looks for the letters of ``motion_letters``
(default ``"Z"`` only: the J rule below also fires on ordinary moves between letters, 39 false J
in the 480 words of the benchmark's held-out photo streams, and finds 32 of 116 of the one
recorded signer's J, which barely moves; ``"JZ"`` turns it on):

- **Z**: the index fingertip reverses its horizontal direction at least ``z_reversals`` times,
  each stroke at least ``z_stroke`` hand sizes, while the hand *points* (index extended, the
  other three fingers curled) in at least half of those frames;
- **J**: the little fingertip travels at least ``j_path`` hand sizes and turns by 60 degrees or
  more between the halves of the window, each moving at least a third of that (the hook of
  the J) while the hand has the I shape (little finger extended, index,
  middle and ring curled) in at least half of those frames.

A candidate is then checked by the model when its classes include the letter (the window is
classified; the letter must be top-1 with at least ``min_probability``); a model without J or Z
(one trained on the photo sets) cannot check, and the shape-plus-motion evidence alone decides,
with the fraction of frames in the shape as confidence. One motion letter is emitted per
stretch of motion: the trail is emptied after it, so "ZZ" needs two full traces. A settled
window classified as J or Z by a model that has them (``letters_static`` records them frame by
frame) is emitted like any held letter. Measured in ``benchmarks/RESULTS.md`` on the one signer
who recorded J and Z (``letters_static``), not on many people.

The defaults were chosen on streams built from the *training* people of each fold
(``python -m benchmarks.fingerspelling --people train``); the pause rule, late letters
(``late_probability``) and weighted snapping on streams of ``letters_static``'s signer, whom
no fold model saw, decoded by all four fold models (never on the held-out people's streams).
What they reach on held-out people is in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import math
import os
import string
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from aslrec.errors import ConfigError, DataError
from aslrec.inference.streaming import motion_speed
from aslrec.landmarks.clip import COORDS, HANDS, POINTS, LandmarkClip

if TYPE_CHECKING:
    from aslrec.inference.recognizer import Recognizer

LETTERS = frozenset(string.ascii_uppercase)
_EPS = 1e-6  # slack in time comparisons (3 frames at 30 fps are 0.1 s)

CloseReason = Literal["hand_dropped", "pause", "end_of_stream"]


@dataclass(frozen=True)
class SpellingConfig:
    """Hold detection and word closing; durations in seconds, speeds in hand sizes per second.

    ``settle_speed`` sits above the tremor of a held hand and below the slowest letter-to-letter
    transitions; ``settle_frames=2`` + ``hold_votes=2`` emit a letter on the 3rd-4th frame of a
    hold (about 0.1 s at 30 fps), well inside the shortest holds.
    """

    window: int = 8
    every: int = 1
    settle_speed: float = 0.5
    settle_frames: int = 2
    move_speed: float = 1.0
    min_probability: float = 0.4
    hold_votes: int = 2
    drop_s: float = 0.1
    drop_frames: int = 2
    pause_s: float = 1.2
    max_edit_fraction: float = 0.34
    late_probability: float = 0.2
    motion_letters: str = "Z"
    motion_window: int = 20
    z_reversals: int = 2
    z_stroke: float = 0.2
    j_path: float = 0.6

    def __post_init__(self) -> None:
        for name in (
            "window",
            "every",
            "settle_frames",
            "hold_votes",
            "motion_window",
            "drop_frames",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 < self.settle_speed <= self.move_speed:
            raise ConfigError("need 0 < settle_speed <= move_speed")
        for name in ("min_probability", "late_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], not {getattr(self, name)}")
        for name in ("drop_s", "pause_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number of seconds, not {value}")
        if not 0.0 <= self.max_edit_fraction < 1.0:
            raise ConfigError(f"max_edit_fraction must be in [0, 1), not {self.max_edit_fraction}")
        if not set(self.motion_letters) <= {"J", "Z"}:
            raise ConfigError(f"motion_letters holds only J and Z, not {self.motion_letters!r}")
        if self.z_reversals < 1 or not (self.z_stroke > 0 and self.j_path > 0):
            raise ConfigError("need z_reversals >= 1, z_stroke > 0 and j_path > 0")


_WRIST, _INDEX_TIP, _PINKY_TIP = 0, 8, 20
_TIPS, _KNUCKLES = np.array([8, 12, 16, 20]), np.array([5, 9, 13, 17])
_EXTENDED, _CURLED = 1.1, 0.95  # fingertip-to-wrist / knuckle-to-wrist distance
_POINTING = np.array([True, False, False, False])  # Z: index only
_I_SHAPE = np.array([False, False, False, True])  # J: little finger only


def _in_shape(hands: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Per frame of ``(T, 21, 3)`` hands: the fingers of ``shape`` extended, the others curled.
    Ratios of image-plane distances from the wrist, so the test does not depend on hand size."""
    xy = hands[:, :, :2]
    wrist = xy[:, _WRIST : _WRIST + 1]
    ratio = np.linalg.norm(xy[:, _TIPS] - wrist, axis=2) / np.maximum(
        np.linalg.norm(xy[:, _KNUCKLES] - wrist, axis=2), 1e-6
    )
    return np.all(np.where(shape, ratio > _EXTENDED, ratio < _CURLED), axis=1)


def _reversals(x: np.ndarray, stroke: float) -> int:
    """Direction changes of a 1-D path whose strokes are each at least ``stroke`` long (smaller
    wiggles do not count)."""
    count, direction, anchor = 0, 0, float(x[0])
    for value in x[1:]:
        delta = float(value) - anchor
        if direction == 0:
            if abs(delta) >= stroke:
                direction, anchor = (1 if delta > 0 else -1), float(value)
        elif delta * direction > 0:
            anchor = float(value)
        elif abs(delta) >= stroke:
            count, direction, anchor = count + 1, -direction, float(value)
    return count


def _turns(path: np.ndarray, leg: float) -> bool:
    """Whether a 2-D path's second half heads 60 degrees or more away from its first half, each
    half moving at least ``leg``: a held pose's jitter followed by a straight move is no turn."""
    half = len(path) // 2
    a, b = path[half] - path[0], path[-1] - path[half]
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return min(na, nb) >= leg and float(np.dot(a, b)) / (na * nb) <= 0.5


@dataclass(frozen=True)
class Letter:
    """One emitted letter: ``start_s`` when the hand settled on it, ``emitted_s`` the frame whose
    processing emitted it; ``alternatives`` the runner-up letters of the same classifications
    (at most 3, probability at least 0.05, most probable first), which lexicon snapping uses."""

    letter: str
    confidence: float
    start_s: float
    emitted_s: float
    alternatives: tuple[tuple[str, float], ...] = ()

    def cost(self, letter: str) -> float:
        """What reading this letter as ``letter`` costs in snapping: 0 for itself, 1 for a
        letter the model did not consider, less for a runner-up (1 - its probability / the
        emitted letter's)."""
        if letter == self.letter:
            return 0.0
        p = dict(self.alternatives).get(letter, 0.0)
        return 1.0 - min(1.0, p / max(self.confidence, 1e-6))

    def to_dict(self) -> dict[str, Any]:
        return {
            "letter": self.letter,
            "confidence": round(self.confidence, 4),
            "start_s": round(self.start_s, 3),
            "emitted_s": round(self.emitted_s, 3),
            "alternatives": [
                {"letter": a, "probability": round(p, 4)} for a, p in self.alternatives
            ],
        }


@dataclass
class Word:
    """A closed word: its letters, why it closed, and the lexicon word it snapped to, if any
    (``distance`` = edits from the raw spelling)."""

    letters: list[Letter]
    closed_s: float
    reason: CloseReason
    snapped: str | None = None
    distance: int | None = None

    @property
    def text(self) -> str:
        """The raw spelling, letter by letter as decoded."""
        return "".join(item.letter for item in self.letters)

    @property
    def start_s(self) -> float:
        return self.letters[0].start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.text,
            "snapped": self.snapped,
            "distance": self.distance,
            "letters": [item.to_dict() for item in self.letters],
            "start_s": round(self.start_s, 3),
            "closed_s": round(self.closed_s, 3),
            "reason": self.reason,
        }


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions, each cost 1) between two
    strings, or two sequences of words (the streaming benchmark's word error rate)."""
    if len(a) < len(b):
        a, b = b, a
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[-1]


def character_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """CER over a corpus: total edit distance / total reference length (0 = perfect; can exceed
    1 when the hypotheses insert letters)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("the references hold no characters")
    return sum(edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True)) / total


def _weighted_distance(costs: Sequence[dict[str, float]], word: str) -> float:
    """Levenshtein distance from decoded letters to ``word``, substitutions weighed by
    ``costs`` (per decoded letter, :meth:`Letter.cost` of each letter A-Z; insertions and
    deletions cost 1)."""
    row = [float(j) for j in range(len(word) + 1)]
    for i, cost in enumerate(costs, 1):
        diagonal, row[0] = row[0], float(i)
        for j, c in enumerate(word, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + cost[c])
    return row[-1]


class Lexicon:
    """Words to snap spellings to (upper-cased, first spelling of each kept, order = priority)."""

    def __init__(self, words: Iterable[str], max_edit_fraction: float = 0.34) -> None:
        self.words = list(dict.fromkeys(w.strip().upper() for w in words if w.strip()))
        if not self.words:
            raise ConfigError("the lexicon holds no words")
        self.max_edit_fraction = max_edit_fraction

    def snap(self, raw: str, letters: Sequence[Letter] | None = None) -> tuple[str, int] | None:
        """The nearest word and its edit distance from ``raw``, or None when every word is too
        far. With the decoded ``letters`` of ``raw``, "nearest" weighs a substitution by
        :meth:`Letter.cost` (reading a letter as its runner-up is cheap, so a T the model
        nearly read as G snaps back to T) and the bound applies to that weighted cost."""
        bound = max(1, math.floor(self.max_edit_fraction * len(raw)))
        costs = None if letters is None else [{c: x.cost(c) for c in LETTERS} for x in letters]
        best: tuple[str, float] | None = None
        for word in self.words:  # a later word must beat the best so far: ties go earlier
            limit = bound + _EPS if best is None else best[1] - _EPS
            if abs(len(word) - len(raw)) > limit:
                continue
            d = edit_distance(raw, word) if costs is None else _weighted_distance(costs, word)
            if d <= limit:
                best = (word, d)
                if d == 0:
                    break
        return None if best is None else (best[0], edit_distance(raw, best[0]))


def read_lexicon(path: str | os.PathLike[str]) -> list[str]:
    """The words of a lexicon file, in file order (the order breaks snapping ties)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{p}: no such lexicon file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the lexicon ({type(exc).__name__})") from None
    words = []
    for number, line in enumerate(lines, 1):
        word = line.split("#", 1)[0].strip()
        if word and not set(word.upper()) <= LETTERS:
            raise DataError(f"{p}:{number}: {word!r} is not a word of the letters A-Z")
        if word:
            words.append(word)
    if not words:
        raise DataError(f"{p}: the lexicon holds no words")
    return words


class FingerspellingDecoder:
    """Landmark frames in, :class:`Letter` s and closed :class:`Word` s out (rules: module
    docstring). ``lexicon``: words to snap to (a :class:`Lexicon` or a list of words)."""

    def __init__(
        self,
        recognizer: Recognizer,
        config: SpellingConfig | None = None,
        lexicon: Lexicon | Iterable[str] | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.config = config or SpellingConfig()
        columns = [i for i, c in enumerate(recognizer.classes) if c.upper() in LETTERS]
        if not columns:
            raise ConfigError(
                "the model has no letter classes (A-Z); use one trained on letters, e.g. "
                "fingerspelling16"
            )
        self._columns = np.asarray(columns)
        self.letters = [recognizer.classes[i].upper() for i in columns]
        if lexicon is None or isinstance(lexicon, Lexicon):
            self.lexicon = lexicon
        else:
            self.lexicon = Lexicon(lexicon, self.config.max_edit_fraction)
        self.words: list[Word] = []
        self.model_calls = 0
        self.reset()

    def reset(self) -> None:
        """Forget the stream (closed words and counters are kept)."""
        self._window: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=self.config.window)
        self._trail: deque[tuple[np.ndarray, np.ndarray, float]] = deque(
            maxlen=self.config.motion_window
        )
        self._prev: tuple[np.ndarray, np.ndarray, float] | None = None
        self._still = 0
        self._hold_spent = False
        self._moved = True
        self._run: list[float] = []
        self._hold_probs: list[np.ndarray] = []
        self._run_letter: str | None = None
        self._hold_start_s = 0.0
        self._current: list[Letter] = []
        self._last_hand_s = -math.inf
        self._frames_without_hand = 0
        self._last_letter_s = -math.inf
        self._last_move_s = -math.inf
        self._last_ts: float | None = None

    @property
    def current(self) -> str:
        """The letters of the word in progress."""
        return "".join(item.letter for item in self._current)

    def push(
        self, landmarks: np.ndarray, presence: np.ndarray, timestamp_s: float
    ) -> list[Letter | Word]:
        """Add one frame ``(2, 21, 3)`` + ``(2,)``; returns the letters it emitted and the word
        it closed, in order."""
        cfg = self.config
        lm = np.asarray(landmarks, dtype=np.float32).reshape(HANDS, POINTS, COORDS)
        pr = np.asarray(presence, dtype=bool).reshape(HANDS)
        ts = float(timestamp_s)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"timestamps must increase: {ts} after {self._last_ts}")
        self._last_ts = ts
        speed = motion_speed(self._prev, lm, pr, ts)
        out: list[Letter | Word] = []
        if speed is None:  # no hand
            out += self._break_hold(ts)
            self._trail.clear()
            self._frames_without_hand += 1
            if self._frames_without_hand >= cfg.drop_frames:
                self._prev = None  # the hand comes back as a new appearance (a motion)
            dropped = ts - self._last_hand_s >= cfg.drop_s - _EPS
            if self._current and dropped and self._frames_without_hand >= cfg.drop_frames:
                out.append(self._close(ts, "hand_dropped"))
            return out
        # across a shorter gap the hand's speed is measured from where it was last seen
        self._prev = (lm, pr, ts)
        self._last_hand_s = ts
        self._frames_without_hand = 0
        if speed >= cfg.move_speed:
            self._moved, self._last_move_s = True, ts
        if speed >= cfg.settle_speed:
            out += self._break_hold(ts)
        else:
            self._still += 1
        if not self._window:
            self._hold_start_s = ts
        self._window.append((lm, pr, ts))
        self._trail.append((lm, pr, ts))
        quiet_since = max(self._last_letter_s, self._last_move_s)
        if self._current and ts - quiet_since >= cfg.pause_s - _EPS:
            out.append(self._close(ts, "pause"))
        if cfg.motion_letters and speed >= cfg.settle_speed:
            motion = self._motion_letter(ts)
            if motion is not None:
                out.append(motion)
        if (
            not self._hold_spent
            and self._still >= cfg.settle_frames
            and (self._still - cfg.settle_frames) % cfg.every == 0
        ):
            letter = self._vote(ts)
            if letter is not None:
                out.append(letter)
        return out

    def flush(self) -> list[Letter | Word]:
        """End of stream: the late letter of the hold in progress and the word in progress, if
        any."""
        ts = self._last_ts or 0.0
        out: list[Letter | Word] = list(self._break_hold(ts))
        if self._current:
            out.append(self._close(ts, "end_of_stream"))
        return out

    def _break_hold(self, ts: float) -> list[Letter]:
        """End the hold in progress; returns its late letter, if it had one (module docstring)."""
        late: list[Letter] = []
        if not self._hold_spent and len(self._hold_probs) >= self.config.hold_votes:
            mean = np.mean(self._hold_probs, axis=0)
            best = int(mean.argmax())
            if mean[best] >= self.config.late_probability:
                emitted = self._emit(self.letters[best], float(mean[best]), ts, probs=mean)
                late += [emitted] if emitted is not None else []
        self._hold_probs = []
        self._still = 0
        self._hold_spent = False
        self._run, self._run_letter = [], None
        self._window.clear()
        return late

    def _letter_probabilities(
        self, frames: list[tuple[np.ndarray, np.ndarray, float]]
    ) -> np.ndarray:
        """The model's letter probabilities for ``frames``, renormalised over the letters."""
        clip = LandmarkClip(
            landmarks=np.stack([f[0] for f in frames]),
            presence=np.stack([f[1] for f in frames]),
            timestamps=np.array([f[2] for f in frames], dtype=np.float64),
            source="<fingerspelling>",
        )
        probs = self.recognizer.probabilities([clip])[0][self._columns]
        self.model_calls += 1
        return probs / max(float(probs.sum()), 1e-12)

    def _vote(self, ts: float) -> Letter | None:
        probs = self._letter_probabilities(list(self._window))
        self._hold_probs.append(probs)
        best = int(probs.argmax())
        letter, p = self.letters[best], float(probs[best])
        if p < self.config.min_probability:
            self._run, self._run_letter = [], None
            return None
        if letter != self._run_letter:
            self._run, self._run_letter = [], letter
        self._run.append(p)
        if len(self._run) < self.config.hold_votes:
            return None
        run = np.mean(self._hold_probs[-len(self._run) :], axis=0)  # this run's votes
        return self._emit(letter, float(np.mean(self._run)), ts, probs=run)

    def _emit(
        self,
        letter: str,
        confidence: float,
        ts: float,
        start_s: float | None = None,
        probs: np.ndarray | None = None,
    ) -> Letter | None:
        """The letter (of the hold in progress unless ``start_s`` says where it started), unless
        it repeats the previous one without a move (a tremor); ``probs`` (the model's letter
        probabilities behind it) give its alternatives."""
        previous = self._current[-1].letter if self._current else None
        self._hold_spent = self._hold_spent or start_s is None
        if letter == previous and not self._moved:
            return None  # the same letter again without a slide or bounce: a tremor
        self._moved = False
        start = self._hold_start_s if start_s is None else start_s
        alternatives: tuple[tuple[str, float], ...] = ()
        if probs is not None:
            order = [int(i) for i in np.argsort(-probs) if self.letters[int(i)] != letter]
            alternatives = tuple(
                (self.letters[i], float(probs[i])) for i in order[:3] if probs[i] >= 0.05
            )
        emitted = Letter(letter, confidence, start, ts, alternatives)
        self._current.append(emitted)
        self._last_letter_s = ts
        return emitted

    def _motion_letter(self, ts: float) -> Letter | None:
        """A J or Z traced over the trail (rules: module docstring), or None."""
        cfg = self.config
        if len(self._trail) < cfg.motion_window // 2:
            return None
        frames = list(self._trail)  # one hand: the signer's right when both are seen
        hands = np.stack(
            [lm[HANDS - 1] if pr[HANDS - 1] else lm[int(pr.argmax())] for lm, pr, _ in frames]
        )
        size = float(np.median(np.linalg.norm(np.ptp(hands[:, :, :2], axis=1), axis=1)))
        size = max(size, 1e-6)
        candidate: tuple[str, float] | None = None
        pointing = float(_in_shape(hands, _POINTING).mean())
        if (
            "Z" in cfg.motion_letters
            and pointing >= 0.5
            and _reversals(hands[:, _INDEX_TIP, 0] / size, cfg.z_stroke) >= (cfg.z_reversals)
        ):
            candidate = ("Z", pointing)
        elif "J" in cfg.motion_letters:
            hook = float(_in_shape(hands, _I_SHAPE).mean())
            tip = hands[:, _PINKY_TIP, :2] / size
            travel = float(np.linalg.norm(np.diff(tip, axis=0), axis=1).sum())
            if hook >= 0.5 and travel >= cfg.j_path and _turns(tip, cfg.j_path / 3):
                candidate = ("J", hook)
        if candidate is None:
            return None
        letter, confidence = candidate
        probs: np.ndarray | None = None
        if letter in self.letters:  # the model knows the letter: it must agree
            probs = self._letter_probabilities(frames)
            best = int(probs.argmax())
            if self.letters[best] != letter or probs[best] < cfg.min_probability:
                return None
            confidence = float(probs[best])
        self._trail.clear()
        return self._emit(letter, confidence, ts, frames[0][2], probs)

    def _close(self, ts: float, reason: CloseReason) -> Word:
        word = Word(list(self._current), ts, reason)
        if self.lexicon is not None:
            snapped = self.lexicon.snap(word.text, word.letters)
            if snapped is not None:
                word.snapped, word.distance = snapped
        self._current = []
        self._moved = True
        self.words.append(word)
        return word
