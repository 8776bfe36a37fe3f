"""``aslrec export --format web``: the folder, and its page in headless Chromium with no server.

The exported folder is served by a plain static server (:func:`aslrec.export.web.serve_folder`,
what ``python -m http.server`` does) and every request outside its origin is blocked and
recorded: there must be none. In the page, real held-out clips fed as raw landmarks (the
page's own preprocessing, then ONNX Runtime Web) must give Python's ONNX Runtime logits within
1e-4 and the same top-1, and a real video dropped on the page must get the label `aslrec
predict` gives it. Two models: the bundled one (read, never written) and a small run built here.

Skipped when Chromium, Playwright or the built page (``make web``) is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aslrec.export import web

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]  # fmt: skip
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="Chromium not installed"),
    pytest.mark.skipif(
        not (web.BUILT_PAGE / "local.js").is_file(), reason="page not built (make web)"
    ),
]
playwright = pytest.importorskip("playwright.sync_api")
sync_playwright, PlaywrightTimeout = playwright.sync_playwright, playwright.TimeoutError


@pytest.fixture(scope="module")
def bundled_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.workflows.export import export_web

    out = tmp_path_factory.mktemp("web-bundled") / "site"
    result = export_web(default_model_dir(), out)
    print(result.summary_line())
    return out


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory, make_run: Callable[[str], Path]) -> Path:
    """A small isl-hybrid run (seeded weights, BatchNorm fitted on real clips) trained on the
    chirality slots with the span sampling and the moving-hand rule, and its web export."""
    from aslrec.workflows.export import export_web

    run = tmp_path_factory.mktemp("web-run") / "run"
    shutil.copytree(make_run("isl-hybrid"), run)
    config = json.loads((run / "model_config.json").read_text())
    config["preprocessing"].update(
        frame_sampling="span", handedness="chirality", dominant_hand=True, dominance="moving"
    )
    (run / "model_config.json").write_text(json.dumps(config))
    (run / "model.onnx").unlink(missing_ok=True)
    out = run.parent / "site"
    export_web(run, out)
    return out


@contextmanager
def offline_page(folder: Path, query: str = "?camera=off", *flags: str) -> Iterator[Any]:
    """The exported page, served statically, every request outside its origin blocked; yields
    (page, blocked requests)."""
    blocked: list[str] = []
    with web.serve_folder(folder) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*FLAGS, *flags])
        try:
            context = browser.new_context()

            def guard(route: Any) -> None:
                if route.request.url.startswith(url + "/"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.goto(f"{url}/{query}")
            page.wait_for_function(
                "() => window.aslrec && (window.aslrec.modelReady"
                " || window.aslrec.status.includes('failed'))",
                timeout=60_000,
            )
            assert page.evaluate("() => window.aslrec.modelReady"), page.inner_text("#message")
            yield page, blocked
        finally:
            browser.close()


def clip_json(clip: Any) -> dict[str, Any]:
    return {
        "frames": len(clip.landmarks),
        "landmarks": clip.landmarks.ravel().tolist(),
        "presence": clip.presence.astype(int).ravel().tolist(),
    }


def check_parity(page: Any, folder: Path, clips: list) -> float:
    """Page logits of raw clips vs OnnxBackend on Python's preprocessing: max |diff|."""
    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.inference.onnx_backend import OnnxBackend

    model = folder.parent / f"{folder.name}.onnx"  # the page's model/model.onnx.gz, inflated
    model.write_bytes(web.read_model(folder))
    backend = OnnxBackend.load(model)
    x, mask = arrays_for_model(clips, backend.preprocessing)
    expected = backend.logits(x, mask)
    got = np.array(
        page.evaluate("(clips) => window.aslrecApi.logits(clips)", [clip_json(c) for c in clips])
    )
    assert got.shape == expected.shape
    diff = float(np.abs(got - expected).max())
    assert diff <= 1e-4, diff
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))
    return diff


def spread(clips: list, count: int) -> list:
    return [clips[i] for i in np.linspace(0, len(clips) - 1, count).round().astype(int)]


