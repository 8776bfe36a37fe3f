"""``WebSocket /v1/stream``: landmark frames in, sign events out.

Protocol (JSON text messages; the session logic and the message shapes are in
:mod:`aslrec.serving.stream`, the client messages' schemas in :mod:`aslrec.serving.schemas`):

- server -> client on connect: ``{"type": "ready", "labels", "max_fps", "top_k", "threshold",
  "slots"}``;
- client -> server: ``frame`` messages (``landmarks`` in aslrec's slots, or raw MediaPipe
  ``hands``), ``{"type": "flush"}`` (finish the sign in progress; answered by its events, then
  ``{"type": "flushed"}``) and ``{"type": "reset"}`` (answered ``{"type": "reset"}``);
- server -> client: ``event``, ``partial``, ``warning`` (``rate_limited``: frames beyond
  ``max_stream_fps`` are dropped, at most one warning a second) and ``error`` (``code`` and
  ``message``; an invalid message is answered and skipped, the socket stays open).

Query parameters: ``mode`` (``signs``, the default, or ``fingerspelling``: ``letter`` and
``word`` messages instead of ``event``; an unknown mode, or ``fingerspelling`` with a model
that has no letter classes, is answered by an ``error`` message and closes the socket with
1008); ``unknown=true`` also sends events below the model's threshold (labelled ``unknown``);
``top_k`` (labels per event); ``api_key`` when the service has one (browsers cannot set headers
on a WebSocket; ``X-API-Key`` works too).

Closing codes: 1008 for a wrong API key or more than ``max_bad_messages`` invalid messages,
1009 for a message over ``max_message_bytes``, 1011 for a server bug (logged).
Frames of one socket are processed in order, one at a time, in the worker threads.

The key is checked after accepting the socket, not by the HTTP security dependency: a refused
handshake reaches a browser as a bare 403 with no reason, while an accepted socket can say
``unauthorized`` in an ``error`` message and close with 1008.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import TypeAdapter, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from aslrec.errors import AslrecError, ConfigError
from aslrec.serving.errors import validation_error
from aslrec.serving.logs import access_log, client_address
from aslrec.serving.schemas import ClientMessage, ControlMessage, FrameMessage
from aslrec.serving.security import API_KEY_HEADER, key_matches, unauthorized
from aslrec.serving.service import Service, ServiceDep
from aslrec.serving.stream import MODES, Mode, StreamInputError, StreamOptions, StreamSession

log = logging.getLogger("aslrec.serving")
router = APIRouter()

OPENAPI_DESCRIPTION = """
## WebSocket `/v1/stream`

OpenAPI has no operations for WebSockets, so this one is described here: landmark frames in,
sign events out, as JSON text messages.

