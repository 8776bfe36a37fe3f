"""The API key, as a declared security scheme: ``X-API-Key``, checked by a route dependency.

When the service has a key (:attr:`ServiceSettings.api_key`), every ``/v1`` route but
``/v1/health`` depends on :func:`require_api_key`, so ``/openapi.json`` lists the scheme under
``components.securitySchemes`` and on each guarded operation, and a client generated from it
sends the header. Without a key nothing is checked and nothing is declared: a spec that asked
for a key the service ignores would mislead its readers. The WebSocket cannot use the
dependency the same way (browsers cannot set headers on a WebSocket, so it also takes an
``api_key`` query parameter): :mod:`aslrec.serving.routes.stream` checks it with
:func:`key_matches`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Security
from fastapi.security import APIKeyHeader

from aslrec.serving.errors import ApiError
from aslrec.serving.service import ServiceDep

API_KEY_HEADER = "X-API-Key"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="The service's API key (`aslrec serve --api-key`, or `$ASLREC_API_KEY`).",
    auto_error=False,  # a missing key gets the service's own 401 answer, not FastAPI's
)


def key_matches(expected: str | None, given: str | None) -> bool:
    """Whether ``given`` is the service's key (always, when it has none); constant-time, so the
    answer's timing does not leak how much of a guess was right."""
    if not expected:
        return True
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def unauthorized() -> ApiError:
    return ApiError(
        401, "unauthorized", f"missing or wrong API key: send it in the {API_KEY_HEADER} header"
    )


async def require_api_key(
    service: ServiceDep, key: Annotated[str | None, Security(api_key_header)]
) -> None:
    """Route dependency: a 401 ``unauthorized`` answer unless the request carries the key."""
    if not key_matches(service.settings.api_key, key):
        raise unauthorized()