def test_the_bundled_model_exports_a_folder_that_says_what_the_run_says(
    bundled_folder: Path,
) -> None:
    from aslrec.inference.recognizer import default_model_dir

    run = default_model_dir()
    config = json.loads((bundled_folder / "model" / "aslrec.json").read_text())
    trained = json.loads((run / "model_config.json").read_text())
    calibration = json.loads((run / "calibration.json").read_text())
    assert config["classes"] == trained["classes"]
    assert config["preprocessing"] == trained["preprocessing"]
    assert config["temperature"] == calibration["temperature"]
    assert config["threshold"] == calibration["threshold"]
    for dst in [*(dst for _, dst in web.COPIED), web.HAND_MODEL, web.MODEL]:
        assert (bundled_folder / web.gzipped(dst)).is_file(), dst
    for path in web.GZIPPED:  # only the compressed copy
        assert not (bundled_folder / path).exists(), path
    assert config["model"] == "model/model.onnx.gz"
    assert all((bundled_folder / path).is_file() for path in config["files"].values())
    size = web.folder_size(bundled_folder)
    print(f"web folder: {size / 1e6:.2f} MB")
    assert size <= 15e6  # the goal of issue #25; 14.8 MB with the fp32 model


def test_the_bundled_models_page_matches_python_on_held_out_clips_and_a_video(
    bundled_folder: Path, videos: Path, shared_data: Path
) -> None:
    from aslrec.inference.recognizer import Recognizer, default_model_dir
    from aslrec.runs.directory import RunDirectory
    from tools.build_default_model import DATA  # where the bundled model's data lies here

    photo = shared_data / "fingerspelling16" / "user_10" / "C1.jpg"
    run = RunDirectory(default_model_dir())
    held_out = run.held_out_clips(list(DATA))
    clips = spread(held_out, 150)
    clips += [c.mirrored() for c in clips[::3]]
    with offline_page(bundled_folder) as (page, blocked):
        diff = check_parity(page, bundled_folder, clips)
        page.set_input_files("#file", str(videos / "hello.mp4"))
        page.wait_for_function("() => window.aslrec.file !== null", timeout=120_000)
        result = page.evaluate("() => window.aslrec.file")
        shown = page.inner_text("#fileresult")
        page.set_input_files("#file", str(photo))  # a photo: tracked once, held still
        page.wait_for_function(f"() => window.aslrec.file.name === '{photo.name}'")
        held = page.evaluate("() => window.aslrec.file")
        errors = page.evaluate("() => window.aslrec.errors")
    print(f"{len(clips)} held-out clips: max |logit diff| {diff:.2e}; hello.mp4: {result}")
    assert blocked == [] and errors == []
    python = Recognizer.load(default_model_dir(), backend="onnx")
    assert result["handFrames"] > 0
    assert result["prediction"]["label"] == python.predict(videos / "hello.mp4").label
    assert python.predict(videos / "hello.mp4").label in shown
    assert held["frames"] == held["handFrames"] == 1
    assert held["prediction"]["label"] == python.predict(photo).label == "C"


def test_a_small_runs_page_matches_python_and_transcribes_a_webcam(
    small_folder: Path, wlasl_clips: list, tmp_path: Path, videos: Path
) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    # hello, then a second without hands (the sign ends)
    camera = web.fake_camera_file(videos / "hello.mp4", tmp_path / "hello.y4m", pause_s=1.0)
    fake = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"]  # fmt: skip
    clips = spread(wlasl_clips, 100)
    with offline_page(small_folder, "", *fake) as (page, blocked):
        diff = check_parity(page, small_folder, clips)
        page.wait_for_function("() => window.aslrec.events.length > 0", timeout=90_000, polling=250)
        state = page.evaluate(
            "() => { const s = window.aslrec; return {events: s.events, slotCounts: s.slotCounts,"
            " trackMs: s.trackMs, modelMs: s.modelMs, errors: s.errors}; }"
        )
        words = page.locator("#transcript .word").all_inner_texts()
    print(f"small run: max |logit diff| {diff:.2e}; live: {state}")
    assert blocked == [] and state["errors"] == []
    event = state["events"][0]
    assert len(event["top_k"]) == 3 and 0 < event["probability"] <= 1
    assert words and words[0] in [event["label"], "?"]
    assert state["slotCounts"][1] > state["slotCounts"][0]  # hello is signed with the right hand


def test_a_plain_static_host_still_runs_the_model_on_two_threads(bundled_folder: Path) -> None:
    """Served without COOP/COEP headers (as ``python -m http.server`` serves it), the page has
    its service worker (isolate.js) add them and reloads once: cross-origin isolated, two model
    threads on two cores or more, nothing fetched from elsewhere; ``?isolate=0`` keeps the page
    as the host serves it (one thread) and still runs the model."""
    expected = 2 if (os.cpu_count() or 1) >= 2 else 1
    with offline_page(bundled_folder) as (page, blocked):
        state = page.evaluate("() => window.aslrec")
        isolated = page.evaluate("() => self.crossOriginIsolated")
        reloaded = page.evaluate("() => sessionStorage.getItem('aslrec-isolate-reloaded')")
    assert (isolated, state["threads"], reloaded) == (True, expected, "1")
    assert blocked == [] and state["errors"] == []
    with offline_page(bundled_folder, "?camera=off&isolate=0") as (page, blocked):
        state = page.evaluate("() => window.aslrec")
        isolated = page.evaluate("() => self.crossOriginIsolated")
    assert (isolated, state["threads"]) == (False, 1)
    assert blocked == []


