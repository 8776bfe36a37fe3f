"""The HTTP/WebSocket service behind ``aslrec serve`` (FastAPI): see :func:`create_app`.

Routes:

- ``POST /v1/predict``: a video upload (``multipart/form-data``, field ``file``) or a landmark
  clip (``application/json``, :class:`~aslrec.serving.schemas.LandmarkClipRequest`) -> top-k.
- ``WebSocket /v1/stream``: landmark frames in, sign events out (:mod:`aslrec.serving.websocket`).
- ``GET /v1/health``, ``GET /v1/labels``; ``/openapi.json``, ``/docs``; ``/`` the browser page.

Every bad input gets a 4xx JSON answer ``{"error": {"code", "message", "details"?}}``, never a
500: bodies are read with a size cap before anything is parsed, JSON is validated by strict
pydantic models (unknown fields, NaN, wrong shapes rejected with the field's path), videos are
checked for duration before tracking and their frames counted while tracking. A 500 means a
bug, and is logged with its traceback.

Model work (tracking, inference) runs in worker threads, never on the event loop, so many
requests and sockets are served at once; two capacity limiters bound how many model calls and
how many video trackings run together (:class:`~aslrec.serving.settings.ServiceSettings`).
Each HTTP request and each socket writes one JSON line to the ``aslrec.access`` logger.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import math
import mimetypes
import os
import queue
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import numpy as np
from fastapi import FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aslrec import __version__
from aslrec.errors import AslrecError, DataError, NoHandsError
from aslrec.inference.recognizer import VIDEO_SUFFIXES, Prediction, Recognizer
from aslrec.landmarks.clip import LandmarkClip
from aslrec.serving.errors import API_KEY_HEADER, ApiError, unauthorized, validation_error
from aslrec.serving.logs import access_log, client_address, configure_logging
from aslrec.serving.schemas import (
    ErrorResponse,
    HealthResponse,
    LabelsResponse,
    LandmarkClipRequest,
    PredictResponse,
)
from aslrec.serving.settings import ServiceSettings
from aslrec.serving.websocket import serve_stream

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("aslrec.serving")
T = TypeVar("T")

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/octet-stream", ".tflite")
mimetypes.add_type("application/octet-stream", ".binarypb")
mimetypes.add_type("application/octet-stream", ".data")

BUILD_HINT = (
    "The browser page is not built. From a source checkout run `make web` (npm installs "
    "@mediapipe/hands and copies it with the page into src/aslrec/serving/static/), then "
    "restart `aslrec serve`. The API works without it: see /docs and /openapi.json."
)


class AccessMiddleware:
    """Request ids, the API key check, in-flight counting and one access-log line per request."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:16]
        state = {"status": 500, "bytes": 0}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        path = scope.get("path", "")
        self.service.in_flight += 1
        try:
            if self.service.needs_key(path) and not self.service.key_ok(
                headers.get(API_KEY_HEADER.lower())
            ):
                response = unauthorized().response()
                await response(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            self.service.in_flight -= 1
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "event": "http",
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": path,
                        "query": scope.get("query_string", b"").decode("latin-1")[:200],
                        "status": state["status"],
                        "bytes_out": state["bytes"],
                        "duration_ms": round((time.perf_counter() - start) * 1000.0, 2),
                        "client": client_address(scope),
                    }
                },
            )


# --------------------------------------------------------------------------------------------
# The service: model, trackers, limits
# --------------------------------------------------------------------------------------------
class TooLong(Exception):
    pass


