// Continuous recognition in the page: aslrec.inference.streaming's Segmenter and events, ported.
//
// What is the same: a sign starts when a hand appears (or still hands start moving) and ends
// when no hand was seen for end_gap_s, or the hands stay still for still_s; segments that are
// too short or have too few hand frames are dropped, long ones are cut at max_sign_s; each sign
// is classified once when it ends, "unknown" below the model's calibrated threshold, and the
// same label again within repeat_gap_s merges into the previous word. The settings are
// Python's own (SegmenterConfig), written into the exported aslrec.json.
// What differs: no pre-roll (Python's default is off too), unknown signs are always shown, the
// provisional top-3 of the sign in progress is recomputed every 0.2 s like `provisional()`.
// The event a sign would give is answered as soon as its end can be seen, before the segmenter
// has waited to be sure (Transcriber's `pending`, StreamingRecognizer.pending's rule), and the
// page shows it marked as pending.

import { HANDS, POINTS, COORDS } from "./preprocess.js";

const EPS = 1e-6;
const HAND = POINTS * COORDS;

/** Motion energy between two frames (motion_speed): hand sizes per second, inf on a change. */
export function motionSpeed(prev, frame) {
  if (!frame.presence.some(Boolean)) return null;
  if (!prev) return Infinity;
  if (prev.presence[0] !== frame.presence[0] || prev.presence[1] !== frame.presence[1]) return Infinity;
  const dt = Math.max(frame.t - prev.t, 1e-3);
  let fastest = 0;
  for (let h = 0; h < HANDS; h++) {
    if (!frame.presence[h]) continue;
    let [x0, y0, x1, y1, step] = [Infinity, Infinity, -Infinity, -Infinity, 0];
    for (let p = 0; p < POINTS; p++) {
      const i = h * HAND + p * COORDS;
      const [x, y] = [frame.landmarks[i], frame.landmarks[i + 1]];
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      step += Math.hypot(x - prev.landmarks[i], y - prev.landmarks[i + 1]);
    }
    fastest = Math.max(fastest, step / POINTS / Math.max(Math.hypot(x1 - x0, y1 - y0), 1e-6) / dt);
  }
  return fastest;
}

/** The frames [{landmarks, presence, t}] as a clip {frames, landmarks, presence}. */
export function framesToClip(frames) {
  const clip = {
    frames: frames.length,
    landmarks: new Float32Array(frames.length * HANDS * HAND),
    presence: new Uint8Array(frames.length * HANDS),
  };
  frames.forEach((f, i) => {
    clip.landmarks.set(f.landmarks, i * HANDS * HAND);
    clip.presence.set(f.presence, i * HANDS);
  });
  return clip;
}

/** Frames in, closed segments {start_s, end_s, reason, frames} out (Segmenter). */
export class Segmenter {
  constructor(config) {
    this.config = config;
    this.reset();
  }

  reset() {
    this.state = "idle"; // "idle" | "active" | "held"
    this.frames = [];
    this.prev = null;
    this.lastHand = -Infinity;
    this.stillSince = null;
  }

  current() {
    return this.state === "active" ? this.frames : null;
  }

  /** One frame {landmarks: Float32Array(126), presence: Uint8Array(2), t}: closed segments. */
  push(frame) {
    const cfg = this.config;
    const speed = motionSpeed(this.prev, frame);
    const hasHand = frame.presence.some(Boolean);
    this.prev = hasHand ? frame : null;
    const closed = [];
    if (this.state === "active") {
      if (frame.t - this.frames[0].t >= cfg.max_sign_s - EPS || this.frames.length >= cfg.max_frames) {
        closed.push(...this.close(this.frames[this.frames.length - 1].t, "max_length"));
        this.state = "idle";
        if (hasHand) this.begin(frame);
        return closed;
      }
      if (hasHand) this.lastHand = frame.t;
      this.frames.push(frame);
      if (hasHand && cfg.motion && speed !== null && speed < cfg.still_speed) {
        if (this.stillSince === null) this.stillSince = frame.t;
      } else {
        this.stillSince = null;
      }
      if (!hasHand && frame.t - this.lastHand >= cfg.end_gap_s - EPS) {
        closed.push(...this.close(this.lastHand, "hands_left"));
        this.state = "idle";
      } else if (this.stillSince !== null && frame.t - this.stillSince >= cfg.still_s - EPS) {
        closed.push(...this.close(this.stillSince, "still"));
        this.state = "held";
      }
      return closed;
    }
    if (!hasHand) {
      this.state = "idle";
      return closed;
    }
    if (this.state === "held" && (speed === null || speed < cfg.move_speed)) return closed;
    this.begin(frame);
    return closed;
  }

  begin(frame) {
    this.state = "active";
    this.frames = [frame];
    this.lastHand = frame.t;
    this.stillSince = null;
  }

  /** End of stream: the sign in progress, if any. */
  flush() {
    if (this.state !== "active" || !this.frames.length) {
      this.state = "idle";
      return [];
    }
    const out = this.close(this.stillSince ?? this.lastHand, "end_of_stream");
    this.state = "idle";
    return out;
  }

