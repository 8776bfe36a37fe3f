"""``aslrec export RUN --format web``: one static folder that recognises signs in the browser.

The folder holds the page (``web/src/index.html``, the one ``aslrec serve`` serves, which runs
the model in the page when it finds ``model/aslrec.json`` beside it) and its modules,
MediaPipe Tasks Vision (npm) with the hand model aslrec builds from its own MediaPipe wheel,
ONNX Runtime Web (npm, WebAssembly), the exported ONNX model and ``model/aslrec.json``: class
names, preprocessing spec, temperature and unknown threshold (from the ONNX metadata, i.e. the
run's ``model_config.json`` and ``calibration.json``), the streaming segmenter's and the
fingerspelling decoder's settings; with ``--lexicon``, ``model/lexicon.txt``, the words the
page's fingerspelling mode snaps spelled words to.
Every URL the page loads is relative to its folder, so any static host serves it and nothing
is fetched from elsewhere. ``isolate.js`` at the top of the folder is a service worker that adds
the COOP/COEP headers a plain static host does not send, so the page is cross-origin isolated and
ONNX Runtime Web may use two threads there too (https, or http on localhost).

The files come from the page build of ``make web`` (``web/build.mjs``), which puts them in
``aslrec/serving/static/``; that folder is located by path, not imported (serving sits above
export in the layer contract). Only the SIMD build of MediaPipe's WebAssembly is copied (every
browser with WebAssembly SIMD, i.e. all current ones; the non-SIMD fallback would add 9.4 MB).
MediaPipe Tasks Vision is 0.10.21, the release of the Python wheel that tracks videos for
``aslrec predict`` (and 3.4 MB smaller than its 1.1.0). Of ONNX Runtime Web only the plain
WebAssembly build is copied (``ort-wasm-simd-threaded``, which runs on one thread too; the
package's JSEP, JSPI and asyncify builds are for WebGPU/WebNN and larger).

The large files are written gzip-compressed (:data:`GZIPPED`, ``NAME.gz``, level 9; the
bundled model's 34.5 MB of files take 14.8 MB so): the page inflates them itself with the
browser's ``DecompressionStream`` (``web/src/files.js``; Chrome 80, Firefox 113, Safari 16.4
and later), so the folder is small on disk and needs no server that sets
``Content-Encoding``. ``model/aslrec.json`` names the compressed files (``model``, ``files``).
"""

from __future__ import annotations

import contextlib
import gzip
import inspect
import json
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aslrec.atomic import write_text
from aslrec.errors import ConfigError
from aslrec.inference.fingerspelling import LETTERS, SpellingConfig
from aslrec.inference.onnx_backend import KEY, MODEL_FILENAME, OnnxMetadata
from aslrec.inference.streaming import DEFAULT_THRESHOLD, SegmenterConfig, StreamingRecognizer

BUILT_PAGE = Path(__file__).resolve().parents[1] / "serving" / "static"
CONFIG_FILENAME = "aslrec.json"
MODEL_DIR = "model"
HAND_MODEL = "models/hand_landmarker.task"
LEXICON = f"{MODEL_DIR}/lexicon.txt"
MODULES = (
    "page.js",
    "files.js",
    "local.js",
    "tracking.js",
    "slots.js",
    "live.js",
    "fingerspelling.js",
    "model.js",
    "preprocess.js",
)
COPIED: tuple[tuple[str, str], ...] = (
    ("index.html", "index.html"),
    ("isolate.js", "isolate.js"),  # a service worker: its folder is its scope
    *((name, f"static/{name}") for name in (*MODULES, "style.css")),
    *(
        (f"mediapipe/tasks-vision/{name}", f"static/mediapipe/tasks-vision/{name}")
        for name in (
            "vision_bundle.mjs",
            "wasm/vision_wasm_internal.js",
            "wasm/vision_wasm_internal.wasm",
        )
    ),
    *(
        (f"ort/{name}", f"static/ort/{name}")
        for name in (
            "ort.wasm.min.mjs",
            "ort-wasm-simd-threaded.mjs",
            "ort-wasm-simd-threaded.wasm",
        )
    ),
)
"""(file of the page build, path in the exported folder)."""
MODEL = f"{MODEL_DIR}/{MODEL_FILENAME}"
FILES = {
    "ort_wasm": "static/ort/ort-wasm-simd-threaded.wasm",
    "vision_bundle": "static/mediapipe/tasks-vision/vision_bundle.mjs",
    "vision_loader": "static/mediapipe/tasks-vision/wasm/vision_wasm_internal.js",
    "vision_wasm": "static/mediapipe/tasks-vision/wasm/vision_wasm_internal.wasm",
    "hand_model": HAND_MODEL,
}
"""The files the page loads by the names ``model/aslrec.json`` gives them ("files")."""
GZIPPED = (*FILES.values(), MODEL)
"""Stored as ``NAME.gz`` only: everything over 100 kB (the page inflates them; ONNX Runtime's
own modules, 74 kB, are imported by URL and stay plain)."""


FP16_WEIGHTS = "fp16-weights"
"""``aslrec.quantization`` of a model exported with ``--half``."""


def gzipped(path: str) -> str:
    """Where the folder holds ``path``: ``path.gz`` when it is stored compressed."""
    return f"{path}.gz" if path in GZIPPED else path


def require_built_page() -> None:
    """A one-line ConfigError when ``make web`` has not built the files the folder needs."""
    missing = [src for src, _ in COPIED if not (BUILT_PAGE / src).is_file()]
    if missing:
        raise ConfigError(
            f"the browser page is not built ({BUILT_PAGE / missing[0]} is missing): run "
            "`make web` (needs npm) first"
        )


