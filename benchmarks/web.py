"""aslrec in the browser (issue #25): the bundled model per clip in ONNX Runtime Web.

Exports the bundled model with ``aslrec export --format web`` into ``benchmarks/runs/web/``,
serves the folder with the COOP/COEP headers that let ONNX Runtime Web use threads, and times
in headless Chromium one clip at a time (batch 1, a real WLASL-50 clip preprocessed by the
page, median and p90 of ``--repeats`` calls after a warm-up) with 1 and 2 WASM threads, beside
Python ONNX Runtime on the same input (one thread). Tracking and end-of-sign latency are not
measured here yet.

Usage::

    python -m benchmarks.web            # writes "## In the browser (issue #25)" in RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

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
TIME_IN_PAGE = """async ([clip, repeats]) => {
  const api = window.aslrecApi;
  const input = (await api.inputs([clip]))[0];
  for (let i = 0; i < 10; i++) await api.run([input]);
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await api.run([input]);
    ms.push(performance.now() - t);
  }
  return {ms, isolated: self.crossOriginIsolated};
}"""


def browser_ms(folder: object, clip: dict, threads: int, repeats: int) -> tuple[list[float], bool]:
    from playwright.sync_api import sync_playwright

    from aslrec.export.web import serve_folder

    with serve_folder(folder, isolated=True) as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{url}/?camera=off&threads={threads}")
            page.wait_for_function(
                "() => window.aslrec && window.aslrec.modelReady", timeout=120_000
            )
            result = page.evaluate(TIME_IN_PAGE, [clip, repeats])
        finally:
            browser.close()
    return result["ms"], result["isolated"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="batch-1 calls timed")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()[0]

    from aslrec.data.loaders import load_dataset
    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.export.web import folder_size
    from aslrec.inference.onnx_backend import OnnxBackend
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.workflows.export import export_web

    site = OUT / "site"
    result = export_web(default_model_dir(), site)
    clip = load_dataset(SHARED_DATA / "wlasl50_mp.npz")[0]
    as_json = {
        "frames": len(clip.landmarks),
        "landmarks": clip.landmarks.ravel().tolist(),
        "presence": clip.presence.astype(int).ravel().tolist(),
    }
    rows: list[tuple[str, list[float], bool | None]] = []
    for threads in (1, 2):
        ms, isolated = browser_ms(site, as_json, threads, args.repeats)
        rows.append((f"ONNX Runtime Web {threads} thread(s), WASM SIMD", ms, isolated))
        print(rows[-1][0], f"{np.median(ms):.2f} ms", flush=True)
    backend = OnnxBackend.load(site / "model" / "model.onnx", threads=1)
    x, mask = arrays_for_model([clip], backend.preprocessing)
    for _ in range(10):
        backend.logits(x, mask)
    ms = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        backend.logits(x, mask)
        ms.append((time.perf_counter() - t) * 1000)
    rows.append(("Python ONNX Runtime, 1 thread", ms, None))

    lines = [
        header(command_line()),
        "",
        f"The bundled model exported with `aslrec export --format web` "
        f"({folder_size(site) / 1e6:.1f} MB folder, model {result.onnx.size_bytes / 1e6:.1f} MB "
        f"fp32); one WLASL-50 clip, batch 1, {args.repeats} calls after 10 warm-up calls, "
        "headless Chromium (no GPU). Goal: <= 3 ms/clip in WASM.",
        "",
        "| runtime | median ms/clip | p90 ms/clip | cross-origin isolated |",
        "|---|---:|---:|---|",
    ]
    for name, ms, isolated in rows:
        lines.append(
            f"| {name} | {np.median(ms):.2f} | {np.percentile(ms, 90):.2f} | "
            f"{'-' if isolated is None else 'yes' if isolated else 'no'} |"
        )
    lines += [
        "",
        "Two WASM threads need a cross-origin isolated page (COOP/COEP headers); served by "
        "`python -m http.server`, which sends none, the page runs on one thread.",
        "",
        f"{load_note(load_before, os.getloadavg()[0])} "
        f"Benchmark took {time.perf_counter() - started:.0f} s.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        record_measurement(TITLE)
        write_section(TITLE, body)


if __name__ == "__main__":
    main()