  /** The segment close(reason) would return now, without closing anything (null if none). */
  candidate(reason) {
    if (this.state !== "active") return null;
    return this.segment(this.frames, reason === "still" ? this.stillSince : this.lastHand, reason);
  }

  close(endS, reason) {
    const frames = this.frames;
    this.frames = [];
    this.stillSince = null;
    return [this.segment(frames, endS, reason)].filter(Boolean);
  }

  /** frames as a kept segment {start_s, end_s, reason, frames}, or null when it is dropped. */
  segment(all, endS, reason) {
    const cfg = this.config;
    const frames = [...all];
    while (frames.length && !frames[frames.length - 1].presence.some(Boolean)) frames.pop();
    const handFrames = frames.filter((f) => f.presence.some(Boolean)).length;
    if (!frames.length || handFrames < cfg.min_hand_frames) return null;
    const startS = frames.find((f) => f.presence.some(Boolean)).t;
    if (endS - startS < cfg.min_sign_s) return null;
    return { start_s: startS, end_s: endS, reason, frames };
  }
}

/**
 * Segments -> sign events, with the unknown threshold and repeats merged (StreamingRecognizer).
 * `classify(clip)` => {label, probability, top_k}.
 *
 * The pending event (`pending`): the event the sign in progress would give if it ended now,
 * answered as soon as its end can be seen (the first frame without a hand, or `pendingStillS`
 * of stillness) instead of when the segmenter has waited long enough to be sure (end_gap_s,
 * still_s). The page shows it, marked as pending, so the label is on screen while the segmenter
 * still waits; it is withdrawn when the hands come back or move again. When the sign closes with
 * the very frames it was answered on (hands leaving: the closing segment drops the hand-less
 * frames), its prediction is reused and the final event is the pending one; a sign that closes
 * on stillness has more hold frames by then and is classified again.
 */
export class Transcriber {
  constructor({ segmenter, threshold, repeatGapS, minHandFrames, classify, pendingStillS = 0.1 }) {
    this.segmenter = new Segmenter(segmenter);
    this.threshold = threshold;
    this.repeatGapS = repeatGapS;
    this.minHandFrames = minHandFrames;
    this.classify = classify;
    this.pendingStillS = pendingStillS;
    this.events = [];
    this.provisionalAt = -Infinity;
    this.early = null; // {reason, segment, prediction, event}: the pending answer
  }

  /** The pending event (see the class comment), or null. */
  get pending() {
    return this.early ? this.early.event : null;
  }

  /** One frame: the events it completed (each {start_s, end_s, label, probability, top_k, known}). */
  async push(frame) {
    const out = [];
    const closed = this.segmenter.push(frame);
    for (const segment of closed) {
      const reused = this.early && sameFrames(this.early.segment, segment) ? this.early.prediction : null;
      const event = this.event(segment, reused ?? (await this.classify(framesToClip(segment.frames))));
      if (event) out.push(event);
      this.provisionalAt = -Infinity;
    }
    if (closed.length) this.early = null;
    else await this.answerEarly(frame);
    return out;
  }

  /** Keep `early` the answer for how the sign in progress would end at this frame. */
  async answerEarly(frame) {
    const seg = this.segmenter;
    let reason = null;
    if (seg.state === "active") {
      if (!frame.presence.some(Boolean)) reason = "hands_left";
      else if (seg.stillSince !== null && frame.t - seg.stillSince >= this.pendingStillS - EPS) reason = "still";
    }
    if (reason === null) {
      this.early = null;
      return;
    }
    if (this.early && this.early.reason === reason) return;
    const segment = seg.candidate(reason);
    if (!segment) {
      this.early = null;
      return;
    }
    const prediction = await this.classify(framesToClip(segment.frames));
    this.early = { reason, segment, prediction, event: this.decide(segment, prediction).event };
  }

  event(segment, prediction) {
    const { event, merge } = this.decide(segment, prediction);
    if (merge) {
      merge.end_s = segment.end_s;
      return null;
    }
    this.events.push(event);
    return event;
  }

  /** The event of a segment, or the earlier event it merges into (the same sign again). */
  decide(segment, prediction) {
    const known = prediction.probability >= this.threshold;
    const label = known ? prediction.label : "unknown";
    const previous = [...this.events].reverse().find((e) => e.known);
    if (known && previous && previous.label === label && segment.start_s - previous.end_s < this.repeatGapS) {
      return { event: null, merge: previous };
    }
    const event = { start_s: segment.start_s, end_s: segment.end_s, label, known, probability: prediction.probability, top_k: prediction.top_k, reason: segment.reason };
    return { event, merge: null };
  }

  /** The top-k of the sign in progress, at most every `everyS` seconds of stream time. */
  async provisional(t, everyS = 0.2) {
    const frames = this.segmenter.current();
    if (!frames || t - this.provisionalAt < everyS) return null;
    if (frames.filter((f) => f.presence.some(Boolean)).length < this.minHandFrames) return null;
    this.provisionalAt = t;
    return this.classify(framesToClip(frames));
  }
}

/** Whether two segments hold the same frames (the first and last of the same stream). */
function sameFrames(a, b) {
  return a.frames.length === b.frames.length && a.frames[0] === b.frames[0] && a.frames[a.frames.length - 1] === b.frames[b.frames.length - 1];
}
