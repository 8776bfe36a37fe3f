"""``GET /v1/health`` and ``GET /v1/labels``: what is loaded and what it knows."""

from __future__ import annotations

from fastapi import APIRouter

from aslrec.serving.errors import ERROR_RESPONSES
from aslrec.serving.routes.page import page_built
from aslrec.serving.schemas import HealthResponse, LabelsResponse
from aslrec.serving.service import ServiceDep
from aslrec.version import __version__

health_router = APIRouter(tags=["service"])
"""Open even when the service has an API key: load balancers probe it without one."""
router = APIRouter(tags=["service"])


@health_router.get("/v1/health", response_model=HealthResponse)
async def health(service: ServiceDep) -> HealthResponse:
    """Liveness and what is loaded (never needs the API key)."""
    return HealthResponse(
        status="ok",
        version=__version__,
        model=service.model_name,
        backend=service.backend,
        classes=len(service.recognizer.classes),
        seq_len=int(service.recognizer.backend.seq_len),
        web_page=page_built(),
        in_flight=service.in_flight,
    )


@router.get("/v1/labels", response_model=LabelsResponse, responses={401: ERROR_RESPONSES[401]})
async def labels(service: ServiceDep) -> LabelsResponse:
    """The signs the model knows, in the model's output order."""
    classes = list(service.recognizer.classes)
    return LabelsResponse(labels=classes, count=len(classes))
