"""Request bodies read with a size cap, before anything parses them.

Starlette would buffer a whole body (or spool a whole multipart upload to disk) before a route
could look at its size; reading the stream here stops at the cap, so an oversized body costs at
most ``cap`` bytes of memory and gets its 413 at once. A ``Content-Length`` over the cap is
refused without reading anything.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import Message, Receive

from aslrec.serving.errors import ApiError


async def read_capped(request: Request, cap: int, what: str) -> bytes:
    """The body of ``request``, or a 413 ``payload_too_large`` naming ``what`` past ``cap``."""
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


def replayed(request: Request, body: bytes) -> Request:
    """``request`` again with its (already read, capped) body, for Starlette's form parser."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    replay: Receive = receive
    return Request(request.scope, replay)
