"""The model service the routes share: the recogniser, a pool of MediaPipe trackers, limits.

One :class:`Service` is built per app by :func:`~aslrec.serving.app.create_app` and kept on
``app.state``; routes get it through the :data:`ServiceDep` dependency instead of closing over
it, so each route module stands alone and a test can build an app around any recogniser.

Model work (tracking, inference) runs in worker threads, never on the event loop, so many
requests and sockets are served at once; two capacity limiters bound how many model calls and
how many video trackings run together, and an upload budget how many body bytes all requests
have in flight (:class:`~aslrec.serving.settings.ServiceSettings`).
"""

from __future__ import annotations

import contextlib
import math
import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends
from starlette.requests import HTTPConnection

from aslrec.errors import AslrecError, NoHandsError
from aslrec.inference.fingerspelling import Lexicon, read_lexicon
from aslrec.inference.recognizer import Prediction, Recognizer
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.extract import photo_held
from aslrec.landmarks.video import is_image_file
from aslrec.serving.errors import ApiError
from aslrec.serving.limits import UploadBudget
from aslrec.serving.settings import ServiceSettings

T = TypeVar("T")


class Service:
    """What the routes share: the recogniser, MediaPipe trackers, the capacity limiters and the
    upload budget."""

    def __init__(
        self,
        recognizer: Recognizer,
        settings: ServiceSettings,
        model_name: str,
        backend: str,
    ) -> None:
        self.recognizer = recognizer
        self.settings = settings
        self.lexicon = Lexicon(read_lexicon(settings.lexicon)) if settings.lexicon else None
        self.model_name = model_name
        self.backend = backend
        self.in_flight = 0
        self.upload_budget = UploadBudget(settings.max_inflight_upload_bytes)
        self._trackers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._all_trackers: list[Any] = []
        self._inference_limiter: anyio.CapacityLimiter | None = None
        self._video_limiter: anyio.CapacityLimiter | None = None

    # Limiters belong to the running event loop: made on first use, inside it.
    @property
    def inference_limiter(self) -> anyio.CapacityLimiter:
        if self._inference_limiter is None:
            self._inference_limiter = anyio.CapacityLimiter(max(1, self.settings.inference_workers))
        return self._inference_limiter

    @property
    def video_limiter(self) -> anyio.CapacityLimiter:
        if self._video_limiter is None:
            self._video_limiter = anyio.CapacityLimiter(max(1, self.settings.video_workers))
        return self._video_limiter

    def close(self) -> None:
        for tracker in self._all_trackers:
            with contextlib.suppress(Exception):
                tracker.close()
        self._all_trackers.clear()

    # -- work off the event loop -------------------------------------------------------------
    async def run_model(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.inference_limiter)

    async def run_video(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.video_limiter)

    @contextlib.contextmanager
    def tracker(self) -> Iterator[Any]:
        """A MediaPipe tracker of the pool (made on demand: MediaPipe loads only when a video
        comes), returned to the pool afterwards."""
        try:
            tracker = self._trackers.get_nowait()
        except queue.Empty:
            from aslrec.landmarks.hands import HandTracker

            tracker = HandTracker(self.recognizer.tracker_options)
            self._all_trackers.append(tracker)
        try:
            yield tracker
        finally:
            self._trackers.put(tracker)

    # -- predictions -------------------------------------------------------------------------
    def predict_clip(
        self,
        clip: LandmarkClip,
        top_k: int,
        hand_rate: float | None = None,
        frames: int | None = None,
        retracked: LandmarkClip | None = None,
    ) -> Prediction:
        """Classify ``clip``; ``hand_rate`` and ``frames`` are those of the whole video it was
        cut from (``frames``: every decoded frame, as ``aslrec predict`` reports it);
        ``retracked``: the video's flipped view, mirrored back (``both_views``)."""
        rates = None if hand_rate is None else [hand_rate]
        counts = None if frames is None else [frames]
        again = None if retracked is None else [retracked]
        prediction = self.recognizer.predict_clips([clip], top_k, rates, counts, again)[0]
        if not all(math.isfinite(p) for _, p in prediction.top_k):
            raise ApiError(
                422, "invalid_input", "the model gave no finite probabilities for these landmarks"
            )
        return prediction

    def predict_video(self, path: Path, top_k: int) -> tuple[Prediction, float | None]:
        """Track a video (bounded by the clip caps) and classify it; with ``both_views`` its
        flipped frames are tracked too, as ``aslrec predict`` does."""
        settings = self.settings
        try:
            info, (landmarks, presence, timestamps) = self._track(path, mirror=False)
            retracked = None
            if self.recognizer.both_views and presence.any():  # no hands: refused below
                _, flipped = self._track(path, mirror=True)
                if flipped[1].any():  # else the video as recorded answers alone
                    retracked = photo_held(LandmarkClip(*flipped), path).mirrored().trimmed()
        except _TooLong:
            raise _too_long_video(None, None, settings) from None
        except NoHandsError:
            raise
        except AslrecError as exc:
            raise ApiError(
                422, "invalid_video", f"cannot read the video: {_strip(exc, path)}"
            ) from None
        frames = len(timestamps)
        if frames == 0:
            raise ApiError(422, "invalid_video", "the video has no frames")
        clip = LandmarkClip(landmarks=landmarks, presence=presence, timestamps=timestamps)
        clip = photo_held(clip, path)
        if not clip.presence.any():
            where = "the photo" if is_image_file(path) else f"any of the video's {frames} frames"
            raise NoHandsError(f"no hands found in {where}")
        hand_rate = clip.hand_rate
        duration = float(timestamps[-1] - timestamps[0]) + (1.0 / info.fps if info.fps else 0.0)
        return self.predict_clip(clip.trimmed(), top_k, hand_rate, frames, retracked), duration

    def _track(self, path: Path, *, mirror: bool) -> tuple[Any, tuple[Any, Any, Any]]:
        """The video's info and its tracked ``(landmarks, presence, timestamps)``, refused
        past the clip caps (:class:`_TooLong` from inside the frame loop)."""
        from aslrec.landmarks.video import FrameSource

        settings = self.settings
        with FrameSource(path, mirror=mirror) as source:
            info = source.info
            duration = info.frame_count / info.fps if info.frame_count else None
            if info.frame_count > settings.max_clip_frames or (
                duration is not None and duration > settings.max_clip_seconds
            ):
                raise _too_long_video(info.frame_count, duration, settings)
            with self.tracker() as tracker:
                return info, tracker.process_video(
                    _capped(source, settings.max_clip_frames, settings.max_clip_seconds)
                )


