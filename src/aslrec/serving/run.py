"""``aslrec serve``: build the app for one model and run it under uvicorn."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aslrec.errors import ConfigError
from aslrec.serving.settings import ServiceSettings

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp


def uvicorn_config(
    app: ASGIApp, settings: ServiceSettings, *, host: str = "127.0.0.1", port: int = 8000
) -> uvicorn.Config:
    """How ``aslrec serve`` runs ``app``: the settings' connection timeouts
    (:mod:`aslrec.serving.timeouts`), a WebSocket message cap just above the stream's, and no
    uvicorn access log (the app writes one JSON line per request and per socket, logger
    ``aslrec.access``, to stderr)."""
    import uvicorn

    from aslrec.serving.timeouts import timed_h11_protocol

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=timed_h11_protocol(settings.header_timeout_s, settings.body_timeout_s),
        timeout_keep_alive=settings.keep_alive_timeout_s,
        access_log=False,
        ws_max_size=settings.max_message_bytes + 1024,
        timeout_graceful_shutdown=5,
    )


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_dir: str | os.PathLike[str] | None = None,
    backend: str = "torch",
    settings: ServiceSettings | None = None,
) -> None:
    """Load the model (a bad one fails here, before listening), then serve until interrupted
    with ``settings`` (default: :meth:`ServiceSettings.from_env`)."""
    try:
        import uvicorn

        from aslrec.serving.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"aslrec serve needs the 'serve' extra ({exc.name} is missing): "
            "pip install 'aslrec[serve]'"
        ) from None

    settings = settings or ServiceSettings.from_env()
    if backend == "torch" and settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    app = create_app(model_dir, backend, settings)
    uvicorn.Server(uvicorn_config(app, settings, host=host, port=port)).run()