def page_config(metadata: OnnxMetadata, lexicon: bool = False) -> dict[str, Any]:
    """``model/aslrec.json``: what the page needs besides the graph, from the ONNX metadata.

    The segmenter, fingerspelling and repeat-gap settings are Python's defaults (``aslrec
    live``), written here so the page has no second copy of them; ``lexicon``: whether the
    folder has one (``model/lexicon.txt``).
    """
    calibration = metadata.calibration or {}
    repeat_gap = inspect.signature(StreamingRecognizer).parameters["repeat_gap_s"].default
    return {
        "architecture": metadata.architecture,
        "classes": metadata.classes,
        "preprocessing": metadata.preprocessing,
        "calibrated": bool(calibration),
        "temperature": float(calibration.get("temperature", 1.0)),
        "threshold": float(calibration.get("threshold", DEFAULT_THRESHOLD)),
        "segmenter": asdict(SegmenterConfig()),
        "fingerspelling": asdict(SpellingConfig()),
        "repeat_gap_s": repeat_gap,
        "model": gzipped(MODEL),
        "files": {name: gzipped(path) for name, path in FILES.items()},
        "lexicon": LEXICON if lexicon else None,
        "quantization": metadata.quantization,
        "version": metadata.version,
    }


def assemble(
    folder: Path, metadata: OnnxMetadata, hand_model: Path, lexicon: Sequence[str] | None = None
) -> None:
    """Copy the page, MediaPipe, ONNX Runtime Web and the hand model into ``folder`` (which
    already holds ``model/model.onnx``), compress :data:`GZIPPED`, write ``model/aslrec.json``
    and, with ``lexicon`` (words, in priority order), ``model/lexicon.txt`` for the page's
    fingerspelling mode. ``folder`` is a temporary one that the caller renames into place, so
    a failure leaves no half-written export."""
    require_built_page()
    if lexicon is not None:
        if not any(c.upper() in LETTERS for c in metadata.classes):
            raise ConfigError(
                "--lexicon is for the page's fingerspelling mode: the model has no letter "
                "classes (A-Z)"
            )
        write_text(folder / LEXICON, "".join(f"{word}\n" for word in lexicon))
    for src, dst in [*((BUILT_PAGE / src, dst) for src, dst in COPIED), (hand_model, HAND_MODEL)]:
        target = folder / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    for path in GZIPPED:
        plain = folder / path
        # mtime 0: the same files give the same bytes
        (folder / gzipped(path)).write_bytes(gzip.compress(plain.read_bytes(), 9, mtime=0))
        plain.unlink()
    config = page_config(metadata, lexicon=lexicon is not None)
    write_text(folder / MODEL_DIR / CONFIG_FILENAME, json.dumps(config, indent=2) + "\n")


def fp16_weights(src: Path, dst: Path, min_elements: int = 1024) -> None:
    """``src`` with its large fp32 initializers stored as fp16, each cast back to fp32 by a Cast
    node, its metadata saying ``aslrec.quantization`` ``fp16-weights``: about half the bytes,
    the arithmetic still fp32 (ONNX Runtime Web's WebAssembly kernels are fp32)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            half = numpy_helper.from_array(
                numpy_helper.to_array(init).astype(np.float16), f"{init.name}_fp16"
            )
            graph.initializer.remove(init)
            graph.initializer.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    for prop in model.metadata_props:
        if prop.key == KEY + "quantization":
            prop.value = FP16_WEIGHTS
    onnx.save(model, str(dst))


def read_model(folder: Path) -> bytes:
    """The ONNX model of a web export, inflated (what the page runs; ONNX Runtime takes bytes)."""
    return gzip.decompress((folder / gzipped(MODEL)).read_bytes())


def is_web_export(folder: Path) -> bool:
    """Whether ``folder`` is a folder this module wrote (so a new export may replace it)."""
    return (folder / MODEL_DIR / CONFIG_FILENAME).is_file() and (folder / "index.html").is_file()


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextlib.contextmanager
def serve_folder(folder: Path, *, isolated: bool = False) -> Iterator[str]:
    """Serve ``folder`` over HTTP on a free localhost port (a thread), yielding its URL: what
    ``python -m http.server`` does, for tests and benchmarks. ``isolated`` adds the COOP/COEP
    headers that make the page cross-origin isolated, which ONNX Runtime Web needs to use more
    than one thread."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def end_headers(self) -> None:
            if isolated:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fake_camera_file(video: Path, out: Path, pause_s: float = 0.0) -> Path:
    """``video`` as Chromium's fake webcam reads it (``--use-file-for-fake-video-capture``:
    y4m, 640x360, 30 fps), then ``pause_s`` seconds of grey, in which no hand is seen, so a
    sign ends there each time the camera loops the file; for tests and benchmarks (ffmpeg)."""
    import subprocess

    scaled = "[0:v]scale=640:360,fps=30,setsar=1"
    inputs = ["-i", str(video)]
    graph = f"{scaled},format=yuv420p"
    if pause_s > 0:
        inputs += ["-f", "lavfi", "-i", f"color=c=gray:s=640x360:r=30:d={pause_s}"]
        graph = f"{scaled}[a];[1:v]setsar=1[b];[a][b]concat=n=2:v=1:a=0,format=yuv420p"
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    cmd = [ffmpeg, "-loglevel", "error", "-y", *inputs, "-filter_complex", graph, str(out)]
    subprocess.run(cmd, check=True, timeout=120)
    return out
