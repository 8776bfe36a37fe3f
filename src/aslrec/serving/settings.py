"""The service's limits and switches, as one value (``create_app(settings=...)``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from aslrec.errors import ConfigError
from aslrec.inference.streaming import SegmenterConfig

API_KEY_ENV = "ASLREC_API_KEY"


@dataclass(frozen=True)
class StreamSettings:
    """How the WebSocket stream reports progress and segments signs.

    Signs are segmented and classified by :class:`~aslrec.inference.streaming.StreamingRecognizer`
    with ``segmenter`` (default: its own defaults). While a sign is in progress its provisional
    top-k is sent as a ``partial`` message at most every ``partial_every_s`` seconds of stream
    time (each frame when frames come slower), recomputed at most every
    ``provisional_every_s``.
    """

    partial_every_s: float = 0.25
    provisional_every_s: float = 0.2
    segmenter: SegmenterConfig | None = None


@dataclass(frozen=True)
class ServiceSettings:
    """Limits of ``aslrec serve``; every input beyond them gets a 4xx JSON answer.

    Attributes:
        max_upload_bytes: request body cap for a video upload (413 beyond).
        max_json_bytes: request body cap for a JSON landmark clip (413 beyond).
        max_inflight_upload_bytes: the most ``/v1/predict`` body bytes all requests together
            may have in flight (a request counts its ``Content-Length``, else its cap, until it
            is answered); one beyond it is refused at once with 503 and ``Retry-After``
            instead of queueing. Uploads stream to temporary files, so this bounds the disk
            and the waiting work; the default admits eight full-size uploads.
        header_timeout_s: a connection must send a request's headers within this many seconds
            (of connecting, or of its previous response), else it is closed: half-sent
            headers would otherwise hold a connection for ever.
        body_timeout_s: a request body may pause this long between bytes, else the
            connection is closed (logged as a client disconnect, status 499). Pauses while the
            server itself is not reading do not count.
        keep_alive_timeout_s: an idle keep-alive connection is closed after this long.
        max_clip_frames: most frames in one clip (a landmark clip, or a video's frames).
        max_clip_seconds: longest clip (video duration, or the span of a clip's timestamps).
        max_stream_fps: frames per second one WebSocket may send; the excess is dropped and
            the client told so (``warning`` message, ``rate_limited``).
        max_message_bytes: largest WebSocket message (closes with 1009 beyond).
        max_bad_messages: invalid WebSocket messages tolerated before the socket is closed.
        inference_workers: model calls running at once in the thread pool.
        video_workers: videos tracked at once (each holds one MediaPipe tracker).
        max_top_k: largest ``top_k`` a request may ask for.
        torch_threads: PyTorch intra-op threads, set by ``aslrec serve`` for its process (None:
            leave PyTorch's default). 1, because requests run in parallel in worker threads:
            with PyTorch's default (one thread per core) the concurrent calls fight over the
            cores; on the 2-core test machine one clip took ~900 ms that way against ~8 ms
            with one thread.
        api_key: when set, every ``/v1`` route but ``/v1/health`` needs it in the
            ``X-API-Key`` header (or, for the WebSocket, where browsers cannot set headers, the
            ``api_key`` query parameter). ``from_env`` reads ``ASLREC_API_KEY``.
    """

    max_upload_bytes: int = 50 * 1024 * 1024
    max_json_bytes: int = 8 * 1024 * 1024
    max_inflight_upload_bytes: int = 400 * 1024 * 1024
    header_timeout_s: float = 5.0
    body_timeout_s: float = 10.0
    keep_alive_timeout_s: int = 5
    max_clip_frames: int = 900
    max_clip_seconds: float = 60.0
    max_stream_fps: float = 60.0
    max_message_bytes: int = 256 * 1024
    max_bad_messages: int = 20
    inference_workers: int = 4
    video_workers: int = 2
    max_top_k: int = 50
    torch_threads: int | None = 1
    api_key: str | None = None
    stream: StreamSettings = field(default_factory=StreamSettings)

    def __post_init__(self) -> None:
        if self.max_inflight_upload_bytes < max(self.max_upload_bytes, self.max_json_bytes):
            raise ConfigError(
                f"max_inflight_upload_bytes ({self.max_inflight_upload_bytes:,}) is below one "
                "upload's cap: no full-size upload could ever be accepted"
            )

    @classmethod
    def from_env(cls, api_key: str | None = None, **overrides: object) -> ServiceSettings:
        """Settings with ``api_key`` from the argument, else ``$ASLREC_API_KEY`` (empty: off)."""
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        return cls(api_key=key or None, **overrides)  # type: ignore[arg-type]
