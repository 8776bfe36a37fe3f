"""The service under load and under bad clients (issue #21): a real ``aslrec serve`` process on
127.0.0.1, raw sockets and concurrent uploads, every load bounded in count and time.

- concurrent large uploads stream to disk: the server's peak memory is measured (VmHWM);
- past the upload budget a request gets 503 with ``Retry-After``, an oversized one still 413;
- a client that leaves mid-body is one access-log line (status 499), no traceback;
- half-sent headers and stalled bodies are cut off after the settings' timeouts.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").is_file(), reason="needs Linux /proc to measure memory"
)

BOUNDARY = "aslrec-test-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
PART_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
    "Content-Type: video/mp4\r\n\r\n"
).encode()
PART_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
SERVE = (
    "import json, sys\n"
    "from aslrec.serving.run import serve\n"
    "from aslrec.serving.settings import ServiceSettings\n"
    "serve(port=int(sys.argv[1]), model_dir=sys.argv[2],"
    " settings=ServiceSettings(**json.loads(sys.argv[3])))\n"
)


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def log_size(self) -> int:
        """The log's size once it has been still for 0.3 s: a request's access-log line is
        written after its response is sent, so an earlier test's last line (its client
        already answered) may still be on its way."""
        size, still_since = self.log.stat().st_size, time.monotonic()
        deadline = still_since + 10
        while time.monotonic() - still_since < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
            if (now := self.log.stat().st_size) != size:
                size, still_since = now, time.monotonic()
        return size

    def lines_since(self, offset: int) -> list[str]:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace").splitlines()

    def status(self, field: str) -> int:
        """A ``/proc/<pid>/status`` field in kB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)


@pytest.fixture(scope="module")
def launch(
    model_dir: Path,
    free_port: Callable[[], int],
    wait_healthy: Callable[..., None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Server]]:
    """``launch(**settings)``: ``aslrec serve`` (via :func:`aslrec.serving.run.serve`) with
    these ``ServiceSettings``, in its own process; all stopped at the end of the module."""
    servers: list[Server] = []

    def start(**settings: Any) -> Server:
        port = free_port()
        log = tmp_path_factory.mktemp("serve") / "serve.log"
        args = [sys.executable, "-c", SERVE, str(port), str(model_dir), json.dumps(settings)]
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", port, proc, log)
        servers.append(server)
        wait_healthy(server.url, 120, proc)
        return server

    yield start
    for server in servers:
        server.proc.terminate()
        server.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def small(launch: Callable[..., Server]) -> Server:
    """Small limits and 1 s timeouts, so every limit is reached quickly."""
    return launch(
        max_upload_bytes=1_000_000,
        max_json_bytes=200_000,
        max_inflight_upload_bytes=1_500_000,
        header_timeout_s=1.0,
        body_timeout_s=1.0,
    )


def upload_body(size: int) -> Iterator[bytes]:
    """A multipart body with one ``size``-byte file (not a video), streamed in 1 MB chunks.

    The bytes are random but seeded: fresh random bytes made FFmpeg's format probe find a
    decodable stream now and then, and that upload answered with another error code.
    """
    chunk = random.Random(0).randbytes(1 << 20)
    yield PART_HEAD
    while size > 0:
        yield chunk[: min(size, len(chunk))]
        size -= len(chunk)
    yield PART_TAIL


def upload(url: str, size: int) -> httpx.Response:
    length = len(PART_HEAD) + size + len(PART_TAIL)
    headers = {**MULTIPART, "content-length": str(length)}
    return httpx.post(f"{url}/v1/predict", content=upload_body(size), headers=headers, timeout=120)


