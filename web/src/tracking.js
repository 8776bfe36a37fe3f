// The camera, MediaPipe hand tracking in the page, and the drawing, for the one page
// (page.js): with server.js (aslrec serve's page, landmarks sent to the server) or local.js
// (`aslrec export --format web`, everything in the browser). Either way the MediaPipe files
// come from the page's own origin (mediapipe/...), never from a CDN.
//
// Trackers:
// - tasksTracker: MediaPipe Tasks Vision's HandLandmarker on the CPU (WebAssembly) in VIDEO
//   mode, with the hand model aslrec builds from its own MediaPipe wheel (models/
//   hand_landmarker.task), i.e. the model `aslrec predict` tracks videos with. Its labels are
//   the signer's own hands (handedness "signer"). ~80 ms a frame in headless Chromium, no GPU.
// - handsTracker: the @mediapipe/hands solution (WebGL; fast with a GPU, very slow without).
//   It labels as if the image were a mirror (handedness "selfie").
// Either one returns hands as [{label: "Left" | "Right", score, points: [{x, y, z}] x 21}].
//
// Where tasksTracker's files lie: aslrec serve's build keeps them plain at the paths below; an
// export's model/aslrec.json names its gzip-compressed copies instead (`trackerFiles`), which
// are inflated once (files.js) and shared by every tracker the page makes.

import { fetchBytes, fileUrl, here } from "./files.js";

export const COLORS = ["#f28c28", "#2d8cf0"]; // signer's left, signer's right
// the 21-point hand skeleton (MediaPipe's HAND_CONNECTIONS)
export const CONNECTIONS = [
  [0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [5, 9], [9, 10], [10, 11],
  [11, 12], [9, 13], [13, 14], [14, 15], [15, 16], [13, 17], [0, 17], [17, 18], [18, 19], [19, 20],
];

const VISION = "static/mediapipe/tasks-vision/";
let files = null; // {vision_bundle, vision_loader, vision_wasm, hand_model}: an export's
let loaded = null; // the promise of {vision, fileset, model} once loaded

/** Use an export's files (model/aslrec.json "files") instead of aslrec serve's plain ones. */
export function trackerFiles(exported) {
  files = exported;
  loaded = null;
}

/** MediaPipe Tasks Vision, its WebAssembly fileset and the hand model (baseOptions). */
async function loadVision() {
  if (!files) {
    const vision = await import(here(`${VISION}vision_bundle.mjs`));
    // the SIMD build, or the non-SIMD one in a browser without WebAssembly SIMD
    const fileset = await vision.FilesetResolver.forVisionTasks(here(`${VISION}wasm`));
    return { vision, fileset, model: { modelAssetPath: here("models/hand_landmarker.task") } };
  }
  const [bundle, wasmLoaderPath, wasmBinaryPath, model] = await Promise.all([
    fileUrl(files.vision_bundle, "text/javascript"),
    fileUrl(files.vision_loader, "text/javascript"),
    fileUrl(files.vision_wasm, "application/wasm"),
    fetchBytes(files.hand_model),
  ]);
  const vision = await import(bundle);
  return { vision, fileset: { wasmLoaderPath, wasmBinaryPath }, model: { modelAssetBuffer: model } };
}

/** A HandLandmarker: (image, ms) => hands; ms must increase (VIDEO mode), so it is forced to. */
export async function tasksTracker({ delegate = "CPU" } = {}) {
  loaded = loaded || loadVision();
  const { vision, fileset, model } = await loaded;
  const landmarker = await vision.HandLandmarker.createFromOptions(fileset, {
    baseOptions: { ...model, delegate },
    runningMode: "VIDEO",
    numHands: 2,
    minHandDetectionConfidence: 0.5,
    minHandPresenceConfidence: 0.5,
    minTrackingConfidence: 0.5,
  });
  let lastMs = -1;
  return (image, ms) => {
    lastMs = Math.max(ms, lastMs + 1);
    const result = landmarker.detectForVideo(image, lastMs);
    return (result.landmarks || []).map((points, i) => {
      const best = ((result.handedness || [])[i] || [])[0] || {};
      return { label: best.categoryName, score: best.score, points };
    });
  };
}

/** The @mediapipe/hands solution: async (image) => hands (the frame it tracked is `frame`). */
export async function handsTracker({ lite = false } = {}) {
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "static/mediapipe/hands/hands.js";
    script.onload = resolve;
    script.onerror = () => reject(new Error("MediaPipe Hands did not load"));
    document.head.appendChild(script);
  });
  const hands = new window.Hands({ locateFile: (file) => `static/mediapipe/hands/${file}` });
  hands.setOptions({
    maxNumHands: 2,
    modelComplexity: lite ? 0 : 1,
    minDetectionConfidence: 0.5,
    minTrackingConfidence: 0.5,
    selfieMode: false,
  });
  let latest = null;
  hands.onResults((results) => {
    const handedness = results.multiHandedness || [];
    latest = {
      frame: results.image,
      hands: (results.multiHandLandmarks || []).map((points, i) => ({
        label: (handedness[i] || {}).label,
        score: (handedness[i] || {}).score,
        points,
      })),
    };
  });
  await hands.initialize();
  return async (image) => {
    await hands.send({ image });
    return latest;
  };
}

