"""aslrec in the browser (issue #25): folder size, model speed, tracking and latency in Chromium.

Exports the bundled model with ``aslrec export --format web`` into ``benchmarks/runs/web/`` and
measures, in headless Chromium (Debian's, no GPU) on this CPU:

1. **Folder size**: each part on disk as the export writes it (its large files gzip -9), and
   inflated, and as brotli q11 (what a static host could precompress); the smaller options
   measured here: the model with fp16 weights (``--half``, computed in fp32) or int8
   (``--quantize int8``), each against PyTorch on the 200 held-out clips of the web test (max
   |logit diff|, top-1 agreement), and the wheel's lite hand landmark model.
2. **Model ms/clip** (batch 1, a real WLASL-50 clip preprocessed by the page, median, p10 and
   p90 of ``--repeats`` calls after 10 warm-up calls, all configurations timed in turns): ONNX
   Runtime Web 1 and 2 WASM threads (the page served cross-origin isolated), the session made
   for one clip of seq_len frames (``freeDimensionOverrides``, the page's default) or for any
   shape, graph optimisation levels, ONNX Runtime's memory arena and pattern, the graph
   pre-optimised by Python's ONNX Runtime with fixed shapes, fp32 / fp16 weights / int8, the
   same weights answering a clip and its mirror image by their mean (two passes, the bundled
   model's answer before one canonical view), beside Python ONNX Runtime (one thread) on the
   same input in the same run.
3. **Tracking and end of sign to label**: real sign videos (``../shared/data/videos``) played
   as Chromium's fake 30 fps webcam (each sign followed by a second without hands, looped):
   MediaPipe Tasks ms per tracked frame, frames tracked per second, and the time from the end
   of a sign (the page receiving its last frame with a hand) to its label painted: the final
   label, and the pending one the page shows first (``Transcriber.pending`` in ``live.js``),
   with how often the two agree and how many pending labels were withdrawn; the page as a plain
   static host serves it (its model on two threads), then each video again with one model thread.

Usage::

    python -m benchmarks.web            # writes "## In the browser (issue #25)" in RESULTS.md
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from benchmarks._common import (
    REPO,
    SHARED_DATA,
    command_line,
    header,
    load_note,
    record_measurement,
    write_section,
)

OUT = REPO / "benchmarks" / "runs" / "web"
TITLE = "In the browser (issue #25)"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIDEOS = ("hello", "apple", "school")
ONE_THREAD = "threads=1"
ROUNDS = 10
PREPARE_IN_PAGE = """async (clip) => {
  const api = window.aslrecApi;
  window.benchInput = (await api.inputs([clip]))[0];
  for (let i = 0; i < 10; i++) await api.run([window.benchInput]);
  return [self.crossOriginIsolated, window.aslrec.threads];
}"""
TIME_IN_PAGE = """async (calls) => {
  const ms = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await window.aslrecApi.run([window.benchInput]);
    ms.push(performance.now() - t);
  }
  return ms;
}"""
# brotli is node's (zlib), the gzip/brotli a static host would precompress with
BROTLI = """const zlib = require("node:zlib"); const fs = require("node:fs");
for (const f of process.argv.slice(1)) { const b = fs.readFileSync(f);
  console.log(zlib.brotliCompressSync(b, {params: {[zlib.constants.BROTLI_PARAM_QUALITY]: 11,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length}}).length); }"""
PARTS = (
    ("ONNX Runtime Web (wasm + js)", "static/ort/"),
    ("MediaPipe Tasks Vision 0.10.21 (wasm + js)", "static/mediapipe/"),
    ("hand model (wheel's full landmarker)", "models/"),
    ("sign model (ONNX fp32) and aslrec.json", "model/"),
    ("page (html, js, css)", ""),
)
# (precision, site, query): the page's defaults are fixed shapes, optimisation "all", no arena,
# and two threads where it is cross-origin isolated (one elsewhere). Served with the COOP/COEP
# headers, except the PLAIN_HOST run: the page's defaults as `python -m http.server` serves it.
PLAIN_HOST = "host=plain"
MEAN_OF_VIEWS = "both mirror views averaged (`mirror_answer=mean`)"
RUNS = (
    ("fp32", "site", PLAIN_HOST),
    ("fp32", "site", "threads=1"),
    ("fp32", "site", "threads=2"),
    ("fp32", "site", "threads=1&fixed=0"),
    ("fp32", "site", "threads=2&fixed=0"),
    ("fp32", "site", "threads=1&arena=1"),
    ("fp32", "site", "threads=1&optimization=basic"),
    ("fp32", "site", "threads=1&optimization=disabled"),
    ("fp32 pre-optimised in Python", "site-preopt", "threads=1"),
    ("fp16 weights (`--half`)", "site-fp16", "threads=1"),
    ("int8", "site-int8", "threads=1"),
    ("int8", "site-int8", "threads=2"),
    (f"fp32, {MEAN_OF_VIEWS}", "site-mean", "threads=1"),
    (f"fp32, {MEAN_OF_VIEWS}", "site-mean", "threads=2"),
)


def mb(n: float) -> str:
    return f"{n / 1e6:.2f}"


def part_sizes(folder: Path, scratch: Path) -> list[tuple[str, int, int, int]]:
    """(part, on disk, inflated, brotli 11 of the inflated) bytes: each file is counted in the
    first part whose folder prefix it has; ``.gz`` files are inflated into ``scratch``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    inflated = {}
    for f in files:
        inflated[f] = f
        if f.suffix == ".gz":
            inflated[f] = scratch / f.relative_to(folder).with_suffix("")
            inflated[f].parent.mkdir(parents=True, exist_ok=True)
            inflated[f].write_bytes(gzip.decompress(f.read_bytes()))
    node = shutil.which("node")
    brotli = {}
    if node:
        out = subprocess.run(
            [node, "-e", BROTLI, *(str(inflated[f]) for f in files)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        brotli = dict(zip(files, map(int, out), strict=True))
    rows = []
    taken: set[Path] = set()
    for name, prefix in PARTS:
        mine = [
            f
            for f in files
            if f not in taken and f.relative_to(folder).as_posix().startswith(prefix)
        ]
        taken.update(mine)
        disk = sum(f.stat().st_size for f in mine)
        plain = sum(inflated[f].stat().st_size for f in mine)
        rows.append((name, disk, plain, sum(brotli.get(f, 0) for f in mine)))
    return rows


def inflated_model(site: Path) -> Path:
    """A web export's model (``model/model.onnx.gz``) as a plain ONNX file beside the folder,
    for Python's ONNX Runtime."""
    from aslrec.export.web import read_model

    path = site.with_name(f"{site.name}.onnx")
    path.write_bytes(read_model(site))
    return path


def pre_optimised(site: Path, dst: Path, seq_len: int) -> tuple[int, int]:
    """``site`` again with its model fixed to one clip of ``seq_len`` frames and optimised by
    Python's ONNX Runtime (level "extended", the portable one; "all" adds this CPU's layouts)
    into the file the page loads, to see whether a graph optimised before the page gets it
    runs faster than ONNX Runtime Web's own optimisation of it. Returns the nodes left after
    that optimisation for one clip and for any shape."""
    import onnx

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(site, dst)
    model = onnx.load(str(inflated_model(site)))
    with tempfile.TemporaryDirectory() as tmp:
        any_shape = optimised_nodes(model, Path(tmp) / "any.onnx")
        for tensor in model.graph.input:
            batch, frames = tensor.type.tensor_type.shape.dim[:2]
            batch.dim_value, frames.dim_value = 1, seq_len  # replaces the dim_param
        one_clip = optimised_nodes(model, Path(tmp) / "optimised.onnx")
        packed = gzip.compress((Path(tmp) / "optimised.onnx").read_bytes(), 9, mtime=0)
    (dst / "model" / "model.onnx.gz").write_bytes(packed)
    return one_clip, any_shape


def optimised_nodes(model: Any, out: Path) -> int:
    """Nodes of ``model`` (an ``onnx.ModelProto``) after Python's ONNX Runtime optimised it
    (level "extended") into ``out``."""
    import onnx
    import onnxruntime as ort

    source = out.with_name(f"source-{out.name}")
    onnx.save(model, str(source))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return len(onnx.load(str(out)).graph.node)


def model_flops(model_dir: Path, seq_len: int) -> int:
    """Floating-point operations of one clip through the run's model, by PyTorch's count (its
    matrix products and convolutions, every pass the model makes for mirror invariance). With
    autograd on, so PyTorch runs the layers the ONNX graph has: under ``no_grad`` its fused
    Transformer path, which the counter does not see, would leave a third of them out."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from aslrec.runs.directory import RunDirectory

    model = RunDirectory(model_dir).model
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, seq_len, 2, 21, 3), torch.ones(1, seq_len))
    return int(counter.get_total_flops())


def held_out(count: int = 150) -> list:
    """The web test's 200 clips: 150 spread over the bundled model's held-out fold, and the
    mirror image of every third."""
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.runs.directory import RunDirectory
    from tools.build_default_model import DATA

    clips = RunDirectory(default_model_dir()).held_out_clips(list(DATA))
    picked = [clips[i] for i in np.linspace(0, len(clips) - 1, count).round().astype(int)]
    return picked + [c.mirrored() for c in picked[::3]]


def precision_rows(
    site: Path, int8_site: Path, fp16_site: Path
) -> list[tuple[str, int, int, float, float]]:
    """(model, bytes, gzip -9 bytes in the folder, max |logit diff| vs PyTorch, top-1
    agreement) on the held-out clips."""
    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.inference.onnx_backend import OnnxBackend
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.models.logits import torch_logits
    from aslrec.runs.directory import RunDirectory

    run = RunDirectory(default_model_dir())
    x, mask = arrays_for_model(held_out(), run.preprocessing)
    reference = torch_logits(run.model, x, mask)
    rows = []
    for name, folder in [
        ("fp32", site),
        ("fp16 weights, fp32 arithmetic (`--half`)", fp16_site),
        ("int8 (`--quantize int8`)", int8_site),
    ]:
        path = inflated_model(folder)
        got = OnnxBackend.load(path, threads=1).logits(x, mask)
        agree = float((got.argmax(1) == reference.argmax(1)).mean())
        packed = (folder / "model" / "model.onnx.gz").stat().st_size
        diff = float(np.abs(got - reference).max())
        rows.append((name, path.stat().st_size, packed, diff, agree))
    return rows


def launch(p: Any, *flags: str) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*FLAGS, *flags])


def timed(run: Any, calls: int) -> list[float]:
    ms = []
    for _ in range(calls):
        t = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def model_speeds(
    p: Any, runs: list[tuple[Path, str, str]], python: dict[str, Path], clip: Any, repeats: int
) -> tuple[list[tuple[str, str, list[float], bool]], dict[str, list[float]]]:
    """Every browser configuration (one page each, all open at once) and Python ONNX Runtime
    timed in turns, ``repeats / ROUNDS`` calls each per round, so a change in the machine's
    load during the run weighs on all of them alike."""
    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.export.web import serve_folder
    from aslrec.inference.onnx_backend import OnnxBackend

    as_json = {
        "frames": len(clip.landmarks),
        "landmarks": clip.landmarks.ravel().tolist(),
        "presence": clip.presence.astype(int).ravel().tolist(),
    }
    calls = max(1, repeats // ROUNDS)
    backends = {kind: OnnxBackend.load(path, threads=1) for kind, path in python.items()}
    inputs = {kind: arrays_for_model([clip], b.preprocessing) for kind, b in backends.items()}
    py_ms: dict[str, list[float]] = {kind: [] for kind in python}
    browser_ms: list[list[float]] = [[] for _ in runs]
    with contextlib.ExitStack() as stack:
        served = [(folder, query == PLAIN_HOST) for folder, _, query in runs]
        urls = {
            (folder, plain): stack.enter_context(serve_folder(folder, isolated=not plain))
            for folder, plain in set(served)
        }
        browser = launch(p)
        stack.callback(browser.close)
        pages, isolated = [], []
        for (_, _, query), key in zip(runs, served, strict=True):
            page = browser.new_page()
            page.goto(f"{urls[key]}/?camera=off&{query}")
            page.wait_for_function("() => window.aslrecApi !== undefined", timeout=120_000)
            isolated.append(page.evaluate(PREPARE_IN_PAGE, as_json))
            pages.append(page)
        for kind, backend in backends.items():
            timed(lambda b=backend, k=kind: b.logits(*inputs[k]), 10)
        for _ in range(ROUNDS):
            for i, page in enumerate(pages):
                browser_ms[i] += page.evaluate(TIME_IN_PAGE, calls)
            for kind, backend in backends.items():
                py_ms[kind] += timed(lambda b=backend, k=kind: b.logits(*inputs[k]), calls)
    speeds = [(kind, query, browser_ms[i], isolated[i]) for i, (_, kind, query) in enumerate(runs)]
    return speeds, py_ms


def python_tracking(videos: list[Path]) -> list[float]:
    """Python's tracker (:class:`HandTracker`, the default options: Tasks, full model) on the
    frames the page's fake camera gets (640x360, every frame), ms per frame."""
    import cv2

    from aslrec.landmarks.hands import HandTracker, TrackerOptions
    from aslrec.landmarks.video import FrameSource

    tracker = HandTracker(TrackerOptions())
    ms = []
    try:
        for video in videos:
            tracker.reset()
            for rgb, ts in FrameSource(video):
                small = cv2.resize(rgb, (640, 360), interpolation=cv2.INTER_AREA)
                started = time.perf_counter()
                tracker.process(small, ts)
                ms.append((time.perf_counter() - started) * 1000)
    finally:
        tracker.close()
    return ms


def first_label_ms(item: dict[str, Any]) -> float:
    """When a sign's label was first on screen: its pending label's paint, if that came first."""
    pending = item["pendingMs"]
    return item["ms"] if pending is None else min(item["ms"], pending)


def painted(item: dict[str, Any]) -> str:
    """``label ms`` of a final label, with its pending label's (``(pending ms)``) if any."""
    text = f"{item['label']} {item['ms']:.0f}"
    if item["pendingLabel"] is None:
        return text
    same = "" if item["pendingLabel"] == item["label"] else f"{item['pendingLabel']} "
    return f"{text} ({same}{item['pendingMs']:.0f})"


def live_run(
    p: Any, url: str, camera: Path, signs: int, timeout_s: float, query: str = ""
) -> dict[str, Any]:
    """The page (``?query``) on a fake webcam until ``signs`` labels were painted (or
    ``timeout_s``)."""
    fake = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"]  # fmt: skip
    browser = launch(p, *fake)
    try:
        page = browser.new_page()
        page.goto(f"{url}/?{query}")
        page.wait_for_function("() => window.aslrec && window.aslrec.tracking", timeout=120_000)
        started = time.perf_counter()
        # fewer signs than asked within the time: report what came
        with contextlib.suppress(Exception):
            page.wait_for_function(
                f"() => window.aslrec.latencies.length >= {signs}",
                timeout=timeout_s * 1000,
                polling=500,
            )
        elapsed = time.perf_counter() - started
        state = page.evaluate(
            "() => { const s = window.aslrec; return {latencies: s.latencies, events: s.events,"
            " pendingLatencies: s.pendingLatencies, trackTimes: s.trackTimes,"
            " results: s.results, modelMs: s.modelMs, threads: s.threads}; }"
        )
    finally:
        browser.close()
    state["seconds"] = elapsed
    return state


class LiveFigures(NamedTuple):
    """What :func:`live_run`s measured, over all their videos."""

    track: list[float]  # ms per tracked frame
    finals: list[dict[str, Any]]  # each final label's timing
    first: list[float]  # ms to each sign's first label on screen (pending or final)
    final: list[float]  # ms to each final label
    withdrawn: int  # pending labels shown that no final label kept


def live_figures(runs: dict[str, dict[str, Any]]) -> LiveFigures:
    finals = [item for run in runs.values() for item in run["latencies"]]
    kept = sum(item["pendingLabel"] is not None for item in finals)
    return LiveFigures(
        track=[ms for run in runs.values() for ms in run["trackTimes"]],
        finals=finals,
        first=[first_label_ms(item) for item in finals],
        final=[item["ms"] for item in finals],
        withdrawn=sum(len(run["pendingLatencies"]) for run in runs.values()) - kept,
    )


def one_thread_note(runs: dict[str, dict[str, Any]]) -> str:
    """The live figures of the ``?threads=1`` runs, each made right after the page's default
    on the same video (side by side, so the machine's load weighs on both alike)."""
    fig = live_figures(runs)
    if not fig.finals:
        return f"With one model thread (`?{ONE_THREAD}`): no sign closed."
    return (
        f"Side by side, each video again with one model thread (`?{ONE_THREAD}`, run right "
        f"after it): tracking median {np.median(fig.track):.1f} ms/frame; first label on "
        f"screen median {np.median(fig.first):.0f} ms, max {max(fig.first):.0f} ms; final label "
        f"median {np.median(fig.final):.0f} ms, max {max(fig.final):.0f} ms over "
        f"{len(fig.final)} signs; {fig.withdrawn} pending labels withdrawn."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="batch-1 calls timed")
    parser.add_argument("--signs", type=int, default=3, help="signs awaited per video")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()[0]

    from playwright.sync_api import sync_playwright

    from aslrec.data.loaders import load_dataset
    from aslrec.export.web import fake_camera_file, serve_folder
    from aslrec.landmarks.hands import hand_landmarker_task
    from aslrec.workflows.export import export_web

    names = ("site", "site-int8", "site-fp16", "site-preopt", "site-mean")
    sites = {name: OUT / name for name in names}
    site = sites["site"]
    export_web(default_model(), site)
    with tempfile.TemporaryDirectory() as tmp:
        export_web(answering(default_model(), "mean", Path(tmp)), sites["site-mean"])
    export_web(default_model(), sites["site-int8"], quantize="int8")
    export_web(default_model(), sites["site-fp16"], half=True)
    seq_len = json.loads((site / "model" / "aslrec.json").read_text())["preprocessing"]["seq_len"]
    one_clip_nodes, any_shape_nodes = pre_optimised(site, sites["site-preopt"], seq_len)
    flops = model_flops(default_model(), seq_len)

    with tempfile.TemporaryDirectory() as tmp:
        sizes = part_sizes(site, Path(tmp))
    precision = precision_rows(site, sites["site-int8"], sites["site-fp16"])
    full_task, lite_task = hand_landmarker_task("full"), hand_landmarker_task("lite")
    print("sizes", sizes, "precision", precision, flush=True)

    clip = load_dataset(SHARED_DATA / "wlasl50_mp.npz")[0]
    runs = [(sites[folder], kind, query) for kind, folder, query in RUNS]
    python_models = {
        "fp32": inflated_model(site),
        "int8": inflated_model(sites["site-int8"]),
        f"fp32, {MEAN_OF_VIEWS}": inflated_model(sites["site-mean"]),
    }
    live: dict[str, dict[str, Any]] = {}
    one_thread: dict[str, dict[str, Any]] = {}  # the same videos, each run right after
    with sync_playwright() as p:
        speed, python = model_speeds(p, runs, python_models, clip, args.repeats)
        for kind, query, ms, _ in speed:
            print(kind, query, f"{np.median(ms):.2f} ms", flush=True)
        python_track = python_tracking([SHARED_DATA / "videos" / f"{n}.mp4" for n in VIDEOS])
        with tempfile.TemporaryDirectory() as tmp, serve_folder(site) as url:
            for name in VIDEOS:
                video = SHARED_DATA / "videos" / f"{name}.mp4"
                camera = fake_camera_file(video, Path(tmp) / f"{name}.y4m", pause_s=1.0)
                live[name] = live_run(p, url, camera, args.signs, 60.0)
                one_thread[name] = live_run(p, url, camera, args.signs, 60.0, ONE_THREAD)
                print(name, live[name]["latencies"], one_thread[name]["latencies"], flush=True)

    py32 = float(np.median(python["fp32"]))
    disk = sum(r[1] for r in sizes)
    p10s = {(kind, query): np.percentile(ms, 10) for kind, query, ms, _ in speed}
    medians = {(kind, query): np.median(ms) for kind, query, ms, _ in speed}
    plain_isolated, plain_threads = next(page for _, q, _, page in speed if q == PLAIN_HOST)

    def p10(query: str, kind: str = "fp32") -> str:
        return f"{p10s[kind, query]:.2f}"

    lines = [
        header(command_line()),
        "",
        f"The bundled model exported with `aslrec export --format web` (fp32): "
        f"{disk / 1e6:.2f} MB on disk (goal: <= 15 MB; {sum(r[2] for r in sizes) / 1e6:.1f} MB "
        "before its large files were stored gzip-compressed). The export writes every file over "
        "100 kB as `NAME.gz` (gzip -9) and the page inflates them itself with the browser's "
        "`DecompressionStream`, so any static host serves the folder as it is, "
        "`python -m http.server` included.",
        "",
        "| part | on disk MB | inflated MB | brotli 11 MB |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {mb(d)} | {mb(g)} | {mb(b)} |" for n, d, g, b in sizes),
        f"| **folder** | **{mb(disk)}** | {mb(sum(r[2] for r in sizes))} | "
        f"{mb(sum(r[3] for r in sizes))} |",
        "",
        "Brotli (a static host sending precompressed `.br` files as `Content-Encoding`) would "
        "shrink what a visitor downloads further, but not what the folder holds on disk; the "
        "page inflates gzip, which every current browser's `DecompressionStream` reads. Smaller "
        "models, measured here (200 held-out clips of the bundled model, the web test's, "
        "against PyTorch):",
        "",
        "| sign model | MB | in the folder (gzip -9) MB | max abs logit diff vs PyTorch | "
        "top-1 agreement |",
        "|---|---:|---:|---:|---:|",
        *(f"| {n} | {mb(s)} | {mb(g)} | {d:.2e} | {a:.1%} |" for n, s, g, d, a in precision),
        "",
        f"`--half` makes the folder {(disk - precision[0][2] + precision[1][2]) / 1e6:.2f} MB; "
        "the default stays fp32, which meets the goal and the 1e-4 parity with PyTorch.",
        "",
        f"Hand model: the full landmarker bundle is {mb(full_task.stat().st_size)} MB, the "
        f"wheel's lite one {mb(lite_task.stat().st_size)} MB (Python's tracker can use it, "
        "`TrackerOptions(landmark_model='lite')`, but `aslrec predict` tracks with full; "
        "[Extraction](#extraction-mediapipe-variants) measured 70.5% of frames with a hand "
        "for lite against 71.5% for full on the 8 shared videos). The export keeps full so "
        "the page tracks with the model `aslrec predict` uses.",
        "",
        "| sign model | WASM threads | input shape | graph optimisation | memory arena | "
        "median ms/clip | p10 ms/clip | p90 ms/clip | median / Python fp32 | "
        "cross-origin isolated |",
        "|---|---:|---|---|---|---:|---:|---:|---:|---|",
    ]
    for kind, query, ms, (isolated, threads) in speed:
        q = dict(part.split("=") for part in query.split("&"))
        shape = "any" if q.get("fixed") == "0" else "1 clip (fixed)"
        host = ", served without COOP/COEP headers (the page's defaults)" if "host" in q else ""
        lines.append(
            f"| ONNX Runtime Web, {kind}{host} | {threads} | {shape} | "
            f"{q.get('optimization', 'all')} | {'on' if q.get('arena') == '1' else 'off'} | "
            f"{np.median(ms):.2f} | {np.percentile(ms, 10):.2f} | {np.percentile(ms, 90):.2f} | "
            f"{np.median(ms) / py32:.1f}x | {'yes' if isolated else 'no'} |"
        )
    for kind, ms in python.items():
        lines.append(
            f"| Python ONNX Runtime, {kind} | 1 | any | all | on | {np.median(ms):.2f} | "
            f"{np.percentile(ms, 10):.2f} | {np.percentile(ms, 90):.2f} | "
            f"{np.median(ms) / py32:.1f}x | - |"
        )
    track, finals, first, latency, withdrawn = live_figures(live)
    with_pending = [item for item in finals if item["pendingLabel"] is not None]
    lines += [
        "",
        f"One WLASL-50 clip, batch 1, ONNX Runtime Web 1.30.0 WASM SIMD; every configuration "
        f"and Python timed in turns ({ROUNDS} rounds of {args.repeats // ROUNDS} calls each), so "
        "the machine's load weighs on all alike; p10 (the fastest tenth) is the closest to an "
        "idle machine. Goal: <= 3 ms/clip in WASM; fp32, the page's settings: two threads "
        "(its default in a cross-origin isolated page on two cores or more) "
        f"{medians['fp32', 'threads=2']:.2f} ms median, {p10('threads=2')} ms p10; served "
        "without the COOP/COEP headers, as `python -m http.server` serves it, the page's "
        "service worker (isolate.js) added them after one reload: "
        f"{'isolated' if plain_isolated else 'NOT isolated'}, {plain_threads} thread(s), "
        f"{medians['fp32', PLAIN_HOST]:.2f} ms median, {p10(PLAIN_HOST)} ms p10; one thread "
        "(where service workers may not run: plain http other than localhost, or `?isolate=0`) "
        f"{medians['fp32', 'threads=1']:.2f} ms median, {p10('threads=1')} ms p10, "
        f"{p10s['fp32', 'threads=1'] / np.percentile(python['fp32'], 10):.1f}x Python's p10. "
        "The page's session is made for one clip of seq_len frames (`freeDimensionOverrides`; "
        "the page pads or samples every clip to seq_len, and runs a batch clip by clip), which "
        f"folds the graph's shape arithmetic away ({any_shape_nodes} nodes left after "
        f"optimisation for any shape, {one_clip_nodes} for one clip, in Python's ONNX Runtime): "
        f"{p10('threads=1')} ms p10 against {p10('threads=1&fixed=0')} for any shape (the page "
        f"before) on one thread, {p10('threads=2')} against {p10('threads=2&fixed=0')} on two. "
        "The other settings, p10 on one thread: ONNX Runtime's memory arena and pattern on (off "
        f"in ONNX Runtime Web unless asked for, on in Python) {p10('threads=1&arena=1')} ms, "
        f"graph optimisation basic {p10('threads=1&optimization=basic')}, disabled "
        f"{p10('threads=1&optimization=disabled')}, the graph pre-optimised by Python's ONNX "
        "Runtime (level extended, the same fixed shapes) "
        f"{p10('threads=1', 'fp32 pre-optimised in Python')}, fp16 weights "
        f"{p10('threads=1', 'fp16 weights (`--half`)')} (ONNX Runtime folds their casts to "
        f"fp32 when it loads the graph), int8 {p10('threads=1', 'int8')}; the page keeps ONNX "
        "Runtime Web's defaults for these. Where the time goes (ONNX Runtime Web's profiler in "
        "the page, `enableProfiling`): the 13 matrix products (Gemm) take the largest share, "
        "about a third of kernel time, then LayerNormalization, the elementwise ops and the two "
        "depthwise convolutions; ONNX Runtime Web's WASM SIMD kernels have 128-bit vectors and "
        "no fused multiply-add; Python's can use this CPU's AVX-512 and FMA. "
        f"{passes_note(default_model())}: "
        f"{flops / 1e6:.0f} MFLOP per clip by PyTorch's count, i.e. "
        f"{flops / p10s['fp32', 'threads=1'] / 1e6:.1f} GFLOP/s on one WASM thread at p10 "
        f"against {flops / np.percentile(python['fp32'], 10) / 1e6:.1f} in Python.",
        "",
        "| video (fake 30 fps webcam) | frames tracked | tracked/s | tracking median ms | p90 ms"
        " | signs labelled | end of sign to label painted, ms: final (pending) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in live.items():
        t = run["trackTimes"]
        lines.append(
            f"| {name}.mp4 | {run['results']} | {run['results'] / run['seconds']:.1f} | "
            f"{np.median(t):.1f} | {np.percentile(t, 90):.1f} | {len(run['latencies'])} | "
            + (", ".join(painted(x) for x in run["latencies"]) or "-")
            + " |"
        )
    parts = {k: [x[k] for run in live.values() for x in run["latencies"]]
             for k in ("closeMs", "classifyMs", "paintMs")}  # fmt: skip
    by_reason = {}
    for run in live.values():
        for x in run["latencies"]:
            by_reason.setdefault(x["reason"], []).append(x["ms"])
    lines += [
        "",
        f"All videos: tracking median {np.median(track):.1f} ms/frame (MediaPipe Tasks "
        f"0.10.21, CPU, full model; Python's tracker on the same 640x360 frames in this run: "
        f"{np.median(python_track):.1f} ms, {len(python_track)} frames); end of sign to label "
        "painted median "
        + (
            f"{np.median(latency):.0f} ms, max {max(latency):.0f} ms over {len(latency)} signs"
            if latency
            else "- (no sign closed)"
        )
        + " for the final label; the first label on screen (the pending one when it came "
        "first: the page answers as soon as a sign's end can be seen, the first frame without "
        "a hand or 0.1 s of stillness, and marks it pending until the segmenter closes the "
        "sign) "
        + (
            f"median {np.median(first):.0f} ms, max {max(first):.0f} ms (goal <= 200 ms); "
            f"{len(with_pending)} of {len(finals)} signs had a pending label first, the same "
            f"as the final one for {sum(x['pendingLabel'] == x['label'] for x in with_pending)}"
            f"; {withdrawn} pending labels were withdrawn (the hands "
            "came back or moved again)"
            if finals
            else "-"
        )
        + "; by how the sign ended (final label): "
        + "; ".join(
            f"{reason} {len(ms)} sign{'s' if len(ms) != 1 else ''}, median {np.median(ms):.0f} ms"
            for reason, ms in sorted(by_reason.items())
        )
        + (
            f". Its parts, medians: {np.median(parts['closeMs']):.0f} ms waiting for the frame "
            "that closes the sign (the segmenter ends a sign after 0.1 s without hands, "
            f"`hands_left`, or 0.3 s of stillness, `still`), {np.median(parts['classifyMs']):.0f}"
            f" ms tracking that frame and the model, {np.median(parts['paintMs']):.0f} ms to the "
            "next animation frame (headless Chromium paints without waiting for a display). "
            if latency
            else ". "
        )
        + "The camera gives 30 frames/s; the page tracks the newest frame when the previous one "
        "is done, so it skips frames when tracking takes longer than 33 ms. The page was served "
        "as `python -m http.server` serves it (no COOP/COEP headers); its model ran on "
        + "/".join(sorted({str(run["threads"]) for run in live.values()}))
        + " thread(s). "
        + one_thread_note(one_thread),
        "",
        f"{load_note(load_before, os.getloadavg()[0])} "
        f"Benchmark took {time.perf_counter() - started:.0f} s.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        record_measurement(TITLE)
        write_section(TITLE, body)


def answering(model_dir: Path, answer: str, scratch: Path) -> Path:
    """A copy of the mirror-invariant run ``model_dir`` in ``scratch`` whose manifest makes the
    same weights answer a clip and its mirror image as ``answer``."""
    copy = shutil.copytree(model_dir, scratch / model_dir.name)
    manifest = copy / "model_config.json"
    config = json.loads(manifest.read_text())
    config["model_kwargs"]["mirror_answer"] = answer
    manifest.write_text(json.dumps(config, indent=2) + "\n")
    return copy


def passes_note(model_dir: Path) -> str:
    """How many passes the run's model makes per clip for mirror invariance, in words."""
    from aslrec.runs.directory import RunDirectory

    kwargs = RunDirectory(model_dir).model_kwargs
    if not kwargs.get("mirror_invariant"):
        return "The bundled model runs each clip once"
    if kwargs.get("mirror_answer") == "one_view":
        return (
            "The bundled model is mirror-invariant by one pass on the canonical one of a clip "
            "and its mirror image (`mirror_answer=one_view`, chosen in the graph), where the mean "
            "of both views it answered with before runs each clip twice (one batch of 2: the "
            f"`{MEAN_OF_VIEWS}` rows)"
        )
    return "The bundled model is mirror-invariant, so each clip runs twice (as it is and mirrored)"


def default_model() -> Path:
    from aslrec.inference.recognizer import default_model_dir

    return default_model_dir()


if __name__ == "__main__":
    main()