- **Query parameters**: `api_key` (when the service has one: browsers cannot set headers on a
  WebSocket; `X-API-Key` works too), `mode` (`signs`, default, or `fingerspelling`),
  `unknown=true` (also send events below the model's threshold, labelled `unknown`), `top_k`
  (labels per event, default 3).
- **On connect** the server sends `{"type": "ready", "mode", "labels", "max_fps", "top_k",
  "threshold", "slots"}`, plus `letters` and `lexicon` (its word count, or null) in
  fingerspelling mode.
- **Client messages**: `{"type": "frame", "t"?, "landmarks", "presence"?}` (one frame's hands
  in aslrec's slots: 0 = the signer's left, 1 = the signer's right, 21 x 3 each) or
  `{"type": "frame", "t"?, "hands": [{"label", "score", "landmarks"}], "handedness"}`
  (MediaPipe's raw hands; the server assigns the slots); `{"type": "flush"}` (finish the sign
  in progress: answered by its events, then `{"type": "flushed"}`); `{"type": "reset"}`
  (answered `{"type": "reset"}`).
- **Server messages**: `event` (a finished sign: `label`, `probability`, `top_k`, `start_s`,
  `end_s`, `known`), `partial` (the sign in progress, provisional; in fingerspelling mode
  `spelling`, the letters of the word in progress), `letter` (fingerspelling: `letter`,
  `confidence`, `start_s`, `emitted_s`, `alternatives`, sent in the replies to the frame that
  decided it),
  `word` (fingerspelling, a word closed: `word` = the raw spelling, `snapped` and `distance`
  when the server has a lexicon (`aslrec serve --lexicon`), `letters`, `start_s`, `closed_s`,
  `reason`: `hand_dropped`, `pause` or `end_of_stream` after a flush), `warning`
  (`rate_limited`: frames beyond `max_fps` are dropped) and `error` (`code`, `message`: an
  invalid message is answered and skipped, the socket stays open).
- **Closing codes**: 1008 for a wrong API key (after an `unauthorized` error message) or too
  many invalid messages, 1009 for a message over the size limit, 1011 for a server error.
"""
"""The socket's protocol for the OpenAPI description (and so ``/docs``), which has no place for
WebSocket routes: without it a client generated from the spec would not know the socket."""
_CLIENT_MESSAGE: TypeAdapter[Any] = TypeAdapter(ClientMessage)


class _Closed(Exception):
    def __init__(self, code: int, outcome: str) -> None:
        super().__init__(outcome)
        self.code = code
        self.outcome = outcome


class TokenBucket:
    """``rate`` frames per second on average, bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class StreamConnection:
    """One accepted socket: its session, its limits and its counters."""

    def __init__(
        self, ws: WebSocket, service: Service, *, mode: Mode, unknown: bool, top_k: int
    ) -> None:
        settings = service.settings
        self.ws = ws
        self.service = service
        self.settings = settings
        self.options = StreamOptions(
            mode=mode,
            top_k=max(1, min(top_k, settings.max_top_k)),
            emit_unknown=unknown,
            partial_every_s=settings.stream.partial_every_s,
            provisional_every_s=settings.stream.provisional_every_s,
            segmenter=settings.stream.segmenter,
            spelling=settings.stream.spelling,
        )
        self.session = StreamSession(service.recognizer, self.options, service.lexicon)
        self.bucket = TokenBucket(settings.max_stream_fps)
        self.dropped = 0
        self.bad = 0
        self._last_warning = -1e9

    async def run(self) -> tuple[int, str]:
        """Serve until the client leaves or a limit closes the socket: (close code, outcome)."""
        ready: dict[str, Any] = {
            "type": "ready",
            "mode": self.options.mode,
            "labels": list(self.service.recognizer.classes),
            "max_fps": self.settings.max_stream_fps,
            "top_k": self.options.top_k,
            "threshold": self.session.stream.threshold,
            "slots": ["signer_left", "signer_right"],
        }
        if self.session.speller is not None:
            ready["letters"] = self.session.speller.letters
            lexicon = self.service.lexicon
            ready["lexicon"] = len(lexicon.words) if lexicon is not None else None
        await self.ws.send_json(ready)
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return int(message.get("code") or 1000), "client_closed"
                await self._handle(message.get("text"))
        except _Closed as closed:
            return closed.code, closed.outcome
        except WebSocketDisconnect as exc:
            return exc.code, "client_closed"

    async def _handle(self, text: str | None) -> None:
        if text is None:
            await self._invalid("invalid_input", "send frames as JSON text messages")
            return
        if len(text) > self.settings.max_message_bytes:
            limit = self.settings.max_message_bytes
            await self._error("message_too_large", f"messages are limited to {limit:,} bytes")
            await self.ws.close(code=1009, reason="message too large")
            raise _Closed(1009, "message_too_large")
        try:
            parsed = _CLIENT_MESSAGE.validate_json(text)
        except ValidationError as exc:
            err = validation_error(exc, "message")
            await self._invalid(err.code, err.message, err.details)
            return
        if isinstance(parsed, ControlMessage):
            await self._control(parsed)
        else:
            await self._frame(parsed)

    async def _control(self, message: ControlMessage) -> None:
        if message.type == "reset":
            await self.service.run_model(self.session.reset)
            await self.ws.send_json({"type": "reset"})
            return
        for reply in await self.service.run_model(self.session.flush):
            await self.ws.send_json(reply)
        await self.ws.send_json({"type": "flushed"})

    async def _frame(self, message: FrameMessage) -> None:
        if not self.bucket.take():
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_warning >= 1.0:
                self._last_warning = now
                await self.ws.send_json(
                    {
                        "type": "warning",
                        "code": "rate_limited",
                        "message": f"more than {self.settings.max_stream_fps:g} frames per "
                        "second: the excess frames are dropped",
                        "dropped": self.dropped,
                    }
                )
            return
        try:
            replies = await self.service.run_model(self.session.frame, message, time.monotonic())
        except (StreamInputError, AslrecError) as exc:
            await self._invalid("invalid_input", str(exc))
            return
        for reply in replies:
            await self.ws.send_json(reply)

    async def _error(self, code: str, message: str, details: Any = None) -> None:
        payload: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if details:
            payload["details"] = details
        await self.ws.send_json(payload)

    async def _invalid(self, code: str, message: str, details: Any = None) -> None:
        self.bad += 1
        await self._error(code, message, details)
        limit = self.settings.max_bad_messages
        if self.bad > limit:
            await self._error("too_many_errors", f"more than {limit} invalid messages: closing")
            await self.ws.close(code=1008, reason="too many invalid messages")
            raise _Closed(1008, "too_many_errors")

    def counts(self) -> dict[str, Any]:
        return {**self.session.stats(), "dropped": self.dropped, "invalid": self.bad}


@router.websocket("/v1/stream")
async def stream(
    ws: WebSocket,
    service: ServiceDep,
    api_key: str | None = None,
    mode: str = "signs",
    unknown: bool = False,
    top_k: int = 3,
) -> None:
    """The whole life of one ``/v1/stream`` socket, with its access-log line at the end."""
    start = time.perf_counter()
    await ws.accept()
    key = api_key if api_key is not None else ws.headers.get(API_KEY_HEADER.lower())
    if not key_matches(service.settings.api_key, key):
        await ws.send_json({"type": "error", **unauthorized().body()["error"]})
        await ws.close(code=1008, reason="unauthorized")
        _log(ws, start, "unauthorized", 1008, {})
        return
    try:
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        connection = StreamConnection(ws, service, mode=mode, unknown=unknown, top_k=top_k)
    except ConfigError as exc:
        await ws.send_json({"type": "error", "code": "invalid_input", "message": f"mode: {exc}"})
        await ws.close(code=1008, reason="invalid options")
        _log(ws, start, "invalid_options", 1008, {})
        return
    code, outcome = 1011, "internal_error"
    service.in_flight += 1
    try:
        code, outcome = await connection.run()
    except Exception as exc:
        log.error(
            "stream failed",
            exc_info=exc,
            extra={"fields": {"event": "error", "path": "/v1/stream"}},
        )
        if ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await connection._error("internal_error", "internal error (logged on the server)")
                await ws.close(code=1011)
    finally:
        service.in_flight -= 1
        connection.session.close()
        _log(ws, start, outcome, code, connection.counts())


def _log(ws: WebSocket, start: float, outcome: str, code: int, counts: dict[str, Any]) -> None:
    access_log.info(
        "websocket",
        extra={
            "fields": {
                "event": "websocket",
                "path": ws.url.path,
                "outcome": outcome,
                "close_code": code,
                "duration_ms": round((time.perf_counter() - start) * 1000.0, 2),
                "client": client_address(ws.scope),
                **counts,
            }
        },
    )