class Service:
    """What the routes share: the recogniser, MediaPipe trackers and the capacity limiters."""

    def __init__(
        self,
        recognizer: Recognizer,
        settings: ServiceSettings,
        model_name: str,
        backend: str,
    ) -> None:
        self.recognizer = recognizer
        self.settings = settings
        self.model_name = model_name
        self.backend = backend
        self.in_flight = 0
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

    # -- api key ---------------------------------------------------------------------------
    def needs_key(self, path: str) -> bool:
        return bool(self.settings.api_key) and path.startswith("/v1/") and path != "/v1/health"

    def key_ok(self, given: str | None) -> bool:
        expected = self.settings.api_key
        if not expected:
            return True
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())

    # -- work off the event loop -------------------------------------------------------------
    async def run_model(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.inference_limiter)

    async def run_video(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.video_limiter)

    @contextlib.contextmanager
    def tracker(self) -> Iterator[Any]:
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
        self, clip: LandmarkClip, top_k: int, hand_rate: float | None = None
    ) -> Prediction:
        rates = None if hand_rate is None else [hand_rate]
        prediction = self.recognizer.predict_clips([clip], top_k, rates)[0]
        if not all(math.isfinite(p) for _, p in prediction.top_k):
            raise ApiError(
                422, "invalid_input", "the model gave no finite probabilities for these landmarks"
            )
        return prediction

    def predict_video(self, path: Path, top_k: int) -> tuple[Prediction, float | None]:
        """Track a video (bounded by the clip caps) and classify it."""
        from aslrec.landmarks.video import FrameSource

        settings = self.settings
        try:
            with FrameSource(path) as source:
                info = source.info
                duration = info.frame_count / info.fps if info.frame_count else None
                if info.frame_count > settings.max_clip_frames or (
                    duration is not None and duration > settings.max_clip_seconds
                ):
                    raise _too_long_video(info.frame_count, duration, settings)
                with self.tracker() as tracker:
                    landmarks, presence, timestamps = tracker.process_video(
                        _capped(source, settings.max_clip_frames, settings.max_clip_seconds)
                    )
        except TooLong:
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
        if not clip.presence.any():
            raise NoHandsError(f"no hands found in any of the video's {frames} frames")
        hand_rate = clip.hand_rate
        duration = float(timestamps[-1] - timestamps[0]) + (1.0 / info.fps if info.fps else 0.0)
        return self.predict_clip(clip.trimmed(), top_k, hand_rate), duration


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
    """Frames of a source, raising :class:`TooLong` past the caps (headers can lie)."""
    first: float | None = None
    for i, (rgb, ts) in enumerate(frames):
        first = ts if first is None else first
        if i >= max_frames or ts - first > max_seconds:
            raise TooLong
        yield rgb, ts


def _request_to_clip(req: LandmarkClipRequest, settings: ServiceSettings) -> LandmarkClip:
    frames = len(req.landmarks)
    if frames > settings.max_clip_frames:
        raise ApiError(
            422,
            "too_long",
            f"the clip has {frames} frames: at most {settings.max_clip_frames} per request",
        )
    if (
        req.timestamps is not None
        and req.timestamps[-1] - req.timestamps[0] > settings.max_clip_seconds
    ):
        raise ApiError(
            422,
            "too_long",
            f"the clip spans {req.timestamps[-1] - req.timestamps[0]:.1f} s: at most "
            f"{settings.max_clip_seconds:g} s per request",
        )
    landmarks = np.asarray(req.landmarks, dtype=np.float32)
    try:
        if req.presence is None:
            clip = LandmarkClip.from_array(landmarks, timestamps=req.timestamps, source="landmarks")
        else:
            clip = LandmarkClip(
                landmarks=landmarks,
                presence=np.asarray(req.presence, dtype=bool),
                timestamps=req.timestamps,
                source="landmarks",
            )
    except DataError as exc:
        raise ApiError(422, "invalid_input", str(exc).removeprefix("landmarks: ")) from None
    if not clip.presence.any():
        raise NoHandsError(
            f"no hand in any of the clip's {frames} frames (every hand is absent or all zeros)"
        )
    return clip


async def _read_body(request: Request, cap: int, what: str) -> bytes:
    too_big = ApiError(
        413, "payload_too_large", f"the {what} is larger than the limit of {cap:,} bytes"
    )
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


