// The page's local mode (a folder written by `aslrec export --format web`): aslrec with no
// server. Webcam -> MediaPipe hand tracking (tracking.js) -> slots (slots.js) -> sign
// segmentation and the transcript (live.js), or letters and words in fingerspelling mode
// (fingerspelling.js, when the model has the letters A-Z; words snapped to model/lexicon.txt
// when the export has one) -> preprocessing (preprocess.js) and the ONNX model in ONNX Runtime
// Web (model.js), all from files of its own folder.
//
// window.aslrecApi: the model as functions (logits of landmark clips, a video file's
// prediction), for tests and benchmarks.

import { addWord, eachFrame, startCamera, tasksTracker, trackerFiles } from "./tracking.js";
import { HandSlotter, detection } from "./slots.js";
import { Transcriber, framesToClip } from "./live.js";
import { Lexicon, Speller, letterColumns } from "./fingerspelling.js";
import { fetchBytes } from "./files.js";
import { Model } from "./model.js";
import { toModelInput } from "./preprocess.js";
import {
  $, HANDEDNESS, NO_HANDS_AFTER_MS, busyWithFile, drawing, params, setStatus, show, showMessage, state,
  timedModel, timedTracking, video,
} from "./page.js";

let model = null;
let lexicon = null; // the export's model/lexicon.txt, when it has one

async function predict(clip) {
  const started = performance.now();
  const prediction = await model.predict(clip, 3);
  timedModel(performance.now() - started);
  return prediction;
}

/** Calibrated probabilities over all classes of frames [{landmarks, presence, t}] as one clip. */
async function probabilities(frames) {
  const started = performance.now();
  const [row] = await model.logits([framesToClip(frames)]);
  timedModel(performance.now() - started);
  return model.probabilities(row);
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

/** How long the user waited for a sign's label: from the sign's end (the arrival of its last
 * frame with a hand, `endMs`) to the next paint, in parts: waiting for the frame that closes the
 * segment (`closeMs`: its arrival), tracking that frame and the model (`classifyMs`), paint.
 * Pending labels (Transcriber's `pending`) go to `state.pendingLatencies`; a final label records
 * the last pending label painted for the same span before it, if any (`pendingLabel`,
 * `pendingMs`). */
function timeToPaint(event, endMs, frameMs, pending = false) {
  const classified = performance.now();
  requestAnimationFrame(() => {
    const now = performance.now();
    const timing = { label: event.label, reason: event.reason, start_s: event.start_s, end_s: event.end_s,
      ms: now - endMs, closeMs: frameMs - endMs, classifyMs: classified - frameMs, paintMs: now - classified };
    if (pending) {
      state.pendingLatencies.push(timing);
      return;
    }
    const before = state.pendingLatencies.filter((p) => p.start_s === event.start_s && p.end_s === event.end_s).pop();
    state.latencies.push({ ...timing, pendingLabel: before ? before.label : null, pendingMs: before ? before.ms : null });
  });
}

function showLetters(items, speller) {
  for (const item of items) {
    if (item.type === "letter") state.letters.push(item);
    else {
      state.words.push(item);
      addWord({ label: item.snapped || item.word, probability: Math.min(...item.letters.map((l) => l.confidence)),
        start_s: item.letters[0].start_s, end_s: item.closed_s });
    }
  }
  if (items.length) {
    const last = state.letters[state.letters.length - 1];
    show({ label: speller.current || "–", probability: last ? last.confidence : 0, top_k: [], final: true });
  }
}

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
  const speller = letterColumns(model.classes).length && cfg.fingerspelling
    ? new Speller(cfg.fingerspelling, model.classes, probabilities, lexicon)
    : null;
  if (speller) {
    const caption = () => {
      $("caption").textContent = state.spelling ? "Spelling (the word so far)" : "Current sign";
    };
    $("spelling").hidden = false;
    $("spell").checked = state.spelling;
    caption();
    $("spell").addEventListener("change", (ev) => {
      state.spelling = ev.target.checked;
      speller.reset();
      caption();
    });
  }
  state.tracking = true;
  const t0 = performance.now();
  let lastT = -1;
  let lastHandMs = performance.now();
  let [pending, pendingWord] = [null, null]; // the pending event shown, and its word
  eachFrame(
    video,
    async () => {
      if (busyWithFile()) return;
      const started = performance.now();
      drawing.frame(video, video.videoWidth, video.videoHeight);
      const hands = track(video, started);
      timedTracking(performance.now() - started);
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
      const sample = { landmarks: frame.landmarks, presence: frame.presence, t };
      if (speller && state.spelling) {
        showLetters(await speller.push(sample), speller);
        return;
      }
      const events = await transcriber.push(sample);
      if (transcriber.pending !== pending) {
        if (pendingWord) pendingWord.remove();
        pending = transcriber.pending;
        pendingWord = pending ? addWord(pending, true) : null;
        if (pending) timeToPaint(pending, t0 + pending.end_s * 1000, started, true);
      }
      for (const event of events) {
        state.events.push(event);
        addWord(event);
        show({ ...event, final: true });
        timeToPaint(event, t0 + event.end_s * 1000, started);
      }
      const provisional = await transcriber.provisional(t);
      if (provisional) show({ ...provisional, final: false });
    },
    (err) => state.errors.push({ code: "live", message: String(err) }),
  );
}

/** Two model threads where the page may use them (cross-origin isolated, two cores or more):
 * faster per clip on this 2-core machine (benchmarks/web.py); one elsewhere. A static host
 * without COOP/COEP headers is isolated by isolate.js (page.js). */
function defaultThreads() {
  return self.crossOriginIsolated && (navigator.hardwareConcurrency || 1) >= 2 ? 2 : 1;
}

const toClip = (c) => ({ frames: c.frames, landmarks: Float32Array.from(c.landmarks), presence: Uint8Array.from(c.presence) });

export async function prepare(config) {
  setStatus("Loading the model…");
  trackerFiles(config.files);
  try {
    state.threads = Number(params.get("threads") || defaultThreads());
    model = await Model.load(config, {
      threads: state.threads,
      optimization: params.get("optimization") || "all",
      fixed: params.get("fixed") !== "0",
      arena: params.get("arena") === "1",
    });
    if (params.get("signs")) model.restrict(params.get("signs").split(","));
    if (config.lexicon) {
      const text = new TextDecoder().decode(await fetchBytes(config.lexicon));
      lexicon = new Lexicon(text.split("\n"), config.fingerspelling.max_edit_fraction);
      state.lexicon = lexicon.words.length;
    }
  } catch (err) {
    setStatus("The model failed to load", true);
    showMessage(`The model failed to load (${err && err.message ? err.message : err}).`);
    return null;
  }
  state.labels = model.classes;
  state.threshold = model.config.threshold;
  state.spelling = params.get("mode") === "fingerspelling";
  state.modelReady = true;
  setStatus(`Ready: ${model.classes.length} signs known`);
  const api = {
    // clips: [{frames, landmarks: number[T*126], presence: number[T*2]}] -> logits rows
    logits: async (clips) => (await model.logits(clips.map(toClip))).map((row) => Array.from(row)),
    // the same clips preprocessed: [{x, mask}] (Float32Array), what run() takes
    inputs: async (clips) => clips.map((c) => toModelInput(toClip(c), model.config.preprocessing)),
    // model inputs [{x, mask}] -> logits rows (no preprocessing; for timing the model alone)
    run: async (inputs) => (await model.run(inputs)).map((r) => Array.from(r)),
  };
  return { classify: predict, live, api };
}
