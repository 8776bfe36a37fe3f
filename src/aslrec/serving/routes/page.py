"""The browser page, its static files, its hand model and the API docs (``/``, ``/static``,
``/models/hand_landmarker.task``, ``/docs``), all served from the built static folder.

The page and Swagger UI are built by ``make web`` (npm), so a checkout without the build still
serves the API; the page and the docs then answer 503 with how to build them.
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path

import anyio
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

# MediaPipe's files, which the system's MIME table may not know (WebAssembly must be served as
# application/wasm for browsers to stream-compile it)
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/octet-stream", ".tflite")
mimetypes.add_type("application/octet-stream", ".binarypb")
mimetypes.add_type("application/octet-stream", ".data")

BUILD_HINT = (
    "The browser page is not built. From a source checkout run `make web` (npm installs "
    "@mediapipe/hands and copies it with the page into src/aslrec/serving/static/), then "
    "restart `aslrec serve`. The API works without it: see /docs and /openapi.json."
)

router = APIRouter(include_in_schema=False)


def page_built() -> bool:
    """Whether the browser page's files are installed."""
    return (STATIC_DIR / "index.html").is_file()


def static_files() -> StaticFiles:
    """The built static folder, for ``app.mount("/static", ...)`` (a router cannot mount)."""
    return StaticFiles(directory=STATIC_DIR, check_dir=False)


@router.get("/models/hand_landmarker.task")
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


@router.get("/", response_model=None)
async def page() -> FileResponse | HTMLResponse:
    index = STATIC_DIR / "index.html"
    if index.is_file():
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
    return HTMLResponse(_message_page("aslrec: page not built", BUILD_HINT), status_code=503)


@router.get("/docs", response_model=None)
async def docs() -> HTMLResponse:
    bundle = STATIC_DIR / "swagger-ui" / "swagger-ui-bundle.js"
    if not bundle.is_file():
        return HTMLResponse(
            _message_page(
                "aslrec: API docs not built",
                "The interactive docs use Swagger UI from the page build (no CDN). " + BUILD_HINT,
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
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "</head><body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
