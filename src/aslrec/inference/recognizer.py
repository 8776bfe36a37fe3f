"""``Recognizer``: from a video, an image folder or landmark data to the top-k signs.

``Recognizer.load()`` with no argument uses the model bundled in the package
(``aslrec/assets/default_model``), so ``Recognizer.load().predict("sign.mp4")`` works straight
after install, offline.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aslrec.data.preprocessing import BodyFrame, arrays_for_model
from aslrec.errors import ConfigError, DataError, NoHandsError
from aslrec.inference.backends import ClassifierBackend, load_backend
from aslrec.inference.tta import views
from aslrec.landmarks.clip import LandmarkClip
from aslrec.numerics import logsumexp, softmax
from aslrec.runs.ensemble import EnsembleSpec, is_ensemble, union_classes

if TYPE_CHECKING:  # the tracking modules load MediaPipe: imported when a video is read
    from aslrec.landmarks.extract import FrameProgress, VideoStats


def default_model_dir() -> Path:
    return Path(str(resources.files("aslrec") / "assets" / "default_model"))


@dataclass
class Prediction:
    """Top-k labels with probabilities for one clip, plus how much hand the input had."""

    source: str
    top_k: list[tuple[str, float]]
    frames: int
    hand_rate: float
    truth: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.top_k[0][0]

    @property
    def probability(self) -> float:
        return self.top_k[0][1]

    @staticmethod
    def probability_json(p: float) -> float:
        """A probability as every JSON answer gives it: rounded to 6 decimals, enough to compare
        with an unknown threshold or tell apart the tail of a top-k without float noise."""
        return round(float(p), 6)

    @staticmethod
    def top_k_json(pairs: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
        """``[{"label", "probability"}, ...]``, the one JSON shape of a top-k: ``aslrec serve``'s
        HTTP and WebSocket answers and :meth:`to_dict` all use it, so they agree digit for
        digit."""
        return [
            {"label": label, "probability": Prediction.probability_json(p)} for label, p in pairs
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "label": self.label,
            "probability": self.probability_json(self.probability),
            "predictions": self.top_k_json(self.top_k),
            "frames": self.frames,
            "hand_detection_rate": round(self.hand_rate, 4),
        }
        if self.truth is not None:
            out["truth"] = self.truth
        return out | self.extra


def split_signs(text: str) -> list[str]:
    """``"eat, hello,no"`` -> ``["eat", "hello", "no"]``: the one spelling of a list of signs on
    a command line or in ``$ASLREC_SIGNS``."""
    return [sign.strip() for sign in text.split(",") if sign.strip()]


def vocabulary_mean(
    outputs: Sequence[np.ndarray], columns: Sequence[np.ndarray], total: int
) -> np.ndarray:
    """Members that know different classes, as one ``(N, total)`` score: each member's
    log-probabilities (logits less their log-sum-exp, so members compare on one scale), and
    for each class their mean over the members that know it."""
    summed = np.zeros((len(outputs[0]), total))
    known = np.zeros(total)
    for logits, where in zip(outputs, columns, strict=True):
        summed[:, where] += logits - logsumexp(logits)[:, None]
        known[where] += 1
    return summed / known


class Recognizer:
    """One trained classifier (any backend) or an ensemble of them, plus their preprocessing.

    Each member preprocesses clips exactly as it was trained; with several members (an
    ensemble directory, :mod:`aslrec.runs.ensemble`) their logits are averaged (members that
    know different signs: their log-probabilities, by :func:`vocabulary_mean`), and with
    ``tta`` each member's logits are first averaged over the fixed views of
    :mod:`aslrec.inference.tta`.

    With ``both_views`` a video is tracked twice, as recorded and flipped left-right (the
    second clip mirrored back), and the logits of the two clips averaged. MediaPipe's
    landmarks of a flipped video are not the mirror of its landmarks, so a mirror-invariant
    model alone answered a real video and its flip alike only 85% of the time (RESULTS.md,
    "Hands the right way round"); tracking both views gives the same pair of clips for either
    video, hence the same answer, at twice the tracking cost.

    With ``signs`` only those signs may win (:meth:`restrict`).
    """

    def __init__(
        self,
        backends: ClassifierBackend | Sequence[ClassifierBackend],
        *,
        tta: bool = False,
        tracker_options: Any | None = None,
        both_views: bool = False,
        signs: Sequence[str] | None = None,
    ) -> None:
        self.members = list(backends) if isinstance(backends, Sequence) else [backends]
        self._classes = union_classes([m.classes for m in self.members], range(len(self.members)))
        # Where each member's classes sit among the ensemble's; None when all share them.
        self._columns = (
            None
            if all(list(m.classes) == self._classes for m in self.members)
            else [np.array([self._classes.index(c) for c in m.classes]) for m in self.members]
        )
        self.backend = self.members[0]
        self.tta = tta
        self.both_views = both_views
        self.tracker_options = tracker_options
        self._tracker: Any | None = None
        # the model's calibration (aslrec.inference.calibration), set by load()
        self.temperature = 1.0
        self.threshold: float | None = None
        self._shown: np.ndarray | None = None  # the columns of restrict()'s signs
        if signs is not None:
            self.restrict(signs)

    def restrict(self, signs: Sequence[str]) -> None:
        """From now on only ``signs`` may win: everything this recognizer answers (predict,
        streams, the service) chooses among them, and :attr:`classes` lists only them.

        Why: an app often knows which signs can come (a quiz of six words, a menu, a lesson),
        and a sign the model confuses with one that cannot come is then read right. The
        probabilities are the calibrated softmax over these signs alone; the unknown threshold
        stays the model's, so with fewer candidates fewer answers fall under it.
        """
        wanted = list(dict.fromkeys(str(sign).strip() for sign in signs))
        unknown = [sign for sign in wanted if sign not in self._classes]
        if unknown:
            raise ConfigError(
                f"unknown sign(s) {', '.join(map(repr, unknown))}; the model knows: "
                + ", ".join(self._classes)
            )
        if len(wanted) < 2:
            raise ConfigError(f"choosing among signs needs at least 2, got {wanted}")
        self._shown = np.array([self._classes.index(sign) for sign in wanted])

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        backend: str = "auto",
        tta: bool | None = None,
        tracker_options: Any | None = None,
        both_views: bool = False,
        signs: Sequence[str] | None = None,
    ) -> Recognizer:
        """Load a run or ensemble directory, or an exported ``.onnx`` file (default: the bundled
        model), with ``backend`` (``auto``: :func:`~aslrec.inference.backends.resolve_backend`);
        ``signs``: only these may win (:meth:`restrict`).

        ``tta=None`` keeps what an ensemble directory says (off for a single run). The
        calibration is the model's own: an ensemble's ``calibration.json`` (its members' would
        not fit the averaged logits), else what the backend loaded with the model (a run's
        ``calibration.json``, an ONNX file's metadata).
        """
        from aslrec.runs.calibration import read_calibration

        path = Path(model_dir) if model_dir else default_model_dir()
        if is_ensemble(path):
            spec = EnsembleSpec.read(path)
            backends = [load_backend(member, backend) for member in spec.members]
            use_tta = spec.tta if tta is None else tta
            calibration = read_calibration(path)
        else:
            backends, use_tta = [load_backend(path, backend)], bool(tta)
            calibration = backends[0].calibration
        recognizer = cls(
            backends,
            tta=use_tta,
            tracker_options=tracker_options,
            both_views=both_views,
            signs=signs,
        )
        if calibration is not None:
            recognizer.temperature = calibration.temperature
            recognizer.threshold = calibration.threshold
        return recognizer

    @property
    def restricted(self) -> bool:
        """Whether :meth:`restrict` chose some of the model's signs."""
        return self._shown is not None

    @property
    def classes(self) -> list[str]:
        """The signs it answers with: the model's, or those :meth:`restrict` chose."""
        if self._shown is None:
            return self._classes
        return [self._classes[i] for i in self._shown]

    def logits(
        self, clips: Sequence[LandmarkClip], retracked: Sequence[LandmarkClip] | None = None
    ) -> np.ndarray:
        """``(N, C)`` logits averaged over members (and TTA views), before calibration;
        ``retracked``: the same clips tracked again on the flipped video and mirrored back,
        one more view of each (see ``both_views``)."""
        clip_views = views(list(clips), self.tta)
        if retracked is not None:
            clip_views += views(list(retracked), self.tta)
        # All views of all clips go through each member as one batch: at batch 1 inference is
        # dispatch-bound, so six TTA views cost 2.2-2.9x one pass instead of 6x (seed and
        # isl-hybrid, torch and ONNX Runtime, one thread).
        every_view = [clip for view in clip_views for clip in view]
        outputs = [
            member.logits(*arrays_for_model(every_view, member.preprocessing))
            .reshape(len(clip_views), len(clips), -1)
            .mean(axis=0)
            for member in self.members
        ]
        if self._columns is None:
            logits = np.mean(outputs, axis=0)
        else:
            logits = vocabulary_mean(outputs, self._columns, len(self._classes))
        return logits if self._shown is None else logits[:, self._shown]

    def probabilities(
        self, clips: Sequence[LandmarkClip], retracked: Sequence[LandmarkClip] | None = None
    ) -> np.ndarray:
        """``(N, C)`` calibrated softmax probabilities (``retracked`` as for :meth:`logits`)."""
        return softmax(self.logits(clips, retracked), self.temperature)

    def predict_clips(
        self,
        clips: Sequence[LandmarkClip],
        top_k: int = 5,
        hand_rates: Sequence[float] | None = None,
        frame_counts: Sequence[int] | None = None,
        retracked: Sequence[LandmarkClip] | None = None,
    ) -> list[Prediction]:
        """Top-k of each clip. ``frames`` and ``hand_rate`` describe the input as given: a clip's
        own frames, unless ``frame_counts``/``hand_rates`` give those of the video it was cut
        from (every decoded frame, hands or not, as ``aslrec serve`` reports them), so the two
        numbers always count the same frames. ``retracked`` as for :meth:`logits`."""
        probs = self.probabilities(clips, retracked)
        k = max(1, min(top_k, probs.shape[1]))
        uses_body = any(m.preprocessing.normalisation == "body" for m in self.members)
        out = []
        for i, (clip, row) in enumerate(zip(clips, probs, strict=True)):
            order = np.argsort(-row, kind="stable")[:k]
            out.append(
                Prediction(
                    source=clip.source,
                    top_k=[(self.classes[j], float(row[j])) for j in order],
                    frames=frame_counts[i] if frame_counts is not None else clip.num_frames,
                    hand_rate=hand_rates[i] if hand_rates is not None else clip.hand_rate,
                    truth=clip.label,
                    # a body-relative model says when a clip had no body to place hands by
                    extra={"body_context": BodyFrame.of(clip.pose) is not None}
                    if uses_body
                    else {},
                )
            )
        return out

    def extract(
        self, path: Path, progress: FrameProgress | None = None, *, mirror: bool = False
    ) -> tuple[LandmarkClip, VideoStats]:
        """The sign span of a video or image folder, and the stats of all its frames
        (``mirror``: of the frames flipped left-right, the clip mirrored back, so it is a
        second tracking of the same view)."""
        from aslrec.landmarks.extract import extract_video_with_stats
        from aslrec.landmarks.hands import HandTracker

        if self._tracker is None:
            self._tracker = HandTracker(self.tracker_options)
        clip, stats = extract_video_with_stats(
            path, tracker=self._tracker, progress=progress, mirror=mirror
        )
        return (clip.mirrored() if mirror else clip), stats

    def predict_video(
        self, path: Path, top_k: int = 5, progress: FrameProgress | None = None
    ) -> tuple[Prediction, LandmarkClip]:
        """The top-k of a video or image folder, and its clip as recorded (for previews).

        With ``both_views`` the flipped frames are tracked too; when the flipped view shows no
        hand at all the clip as recorded answers alone.
        """
        clip, stats = self.extract(path, progress)
        retracked = None
        if self.both_views:
            with contextlib.suppress(NoHandsError):
                retracked = [self.extract(path, progress, mirror=True)[0]]
        prediction = self.predict_clips(
            [clip], top_k, [stats.hand_rate], [stats.frames], retracked
        )[0]
        return prediction, clip

    def predict(
        self,
        source: str | os.PathLike[str] | LandmarkClip,
        top_k: int = 5,
        progress: FrameProgress | None = None,
    ) -> Prediction:
        """Predict one clip: a video file, an image-sequence folder, a clip or a clip file.

        A video's ``frames`` is every decoded frame and ``hand_rate`` the fraction of them with
        a hand (the model sees the span from the first to the last hand); ``progress`` wraps
        its frames (:data:`~aslrec.landmarks.extract.FrameProgress`).
        """
        if isinstance(source, LandmarkClip):
            return self.predict_clips([source], top_k)[0]
        path = Path(source)
        if path.suffix.lower() == ".npz":
            clips = self.load_landmarks(path)
            if len(clips) != 1:
                raise DataError(f"{path}: holds {len(clips)} clips; use predict_all")
            return self.predict_clips(clips, top_k)[0]
        return self.predict_video(path, top_k, progress)[0]

    @staticmethod
    def load_landmarks(path: Path) -> list[LandmarkClip]:
        """The clips of a landmark file or data set (:func:`~aslrec.data.loaders.load_dataset`
        tells a one-clip file from a data set by its arrays, so a broken clip file gets its own
        error, not "unrecognised")."""
        from aslrec.data.loaders import load_dataset

        return load_dataset(path)

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
