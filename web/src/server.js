// The page's server mode (served by `aslrec serve`): hand tracking in this browser ->
// landmarks over a WebSocket (/v1/stream) -> current sign and transcript. A dropped video is
// tracked here and its landmarks (not the video) are sent to POST /v1/predict.
//
// Two trackers (tracking.js): "tasks" (default, MediaPipe Tasks Vision on the CPU with the hand
// model of aslrec's own MediaPipe wheel, GET /models/hand_landmarker.task) and "hands"
// (?engine=hands, the @mediapipe/hands solution on WebGL, ~2 s a frame in software).
//
// Hand slots. Tasks labels each hand as the signer's own ("Right" = the signer's right hand,
// handedness "signer"); the Hands solution labels as if the image were a mirror (handedness
// "selfie"). Both trackers get the camera's frames un-mirrored (the page mirrors only what it
// draws), the page sends the raw labels with their handedness mode, and the server assigns
// aslrec's slots (0 = signer's left, 1 = signer's right) with the Python tracker's own pipeline
// (aslrec.landmarks.hands.HandSlotter). slotOf() makes the same per-frame mapping, only to
// colour the drawing.

import { addWord, eachFrame, handsTracker, startCamera, tasksTracker } from "./tracking.js";
import { LABEL_SLOTS } from "./slots.js";
import { $, NO_HANDS_AFTER_MS, busyWithFile, drawing, params, setStatus, show, showMessage, state, timedTracking, video } from "./page.js";

const SEND_FPS = 30; // the server accepts up to 60 frames/s per socket
const MAX_BUFFERED = 256 * 1024;
const KEY = params.get("key");
const ENGINE = params.get("engine") === "hands" ? "hands" : "tasks";
const HANDEDNESS = ENGINE === "hands" ? "selfie" : "signer";
state.engine = ENGINE;

const slotOf = (hand) => LABEL_SLOTS[HANDEDNESS][hand.label === "Right" ? "Right" : "Left"];
const keyHeaders = () => (KEY ? { "X-API-Key": KEY } : {});

// -------------------------------------------------------------------------------- API key
// A server started with --api-key refuses the socket without it. Browsers cannot set headers
// on a WebSocket, so the page takes the key from its own address (/?key=...) and checks it
// first, before asking for the camera or loading hand tracking, neither of which helps then.
function keyRefused() {
  showMessage(
    KEY
      ? "The server refused this page's API key: open the page as /?key=YOUR_KEY with the key the server was started with (aslrec serve --api-key)."
      : "The server needs an API key: open this page as /?key=YOUR_KEY (the key given to aslrec serve --api-key).",
  );
  setStatus("API key needed", true);
  state.key = KEY ? "wrong" : "missing";
}

// false when the server says the key is missing or wrong; anything else (the server down,
// a proxy error) is left to the socket's retries
async function keyAccepted() {
  try {
    const response = await fetch(new URL("v1/labels", window.location.href), { headers: keyHeaders() });
    if (response.status === 401) {
      keyRefused();
      return false;
    }
  } catch {
    // the server is unreachable: the socket reports it, and retries
  }
  return true;
}

// ---------------------------------------------------------------------------------- socket
let ws = null;
let retryMs = 1000;

