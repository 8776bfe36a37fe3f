// The page of `aslrec export --format web`: aslrec with no server. Webcam -> MediaPipe hand
// tracking (tracking.js) -> slots (slots.js) -> sign segmentation and the transcript (live.js)
// -> preprocessing (preprocess.js) and the ONNX model in ONNX Runtime Web (model.js), all in this
// page from files of its own folder; a dropped video file is tracked frame by frame and
// recognised as one clip, as `aslrec predict VIDEO` does.
//
// window.aslrec: the page's state (for tests and debugging); window.aslrecApi: the model as
// functions (logits of landmark clips, a video file's prediction), for tests and benchmarks.

import { Drawing, addWord, eachFrame, showPrediction, startCamera, tasksTracker } from "./tracking.js";
import { HandSlotter, detection } from "./slots.js";
import { Transcriber } from "./live.js";
import { Model } from "./model.js";
import { toModelInput } from "./preprocess.js";

const NO_HANDS_AFTER_MS = 1500;
const HANDEDNESS = "signer"; // the Tasks tracker labels the signer's own hands

const state = {
  status: "starting",
  camera: null, // "ok" | "denied" | "missing" | "error"
  tracking: false,
  modelReady: false,
  labels: [],
  threshold: null,
  results: 0,
  handFrames: 0,
  handsNow: 0,
  trackMs: null, // running mean of one tracking call (ms)
  modelMs: null, // running mean of one model call (ms)
  prediction: null, // {label, probability, top_k, final}
  events: [],
  slotCounts: [0, 0], // frames with a hand in slot 0 / slot 1
  file: null, // the last dropped file: {name, frames, handFrames, prediction}
  errors: [],
};
window.aslrec = state;

const $ = (id) => document.getElementById(id);
const video = $("video");
const drawing = new Drawing($("canvas"));
const params = new URLSearchParams(window.location.search);
const mean = (old, value) => (old === null ? value : 0.8 * old + 0.2 * value);

