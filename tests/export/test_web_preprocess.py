"""The page's preprocessing (``web/src/preprocess.js``) is Python's, on real clips, under node.

No browser needed: node runs the very module the exported page imports on the landmarks of
real clips of the three shared sets and their mirror images, for several preprocessing specs
(every frame sampling, normalisation, chirality slots, every dominance rule, other lengths),
and its model input must equal :func:`aslrec.data.preprocessing.to_model_input` to 1e-6.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aslrec.data import preprocessing as pp
from aslrec.data.preprocessing import PreprocessingSpec, arrays_for_model
from aslrec.landmarks.clip import LandmarkClip

NODE = shutil.which("node")
PREPROCESS_JS = Path(__file__).resolve().parents[2] / "web" / "src" / "preprocess.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node not installed")

SPECS = [
    PreprocessingSpec(),
    PreprocessingSpec(
        frame_sampling="span", dominant_hand=True, dominance="moving", handedness="chirality"
    ),
    PreprocessingSpec(frame_sampling="truncate", normalisation="clip", dominant_hand=True),
    PreprocessingSpec(seq_len=16, handedness="chirality", dominant_hand=True, dominance="moving"),
    PreprocessingSpec(
        frame_sampling="span", dominant_hand=True, dominance="symmetric", handedness="chirality"
    ),
    PreprocessingSpec(seq_len=48, frame_sampling="span", normalisation="clip"),
]

RUNNER = """
import { readFileSync, writeFileSync } from "node:fs";
import * as pp from "%s";
const [header, blob, out] = process.argv.slice(2);
const { frames, specs } = JSON.parse(readFileSync(header, "utf8"));
const bytes = readFileSync(blob);
const total = frames.reduce((a, b) => a + b, 0);
const lm = new Float32Array(bytes.buffer, bytes.byteOffset, total * 126);
const pr = new Uint8Array(bytes.buffer, bytes.byteOffset + total * 126 * 4, total * 2);
const parts = [];
for (const spec of specs) {
  let t = 0;
  for (const n of frames) {
    const clip = { frames: n, landmarks: lm.slice(t * 126, (t + n) * 126),
                   presence: pr.slice(t * 2, (t + n) * 2) };
    t += n;
    const { x, mask } = pp.toModelInput(clip, spec);
    parts.push(Buffer.from(x.buffer), Buffer.from(mask.buffer));
  }
}
writeFileSync(out, Buffer.concat(parts));
const { DOMINANCE_MARGIN, RESTING_MOTION, CHIRALITY_MARGIN } = pp;
console.log(JSON.stringify({ DOMINANCE_MARGIN, RESTING_MOTION, CHIRALITY_MARGIN }));
"""


def real_clips(shared_data: Path) -> list[LandmarkClip]:
    """~200 clips spread over WLASL-50, GISLR (its longest too) and fingerspelling16, and
    each one's mirror image (what a selfie view or a left-handed signer gives)."""
    from aslrec.data.loaders import load_dataset

    picked: list[LandmarkClip] = []
    for name, count in [
        ("wlasl50_mp.npz", 70),
        ("gislr_hello_thankyou.npz", 70),
        ("fingerspelling16.npz", 60),
    ]:
        clips = load_dataset(shared_data / name)
        order = sorted(range(len(clips)), key=lambda i: -len(clips[i].landmarks))
        stride = np.linspace(0, len(clips) - 1, count - 5).round().astype(int)
        picked += [clips[i] for i in sorted({*order[:5], *stride})]
    return [*picked, *(clip.mirrored() for clip in picked)]


def run_node(clips: list[LandmarkClip], tmp_path: Path) -> tuple[list[np.ndarray], dict]:
    frames = [len(c.landmarks) for c in clips]
    header, blob, out = tmp_path / "clips.json", tmp_path / "clips.bin", tmp_path / "out.bin"
    header.write_text(json.dumps({"frames": frames, "specs": [s.to_dict() for s in SPECS]}))
    landmarks = np.concatenate([c.landmarks for c in clips]).astype("<f4")
    presence = np.concatenate([c.presence for c in clips]).astype(np.uint8)
    blob.write_bytes(landmarks.tobytes() + presence.tobytes())
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER % PREPROCESS_JS.as_uri())
    done = subprocess.run(
        [NODE, str(runner), str(header), str(blob), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [np.fromfile(out, dtype="<f4")], json.loads(done.stdout)


def test_the_pages_preprocessing_equals_pythons_on_real_clips(
    shared_data: Path, tmp_path: Path
) -> None:
    clips = real_clips(shared_data)
    assert len(clips) >= 390 and max(len(c.landmarks) for c in clips) > 200
    (flat,), constants = run_node(clips, tmp_path)
    assert constants == {
        "DOMINANCE_MARGIN": pp.DOMINANCE_MARGIN,
        "RESTING_MOTION": pp.RESTING_MOTION,
        "CHIRALITY_MARGIN": pp.CHIRALITY_MARGIN,
    }
    offset, worst, mirrored_dominant = 0, 0.0, 0
    for spec in SPECS:
        for clip in clips:
            x, mask = (a[0] for a in arrays_for_model([clip], spec))
            js_x = flat[offset : offset + x.size].reshape(x.shape)
            offset += x.size
            js_mask = flat[offset : offset + mask.size]
            offset += mask.size
            np.testing.assert_array_equal(js_mask, mask, err_msg=f"{clip.source} {spec}")
            diff = float(np.abs(js_x - x).max())
            assert diff <= 1e-6, (clip.source, spec, diff)
            worst = max(worst, diff)
            if spec.dominant_hand:  # the mirroring branch is exercised, not only the default
                mirrored_dominant += int(clip.presence[:, 0].sum() > clip.presence[:, 1].sum())
    assert offset == flat.size
    assert mirrored_dominant > 50
    print(f"{len(clips)} clips x {len(SPECS)} specs: max |JS - Python| {worst:.2e}")