function streamUrl() {
  const url = new URL("v1/stream", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("unknown", "true");
  if (KEY) url.searchParams.set("api_key", KEY);
  return url.toString();
}

function connect() {
  ws = new WebSocket(streamUrl());
  ws.onopen = () => {
    retryMs = 1000;
  };
  ws.onmessage = (msg) => {
    let data;
    try {
      data = JSON.parse(msg.data);
    } catch {
      return;
    }
    handleMessage(data);
  };
  ws.onclose = (ev) => {
    state.connected = false;
    if (ev.code === 1008 && ev.reason === "unauthorized") {
      keyRefused(); // e.g. the server restarted with another key
      return;
    }
    setStatus(`Disconnected from the server; retrying in ${retryMs / 1000} s…`, true);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

let pendingWord = null; // the transcript's pending word (a `pending` message), if any

function handleMessage(data) {
  switch (data.type) {
    case "ready":
      state.connected = true;
      state.labels = data.labels || [];
      setStatus(`Connected: ${state.labels.length} signs known`);
      break;
    case "partial":
      state.partials += 1;
      if (Array.isArray(data.presence)) {
        data.presence.forEach((seen, slot) => {
          if (seen) state.slotCounts[slot] += 1;
        });
      }
      if (data.label) {
        show({ label: data.label, probability: data.probability, top_k: data.top_k, final: false });
      }
      break;
    case "pending": // the word a sign will get if it is over; withdrawn with label null
      if (pendingWord) pendingWord.remove();
      pendingWord = data.label ? addWord(data, true) : null;
      break;
    case "event":
      if (pendingWord) pendingWord.remove();
      pendingWord = null;
      state.events.push(data);
      addWord(data);
      show({ label: data.label, probability: data.probability, top_k: data.top_k, final: true });
      break;
    case "warning":
      state.warnings.push(data);
      break;
    case "error":
      state.errors.push(data);
      setStatus(`Server: ${data.message}`, true);
      break;
    default:
      break;
  }
}

function send(message) {
  if (!ws || ws.readyState !== WebSocket.OPEN || !state.connected || ws.bufferedAmount > MAX_BUFFERED) {
    state.notSent += 1;
    return;
  }
  ws.send(JSON.stringify(message));
  state.framesSent += 1;
}

// ------------------------------------------------------------------------------- tracking
const t0 = performance.now();
let lastT = -1;
let lastSentMs = -Infinity;
let lastHandMs = performance.now();

const round = (v) => Math.round(v * 1e5) / 1e5;

// hands: [{label: "Left" | "Right", score, points: [{x, y, z}] x 21}]
function onHands(hands) {
  state.results += 1;
  state.handsNow = hands.length;
  drawing.hands(hands, slotOf);
  const now = performance.now();
  if (hands.length) {
    state.handFrames += 1;
    lastHandMs = now;
  }
  $("nohands").hidden = now - lastHandMs < NO_HANDS_AFTER_MS;
  if (now - lastSentMs < 1000 / SEND_FPS - 2) return;
  lastSentMs = now;
  let t = (now - t0) / 1000;
  if (t <= lastT) t = lastT + 0.001;
  lastT = t;
  send({
    type: "frame",
    t: round(t),
    handedness: HANDEDNESS,
    hands: hands.slice(0, 2).map((hand) => ({
      label: hand.label === "Right" ? "Right" : "Left",
      score: Math.min(1, Math.max(0, hand.score || 0)),
      landmarks: hand.points.map((p) => [round(p.x), round(p.y), round(p.z)]),
    })),
  });
}

// Each tracker: async () => (async () => void), the per-frame step.
async function tasksStep() {
  const track = await tasksTracker({ delegate: params.get("delegate") === "GPU" ? "GPU" : "CPU" });
  return async () => {
    const started = performance.now();
    drawing.frame(video, video.videoWidth, video.videoHeight); // drawn and tracked in the same task: the same frame
    const hands = track(video, started);
    timedTracking(performance.now() - started);
    onHands(hands);
  };
}

async function handsStep() {
  const track = await handsTracker({ lite: params.get("lite") === "1" });
  return async () => {
    const started = performance.now();
    const { frame, hands } = (await track(video)) || { frame: null, hands: [] };
    timedTracking(performance.now() - started);
    drawing.frame(frame || video, video.videoWidth, video.videoHeight);
    onHands(hands);
  };
}

/** A clip {frames, landmarks, presence} (slotted in the page) classified by POST /v1/predict. */
async function classify(clip) {
  const frame = 2 * 21 * 3;
  const landmarks = [];
  const presence = [];
  for (let i = 0; i < clip.frames; i++) {
    const flat = Array.from(clip.landmarks.subarray(i * frame, (i + 1) * frame), round);
    landmarks.push([0, 1].map((h) => Array.from({ length: 21 }, (_, p) => flat.slice(h * 63 + p * 3, h * 63 + p * 3 + 3))));
    presence.push([Boolean(clip.presence[2 * i]), Boolean(clip.presence[2 * i + 1])]);
  }
  const response = await fetch(new URL("v1/predict?top_k=3", window.location.href), {
    method: "POST",
    headers: { "Content-Type": "application/json", ...keyHeaders() },
    body: JSON.stringify({ landmarks, presence }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`the server answered ${response.status}: ${(body.error || {}).message}`);
  return { label: body.label, probability: body.probability, top_k: body.predictions };
}

async function live() {
  const camera = await startCamera(video);
  state.camera = camera.camera;
  if (camera.camera !== "ok") {
    showMessage(camera.message);
    setStatus("No camera", true);
    return;
  }
  setStatus("Loading hand tracking…");
  const step = await (ENGINE === "hands" ? handsStep() : tasksStep());
  state.tracking = true;
  if (state.connected) setStatus(`Connected: ${state.labels.length} signs known`);
  eachFrame(video, async () => {
    if (!busyWithFile()) await step(); // a dropped file has the tracker's attention
  }, (err) => state.errors.push({ code: "tracking", message: String(err) }));
}

export async function prepare() {
  if (!(await keyAccepted())) return null;
  connect();
  return { classify, live };
}