function setStatus(text, bad = false) {
  state.status = text;
  $("status").textContent = text;
  $("status").classList.toggle("bad", bad);
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function show(pred) {
  state.prediction = pred;
  showPrediction(pred);
}

let model = null;

async function predict(clip) {
  const started = performance.now();
  const prediction = await model.predict(clip, 3);
  state.modelMs = mean(state.modelMs, performance.now() - started);
  return prediction;
}

// ------------------------------------------------------------------------------------- live
async function live() {
  const camera = await startCamera(video);
  state.camera = camera.camera;
  if (camera.camera !== "ok") {
    showMessage(camera.message);
    return;
  }
  const track = await tasksTracker();
  const slotter = new HandSlotter();
  const cfg = model.config;
  const transcriber = new Transcriber({
    segmenter: cfg.segmenter,
    threshold: cfg.threshold,
    repeatGapS: cfg.repeat_gap_s,
    minHandFrames: cfg.segmenter.min_hand_frames,
    classify: predict,
  });
  state.tracking = true;
  const t0 = performance.now();
  let lastT = -1;
  let lastHandMs = performance.now();
  eachFrame(
    video,
    async () => {
      if (recognising) return; // a dropped file has the tracker's attention
      const started = performance.now();
      drawing.frame(video, video.videoWidth, video.videoHeight);
      const hands = track(video, started);
      state.trackMs = mean(state.trackMs, performance.now() - started);
      let t = (started - t0) / 1000;
      if (t <= lastT) t = lastT + 0.001;
      lastT = t;
      const frame = slotter.assign(hands.slice(0, 2).map((h) => detection(h, HANDEDNESS)), t);
      state.results += 1;
      state.handsNow = hands.length;
      frame.presence.forEach((seen, slot) => {
        if (seen) state.slotCounts[slot] += 1;
      });
      drawing.hands(hands.slice(0, 2), (hand) => slotOfDrawn(hand, frame));
      if (hands.length) {
        state.handFrames += 1;
        lastHandMs = started;
      }
      $("nohands").hidden = started - lastHandMs < NO_HANDS_AFTER_MS;
      for (const event of await transcriber.push({ landmarks: frame.landmarks, presence: frame.presence, t })) {
        state.events.push(event);
        addWord(event);
        show({ ...event, final: true });
      }
      const provisional = await transcriber.provisional(t);
      if (provisional) show({ ...provisional, final: false });
    },
    (err) => state.errors.push({ code: "live", message: String(err) }),
  );
}

/** The slot a drawn hand was put in: the slot holding its wrist. */
function slotOfDrawn(hand, frame) {
  const x = Math.fround(hand.points[0].x);
  const y = Math.fround(hand.points[0].y);
  for (let slot = 0; slot < 2; slot++) {
    const at = slot * 63;
    if (frame.presence[slot] && frame.landmarks[at] === x && frame.landmarks[at + 1] === y) return slot;
  }
  return hand.label === "Right" ? 1 : 0;
}

// ---------------------------------------------------------------------------- a video file
let recognising = false;

/** Track every frame of a video (seeking frame by frame at `fps`) and recognise it as one clip. */
async function recogniseVideo(src, name, fps = 30) {
  recognising = true;
  const player = document.createElement("video");
  player.muted = true;
  player.preload = "auto";
  player.src = src;
  try {
    await new Promise((resolve, reject) => {
      player.onloadeddata = resolve;
      player.onerror = () => reject(new Error(`${name}: not a video this browser can play`));
    });
    const track = await tasksTracker();
    const frames = [];
    const count = Math.max(1, Math.round(player.duration * fps));
    for (let i = 0; i < count; i++) {
      const t = (i + 0.5) / fps; // the middle of frame i
      await new Promise((resolve) => {
        player.onseeked = resolve;
        player.currentTime = Math.min(t, player.duration);
      });
      const hands = track(player, t * 1000);
      frames.push([hands.slice(0, 2).map((h) => detection(h, HANDEDNESS)), i / fps]);
      drawing.frame(player, player.videoWidth, player.videoHeight);
      drawing.hands(hands.slice(0, 2), (h) => (h.label === "Right" ? 1 : 0));
    }
    const clip = new HandSlotter().assignVideo(frames);
    const handFrames = frames.filter(([dets]) => dets.length).length;
    const prediction = handFrames ? await predict(clip) : null;
    state.file = { name, frames: frames.length, handFrames, prediction };
    if (prediction) {
      show({ ...prediction, final: true });
      $("fileresult").textContent = `${name}: ${prediction.label} (${Math.round(prediction.probability * 100)}%)`;
    } else {
      $("fileresult").textContent = `${name}: no hands in any frame`;
    }
    return state.file;
  } finally {
    recognising = false;
  }
}

function recogniseFile(file) {
  const url = URL.createObjectURL(file);
  $("fileresult").textContent = `${file.name}: tracking…`;
  recogniseVideo(url, file.name)
    .catch((err) => {
      state.errors.push({ code: "file", message: String(err) });
      $("fileresult").textContent = String(err.message || err);
    })
    .finally(() => URL.revokeObjectURL(url));
}

const drop = $("drop");
drop.addEventListener("dragover", (ev) => {
  ev.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  if (ev.dataTransfer.files.length) recogniseFile(ev.dataTransfer.files[0]);
});
$("file").addEventListener("change", (ev) => {
  if (ev.target.files.length) recogniseFile(ev.target.files[0]);
});
$("clear").addEventListener("click", () => {
  $("transcript").replaceChildren();
  state.events = [];
});

// ------------------------------------------------------------------------------------- main
const toClip = (c) => ({ frames: c.frames, landmarks: Float32Array.from(c.landmarks), presence: Uint8Array.from(c.presence) });

async function main() {
  setStatus("Loading the model…");
  try {
    model = await Model.load({ threads: Number(params.get("threads") || 1) });
  } catch (err) {
    setStatus("The model failed to load", true);
    showMessage(`The model failed to load (${err && err.message ? err.message : err}).`);
    return;
  }
  state.labels = model.classes;
  state.threshold = model.config.threshold;
  state.modelReady = true;
  window.aslrecApi = {
    // clips: [{frames, landmarks: number[T*126], presence: number[T*2]}] -> logits rows
    logits: async (clips) => (await model.logits(clips.map(toClip))).map((row) => Array.from(row)),
    // the same clips preprocessed: [{x, mask}] (Float32Array), what run() takes
    inputs: async (clips) => clips.map((c) => toModelInput(toClip(c), model.config.preprocessing)),
    // model inputs [{x, mask}] -> logits rows (no preprocessing; for timing the model alone)
    run: async (inputs) => (await model.run(inputs)).map((r) => Array.from(r)),
    recogniseVideo,
  };
  setStatus(`Ready: ${model.classes.length} signs known`);
  if (params.get("camera") === "off") return;
  try {
    await live();
  } catch (err) {
    showMessage(`Hand tracking failed to start (${err && err.message ? err.message : err}).`);
    setStatus("Hand tracking failed", true);
  }
}

main();
