"""Error answers of the service: ``{"error": {"code", "message", "details"?}}``, status 4xx."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

API_KEY_HEADER = "X-API-Key"


class ApiError(Exception):
    """An error answer: HTTP status, stable code, one-line message."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


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


def unauthorized() -> ApiError:
    return ApiError(
        401, "unauthorized", f"missing or wrong API key: send it in the {API_KEY_HEADER} header"
    )