# --------------------------------------------------------------------------------------------
# OpenAPI description of the two request bodies of /v1/predict
# --------------------------------------------------------------------------------------------
def _predict_openapi() -> dict[str, Any]:
    clip_schema = LandmarkClipRequest.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": clip_schema},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "A video (mp4, mov, avi, mkv, webm).",
                            }
                        },
                        "required": ["file"],
                        "additionalProperties": False,
                    }
                },
            },
        }
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in [
        (400, "Malformed JSON or multipart body"),
        (401, "Missing or wrong API key (when the service has one)"),
        (413, "Body larger than the upload limit"),
        (415, "Neither JSON nor multipart, or the file is not a video"),
        (422, "Invalid landmarks, unreadable video, too long, or no hands"),
    ]
}


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------
def create_app(
    model_dir: str | os.PathLike[str] | None = None,
    backend: str = "torch",
    settings: ServiceSettings | None = None,
    *,
    recognizer: Recognizer | None = None,
) -> FastAPI:
    """The aslrec service for one model (default: the bundled one).

    The model is loaded here, so a bad ``model_dir`` fails at once (``ModelError``), not on the
    first request. ``recognizer`` lets a caller share an already loaded one.
    """
    settings = settings or ServiceSettings.from_env()
    if recognizer is None:
        recognizer = Recognizer.load(model_dir, backend=backend)
    name = Path(model_dir).name if model_dir else "default"
    service = Service(recognizer, settings, name, backend)
    configure_logging()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("started", extra={"fields": {"event": "start", "model": name, "backend": backend}})
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="aslrec",
        version=__version__,
        description="Recognise American Sign Language signs from MediaPipe hand landmarks. "
        "Landmark slots: 0 = the signer's own left hand, 1 = the signer's own right hand.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(AccessMiddleware, service=service)  # type: ignore[arg-type]
    _add_error_handlers(app)
    _add_api_routes(app, service)
    _add_stream_route(app, service)
    _add_page_routes(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc, "request").response()

    @app.exception_handler(NoHandsError)
    async def no_hands(_: Request, exc: NoHandsError) -> JSONResponse:
        return ApiError(
            422,
            "no_hands",
            f"{exc}; nothing to recognise: hands must be visible in the video",
        ).response()

    @app.exception_handler(AslrecError)
    async def aslrec_error(_: Request, exc: AslrecError) -> JSONResponse:
        return ApiError(422, "invalid_input", str(exc)).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        message = {404: "no such route", 405: "method not allowed on this route"}.get(
            exc.status_code, str(exc.detail)
        )
        return ApiError(
            exc.status_code, codes.get(exc.status_code, "http_error"), message
        ).response(headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"fields": {"event": "error", "path": request.url.path}},
        )
        return ApiError(500, "internal_error", "internal error (logged on the server)").response()


def _add_api_routes(app: FastAPI, service: Service) -> None:
    settings = service.settings

    @app.get("/v1/health", response_model=HealthResponse, tags=["service"])
    async def health() -> HealthResponse:
        """Liveness and what is loaded (never needs the API key)."""
        return HealthResponse(
            status="ok",
            version=__version__,
            model=service.model_name,
            backend=service.backend,
            classes=len(service.recognizer.classes),
            seq_len=int(service.recognizer.backend.seq_len),
            web_page=(STATIC_DIR / "index.html").is_file(),
            in_flight=service.in_flight,
        )

    @app.get(
        "/v1/labels", response_model=LabelsResponse, responses={401: _ERRORS[401]}, tags=["service"]
    )
    async def labels() -> LabelsResponse:
        """The signs the model knows, in the model's output order."""
        classes = list(service.recognizer.classes)
        return LabelsResponse(labels=classes, count=len(classes))

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        openapi_extra=_predict_openapi(),
        tags=["recognition"],
    )
    async def predict(
        request: Request,
        top_k: int = Query(5, ge=1, le=settings.max_top_k, description="How many labels."),
    ) -> PredictResponse:
        """Recognise the sign in a video upload or a landmark clip.

        Send either ``multipart/form-data`` with the video in the field ``file``, or
        ``application/json`` with a landmark clip. Limits: the body size, and at most
        ``max_clip_frames`` frames / ``max_clip_seconds`` seconds per clip.
        """
        start = time.perf_counter()
        media = _media_type(request)
        if media == "application/json":
            body = await _read_body(request, settings.max_json_bytes, "JSON body")
            try:
                clip_req = LandmarkClipRequest.model_validate_json(body)
            except ValidationError as exc:
                raise validation_error(exc, "landmark clip") from None
            clip = _request_to_clip(clip_req, settings)
            prediction = await service.run_model(service.predict_clip, clip, top_k)
            ts = clip.timestamps
            duration = float(ts[-1] - ts[0]) if ts is not None and len(ts) > 1 else None
            kind, source = "landmarks", "landmarks"
        elif media == "multipart/form-data":
            body = await _read_body(request, settings.max_upload_bytes, "upload")
            upload, filename = await _upload(request, body)
            suffix = Path(filename).suffix.lower()
            suffix = suffix if suffix in VIDEO_SUFFIXES else ".mp4"
            with tempfile.TemporaryDirectory(prefix="aslrec-upload-") as tmp:
                path = Path(tmp) / f"upload{suffix}"
                path.write_bytes(upload)
                del upload
                prediction, duration = await service.run_video(service.predict_video, path, top_k)
            kind, source = "video", filename
        else:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"send application/json (a landmark clip) or multipart/form-data (a video in "
                f"the field 'file'), not {media or 'a body without Content-Type'}",
            )
        out = prediction.to_dict()
        return PredictResponse(
            label=out["label"],
            probability=out["probability"],
            predictions=out["predictions"],
            frames=out["frames"],
            hand_detection_rate=out["hand_detection_rate"],
            input=kind,  # type: ignore[arg-type]
            source=source,
            duration_s=None if duration is None else round(duration, 3),
            elapsed_ms=round((time.perf_counter() - start) * 1000.0, 2),
        )


