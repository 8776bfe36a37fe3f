"""Error answers of the service: ``{"error": {"code", "message", "details"?}}``, status 4xx.

Every failure becomes that one shape, whichever layer raised it (a route's :class:`ApiError`,
FastAPI's parameter validation, an :class:`~aslrec.errors.AslrecError` from the library,
Starlette's 404/405), so a client handles errors in one place; only a bug is a 500, logged
with its traceback. A client that leaves before its body is read is no error of the service:
its request's access-log line says status 499 (nginx's "client closed request"), and nothing
else is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from aslrec.errors import AslrecError, NoHandsError
from aslrec.serving.schemas import ErrorResponse

log = logging.getLogger("aslrec.serving")

CLIENT_CLOSED_REQUEST = 499
"""The access-log status of a request whose client disconnected before it was answered."""


class ApiError(Exception):
    """An error answer: HTTP status, stable code, one-line message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def _details(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input (which may be megabytes)."""
    out = []
    for err in errors[:20]:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "message": str(err.get("msg", "")), "type": str(err.get("type"))})
    return out


def _summary(details: list[dict[str, Any]], what: str) -> str:
    if not details:
        return f"invalid {what}"
    first = details[0]
    where = ".".join(str(p) for p in first["loc"]) or what
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return f"{where}: {first['message']}{more}"


def validation_error(exc: ValidationError | RequestValidationError, what: str) -> ApiError:
    details = _details(list(exc.errors()))
    if any(d["type"] == "json_invalid" for d in details):
        return ApiError(400, "invalid_json", f"the {what} is not valid JSON", details)
    return ApiError(422, "invalid_input", _summary(details, what), details)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in [
        (400, "Malformed JSON or multipart body"),
        (401, "Missing or wrong API key (when the service has one)"),
        (413, "Body larger than the upload limit"),
        (415, "Neither JSON nor multipart, or the file is not a video"),
        (422, "Invalid landmarks, unreadable video, too long, or no hands"),
        (503, "Too many uploads in flight: retry after the Retry-After header's seconds"),
    ]
}
"""The error answers a route may give, for its OpenAPI ``responses``."""


def install_error_handlers(app: FastAPI) -> None:
    """Answer every exception a request can raise with the one error shape."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc, "request").response()

    @app.exception_handler(NoHandsError)
    async def no_hands(_: Request, exc: NoHandsError) -> JSONResponse:
        return ApiError(
            422,
            "no_hands",
            f"{exc}; nothing to recognise: hands must be visible in the video",
        ).response()

    @app.exception_handler(AslrecError)
    async def aslrec_error(_: Request, exc: AslrecError) -> JSONResponse:
        return ApiError(422, "invalid_input", str(exc)).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        message = {404: "no such route", 405: "method not allowed on this route"}.get(
            exc.status_code, str(exc.detail)
        )
        code = codes.get(exc.status_code, "http_error")
        return ApiError(exc.status_code, code, message, headers=exc.headers).response()

    @app.exception_handler(ClientDisconnect)
    async def client_left(_: Request, __: ClientDisconnect) -> Response:
        # never reaches the client (uvicorn drops it); its status goes to the access log
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"fields": {"event": "error", "path": request.url.path}},
        )
        return ApiError(500, "internal_error", "internal error (logged on the server)").response()
