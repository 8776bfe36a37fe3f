"""Connection timeouts uvicorn lacks: for a request's headers and for a stalled request body.

uvicorn times out only idle keep-alive connections: a client that sends half its headers, or
half its body, and then waits, holds its connection (and, mid-body, a request handler) for as
long as it likes. Measured before this: 300 connections with half-sent headers were all still
open after 40 s. :func:`timed_h11_protocol` makes uvicorn's h11 protocol close them:

- headers: a total deadline, from the connection (or its previous response) to the end of the
  request's headers, so a client trickling one byte at a time is closed too;
- body: an idle deadline, re-armed by each chunk received, so a slow but steady upload goes on;
  it does not run out while the server itself has stopped reading (flow control, when the
  route is slower than the client).

A closed body reaches the route as a client disconnect (logged as one access-log line, status
499). WebSocket connections leave this protocol at their upgrade, and with it its deadlines.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

Phase = Literal["headers", "body"]


class _TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a body idle deadline."""

    header_timeout_s: float
    body_timeout_s: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: Phase | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline of what the connection is waiting for from the client, if any."""
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # closed, or upgraded to a WebSocket
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._phase != "headers":  # a total deadline: not re-armed by each byte
                self._arm("headers", self.header_timeout_s)
        elif state is h11.SEND_BODY:
            self._arm("body", self.body_timeout_s)
        else:
            self._disarm()

    def _arm(self, phase: Phase, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._phase = None

    def _expired(self) -> None:
        if self._phase == "body" and self.flow.read_paused:
            self._arm("body", self.body_timeout_s)  # the server is not reading: not the client
            return
        self._disarm()
        if not self.transport.is_closing() and self.transport.get_protocol() is self:
            self.transport.close()


def timed_h11_protocol(header_timeout_s: float, body_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with these deadlines, for ``uvicorn.Config(http=...)``."""
    return type(
        "TimedH11Protocol",
        (_TimedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s},
    )
