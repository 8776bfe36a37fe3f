"""aslrec as a service: ``aslrec serve`` (HTTP + WebSocket API and the browser page).

FastAPI and uvicorn (the ``serve`` extra) are imported only when the app is built, so the rest
of aslrec never needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aslrec.serving.settings import ServiceSettings, StreamSettings

if TYPE_CHECKING:
    from aslrec.serving.app import create_app

__all__ = ["ServiceSettings", "StreamSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from aslrec.serving.app import create_app

        return create_app
    raise AttributeError(f"module 'aslrec.serving' has no attribute {name!r}")
