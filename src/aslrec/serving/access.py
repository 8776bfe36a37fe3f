"""Request ids, in-flight counting, headers every response carries and one access-log line per
HTTP request (ASGI middleware).

Middleware rather than a dependency because it must see every request, including the ones no
route matches (404) and the ones a dependency refuses (401), and every response's status and
size. The API key is not checked here but by :mod:`aslrec.serving.security`, so that OpenAPI
declares it.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aslrec.serving.logs import access_log, client_address
from aslrec.serving.service import Service

SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""A client's ``X-Request-ID`` that is kept: anything else (control characters, a megabyte,
text that would forge log fields or headers downstream) is replaced by a new id."""

RESPONSE_HEADERS = [(b"x-content-type-options", b"nosniff")]
"""On every response: a browser must take each answer as its declared type, never sniff one
that echoes client text (an error message, an upload's file name) into HTML or script."""


def request_id(given: str | None) -> str:
    """The client's request id when it is :data:`SAFE_REQUEST_ID`, else a new one."""
    if given is not None and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex[:16]


class AccessMiddleware:
    """Tags each response with ``X-Request-ID`` (the client's when safe, else a new one) and
    :data:`RESPONSE_HEADERS`, and logs it."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = request_id(headers.get("x-request-id"))
        state = {"status": 500, "bytes": 0}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    *RESPONSE_HEADERS,
                    (b"x-request-id", rid.encode()),
                ]
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        self.service.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.service.in_flight -= 1
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "event": "http",
                        "request_id": rid,
                        "method": scope.get("method"),
                        "path": scope.get("path", ""),
                        "query": scope.get("query_string", b"").decode("latin-1")[:200],
                        "status": state["status"],
                        "bytes_out": state["bytes"],
                        "duration_ms": round((time.perf_counter() - start) * 1000.0, 2),
                        "client": client_address(scope),
                    }
                },
            )
