// aslrec's one browser page, in two modes that share everything but where the model runs:
// - served by `aslrec serve`: landmarks go over a WebSocket to the server (server.js);
// - exported by `aslrec export --format web` (a static folder with model/aslrec.json): the
//   model runs in the page with ONNX Runtime Web (local.js); no server at all.
// The mode is the folder's: model/aslrec.json is there only in an export. Both track hands in
// the page (tracking.js), show the current sign and the transcript, and recognise a dropped
// video file by tracking it here and classifying its landmarks (in the page, or POST
// /v1/predict with the landmarks only): the video never leaves the browser.
//
// window.aslrec: the page's state (for tests and debugging).

import { Drawing, showPrediction, tasksTracker } from "./tracking.js";
import { HandSlotter, detection } from "./slots.js";
import { here } from "./files.js";

export const state = {
  mode: null, // "server" | "local"
  status: "starting",
  key: null, // server: "missing" | "wrong" once the server refused this page's ?key=
  camera: null, // "ok" | "denied" | "missing" | "error"
  engine: null, // "tasks" | "hands"
  tracking: false,
  connected: false, // server: the socket said ready
  modelReady: false, // local: the model is loaded
  threads: null, // local: the model's WebAssembly threads
  labels: [],
  threshold: null,
  results: 0,
  handFrames: 0,
  handsNow: 0, // hands in the latest tracked frame
  framesSent: 0,
  notSent: 0,
  partials: 0,
  trackMs: null, // running mean of one tracking call (ms)
  trackTimes: [], // the last 1000 tracking calls (ms), for benchmarks
  modelMs: null, // local: running mean of one model call (ms)
  prediction: null, // {label, probability, top_k, final}
  events: [],
  latencies: [], // local: ms from the end of each sign (its last hand frame) to its label painted
  pendingLatencies: [], // local: the same for pending labels (shown before the sign is sure to be over)
  spelling: false, // local: fingerspelling mode
  lexicon: 0, // local: words in the export's lexicon (fingerspelling snaps to them)
  letters: [],
  words: [],
  slotCounts: [0, 0], // frames with a hand in slot 0 / slot 1
  file: null, // the last dropped file: {name, frames, handFrames, prediction}
  warnings: [],
  errors: [],
};
window.aslrec = state;

export const $ = (id) => document.getElementById(id);
export const params = new URLSearchParams(window.location.search);
export const video = $("video");
export const drawing = new Drawing($("canvas"));
export const HANDEDNESS = "signer"; // the Tasks tracker labels the signer's own hands
export const NO_HANDS_AFTER_MS = 1500;

const mean = (old, value) => (old === null ? value : 0.8 * old + 0.2 * value);

export function timedTracking(ms) {
  state.trackMs = mean(state.trackMs, ms);
  state.trackTimes.push(ms);
  if (state.trackTimes.length > 1000) state.trackTimes.shift();
}

export function timedModel(ms) {
  state.modelMs = mean(state.modelMs, ms);
}

export function setStatus(text, bad = false) {
  if (state.key) return; // nothing works without the key: its message stays
  state.status = text;
  $("status").textContent = text;
  $("status").classList.toggle("bad", bad);
}

export function showMessage(text) {
  if (state.key) return; // the key's message stays
  $("message").textContent = text;
  $("message").hidden = !text;
}

export function show(pred) {
  state.prediction = pred;
  showPrediction(pred);
}

const reason = (err) => (err && err.message ? err.message : String(err));

// ---------------------------------------------------------------------------- a video file
let recognising = false;
/** Whether a dropped file has the tracker's attention (the live loop skips frames then). */
export const busyWithFile = () => recognising;

/** Track every frame of a video (seeking frame by frame at `fps`) and recognise it as one clip
 * with `classify(clip)`, the mode's. */
async function recogniseVideo(src, name, classify, fps = 30) {
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
      frames.push([trackAndDraw(track, player, player.videoWidth, player.videoHeight, t), i / fps]);
    }
    return await recognised(name, frames, frames.length, classify);
  } finally {
    recognising = false;
  }
}

/** A photo (a held letter): tracked once and held still for `held` frames, as `aslrec predict
 * photo.jpg` and the photo data sets do. */
async function recognisePhoto(src, name, classify, held = 30, fps = 30) {
  recognising = true;
  const image = new Image();
  image.src = src;
  try {
    await image.decode().catch(() => {
      throw new Error(`${name}: not an image this browser can read`);
    });
    const track = await tasksTracker();
    const hands = trackAndDraw(track, image, image.naturalWidth, image.naturalHeight, 0);
    const frames = Array.from({ length: held }, (_, i) => [hands, i / fps]);
    return await recognised(name, frames, 1, classify);
  } finally {
    recognising = false;
  }
}

