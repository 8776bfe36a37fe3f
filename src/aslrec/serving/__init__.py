"""aslrec as a service: ``aslrec serve`` (HTTP + WebSocket API and the browser page).

FastAPI and uvicorn are imported only here, so the rest of aslrec never needs them.
"""

from __future__ import annotations

from aslrec.serving.app import create_app
from aslrec.serving.settings import ServiceSettings, StreamSettings

__all__ = ["ServiceSettings", "StreamSettings", "create_app"]
