"""``POST /v1/predict``: a video upload or a landmark clip in, its top-k signs out.

The body is read by hand, capped (:mod:`aslrec.serving.limits`), rather than declared as a
FastAPI body parameter: FastAPI would parse (and spool) the whole body before the route could
refuse it, and one operation takes two media types, which a body parameter cannot. So the
request body's OpenAPI description is given as ``openapi_extra``, from the two pydantic models
that describe it.

A video streams from the socket through the multipart parser, which spools it to a temporary
file past 1 MB, and is copied from there to the file the tracker reads, in chunks: an upload
is never whole in memory (the bytes were held three times before: the body, the parsed part
and its copy). Each request holds its body's size of the service's upload budget until it is
answered, so too many at once get a 503 instead of filling the disk or the queue.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import anyio
import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import ClientDisconnect

from aslrec.errors import DataError, NoHandsError
from aslrec.inference.recognizer import Prediction
from aslrec.landmarks.clip import LandmarkClip
from aslrec.landmarks.video import is_image_file, is_trackable_file
from aslrec.serving.errors import ERROR_RESPONSES, ApiError, validation_error
from aslrec.serving.limits import body_reservation, capped_stream, read_capped
from aslrec.serving.schemas import LandmarkClipRequest, PredictResponse, VideoUpload
from aslrec.serving.service import ServiceDep
from aslrec.serving.settings import ServiceSettings

router = APIRouter(tags=["recognition"])

_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LandmarkClipRequest.model_json_schema()},
            "multipart/form-data": {"schema": VideoUpload.model_json_schema()},
        },
    }
}


def bounded_top_k(
    service: ServiceDep,
    top_k: Annotated[
        int,
        Query(ge=1, description="How many labels (at most the service's max_top_k, default 50)."),
    ] = 5,
) -> int:
    """``top_k``, bounded by this service's ``max_top_k``: a setting, so checked here rather
    than in the parameter's schema (fixed when the route is defined); same 422 as the schema's
    own bound."""
    limit = service.settings.max_top_k
    if top_k > limit:
        raise validation_error(
            RequestValidationError(
                [
                    {
                        "loc": ("query", "top_k"),
                        "msg": f"Input should be less than or equal to {limit}",
                        "type": "less_than_equal",
                    }
                ]
            ),
            "request",
        )
    return top_k


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=_REQUEST_BODY,
)
async def predict(
    request: Request, service: ServiceDep, top_k: Annotated[int, Depends(bounded_top_k)]
) -> PredictResponse:
    """Recognise the sign in a video upload or a landmark clip.

    Send either ``multipart/form-data`` with the video in the field ``file``, or
    ``application/json`` with a landmark clip. Limits: the body size, and at most
    ``max_clip_frames`` frames / ``max_clip_seconds`` seconds per clip.
    """
    start = time.perf_counter()
    settings = service.settings
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        cap, what = settings.max_json_bytes, "JSON body"
    elif media == "multipart/form-data":
        cap, what = settings.max_upload_bytes, "upload"
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send application/json (a landmark clip) or multipart/form-data (a video in "
            f"the field 'file'), not {media or 'a body without Content-Type'}",
        )
    with service.upload_budget.reserve(body_reservation(request, cap, what)):
        prediction: Prediction
        if media == "application/json":
            body = await read_capped(request, cap, what)
            try:
                clip_req = LandmarkClipRequest.model_validate_json(body)
            except ValidationError as exc:
                raise validation_error(exc, "landmark clip") from None
            clip = _request_to_clip(clip_req, settings)
            prediction = await service.run_model(service.predict_clip, clip, top_k)
            ts = clip.timestamps
            duration = float(ts[-1] - ts[0]) if ts is not None and len(ts) > 1 else None
            kind, source = "landmarks", "landmarks"
        else:
            with tempfile.TemporaryDirectory(prefix="aslrec-upload-") as tmp:
                path, filename = await _save_upload(request, cap, Path(tmp))
                prediction, duration = await service.run_video(service.predict_video, path, top_k)
            kind, source = ("photo" if is_image_file(path) else "video"), filename
    out = prediction.to_dict()
    return PredictResponse(
        label=out["label"],
        probability=out["probability"],
        predictions=out["predictions"],
        frames=out["frames"],
        hand_detection_rate=out["hand_detection_rate"],
        input=kind,  # type: ignore[arg-type]
        source=source,
        duration_s=None if duration is None else round(duration, 3),
        elapsed_ms=round((time.perf_counter() - start) * 1000.0, 2),
    )


def _request_to_clip(req: LandmarkClipRequest, settings: ServiceSettings) -> LandmarkClip:
    frames = len(req.landmarks)
    if frames > settings.max_clip_frames:
        raise ApiError(
            422,
            "too_long",
            f"the clip has {frames} frames: at most {settings.max_clip_frames} per request",
        )
    if (
        req.timestamps is not None
        and req.timestamps[-1] - req.timestamps[0] > settings.max_clip_seconds
    ):
        raise ApiError(
            422,
            "too_long",
            f"the clip spans {req.timestamps[-1] - req.timestamps[0]:.1f} s: at most "
            f"{settings.max_clip_seconds:g} s per request",
        )
    landmarks = np.asarray(req.landmarks, dtype=np.float32)
    try:
        if req.presence is None:
            clip = LandmarkClip.from_array(landmarks, timestamps=req.timestamps, source="landmarks")
        else:
            clip = LandmarkClip(
                landmarks=landmarks,
                presence=np.asarray(req.presence, dtype=bool),
                timestamps=req.timestamps,
                source="landmarks",
            )
    except DataError as exc:
        raise ApiError(422, "invalid_input", str(exc).removeprefix("landmarks: ")) from None
    if not clip.presence.any():
        raise NoHandsError(
            f"no hand in any of the clip's {frames} frames (every hand is absent or all zeros)"
        )
    return clip


async def _save_upload(request: Request, cap: int, folder: Path) -> tuple[Path, str]:
    """Stream the one video of a multipart body to a file in ``folder``: (its path, the
    client's file name)."""
    async with contextlib.aclosing(capped_stream(request, cap, "upload")) as body:
        parser = MultiPartParser(request.headers, body, max_files=1, max_fields=8)
        try:
            form = await parser.parse()
        except (ApiError, ClientDisconnect):
            raise
        except Exception as exc:
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise ApiError(
                400, "invalid_multipart", f"cannot parse the multipart body: {detail}"
            ) from None
    try:
        unknown = [key for key in form if key != "file"]
        if unknown:
            raise ApiError(
                422,
                "invalid_input",
                f"unknown form field(s) {', '.join(map(repr, sorted(set(unknown))))}: send only "
                "the video or photo, in the field 'file'",
            )
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise ApiError(
                422,
                "invalid_input",
                "no video or photo: send it as a file in the form field 'file'",
            )
        media = (part.content_type or "").split(";", 1)[0].strip().lower()
        if media and not (
            media.startswith(("video/", "image/")) or media == "application/octet-stream"
        ):
            raise ApiError(
                415,
                "unsupported_media_type",
                f"the file must be a video or a photo (video/*, image/*), not {media}",
            )
        if not part.size:
            raise ApiError(422, "invalid_video", "the uploaded file is empty")
        name = Path(part.filename or "upload").name[:200] or "upload"
        suffix = Path(name).suffix.lower()
        image = media.startswith("image/") or is_image_file(Path(name))
        kept = suffix if is_trackable_file(Path(name)) else ".jpg" if image else ".mp4"
        path = folder / f"upload{kept}"
        await anyio.to_thread.run_sync(_copy, part.file, path)
        return path, name
    finally:
        await form.close()


def _copy(source: BinaryIO, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