def test_export_web_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    from aslrec.errors import ConfigError
    from aslrec.workflows.export import export_web

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an aslrec web export"):
        export_web(tmp_path / "no-such-run", tmp_path)


@pytest.mark.slow
def test_the_bundled_models_page_spells_photos_of_letters_from_a_webcam(
    bundled_folder: Path, shared_data: Path, tmp_path: Path
) -> None:
    """Fingerspelling mode (``?mode=fingerspelling``) on a fake webcam showing one person's real
    photos of C, A and B (1 s each, grey before and after): the page emits letters and closes
    the word when the hand leaves, as ``aslrec live --fingerspelling`` does on the same photos
    (``tests/inference/test_fingerspelling.py``)."""
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not installed")
    photos = shared_data / "fingerspelling16" / "user_3"
    inputs, chain = [], []
    for i, source in enumerate(["gray", "C", "A", "B", "gray"]):
        if source == "gray":
            inputs += ["-f", "lavfi", "-i", "color=c=gray:s=640x480:r=30:d=1"]
        else:
            inputs += ["-loop", "1", "-t", "1", "-r", "30", "-i", str(photos / f"{source}1.jpg")]
        chain.append(f"[{i}:v]scale=640:480,fps=30,setsar=1[v{i}]")
    joined = "".join(f"[v{i}]" for i in range(5))
    graph = ";".join(chain) + f";{joined}concat=n=5:v=1:a=0,format=yuv420p"
    camera = tmp_path / "cab.y4m"
    cmd = [ffmpeg, "-loglevel", "error", "-y", *inputs, "-filter_complex", graph]
    subprocess.run([*cmd, str(camera)], check=True, timeout=120)
    fake = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"]  # fmt: skip
    # the fake camera loops the file, and the page may start tracking in the middle of it
    spelled = "() => window.aslrec.words.map((w) => w.word).join('').includes('CAB')"
    with offline_page(bundled_folder, "?mode=fingerspelling", *fake) as (page, blocked):
        page.wait_for_function("() => window.aslrec.words.length > 0", timeout=120_000, polling=250)
        with contextlib.suppress(PlaywrightTimeout):  # a loaded machine may miss a letter
            page.wait_for_function(spelled, timeout=40_000, polling=250)
        state = page.evaluate(
            "() => { const s = window.aslrec; return {letters: s.letters.map((l) => l.letter),"
            " words: s.words.map((w) => w.word), events: s.events, trackMs: s.trackMs,"
            " errors: s.errors}; }"
        )
        shown = page.locator("#transcript .word").all_inner_texts()
    print(f"spelled in the page: {state}")
    assert blocked == [] and state["errors"] == [] and state["events"] == []
    assert shown[: len(state["words"])] == state["words"] and state["letters"]
    # Where the words split depends on the frame rate: the tracker misses a hand in the frame
    # where one photo replaces the other, and at 10 frames/s that one frame is longer than the
    # 0.1 s without a hand that closes a word (drop_s), at 30 frames/s it is not.
    if state["trackMs"] < 100:  # enough frames of each 1 s hold to vote twice
        assert "CAB" in "".join(state["letters"]) and "CAB" in "".join(state["words"]), state


def test_half_stores_fp16_weights_that_the_page_runs_as_python_does(
    small_folder: Path, wlasl_clips: list
) -> None:
    """``--half``: the same run with fp16 weights (computed in fp32): a smaller model, its
    metadata and the page's config say so, and the page gives Python's logits for it within
    1e-4 (both run the same fp16-weights graph)."""
    import gzip

    import onnx

    from aslrec.errors import ConfigError
    from aslrec.workflows.export import export_web

    run = small_folder.parent / "run"
    half = small_folder.parent / "site-half"
    result = export_web(run, half, half=True)
    assert "fp16 weights" in result.summary_line() and result.onnx.parity.top1_agreement >= 0.85
    fp32_bytes = len(web.read_model(small_folder))
    model = onnx.load_from_string(gzip.decompress((half / "model/model.onnx.gz").read_bytes()))
    assert len(model.SerializeToString()) < 0.7 * fp32_bytes
    props = {p.key: p.value for p in model.metadata_props}
    assert props["aslrec.quantization"] == web.FP16_WEIGHTS
    assert json.loads((half / "model/aslrec.json").read_text())["quantization"] == "fp16-weights"
    with offline_page(half) as (page, blocked):
        check_parity(page, half, spread(wlasl_clips, 50))
    assert blocked == []
    with pytest.raises(ConfigError, match="--half and --quantize"):
        export_web(run, half, half=True, quantize="int8")