/** Start the webcam into `video`: {camera: "ok" | "denied" | "missing" | "error", message}. */
export async function startCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return {
      camera: "error",
      message: "This browser gives the page no camera: open it as http://localhost:PORT/ (or over https) in a current browser.",
    };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
    video.srcObject = stream;
    await video.play();
    return { camera: "ok", message: "" };
  } catch (err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return {
        camera: "denied",
        message: "Camera access was not allowed. Allow the camera for this page (the camera icon in the address bar), then reload.",
      };
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return { camera: "missing", message: "No camera was found. Connect a camera, then reload." };
    }
    return {
      camera: "error",
      message: `The camera could not be started (${name || "error"}: ${err && err.message}). Is another program using it?`,
    };
  }
}

/** Draws the tracked frame mirrored for the user (like a mirror) and the hands on it. */
export class Drawing {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
  }

  frame(image, width, height) {
    const { canvas, ctx } = this;
    const w = width || canvas.width;
    const h = height || canvas.height;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.save();
    ctx.translate(w, 0);
    ctx.scale(-1, 1);
    ctx.drawImage(image, 0, 0, w, h);
    ctx.restore();
  }

  /** `slotOf(hand)`: 0 (signer's left) or 1 (signer's right), for the colour. */
  hands(hands, slotOf) {
    const { canvas, ctx } = this;
    const w = canvas.width;
    const h = canvas.height;
    ctx.save();
    ctx.translate(w, 0);
    ctx.scale(-1, 1);
    for (const hand of hands) {
      const points = hand.points;
      ctx.strokeStyle = COLORS[slotOf(hand)];
      ctx.lineWidth = Math.max(2, w / 240);
      for (const [a, b] of CONNECTIONS) {
        ctx.beginPath();
        ctx.moveTo(points[a].x * w, points[a].y * h);
        ctx.lineTo(points[b].x * w, points[b].y * h);
        ctx.stroke();
      }
      ctx.fillStyle = "#fff";
      for (const p of points) {
        ctx.beginPath();
        ctx.arc(p.x * w, p.y * h, Math.max(2.5, w / 200), 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }
}

/** Show a prediction {label, probability, top_k: [{label, probability}], final} in the panel. */
export function showPrediction(pred) {
  const $ = (id) => document.getElementById(id);
  const known = pred.label !== "unknown";
  const label = $("label");
  label.textContent = known ? pred.label : "?";
  label.classList.toggle("provisional", !pred.final);
  const pct = Math.round((pred.probability || 0) * 100);
  $("bar").style.width = `${pct}%`;
  $("confidence").textContent = pred.final
    ? known
      ? `${pct}% confident`
      : `not sure (best guess ${pct}%)`
    : `${pct}% so far…`;
  $("topk").replaceChildren(
    ...(pred.top_k || []).map((item) => {
      const li = document.createElement("li");
      li.textContent = `${item.label} ${Math.round(item.probability * 100)}%`;
      return li;
    }),
  );
}

/** Append a sign event {label, probability, start_s, end_s, known} to the transcript (marked
 * as pending: the sign may not be over yet); returns its element. */
export function addWord(event, pending = false) {
  const span = document.createElement("span");
  const known = event.known !== false && event.label !== "unknown";
  span.className = `word${known ? "" : " unknown"}${pending ? " pending" : ""}`;
  span.textContent = known ? event.label : "?";
  span.title = `${event.start_s.toFixed(1)}–${event.end_s.toFixed(1)} s, ${Math.round(event.probability * 100)}%${pending ? " (pending)" : ""}`;
  document.getElementById("transcript").appendChild(span);
  return span;
}

/** Call `step` on every new video frame, one at a time; errors go to `onError`. */
export function eachFrame(video, step, onError) {
  let busy = false;
  const tick = async () => {
    if (!busy && video.readyState >= 2) {
      busy = true;
      try {
        await step();
      } catch (err) {
        onError(err);
      }
      busy = false;
    }
    schedule();
  };
  const schedule = () => {
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(tick);
    else requestAnimationFrame(tick);
  };
  schedule();
}
