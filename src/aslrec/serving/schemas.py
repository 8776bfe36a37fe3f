"""Pydantic models of the service's requests and answers (they also make ``/openapi.json``).

Every request model forbids unknown fields, NaN and infinity, and is strict about types (no
``"1.5"`` for a number, no ``1`` for ``true``), so a malformed request is a 422 naming the field.

Landmark conventions are aslrec's (see :mod:`aslrec.landmarks.clip`): a frame is
``[left_hand, right_hand]``, slot 0 the signer's own left hand and slot 1 the signer's own right
hand, each 21 ``[x, y, z]`` points in MediaPipe's normalised image units. A hand that was not
seen is all zeros, or is marked ``false`` in ``presence``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, model_validator

COORD_LIMIT = 100.0
"""Largest coordinate magnitude taken: MediaPipe's are about 0..1 (x, y) and small (z)."""
Coordinate = Annotated[float, Field(ge=-COORD_LIMIT, le=COORD_LIMIT)]
Point = Annotated[list[Coordinate], Field(min_length=3, max_length=3)]
HandPoints = Annotated[list[Point], Field(min_length=21, max_length=21)]
FrameHands = Annotated[list[HandPoints], Field(min_length=2, max_length=2)]
FramePresence = Annotated[list[bool], Field(min_length=2, max_length=2)]

_REQUEST = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class LandmarkClipRequest(BaseModel):
    """One clip of hand landmarks to classify (``POST /v1/predict`` with a JSON body)."""

    model_config = _REQUEST

    landmarks: list[FrameHands] = Field(
        min_length=1,
        description="Frames x 2 hands (signer's left, signer's right) x 21 points x [x, y, z].",
    )
    presence: list[FramePresence] | None = Field(
        default=None,
        description="Frames x 2 booleans: whether each hand was seen. Default: a hand whose "
        "21 points are all zero is absent.",
    )
    timestamps: list[float] | None = Field(
        default=None, description="Seconds of each frame, non-decreasing (optional)."
    )

    @model_validator(mode="after")
    def _same_length(self) -> LandmarkClipRequest:
        frames = len(self.landmarks)
        if self.presence is not None and len(self.presence) != frames:
            raise ValueError(f"presence has {len(self.presence)} frames but landmarks has {frames}")
        if self.timestamps is not None:
            if len(self.timestamps) != frames:
                raise ValueError(
                    f"timestamps has {len(self.timestamps)} values but landmarks has {frames}"
                )
            if any(b < a for a, b in zip(self.timestamps, self.timestamps[1:], strict=False)):
                raise ValueError("timestamps must not decrease")
        return self


class VideoUpload(BaseModel):
    """A video to classify (``POST /v1/predict`` with a ``multipart/form-data`` body)."""

    # Only describes the form for OpenAPI: the route parses the body itself, after capping its
    # size (aslrec.serving.limits), and answers 422 for any other field.
    model_config = ConfigDict(extra="forbid")

    file: UploadFile = Field(description="A video (mp4, mov, avi, mkv, webm).")


class LabelProbability(BaseModel):
    label: str
    probability: float


class PredictResponse(BaseModel):
    """The top-k signs of one clip."""

    label: str = Field(description="The most probable sign.")
    probability: float
    predictions: list[LabelProbability] = Field(description="Top-k, most probable first.")
    frames: int = Field(description="Frames in the clip (a video: all decoded frames).")
    hand_detection_rate: float = Field(description="Fraction of frames with a hand.")
    input: Literal["video", "photo", "landmarks"] = Field(
        description="What was sent: a video, a photo (one frame, held as a still sign) or "
        "landmarks."
    )
    source: str = Field(description="The uploaded file's name, or 'landmarks'.")
    duration_s: float | None = Field(description="Clip duration, when known.")
    elapsed_ms: float = Field(description="Server time spent on this request.")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Where in the request: field path.")
    message: str
    type: str


class ErrorInfo(BaseModel):
    code: str = Field(
        description="Stable machine-readable reason: invalid_input, invalid_json, "
        "unsupported_media_type, payload_too_large, too_long, invalid_video, no_hands, "
        "unauthorized, not_found, method_not_allowed, internal_error."
    )
    message: str = Field(description="One line a person can act on.")
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    error: ErrorInfo


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    model: str = Field(description="The model directory's name ('default' for the bundled one).")
    backend: str
    classes: int
    seq_len: int
    web_page: bool = Field(description="Whether the browser page's files are installed.")
    in_flight: int = Field(description="Requests being processed now.")


class LabelsResponse(BaseModel):
    labels: list[str]
    count: int


# --------------------------------------------------------------------------------------------
# WebSocket /v1/stream: client -> server
# --------------------------------------------------------------------------------------------
class RawHand(BaseModel):
    """One hand exactly as MediaPipe reported it; the server assigns the slot."""

    model_config = _REQUEST

    label: Literal["Left", "Right"] = Field(description="MediaPipe's handedness label.")
    score: float = Field(ge=0.0, le=1.0, description="MediaPipe's handedness score.")
    landmarks: HandPoints


class FrameMessage(BaseModel):
    """One video frame's hands: either ``landmarks`` in aslrec's slots, or raw ``hands``."""

    model_config = _REQUEST

    type: Literal["frame"]
    t: float | None = Field(
        default=None, ge=0.0, description="Seconds since the stream started (default: arrival)."
    )
    landmarks: FrameHands | None = None
    presence: FramePresence | None = None
    hands: list[RawHand] | None = Field(default=None, max_length=2)
    handedness: Literal["selfie", "signer"] = Field(
        default="selfie",
        description="How raw hand labels were made: 'selfie' = MediaPipe Hands (JavaScript, "
        "or Python legacy) on an un-mirrored camera image, which labels as if the image were "
        "a mirror, so 'Left' is the signer's right hand; 'signer' = the label already names "
        "the signer's own hand (MediaPipe Tasks on un-mirrored video).",
    )

    @model_validator(mode="after")
    def _one_form(self) -> FrameMessage:
        if (self.landmarks is None) == (self.hands is None):
            raise ValueError("a frame needs exactly one of 'landmarks' or 'hands'")
        if self.presence is not None and self.landmarks is None:
            raise ValueError("'presence' goes with 'landmarks', not with 'hands'")
        return self


class ControlMessage(BaseModel):
    """``reset``: forget the stream so far. ``flush``: finish the sign in progress now."""

    model_config = _REQUEST

    type: Literal["reset", "flush"]


ClientMessage = Annotated[FrameMessage | ControlMessage, Field(discriminator="type")]