async def _upload(request: Request, body: bytes) -> tuple[bytes, str]:
    """The one video of a multipart body: (bytes, client's file name)."""
    replayed = Request(request.scope, _replay(body))
    try:
        form = await replayed.form(max_files=1, max_fields=8)
    except Exception as exc:
        detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
        raise ApiError(
            400, "invalid_multipart", f"cannot parse the multipart body: {detail}"
        ) from None
    try:
        unknown = [key for key in form if key != "file"]
        if unknown:
            raise ApiError(
                422,
                "invalid_input",
                f"unknown form field(s) {', '.join(map(repr, sorted(set(unknown))))}: send only "
                "the video, in the field 'file'",
            )
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise ApiError(
                422, "invalid_input", "no video: send it as a file in the form field 'file'"
            )
        media = (part.content_type or "").split(";", 1)[0].strip().lower()
        if media and not (media.startswith("video/") or media == "application/octet-stream"):
            raise ApiError(
                415, "unsupported_media_type", f"the file must be a video (video/*), not {media}"
            )
        data = await part.read()
        if not data:
            raise ApiError(422, "invalid_video", "the uploaded file is empty")
        name = Path(part.filename or "upload").name[:200] or "upload"
        return data, name
    finally:
        await form.close()


# --------------------------------------------------------------------------------------------
# The browser page and the docs, from the built static folder
# --------------------------------------------------------------------------------------------
def _add_stream_route(app: FastAPI, service: Service) -> None:
    @app.websocket("/v1/stream")
    async def stream(
        ws: WebSocket, api_key: str | None = None, unknown: bool = False, top_k: int = 3
    ) -> None:
        """Landmark frames in, sign events out (protocol: :mod:`aslrec.serving.websocket`)."""
        await serve_stream(ws, service, api_key=api_key, unknown=unknown, top_k=top_k)


def _add_page_routes(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/models/hand_landmarker.task", include_in_schema=False)
    async def hand_model() -> FileResponse:
        """The page's hand model: the bundle aslrec builds from its MediaPipe wheel, the same
        model that tracks uploaded videos (:func:`aslrec.landmarks.hands.hand_landmarker_task`)."""
        from aslrec.landmarks.hands import hand_landmarker_task

        path = await anyio.to_thread.run_sync(hand_landmarker_task, "full")
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/", include_in_schema=False, response_model=None)
    async def page() -> FileResponse | HTMLResponse:
        index = STATIC_DIR / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_message_page("aslrec: page not built", BUILD_HINT), status_code=503)

    @app.get("/docs", include_in_schema=False, response_model=None)
    async def docs() -> HTMLResponse:
        bundle = STATIC_DIR / "swagger-ui" / "swagger-ui-bundle.js"
        if not bundle.is_file():
            return HTMLResponse(
                _message_page(
                    "aslrec: API docs not built",
                    "The interactive docs use Swagger UI from the page build (no CDN). "
                    + BUILD_HINT,
                ),
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="aslrec API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
        )


def _message_page(title: str, text: str) -> str:
    import html

    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "</head><body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
