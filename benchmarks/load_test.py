"""Load test of ``aslrec serve`` on loopback (issue #7): throughput, latency, errors, memory.

Starts ``aslrec serve`` as a subprocess on 127.0.0.1 (a free port), then, one after another:

1. **landmark clips**: ``--clients`` concurrent HTTP clients (default 50) for ``--seconds``
   (default 20) each POST real MP_Data landmark clips (JSON) to ``/v1/predict`` back to back;
2. **video uploads**: ``--video-clients`` clients (default 4) upload the real ``table.mp4`` for
   ``--video-seconds`` (MediaPipe tracking on the server: the expensive path);
3. **streams**: ``--stream-clients`` WebSockets (default 10) each send landmark frames of real
   clips at 30 frames/s for ``--stream-seconds``; latency = from sending a frame to receiving the
   ``partial`` message that answers it.

Reported: requests/s, p50/p99 latency, errors (any non-200 answer, socket error or timeout;
the run exits 1 if there is any), and the server's resident memory (``VmRSS``) after a warm-up
and after each phase. Every loop is bounded in time and count; nothing leaves 127.0.0.1. The
clients run on the same 2-core machine as the server, so they compete with it for the CPU.

Usage::

    python -m benchmarks.load_test                    # writes "## Service (issue #7)"
    python -m benchmarks.load_test --model RUN_DIR --clients 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks._common import REPO, SHARED_DATA, command_line, header, load_note, write_section

TITLE = "Service (issue #7)"
BUNDLED = REPO / "src" / "aslrec" / "assets" / "default_model"
STAND_IN = REPO / "benchmarks" / "runs" / "load_test" / "model"
MAX_REQUESTS = 200_000  # a hard bound on top of the time limit


@dataclass
class Phase:
    name: str
    clients: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    def row(self, unit: str) -> str:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([np.nan])
        rate = self.ok / self.seconds if self.seconds else 0.0
        errors = sum(self.errors.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "-"
        return (
            f"| {self.name} | {self.clients} | {self.seconds:.1f} | {self.ok} | {rate:.1f} {unit} "
            f"| {np.percentile(lat, 50):.1f} | {np.percentile(lat, 99):.1f} "
            f"| {lat.max():.1f} | {errors} ({detail}) |"
        )


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def model_dir(explicit: Path | None) -> tuple[Path, str]:
    if explicit:
        return explicit, f"`{explicit}` (given with --model)"
    from aslrec.runs.ensemble import is_model_dir

    if is_model_dir(BUNDLED):
        return BUNDLED, "the bundled default model"
    if not (STAND_IN / "model_config.json").is_file():
        data = SHARED_DATA / "samples" / "MP_Data"
        cmd = [sys.executable, "-m", "aslrec.cli", "train", "--data", str(data), "--epochs", "2"]
        subprocess.run([*cmd, "--out", str(STAND_IN)], check=True, capture_output=True)
    rel = STAND_IN.relative_to(REPO)
    return STAND_IN, f"a 2-epoch MP_Data stand-in (`{rel}`; the bundled model was not built yet)"


def start_server(model: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "aslrec.cli", "serve", "--port", str(port), "--model", str(model)]
    env = {k: v for k, v in os.environ.items() if k != "ASLREC_API_KEY"}
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"aslrec serve exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/v1/health", timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not become healthy in {timeout} s")


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------
async def http_phase(
    url: str, name: str, clients: int, seconds: float, make_request: object
) -> Phase:
    import httpx

    phase = Phase(name, clients)
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as client:

        async def worker(i: int) -> None:
            n = 0
            while time.monotonic() < stop and phase.ok + sum(phase.errors.values()) < MAX_REQUESTS:
                start = time.perf_counter()
                try:
                    response = await make_request(client, i, n)  # type: ignore[operator]
                except httpx.HTTPError as exc:
                    phase.error(type(exc).__name__)
                else:
                    if response.status_code == 200:
                        phase.latencies_ms.append((time.perf_counter() - start) * 1000.0)
                    else:
                        phase.error(f"HTTP {response.status_code}")
                n += 1

        began = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        phase.seconds = time.monotonic() - began
    return phase


async def stream_phase(url: str, clips: list[object], clients: int, seconds: float) -> Phase:
    from websockets.asyncio.client import connect

    phase = Phase("streams (30 frames/s each)", clients)
    frames_sent = [0]
    events = [0]

    async def one(i: int) -> None:
        clip = clips[i % len(clips)]
        sent_at: dict[float, float] = {}
        try:
            async with connect(url.replace("http", "ws", 1) + "/v1/stream?unknown=true") as ws:
                json.loads(await ws.recv())  # ready

                async def reader() -> None:
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "partial":
                            t0 = sent_at.pop(message["t"], None)
                            if t0 is not None:
                                phase.latencies_ms.append((time.perf_counter() - t0) * 1000.0)
                        elif message["type"] == "event":
                            events[0] += 1
                        elif message["type"] in ("error", "warning"):
                            phase.error(message.get("code", message["type"]))

                task = asyncio.create_task(reader())
                start = time.monotonic()
                k = 0
                while (now := time.monotonic()) - start < seconds:
                    f = k % clip.num_frames  # type: ignore[attr-defined]
                    t = round(k / 30, 3)
                    sent_at[t] = time.perf_counter()
                    await ws.send(
                        json.dumps(
                            {
                                "type": "frame",
                                "t": t,
                                "landmarks": clip.landmarks[f].tolist(),  # type: ignore[attr-defined]
                                "presence": clip.presence[f].tolist(),  # type: ignore[attr-defined]
                            }
                        )
                    )
                    frames_sent[0] += 1
                    k += 1
                    await asyncio.sleep(max(0.0, start + k / 30 - now - 0.001))
                await ws.send(json.dumps({"type": "flush"}))
                await asyncio.sleep(0.5)
                task.cancel()
        except Exception as exc:  # a socket failure is an error of the run
            phase.error(type(exc).__name__)

    began = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(clients)))
    phase.seconds = time.monotonic() - began
    phase.extra = {"frames": frames_sent[0], "events": events[0]}
    return phase


async def run(args: argparse.Namespace) -> tuple[str, bool]:
    from aslrec.data.loaders import load_dataset

    clips = load_dataset(SHARED_DATA / "samples" / "MP_Data")
    bodies = [json.dumps({"landmarks": c.landmarks.tolist()}).encode() for c in clips]
    video = (SHARED_DATA / "videos" / "table.mp4").read_bytes()
    model, model_note = model_dir(args.model)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = REPO / "benchmarks" / "runs" / "load_test" / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    proc = start_server(model, port, log)
    try:
        await wait_healthy(url, proc)

        async def post_clip(client: object, i: int, n: int) -> object:
            body = bodies[(i + n) % len(bodies)]
            headers = {"content-type": "application/json"}
            return await client.post("/v1/predict", content=body, headers=headers)  # type: ignore[attr-defined]

        async def post_video(client: object, i: int, n: int) -> object:
            files = {"file": ("table.mp4", video, "video/mp4")}
            return await client.post("/v1/predict", files=files)  # type: ignore[attr-defined]

        await http_phase(url, "warm-up", 4, 3.0, post_clip)
        await http_phase(url, "warm-up video", 2, 1.0, post_video)
        memory = [("after warm-up", rss_mb(proc.pid))]
        half = args.seconds / 2
        cpu0 = cpu_s(proc.pid)
        first = await http_phase(url, "landmark clips", args.clients, half, post_clip)
        memory.append((f"after {half:g} s of clips", rss_mb(proc.pid)))
        second = await http_phase(url, "landmark clips", args.clients, half, post_clip)
        memory.append((f"after {args.seconds:g} s of clips", rss_mb(proc.pid)))
        cpu1 = cpu_s(proc.pid)
        clips_phase = Phase(
            "landmark clips (JSON, 30 frames)",
            args.clients,
            first.seconds + second.seconds,
            first.latencies_ms + second.latencies_ms,
            {
                k: first.errors.get(k, 0) + second.errors.get(k, 0)
                for k in {**first.errors, **second.errors}
            },
        )
        videos = await http_phase(
            url,
            "video uploads (table.mp4, 2.8 s)",
            args.video_clients,
            args.video_seconds,
            post_video,
        )
        memory.append(("after video uploads", rss_mb(proc.pid)))
        cpu2 = cpu_s(proc.pid)
        streams = await stream_phase(url, clips, args.stream_clients, args.stream_seconds)
        memory.append(("after streams", rss_mb(proc.pid)))
        cpu3 = cpu_s(proc.pid)
        # the server still answers, and says nothing is in flight any more
        import httpx

        health = httpx.get(f"{url}/v1/health", timeout=10).json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    took = time.monotonic() - began
    load_after = os.getloadavg()[0]
    phases = [clips_phase, videos, streams]
    clip_cpu_ms = (cpu1 - cpu0) * 1000 / max(1, clips_phase.ok)
    video_cpu_ms = (cpu2 - cpu1) * 1000 / max(1, videos.ok)
    frame_cpu_ms = (cpu3 - cpu2) * 1000 / max(1, streams.extra["frames"])
    errors = sum(sum(p.errors.values()) for p in phases)
    lines = [
        header(command_line()),
        f"Model: {model_note} ({health['classes']} classes, backend {health['backend']}). "
        f"Server: `aslrec serve` on 127.0.0.1 (uvicorn, one process, default limits: 4 model "
        "calls and 2 video trackings at once in worker threads); clients: Python asyncio "
        "(httpx, websockets) in another process on the same machine.",
        "",
        "| phase | clients | s | answered | throughput | p50 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
        clips_phase.row("req/s"),
        videos.row("req/s"),
        streams.row("partials/s"),
        "",
        f"Streams: {streams.extra['frames']} frames sent at 30 frames/s per socket, "
        f"{streams.extra['events']} sign events; latency = frame sent -> the `partial` "
        "answering it (one every 0.25 s of stream time per socket).",
        "",
        f"Server CPU time (user + system, all threads) per answer: {clip_cpu_ms:.1f} ms per "
        f"landmark clip, {video_cpu_ms:.0f} ms per video upload, {frame_cpu_ms:.2f} ms per "
        f"streamed frame; so one idle core would serve about {1000 / clip_cpu_ms:.0f} clips/s "
        "(here the clients and other jobs took the rest of the CPU).",
        "",
        "Server memory (VmRSS): "
        + ", ".join(f"{name} {mb:.0f} MB" for name, mb in memory)
        + f"; growth over the {args.seconds:g} s of clips: "
        f"{memory[2][1] - memory[1][1]:+.1f} MB in the second half "
        f"({memory[1][1] - memory[0][1]:+.1f} MB in the first).",
        "",
        f"Errors in all phases: {errors}. In flight after the run: {health['in_flight'] - 1} "
        "(the health request itself excluded).",
        "",
        f"{load_note(load_before, load_after)} Benchmark took {took:.0f} s.",
    ]
    return "\n".join(lines), errors == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="run directory (default: the bundled model)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--video-clients", type=int, default=4)
    parser.add_argument("--video-seconds", type=float, default=10.0)
    parser.add_argument("--stream-clients", type=int, default=10)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true", help="print, do not update RESULTS.md")
    args = parser.parse_args()
    body, ok = asyncio.run(run(args))
    print(body)
    if not args.no_write:
        write_section(TITLE, body)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
