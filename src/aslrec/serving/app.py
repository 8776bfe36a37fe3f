"""The HTTP/WebSocket service behind ``aslrec serve`` (FastAPI): see :func:`create_app`.

Routes (one router module each, under :mod:`aslrec.serving.routes`):

- ``POST /v1/predict``: a video upload (``multipart/form-data``, field ``file``) or a landmark
  clip (``application/json``, :class:`~aslrec.serving.schemas.LandmarkClipRequest`) -> top-k
  (:mod:`~aslrec.serving.routes.predict`).
- ``WebSocket /v1/stream``: landmark frames in, sign events out
  (:mod:`~aslrec.serving.routes.stream`).
- ``GET /v1/health``, ``GET /v1/labels`` (:mod:`~aslrec.serving.routes.status`);
  ``/openapi.json``; ``/docs`` and ``/`` the browser page (:mod:`~aslrec.serving.routes.page`).

Every bad input gets a 4xx JSON answer ``{"error": {"code", "message", "details"?}}``, never a
500 (:mod:`aslrec.serving.errors`): bodies are read with a size cap before anything is parsed
(:mod:`aslrec.serving.limits`), JSON is validated by strict pydantic models (unknown fields,
NaN, wrong shapes rejected with the field's path), videos are checked for duration before
tracking and their frames counted while tracking. A 500 means a bug, and is logged with its
traceback. Uploads stream to disk within a budget of body bytes in flight (503 with
``Retry-After`` beyond it), and ``aslrec serve`` closes connections whose headers or body stall
(:mod:`aslrec.serving.timeouts`); a client that leaves is one access-log line, status 499.

The routes share one :class:`~aslrec.serving.service.Service` (the model, the tracker pool, the
worker limits), injected as a dependency; the API key is another dependency
(:mod:`aslrec.serving.security`), declared in the OpenAPI schema. Each HTTP request and each
socket writes one JSON line to the ``aslrec.access`` logger
(:mod:`aslrec.serving.access`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Security

from aslrec.inference.recognizer import Recognizer, split_signs
from aslrec.serving.access import AccessMiddleware
from aslrec.serving.errors import install_error_handlers
from aslrec.serving.logs import configure_logging
from aslrec.serving.routes import page, predict, status, stream
from aslrec.serving.security import require_api_key
from aslrec.serving.service import Service
from aslrec.serving.settings import ServiceSettings
from aslrec.version import __version__

log = logging.getLogger("aslrec.serving")


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
        signs = split_signs(settings.signs) if settings.signs else None
        recognizer = Recognizer.load(
            model_dir, backend=backend, both_views=settings.both_views, signs=signs
        )
    name = Path(model_dir).name if model_dir else "default"
    service = Service(recognizer, settings, name, backend)
    configure_logging()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        fields = {"event": "start", "model": name, "backend": backend}
        log.info("started", extra={"fields": {**fields, "settings": settings.loggable()}})
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="aslrec",
        version=__version__,
        description="Recognise American Sign Language signs from MediaPipe hand landmarks. "
        "Landmark slots: 0 = the signer's own left hand, 1 = the signer's own right hand.\n"
        + stream.OPENAPI_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(AccessMiddleware, service=service)  # type: ignore[arg-type]
    install_error_handlers(app)
    # the key guards the /v1 HTTP routes but health; the socket checks it itself
    guarded = [Security(require_api_key)] if settings.api_key else []
    app.include_router(status.health_router)
    app.include_router(status.router, dependencies=guarded)
    app.include_router(predict.router, dependencies=guarded)
    app.include_router(stream.router)
    app.include_router(page.router)
    app.mount("/static", page.static_files(), name="static")
    return app