def get_service(connection: HTTPConnection) -> Service:
    """The app's :class:`Service` (for HTTP requests and WebSockets alike)."""
    service: Service = connection.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]
"""A route parameter of this type receives the app's :class:`Service`."""


class _TooLong(Exception):
    """Raised by :func:`_capped` inside the tracker's frame loop, turned into a 422 outside."""


def _strip(exc: Exception, path: Path) -> str:
    """The message without our temporary file's name."""
    return str(exc).replace(f"{path}: ", "").replace(str(path), "the upload")


def _too_long_video(frames: int | None, duration: float | None, s: ServiceSettings) -> ApiError:
    what = (
        f" (it has {frames} frames, {duration:.1f} s)"
        if frames is not None and duration is not None
        else ""
    )
    return ApiError(
        422,
        "too_long",
        f"the video is too long{what}: at most {s.max_clip_frames} frames and "
        f"{s.max_clip_seconds:g} s per request",
    )


def _capped(frames: Any, max_frames: int, max_seconds: float) -> Iterator[Any]:
    """Frames of a source, raising :class:`_TooLong` past the caps (headers can lie)."""
    first: float | None = None
    for i, (rgb, ts) in enumerate(frames):
        first = ts if first is None else first
        if i >= max_frames or ts - first > max_seconds:
            raise _TooLong
        yield rgb, ts