def test_a_lexicon_travels_with_the_folder_and_the_page_loads_it(
    tmp_path: Path, small_folder: Path
) -> None:
    """``--lexicon``: the words land in ``model/lexicon.txt`` (in order, upper-cased by the page
    as by Python), aslrec.json points to it and the page's fingerspelling mode loads it
    (its snapping is Python's: tests/export/test_web_fingerspelling.py); a model without
    letters is refused, since only fingerspelling uses a lexicon."""
    from aslrec.errors import ConfigError
    from aslrec.inference.recognizer import default_model_dir
    from aslrec.workflows.export import export_web

    words = ["hello", "CAB", "cat", "Hello"]
    out = tmp_path / "site"
    export_web(default_model_dir(), out, lexicon=words)
    assert (out / web.LEXICON).read_text() == "hello\nCAB\ncat\nHello\n"
    assert json.loads((out / "model/aslrec.json").read_text())["lexicon"] == web.LEXICON
    with offline_page(out, "?camera=off&mode=fingerspelling") as (page, blocked):
        assert page.evaluate("() => window.aslrec.lexicon") == 3  # HELLO once
    assert blocked == []
    with pytest.raises(ConfigError, match="no letter classes"):
        export_web(small_folder.parent / "run", tmp_path / "no-letters", lexicon=words)
    assert not (tmp_path / "no-letters").exists()


def test_a_fitted_handshape_svm_runs_in_the_page_as_in_python(
    shared_data: Path, tmp_path: Path
) -> None:
    """Every registered model works in the browser: the closed-form hand-shape SVM (float64
    inside its graph) gives the page the logits ONNX Runtime gives Python, on one person's
    letters it never saw and their mirror images."""
    from aslrec.runs.config import preset
    from aslrec.runs.directory import RunDirectory
    from aslrec.workflows.export import export_web
    from aslrec.workflows.train import train

    config = preset("handshape-svm").updated(split="signer", folds=12, fold=3, threads=1)
    train([shared_data / "fingerspelling16.npz"], tmp_path / "run", config, progress=False)
    export_web(tmp_path / "run", tmp_path / "site")
    held_out = RunDirectory(tmp_path / "run").held_out_clips()
    clips = spread(held_out, 60) + [c.mirrored() for c in spread(held_out, 20)]
    with offline_page(tmp_path / "site") as (page, blocked):
        diff = check_parity(page, tmp_path / "site", clips)
        errors = page.evaluate("() => window.aslrec.errors")
    assert blocked == [] and errors == [] and diff <= 1e-4


def test_signs_in_the_address_choose_among_them_as_python_does(bundled_folder: Path) -> None:
    """``?signs=hello,table,B``: the page's logits are those signs' columns of Python's (the
    same as ``Recognizer(signs=...)``), within 1e-4; an unknown sign stops the page with its
    name."""
    from aslrec.data.preprocessing import arrays_for_model
    from aslrec.inference.onnx_backend import OnnxBackend
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.predict import demo_data_dir

    signs = ["hello", "table", "B"]
    clips = Recognizer.load_landmarks(demo_data_dir())
    model = bundled_folder.parent / "signs.onnx"
    model.write_bytes(web.read_model(bundled_folder))
    backend = OnnxBackend.load(model)
    columns = [list(backend.classes).index(sign) for sign in signs]
    expected = backend.logits(*arrays_for_model(clips, backend.preprocessing))[:, columns]
    with offline_page(bundled_folder, "?camera=off&signs=hello,table,B") as (page, blocked):
        assert page.evaluate("() => window.aslrec.labels") == signs
        got = np.array(
            page.evaluate("(c) => window.aslrecApi.logits(c)", [clip_json(c) for c in clips])
        )
    assert blocked == [] and got.shape == expected.shape
    assert float(np.abs(got - expected).max()) <= 1e-4
    with (
        pytest.raises(AssertionError, match="unknown sign"),
        offline_page(bundled_folder, "?camera=off&signs=hello,tabel"),
    ):
        pass
