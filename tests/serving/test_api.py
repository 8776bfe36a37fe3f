"""The service (issue #7): real clips and a real video in, every bad input a 4xx JSON answer."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from aslrec.errors import ConfigError
from aslrec.inference.recognizer import Recognizer
from aslrec.landmarks.clip import LEFT, RIGHT, LandmarkClip
from aslrec.landmarks.hands import HandDetection, HandSlotter, label_slot
from aslrec.serving import ServiceSettings, create_app
from aslrec.serving.routes import page as page_module
from aslrec.serving.schemas import RawHand

# Small caps so the limits can be hit with the real data: MP_Data clips have 30 frames,
# table.mp4 70 frames / 2.8 s, school.mp4 140 frames / 4.7 s.
SETTINGS = ServiceSettings(
    max_upload_bytes=2_000_000,
    max_json_bytes=1_000_000,
    max_clip_frames=120,
    max_clip_seconds=4.0,
    max_stream_fps=1000.0,
    max_message_bytes=64 * 1024,
    max_bad_messages=5,
)


@pytest.fixture(scope="module")
def client(recognizer: Recognizer) -> Iterator[TestClient]:
    with TestClient(create_app(recognizer=recognizer, settings=SETTINGS)) as c:
        yield c


def clip_body(clip: LandmarkClip, **extra: Any) -> dict[str, Any]:
    return {"landmarks": clip.landmarks.tolist(), **extra}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and "\n" not in error["message"]
    return error


# --------------------------------------------------------------------------------------------
# Good requests
# --------------------------------------------------------------------------------------------
def test_health_and_labels(client: TestClient, recognizer: Recognizer) -> None:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["classes"] == len(recognizer.classes)
    labels = client.get("/v1/labels").json()
    assert labels == {"labels": recognizer.classes, "count": len(recognizer.classes)}
    assert client.get("/v1/health").headers["x-request-id"]


def test_predict_real_landmark_clips_matches_the_library(
    client: TestClient, recognizer: Recognizer, mp_clips: list[LandmarkClip]
) -> None:
    clips = mp_clips[::5]
    expected = recognizer.predict_clips(clips, top_k=3)
    for clip, want in zip(clips, expected, strict=True):
        body = clip_body(clip, presence=clip.presence.tolist())
        response = client.post("/v1/predict?top_k=3", json=body)
        assert response.status_code == 200, response.text
        got = response.json()
        assert got["input"] == "landmarks" and got["frames"] == clip.num_frames == 30
        assert got["label"] == want.label
        assert [p["label"] for p in got["predictions"]] == [label for label, _ in want.top_k]
        assert got["probability"] == pytest.approx(want.probability, abs=1e-5)
        assert got["hand_detection_rate"] == pytest.approx(clip.hand_rate, abs=1e-4)


def test_predict_presence_defaults_to_nonzero_hands_and_timestamps_give_duration(
    client: TestClient, mp_clips: list[LandmarkClip]
) -> None:
    clip = mp_clips[0]
    plain = client.post("/v1/predict", json=clip_body(clip)).json()
    timed = client.post(
        "/v1/predict",
        json=clip_body(
            clip, presence=clip.presence.tolist(), timestamps=[i / 30 for i in range(30)]
        ),
    ).json()
    assert plain["predictions"] == timed["predictions"]
    assert timed["duration_s"] == pytest.approx(29 / 30, abs=1e-3)


def test_predict_a_real_video_upload(
    client: TestClient, recognizer: Recognizer, videos: Path
) -> None:
    path = videos / "table.mp4"
    with path.open("rb") as f:
        response = client.post("/v1/predict", files={"file": ("table.mp4", f, "video/mp4")})
    assert response.status_code == 200, response.text
    got = response.json()
    want = recognizer.predict(path, top_k=5)
    assert got["input"] == "video" and got["source"] == "table.mp4"
    assert got["label"] == want.label
    assert got["probability"] == pytest.approx(want.probability, abs=1e-4)
    assert got["frames"] == want.frames == 70  # every decoded frame, as aslrec predict says
    assert got["hand_detection_rate"] == pytest.approx(want.hand_rate, abs=1e-3)
    assert got["duration_s"] == pytest.approx(2.8, abs=0.05)


def test_predict_a_photo_upload(
    client: TestClient, recognizer: Recognizer, shared_data: Path
) -> None:
    """A photo (image/jpeg, any file name) is tracked and held as a still sign, as `aslrec
    predict photo.jpg` does."""
    path = shared_data / "fingerspelling16" / "user_10" / "C1.jpg"
    response = client.post("/v1/predict", files={"file": ("snap", path.read_bytes(), "image/jpeg")})
    assert response.status_code == 200, response.text
    got, want = response.json(), recognizer.predict(path, top_k=5)
    assert got["input"] == "photo" and got["frames"] == want.frames == 1
    assert got["label"] == want.label
    assert got["probability"] == pytest.approx(want.probability, abs=1e-4)


# --------------------------------------------------------------------------------------------
# Bad requests: 4xx JSON, never 500
# --------------------------------------------------------------------------------------------
def _frames(n: int, hands: int = 2, points: int = 21, coords: int = 3, value: Any = 0.5) -> Any:
    return [[[[value] * coords] * points] * hands] * n


BAD_JSON: list[tuple[str, bytes, int, str]] = [
    ("not json", b"{landmarks: oops", 400, "invalid_json"),
    ("array", b"[1, 2, 3]", 422, "invalid_input"),
    ("empty object", b"{}", 422, "invalid_input"),
    ("no frames", json.dumps({"landmarks": []}).encode(), 422, "invalid_input"),
    ("20 points", json.dumps({"landmarks": _frames(3, points=20)}).encode(), 422, "invalid_input"),
    ("3 hands", json.dumps({"landmarks": _frames(3, hands=3)}).encode(), 422, "invalid_input"),
    ("2 coords", json.dumps({"landmarks": _frames(3, coords=2)}).encode(), 422, "invalid_input"),
    ("flat", json.dumps({"landmarks": [0.1] * 126}).encode(), 422, "invalid_input"),
    (
        "string coord",
        json.dumps({"landmarks": _frames(2, value="0.5")}).encode(),
        422,
        "invalid_input",
    ),
    (
        "bool coord",
        json.dumps({"landmarks": _frames(2, value=True)}).encode(),
        422,
        "invalid_input",
    ),
    (
        "NaN",
        json.dumps({"landmarks": _frames(2, value=float("nan"))}).encode(),
        422,
        "invalid_input",
    ),
    (
        "Infinity",
        json.dumps({"landmarks": _frames(2, value=float("inf"))}).encode(),
        422,
        "invalid_input",
    ),
    ("huge", json.dumps({"landmarks": _frames(2, value=1e30)}).encode(), 422, "invalid_input"),
    (
        "unknown field",
        json.dumps({"landmarks": _frames(2), "fps": 30}).encode(),
        422,
        "invalid_input",
    ),
    (
        "presence length",
        json.dumps({"landmarks": _frames(3), "presence": [[True, True]] * 2}).encode(),
        422,
        "invalid_input",
    ),
    (
        "presence not bool",
        json.dumps({"landmarks": _frames(2), "presence": [[1, 0]] * 2}).encode(),
        422,
        "invalid_input",
    ),
    (
        "timestamps decrease",
        json.dumps({"landmarks": _frames(3), "timestamps": [0.0, 0.2, 0.1]}).encode(),
        422,
        "invalid_input",
    ),
    ("too many frames", json.dumps({"landmarks": _frames(121)}).encode(), 422, "too_long"),
    (
        "too long in time",
        json.dumps({"landmarks": _frames(2), "timestamps": [0.0, 4.5]}).encode(),
        422,
        "too_long",
    ),
    ("no hands", json.dumps({"landmarks": _frames(5, value=0.0)}).encode(), 422, "no_hands"),
    (
        "absent by presence",
        json.dumps({"landmarks": _frames(2), "presence": [[False, False]] * 2}).encode(),
        422,
        "no_hands",
    ),
]


@pytest.mark.parametrize(("name", "body", "status", "code"), BAD_JSON, ids=[b[0] for b in BAD_JSON])
def test_bad_landmark_clips(
    client: TestClient, name: str, body: bytes, status: int, code: str
) -> None:
    response = client.post(
        "/v1/predict", content=body, headers={"content-type": "application/json"}
    )
    error = assert_error(response, status, code)
    if name == "20 points":
        assert error["details"][0]["loc"][:2] == ["landmarks", 0]
    if name == "no hands":
        assert "no hand" in error["message"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"hello"),
        ("", b"{}"),
        ("application/xml", b"<a/>"),
        ("image/png", b"\x89PNG"),
    ],
)
def test_wrong_content_type_is_415(client: TestClient, content_type: str, body: bytes) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/predict", content=body, headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_bad_video_uploads(client: TestClient, tmp_path: Path, videos: Path) -> None:
    cases: list[tuple[dict[str, Any], dict[str, Any] | None, int, str]] = [
        ({"file": ("x.mp4", b"this is not a video", "video/mp4")}, None, 422, "invalid_video"),
        (
            {"file": ("x.mp4", (videos / "table.mp4").read_bytes()[:5000], "video/mp4")},
            None,
            422,
            "invalid_video",
        ),
        ({"file": ("x.mp4", b"", "video/mp4")}, None, 422, "invalid_video"),
        ({"file": ("x.txt", b"hello", "text/plain")}, None, 415, "unsupported_media_type"),
        ({"video": ("x.mp4", b"abc", "video/mp4")}, None, 422, "invalid_input"),
        ({"file": ("x.mp4", b"abc", "video/mp4")}, {"extra": "1"}, 422, "invalid_input"),
        ({}, {"file": "not a file"}, 415, "unsupported_media_type"),  # a urlencoded form
    ]
    for files, data, status, code in cases:
        response = client.post("/v1/predict", files=files or None, data=data)
        assert_error(response, status, code)
    text_field = client.post(
        "/v1/predict",
        content=b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nnot a file\r\n'
        b"--b--\r\n",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert "send it as a file" in assert_error(text_field, 422, "invalid_input")["message"]
    broken = client.post(
        "/v1/predict",
        content=b"--xyz\r\nnot really multipart",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code in (400, 422) and "error" in broken.json()
    no_boundary = client.post(
        "/v1/predict", content=b"abc", headers={"content-type": "multipart/form-data"}
    )
    assert no_boundary.status_code in (400, 422) and "error" in no_boundary.json()


def test_video_without_hands_is_422_no_hands(client: TestClient, tmp_path: Path) -> None:
    blank = tmp_path / "blank.mp4"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for _ in range(15):
        writer.write(np.full((120, 160, 3), 127, np.uint8))
    writer.release()
    with blank.open("rb") as f:
        response = client.post("/v1/predict", files={"file": ("blank.mp4", f, "video/mp4")})
    error = assert_error(response, 422, "no_hands")
    assert "no hands found in any of the video's 15 frames" in error["message"]


def test_too_long_video_and_too_big_upload(
    client: TestClient, videos: Path, tmp_path: Path
) -> None:
    with (videos / "school.mp4").open("rb") as f:  # 4.7 s > 4 s
        response = client.post("/v1/predict", files={"file": ("school.mp4", f, "video/mp4")})
    assert "at most 120 frames and 4 s" in assert_error(response, 422, "too_long")["message"]
    big = b"\0" * (SETTINGS.max_upload_bytes + 1)
    response = client.post("/v1/predict", files={"file": ("big.mp4", big, "video/mp4")})
    assert_error(response, 413, "payload_too_large")
    big_json = b'{"landmarks": [' + b" " * SETTINGS.max_json_bytes + b"]}"
    response = client.post(
        "/v1/predict", content=big_json, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_query_routes_and_methods(client: TestClient, mp_clips: list[LandmarkClip]) -> None:
    body = clip_body(mp_clips[0])
    assert_error(client.post("/v1/predict?top_k=0", json=body), 422, "invalid_input")
    assert_error(client.post("/v1/predict?top_k=51", json=body), 422, "invalid_input")
    assert_error(client.post("/v1/predict?top_k=two", json=body), 422, "invalid_input")
    assert len(client.post("/v1/predict?top_k=50", json=body).json()["predictions"]) <= 50
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")
    assert_error(client.delete("/v1/labels"), 405, "method_not_allowed")


# --------------------------------------------------------------------------------------------
# API key, access log, page, OpenAPI
# --------------------------------------------------------------------------------------------
def test_api_key(
    recognizer: Recognizer, mp_clips: list[LandmarkClip], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASLREC_API_KEY", "s3cret")
    app = create_app(recognizer=recognizer, settings=ServiceSettings.from_env())
    with TestClient(app) as c:
        assert c.get("/v1/health").status_code == 200  # health stays open
        assert_error(c.get("/v1/labels"), 401, "unauthorized")
        assert_error(c.get("/v1/labels", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
        assert c.get("/v1/labels", headers={"X-API-Key": "s3cret"}).status_code == 200
        response = c.post(
            "/v1/predict", json=clip_body(mp_clips[0]), headers={"X-API-Key": "s3cret"}
        )
        assert response.status_code == 200
        assert_error(c.post("/v1/predict", json=clip_body(mp_clips[0])), 401, "unauthorized")
        with c.websocket_connect("/v1/stream") as ws:
            assert ws.receive_json()["code"] == "unauthorized"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008
        with c.websocket_connect("/v1/stream?api_key=s3cret") as ws:
            assert ws.receive_json()["type"] == "ready"
        with c.websocket_connect("/v1/stream", headers={"X-API-Key": "s3cret"}) as ws:
            assert ws.receive_json()["type"] == "ready"
        # declared, so clients generated from the spec send it
        spec = c.get("/openapi.json").json()
        assert spec["components"]["securitySchemes"] == {
            "ApiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": spec["components"]["securitySchemes"]["ApiKey"]["description"],
            }
        }
        operations = {path: ops for path, ops in spec["paths"].items()}
        assert operations["/v1/labels"]["get"]["security"] == [{"ApiKey": []}]
        assert operations["/v1/predict"]["post"]["security"] == [{"ApiKey": []}]
        assert "security" not in operations["/v1/health"]["get"]


def test_without_an_api_key_none_is_declared(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "securitySchemes" not in spec.get("components", {})
    assert all("security" not in op for ops in spec["paths"].values() for op in ops.values())


def test_access_log_is_json(client: TestClient, json_log: Callable[..., Any]) -> None:
    with json_log("aslrec.access") as lines:
        client.get("/v1/labels?x=1", headers={"X-Request-ID": "req-42"})
        with client.websocket_connect("/v1/stream") as ws:
            ws.receive_json()
    http = next(r for r in lines if r.get("event") == "http")
    assert http["path"] == "/v1/labels" and http["status"] == 200 and http["method"] == "GET"
    assert http["request_id"] == "req-42" and http["query"] == "x=1" and http["duration_ms"] >= 0
    sock = next(r for r in lines if r.get("event") == "websocket")
    assert sock["path"] == "/v1/stream" and sock["frames"] == 0


def test_page_and_docs_explain_a_missing_build(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(page_module, "STATIC_DIR", tmp_path / "nothing")
    for path in ("/", "/docs"):
        response = client.get(path)
        assert response.status_code == 503 and "make web" in response.text


def test_page_and_docs_when_built(client: TestClient) -> None:
    if not (page_module.STATIC_DIR / "index.html").is_file():
        pytest.skip("browser page not built (make web)")
    page = client.get("/")
    assert page.status_code == 200 and "static/page.js" in page.text
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text)  # nothing from elsewhere
    for wasm_path in (
        "/static/mediapipe/tasks-vision/wasm/vision_wasm_internal.wasm",
        "/static/mediapipe/hands/hands_solution_simd_wasm_bin.wasm",
    ):
        wasm = client.get(wasm_path)
        assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"
    bundle = client.get("/static/mediapipe/tasks-vision/vision_bundle.mjs")
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_the_hand_model_is_the_python_trackers(client: TestClient) -> None:
    from aslrec.landmarks.hands import hand_landmarker_task

    response = client.get("/models/hand_landmarker.task")
    assert response.status_code == 200
    assert response.content == hand_landmarker_task("full").read_bytes()


def test_openapi_describes_both_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/health", "/v1/labels"} <= set(spec["paths"])
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert body["application/json"]["schema"]["additionalProperties"] is False
    form = body["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["additionalProperties"] is False
    assert {"413", "415", "422"} <= set(spec["paths"]["/v1/predict"]["post"]["responses"])


def test_openapi_documents_the_websocket(client: TestClient) -> None:
    """OpenAPI has no WebSocket operations: ``/v1/stream`` is described in the spec's
    description, which ``/docs`` shows above the operations."""
    description = client.get("/openapi.json").json()["info"]["description"]
    assert "## WebSocket `/v1/stream`" in description
    for word in ('"ready"', '"frame"', '"flush"', '"reset"', "`event`", "`partial`", "1008"):
        assert word in description, word
    assert "api_key" in description and "unknown=true" in description


def test_every_response_says_nosniff(client: TestClient) -> None:
    for response in (
        client.get("/v1/health"),
        client.get("/no/such/route"),
        client.post("/v1/predict", content=b"x", headers={"content-type": "text/plain"}),
        client.get("/openapi.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42.A_b", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("a b", False),
        ('a"b', False),
        ("<script>", False),
        ("a\u00e9", False),
    ],
)
def test_request_ids_are_echoed_only_when_safe(client: TestClient, given: str, kept: bool) -> None:
    response = client.get("/v1/health", headers={"X-Request-ID": given.encode("utf-8")})
    answered = response.headers["x-request-id"]
    if kept:
        assert answered == given
    else:
        assert answered != given and re.fullmatch(r"[0-9a-f]{16}", answered), answered


def test_settings_refuse_a_budget_below_one_upload() -> None:
    with pytest.raises(ConfigError, match="below one upload's cap"):
        ServiceSettings(max_upload_bytes=10_000_000, max_inflight_upload_bytes=1_000_000)


# --------------------------------------------------------------------------------------------
# Concurrency: inference off the event loop, several requests in flight
# --------------------------------------------------------------------------------------------
def test_requests_in_flight_together(
    recognizer: Recognizer, mp_clips: list[LandmarkClip], videos: Path, served: Callable[..., Any]
) -> None:
    app = create_app(recognizer=recognizer, settings=SETTINGS)
    with served(app) as url:
        video = (videos / "table.mp4").read_bytes()
        done = threading.Event()
        health_ms: list[float] = []

        def upload() -> int:
            try:
                files = {"file": ("table.mp4", video, "video/mp4")}
                return httpx.post(f"{url}/v1/predict", files=files, timeout=120).status_code
            finally:
                done.set()

        def clip(i: int) -> int:
            body = clip_body(mp_clips[i % len(mp_clips)])
            return httpx.post(f"{url}/v1/predict", json=body, timeout=60).status_code

        with ThreadPoolExecutor(12) as pool:
            video_future = pool.submit(upload)
            clip_futures = [pool.submit(clip, i) for i in range(10)]
            # while the video is being tracked in a worker thread, the loop still answers
            while not done.is_set():
                start = time.perf_counter()
                assert httpx.get(f"{url}/v1/health", timeout=10).status_code == 200
                health_ms.append((time.perf_counter() - start) * 1000)
                time.sleep(0.05)
            assert video_future.result() == 200
            assert [f.result() for f in clip_futures] == [200] * 10
        assert health_ms and float(np.median(health_ms)) < 500


# --------------------------------------------------------------------------------------------
# WebSocket /v1/stream
# --------------------------------------------------------------------------------------------
def _frame_msg(clip: LandmarkClip, i: int, t: float) -> dict[str, Any]:
    return {
        "type": "frame",
        "t": t,
        "landmarks": clip.landmarks[i].tolist(),
        "presence": clip.presence[i].tolist(),
    }


def _drain_until(ws: Any, kind: str) -> list[dict[str, Any]]:
    out = []
    while True:
        message = ws.receive_json()
        out.append(message)
        if message["type"] == kind:
            return out


def test_stream_real_clips_gives_events(
    client: TestClient, mp_clips: list[LandmarkClip], recognizer: Recognizer
) -> None:
    clips = [mp_clips[0], mp_clips[7]]
    with client.websocket_connect("/v1/stream?unknown=true&top_k=3") as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["labels"] == recognizer.classes
        t = 0.0
        for clip in clips:  # two signs, with half a second without hands between them
            for i in range(clip.num_frames):
                ws.send_json(_frame_msg(clip, i, t))
                t += 1 / 30
            for _ in range(15):
                ws.send_json({"type": "frame", "t": t, "landmarks": _frames(1, value=0.0)[0]})
                t += 1 / 30
        ws.send_json({"type": "flush"})
        messages = _drain_until(ws, "flushed")
    events = [m for m in messages if m["type"] == "event"]
    partials = [m for m in messages if m["type"] == "partial"]
    assert len(events) == 2, messages
    assert events[0]["end_s"] < events[1]["start_s"] < t
    for event in events:
        assert event["label"] in [*recognizer.classes, "unknown"]
        assert len(event["top_k"]) == 3 and event["top_k"][0]["label"] in recognizer.classes
    # the same precision as the HTTP answers: 6 decimals (it was 4 on the socket)
    probabilities = [p["probability"] for m in events + partials for p in m["top_k"]]
    probabilities += [m["probability"] for m in events]
    assert all(round(p, 6) == p for p in probabilities)
    assert any(round(p, 4) != p for p in probabilities)
    assert any(p["label"] in recognizer.classes for p in partials)
    assert any(p["presence"] == [True, True] for p in partials)
    # each sign's label came first as pending, at the first frame without hands: the same answer
    for event in events:
        before = messages[: messages.index(event)]
        pending = [m for m in before if m["type"] == "pending" and m["label"] is not None][-1]
        assert {k: pending[k] for k in event if k != "type"} == {
            k: v for k, v in event.items() if k != "type"
        }


def test_stream_bad_messages_get_errors_and_the_socket_survives(
    client: TestClient, mp_clips: list[LandmarkClip]
) -> None:
    clip = mp_clips[0]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        bad: list[tuple[Any, str]] = [
            ("{not json", "invalid_json"),
            (json.dumps({"type": "dance"}), "invalid_input"),
            (json.dumps({"type": "frame", "landmarks": _frames(1, points=20)[0]}), "invalid_input"),
            (
                json.dumps({"type": "frame", "landmarks": _frames(1, value=float("nan"))[0]}),
                "invalid_input",
            ),
        ]
        for text, code in bad:
            ws.send_text(text)
            reply = ws.receive_json()
            assert reply["type"] == "error" and reply["code"] == code, reply
        ws.send_json(_frame_msg(clip, 0, 1.0))
        ws.send_json(_frame_msg(clip, 1, 0.5))  # time going backwards
        replies = [ws.receive_json() for _ in range(2)]
        assert replies[0]["type"] == "partial"
        assert replies[1]["type"] == "error" and "must be after" in replies[1]["message"]
        ws.send_json(_frame_msg(clip, 2, 2.0))
        assert ws.receive_json()["type"] == "partial"  # still open and working


def test_stream_error_messages_name_the_problem(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "invalid_json"
        ws.send_text(json.dumps({"type": "frame", "landmarks": _frames(1, points=20)[0]}))
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_input"
        assert error["details"][0]["loc"][:2] == ["frame", "landmarks"]
        ws.send_text(json.dumps({"type": "frame", "hands": [], "landmarks": _frames(1)[0]}))
        assert "exactly one of" in ws.receive_json()["message"]
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "invalid_input"


def test_stream_closes_after_too_many_bad_messages(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(SETTINGS.max_bad_messages + 5):
                ws.send_text("nope")
                while ws.receive_json()["code"] != "invalid_json":
                    pass
        assert closed.value.code == 1008


def test_stream_message_size_cap(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text(" " * (SETTINGS.max_message_bytes + 1))
        assert ws.receive_json()["code"] == "message_too_large"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1009


def test_stream_frame_rate_cap_drops_the_excess(
    recognizer: Recognizer, mp_clips: list[LandmarkClip]
) -> None:
    clip = mp_clips[0]
    settings = dataclasses.replace(SETTINGS, max_stream_fps=20.0)
    sent = 60  # three seconds' worth at the cap, sent at once
    with (
        TestClient(create_app(recognizer=recognizer, settings=settings)) as client,
        client.websocket_connect("/v1/stream") as ws,
    ):
        ws.receive_json()
        for k in range(sent):
            ws.send_json(_frame_msg(clip, k % clip.num_frames, k / 30))
        ws.send_json({"type": "flush"})  # control messages are never dropped
        messages = _drain_until(ws, "flushed")
    warnings = [m for m in messages if m["type"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["code"] == "rate_limited"
    assert 1 <= warnings[0]["dropped"] <= sent - 20


def test_stream_reset(client: TestClient, mp_clips: list[LandmarkClip]) -> None:
    clip = mp_clips[0]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_json(_frame_msg(clip, 0, 5.0))
        assert ws.receive_json()["type"] == "partial"
        ws.send_json({"type": "reset"})
        assert ws.receive_json() == {"type": "reset"}
        ws.send_json(_frame_msg(clip, 1, 0.0))  # times may start again after a reset
        assert ws.receive_json()["type"] == "partial"


# --------------------------------------------------------------------------------------------
# Hand slots of raw MediaPipe hands (what the browser page sends)
# --------------------------------------------------------------------------------------------
def test_slot_mapping_matches_the_python_tracker() -> None:
    # MediaPipe Hands JS (like the legacy Python graph) labels for a mirror image
    assert label_slot("Left", "selfie") == RIGHT and label_slot("Right", "selfie") == LEFT
    # Tasks on un-mirrored video: the label is the signer's own hand
    assert label_slot("Left", "signer") == LEFT and label_slot("Right", "signer") == RIGHT


def _raw(points: np.ndarray, label: str, score: float) -> HandDetection:
    return HandDetection.from_label(points, label, score, "selfie")


def test_raw_hands_get_the_clip_slots_back_despite_a_flicker(shared_data: Path) -> None:
    from aslrec.data.loaders import load_dataset

    # a real two-handed WLASL clip whose hands stay apart (touching hands are merged as one
    # detection by the tracker's duplicate rule, see aslrec.landmarks.hands.same_hand)
    clips = load_dataset(shared_data / "wlasl50_mp.npz")
    clip = next(c for c in clips if c.label == "all" and c.presence.all(axis=1).sum() >= 26)
    both = clip.select(np.flatnonzero(clip.presence.all(axis=1)))
    slotter = HandSlotter()
    for i in range(both.num_frames):
        left, right = both.landmarks[i]
        # selfie labels: the signer's right hand is labelled "Left"; frame 10 flickers
        right_label, left_label = ("Right", "Left") if i == 10 else ("Left", "Right")
        score = 0.6 if i == 10 else 0.97
        hands = [_raw(right, right_label, score), _raw(left, left_label, score)]
        landmarks, presence = slotter.assign(hands, i / 30)
        assert presence.tolist() == [True, True]
        np.testing.assert_allclose(landmarks[LEFT], left, atol=1e-6)
        np.testing.assert_allclose(landmarks[RIGHT], right, atol=1e-6)


@pytest.mark.parametrize(("backend", "handedness"), [("tasks", "signer"), ("legacy", "selfie")])
def test_stream_slots_raw_hands_like_the_offline_tracker(
    recognizer: Recognizer, videos: Path, backend: str, handedness: str
) -> None:
    # The same MediaPipe detections of a real two-handed video, once through HandTracker.process
    # and once as the browser page sends them (labels under the backend's own convention, as
    # JSON) through a socket's session: the same hands in the same slots on every frame.
    from aslrec.landmarks.hands import LABEL_SLOTS, HandTracker, TrackerOptions
    from aslrec.landmarks.video import read_frames
    from aslrec.serving.schemas import FrameMessage
    from aslrec.serving.stream import StreamSession

    labels = {slot: label for label, slot in LABEL_SLOTS[handedness].items()}
    session = StreamSession(recognizer)
    frames = 0
    with HandTracker(TrackerOptions(backend)) as tracker:  # type: ignore[arg-type]
        for rgb, ts in read_frames(videos / "table.mp4"):
            detections = tracker.detect(rgb, ts)
            offline = tracker.slotter.assign(detections, ts)
            hands = [
                RawHand(label=labels[d.side], score=d.score, landmarks=d.landmarks.tolist())
                for d in detections
            ]
            message = FrameMessage.model_validate_json(
                json.dumps(
                    {
                        "type": "frame",
                        "t": ts,
                        "handedness": handedness,
                        "hands": [h.model_dump() for h in hands],
                    }
                )
            )
            session.frame(message)
            assert session.stream.last_landmarks is not None
            streamed_landmarks, streamed_presence = session.stream.last_landmarks
            np.testing.assert_array_equal(streamed_presence, offline[1])
            np.testing.assert_array_equal(streamed_landmarks, offline[0])
            frames += bool(offline[1].all())
    session.close()
    assert frames >= 30  # both hands seen on most frames: slots were really decided


def test_stream_raw_hands_end_to_end(client: TestClient, mp_clips: list[LandmarkClip]) -> None:
    clip = mp_clips[0]
    with client.websocket_connect("/v1/stream?unknown=true") as ws:
        ws.receive_json()
        for i in range(clip.num_frames):
            hands = [
                {"label": "Left", "score": 0.95, "landmarks": clip.landmarks[i, RIGHT].tolist()}
            ]
            ws.send_json({"type": "frame", "t": i / 30, "hands": hands})
        ws.send_json({"type": "flush"})
        messages = _drain_until(ws, "flushed")
    partials = [m for m in messages if m["type"] == "partial"]
    assert partials and all(p["presence"] == [False, True] for p in partials)
    assert [m["type"] for m in messages].count("event") >= 1


# --------------------------------------------------------------------------------------------
# aslrec serve
# --------------------------------------------------------------------------------------------
def test_aslrec_serve_command(
    model_dir: Path,
    mp_clips: list[LandmarkClip],
    free_port: Callable[[], int],
    wait_healthy: Callable[..., None],
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aslrec.cli",
                "serve",
                "--port",
                str(port),
                "--model",
                str(model_dir),
                "--api-key",
                "k",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, 120, proc)
        response = httpx.post(
            f"{url}/v1/predict", json=clip_body(mp_clips[3]), headers={"X-API-Key": "k"}, timeout=60
        )
        assert response.status_code == 200
        assert httpx.get(f"{url}/v1/labels", timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(
        r.get("event") == "http" and r["path"] == "/v1/predict" and r["status"] == 200
        for r in lines
    )


def test_aslrec_serve_with_a_bad_model_fails_at_once(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aslrec.cli", "serve", "--model", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