def open_request(server: Server, body_length: int, sent: bytes = b"") -> socket.socket:
    """A raw socket that has sent a multipart request's headers (announcing ``body_length``
    bytes of body) and then ``sent``."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    head = (
        f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {MULTIPART['content-type']}\r\nContent-Length: {body_length}\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


def wait_for_line(server: Server, offset: int, predicate: Callable[[dict[str, Any]], bool]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for line in server.lines_since(offset):
            if line.startswith("{") and predicate(json.loads(line)):
                return
        time.sleep(0.05)
    raise AssertionError(f"no such log line; the log: {server.lines_since(offset)}")


def closed_by_server(sock: socket.socket, within_s: float) -> float | None:
    """Seconds until the server closed ``sock`` (EOF or reset), or None if not within."""
    start = time.monotonic()
    sock.settimeout(within_s)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


# --------------------------------------------------------------------------------------------
# Memory and the upload budget
# --------------------------------------------------------------------------------------------
def test_concurrent_large_uploads_stream_to_disk(launch: Callable[..., Server]) -> None:
    """16 uploads of 49 MB at once: the server's peak memory grows by far less than one upload
    per request (it grew by 2.4 GB when each upload was held in memory three times)."""
    count, size = 16, 49 * 1024 * 1024
    server = launch(max_upload_bytes=50 * 1024 * 1024, max_inflight_upload_bytes=1 << 30)
    assert upload(server.url, 1000).status_code == 422  # loads the upload path's imports
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")  # resets VmHWM to VmRSS
    before = server.status("VmHWM")
    start = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda _: upload(server.url, size), range(count)))
    elapsed = time.monotonic() - start
    growth_mb = (server.status("VmHWM") - before) / 1024
    print(f"{count} x {size >> 20} MB: {elapsed:.1f} s, peak RSS +{growth_mb:.0f} MB")
    # each reached the video decoder, whole: the upload is random bytes, not a video
    assert [a.status_code for a in answers] == [422] * count
    codes = [a.json()["error"]["code"] for a in answers]
    assert codes == ["invalid_video"] * count, codes
    assert growth_mb < 250, f"peak RSS grew by {growth_mb:.0f} MB"


def test_past_the_upload_budget_503_with_retry_after(small: Server) -> None:
    first = open_request(small, 1_000_000, PART_HEAD + b"x" * 1000)  # holds 1 MB of 1.5
    try:
        time.sleep(0.3)
        busy = upload(small.url, 600_000)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        error = busy.json()["error"]
        assert error["code"] == "server_busy" and "retry in 5 s" in error["message"]
        # one upload over the cap is still a 413, budget or not
        too_big = upload(small.url, 1_100_000)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"
    finally:
        first.close()
    # the budget is free again once the first request is gone
    deadline = time.monotonic() + 10
    while (answer := upload(small.url, 600_000)).status_code == 503:
        assert time.monotonic() < deadline, "the budget was not released"
        time.sleep(0.1)
    assert answer.status_code == 422


# --------------------------------------------------------------------------------------------
# Clients that leave or stall
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["multipart", "json"])
def test_a_client_leaving_mid_body_is_one_log_line(small: Server, kind: str) -> None:
    offset = small.log_size()
    if kind == "multipart":
        sock = open_request(small, 500_000, PART_HEAD + b"x" * 250_000)
    else:
        sock = socket.create_connection(("127.0.0.1", small.port), timeout=10)
        head = (
            "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"landmarks": [' + b" " * 50_000)
    time.sleep(0.3)
    sock.close()
    wait_for_line(small, offset, lambda r: r.get("status") == 499)
    time.sleep(0.5)  # anything else it would log
    lines = small.lines_since(offset)
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["event"] == "http" and record["path"] == "/v1/predict"
    assert record["status"] == 499 and len(lines[0]) < 1000


def test_half_sent_headers_are_cut_off(small: Server) -> None:
    """50 connections that stop mid-headers, and one that trickles a byte every 0.2 s: all
    closed by the server about 1 s (``header_timeout_s``) after connecting."""
    socks = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", small.port), timeout=10)
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        socks.append(sock)
    trickle = socket.create_connection(("127.0.0.1", small.port), timeout=10)
    start = time.monotonic()
    try:
        closed = False
        for byte in b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n":
            try:
                trickle.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - start > 5:
                break
        assert closed or closed_by_server(trickle, 0.5) is not None, "the trickler was not cut"
        assert time.monotonic() - start < 3.0
        waits = [closed_by_server(sock, 3.0) for sock in socks]
        assert all(w is not None for w in waits), f"{waits.count(None)} of 50 still open"
        assert time.monotonic() - start < 4.0
    finally:
        for sock in [*socks, trickle]:
            sock.close()
    # and the server still answers
    assert httpx.get(f"{small.url}/v1/health", timeout=10).status_code == 200


def test_a_stalled_body_is_cut_off_and_logged_once(small: Server) -> None:
    offset = small.log_size()
    sock = open_request(small, 500_000, PART_HEAD + b"x" * 100_000)
    try:
        waited = closed_by_server(sock, 5.0)
    finally:
        sock.close()
    assert waited is not None and waited < 3.0, waited  # body_timeout_s = 1
    wait_for_line(small, offset, lambda r: r.get("status") == 499)
    time.sleep(0.5)  # anything else it would log
    lines = small.lines_since(offset)
    assert len(lines) == 1, lines


def test_a_slow_but_steady_upload_is_not_cut_off(small: Server) -> None:
    """Each chunk re-arms the body deadline: 2.4 s of upload in 0.3 s steps, with a 1 s
    timeout, is answered (422: not a video)."""
    size = 8 * 10_000
    sock = open_request(small, len(PART_HEAD) + size + len(PART_TAIL), PART_HEAD)
    try:
        for _ in range(8):
            time.sleep(0.3)
            sock.sendall(b"x" * 10_000)
        sock.sendall(PART_TAIL)
        sock.settimeout(30)
        answer = sock.recv(4096)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 422"), answer[:200]
