"""Request bodies read with a size cap, and a bound on the body bytes of all requests together.

Starlette would buffer a whole body (or spool a whole multipart upload to disk) before a route
could look at its size; reading the stream here stops at the cap, so an oversized body costs at
most ``cap`` bytes and gets its 413 at once. A ``Content-Length`` over the cap is refused
without reading anything (:func:`body_reservation`).

The cap bounds one request; :class:`UploadBudget` bounds them all: sixteen concurrent 49 MB
uploads used to peak at 2.9 GB of memory. Each request reserves its body's size before reading
it, and one that would take the total past the budget gets a 503 with ``Retry-After`` at once,
before its body is read.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from fastapi import Request

from aslrec.serving.errors import ApiError

RETRY_AFTER_S = 5
"""The ``Retry-After`` of a 503 for a full upload budget: about one video's tracking time."""


def _too_big(cap: int, what: str) -> ApiError:
    return ApiError(
        413, "payload_too_large", f"the {what} is larger than the limit of {cap:,} bytes"
    )


def body_reservation(request: Request, cap: int, what: str) -> int:
    """The bytes to reserve for the body of ``request``: its ``Content-Length``, else ``cap``
    (a chunked body may be up to that); a 413 ``payload_too_large`` naming ``what`` at once
    when the declared length is over ``cap``, so an oversized upload gets its 413, not a 503."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return cap
    if int(length) > cap:
        raise _too_big(cap, what)
    return int(length)


async def capped_stream(request: Request, cap: int, what: str) -> AsyncIterator[bytes]:
    """The body of ``request`` chunk by chunk, or a 413 ``payload_too_large`` naming ``what``
    once it passes ``cap``."""
    size = 0
    async with contextlib.aclosing(request.stream()) as chunks:
        async for chunk in chunks:
            size += len(chunk)
            if size > cap:
                raise _too_big(cap, what)
            yield chunk


async def read_capped(request: Request, cap: int, what: str) -> bytes:
    """The whole body of ``request``, at most ``cap`` bytes (see :func:`capped_stream`)."""
    chunks = [chunk async for chunk in capped_stream(request, cap, what)]
    return b"".join(chunks)


class UploadBudget:
    """Body bytes reserved by the requests in flight, at most ``limit`` together.

    Used from the event loop only (reservations are made and released in request handlers), so
    no lock is needed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reserved = 0

    @contextlib.contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes of the budget for the block, or raise a 503 ``server_busy`` with
        ``Retry-After`` when they are not free."""
        if self.reserved + size > self.limit:
            raise ApiError(
                503,
                "server_busy",
                f"too many uploads in progress: retry in {RETRY_AFTER_S} s",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self.reserved += size
        try:
            yield
        finally:
            self.reserved -= size