/** One frame's (at most two) hands as detections, timed and drawn over the frame. */
function trackAndDraw(track, source, width, height, seconds) {
  const started = performance.now();
  const hands = track(source, seconds * 1000);
  timedTracking(performance.now() - started);
  drawing.frame(source, width, height);
  drawing.hands(hands.slice(0, 2), (h) => (h.label === "Right" ? 1 : 0));
  return hands.slice(0, 2).map((h) => detection(h, HANDEDNESS));
}

/** Slot a tracked file's frames into a clip, classify it and show the answer (`count`: the
 * file's own frames, 1 for a photo). */
async function recognised(name, frames, count, classify) {
  const clip = new HandSlotter().assignVideo(frames);
  const handFrames = Math.min(count, frames.filter(([dets]) => dets.length).length);
  const prediction = handFrames ? await classify(clip) : null;
  state.file = { name, frames: count, handFrames, prediction };
  if (prediction) {
    show({ ...prediction, final: true });
    $("fileresult").textContent = `${name}: ${prediction.label} (${Math.round(prediction.probability * 100)}%)`;
  } else {
    $("fileresult").textContent = `${name}: no hands in ${count === 1 ? "the photo" : "any frame"}`;
  }
  return state.file;
}

const PHOTO = /\.(jpe?g|png|bmp|webp|gif|tiff?)$/i;
/** A dropped or chosen file, or (name, url) from the page's API: a photo or a video. */
const recogniseFile = (src, name, classify, type = "") =>
  (type.startsWith("image/") || PHOTO.test(name) ? recognisePhoto : recogniseVideo)(
    src,
    name,
    classify,
  );

function fileInput(classify) {
  const recognise = (file) => {
    const url = URL.createObjectURL(file);
    $("fileresult").textContent = `${file.name}: tracking…`;
    recogniseFile(url, file.name, classify, file.type)
      .catch((err) => {
        state.errors.push({ code: "file", message: String(err) });
        $("fileresult").textContent = reason(err);
      })
      .finally(() => URL.revokeObjectURL(url));
  };
  const drop = $("drop");
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    if (ev.dataTransfer.files.length) recognise(ev.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", (ev) => {
    if (ev.target.files.length) recognise(ev.target.files[0]);
  });
  return (src, name) => recogniseFile(src, name, classify);
}

$("clear").addEventListener("click", () => {
  $("transcript").replaceChildren();
  state.events = [];
  state.words = [];
});

// ------------------------------------------------------------------------------------- main
const ISOLATE_RELOADED = "aslrec-isolate-reloaded";

/** An exported page served without COOP/COEP headers: have isolate.js (a service worker) add
 * them and reload once, so the model may run on two threads. False while the page reloads;
 * true to go on as it is: isolated already, no service workers here (not https or localhost, or
 * `?isolate=0`), or reloaded once in this tab already (never a loop). */
async function isolate() {
  const allowed = window.isSecureContext && "serviceWorker" in navigator && params.get("isolate") !== "0";
  if (self.crossOriginIsolated || !allowed || sessionStorage.getItem(ISOLATE_RELOADED)) return true;
  try {
    const registration = await navigator.serviceWorker.register(here("isolate.js"));
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      const controlled = new Promise((resolve) => {
        navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
      });
      registration.active.postMessage("claim");
      const waited = new Promise((resolve) => setTimeout(resolve, 3000));
      await Promise.race([controlled, waited]);
      if (!navigator.serviceWorker.controller) return true;
    }
  } catch {
    return true; // e.g. storage blocked: one thread, still correct
  }
  sessionStorage.setItem(ISOLATE_RELOADED, "1");
  location.reload();
  return false;
}

// Each mode module exports prepare(): {classify(clip) => prediction, live() => Promise} or
// null when it cannot go on (its message shown).
async function main() {
  let config = null;
  try {
    const response = await fetch(here("model/aslrec.json"), { cache: "no-cache" });
    if (response.ok) config = await response.json();
  } catch {
    // no such file: the page is aslrec serve's
  }
  if (config && !(await isolate())) return; // reloading, isolated
  state.mode = config ? "local" : "server";
  $("privacy").textContent = config
    ? "Everything runs in this browser: hand tracking and the model are in this page, and neither the video nor the landmarks are sent anywhere."
    : "The video stays in this browser: hand tracking runs here, and only hand landmarks are sent to the aslrec server.";
  const mode = await (config ? import("./local.js") : import("./server.js"));
  const ready = await mode.prepare(config);
  if (!ready) return;
  const recogniseVideo = fileInput(ready.classify);
  if (ready.api) window.aslrecApi = { ...ready.api, recogniseVideo };
  if (params.get("camera") === "off") return;
  try {
    await ready.live();
  } catch (err) {
    showMessage(
      `Hand tracking failed to start (${reason(err)}).` +
        (config ? "" : " If the page was not built, run `make web` and restart aslrec serve."),
    );
    setStatus("Hand tracking failed", true);
  }
}

main();
