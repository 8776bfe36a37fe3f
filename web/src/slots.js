// Per-frame hand detections -> aslrec's slots, in the page: aslrec.landmarks.hands.HandSlotter.
//
// Without a server the page slots hands itself, the way Python does for `aslrec predict` and
// `aslrec live`: duplicates dropped (same_hand), detections linked into tracks by continuity,
// each track voting for a side by its handedness scores (HandLinker), slots resolved from the
// votes (resolve_slots). `assign` slots a frame causally (live); `assignVideo` slots a whole
// video by each track's final vote (a dropped file, as extraction does). Same thresholds as
// Python; tests/serving/test_page.py checks LABEL_SLOTS against Python's table.

import { HANDS, POINTS, COORDS, LEFT, RIGHT } from "./preprocess.js";

export const LABEL_SLOTS = { selfie: { Left: 1, Right: 0 }, signer: { Left: 0, Right: 1 } };
const MAX_JUMP = 0.25;
const MAX_GAP_S = 0.25;
const CONFIDENT_SCORE = 0.9;
const ESTABLISHED_VOTE = 2.0;
const DUPLICATE_NEAR = 0.15;
const DUPLICATE_FAR = 0.28;
const SURE_SCORE = 0.95;
const HAND = POINTS * COORDS;

/** A tracker's hand {label, score, points: [{x, y, z}]} as a detection (HandDetection). */
export function detection(hand, handedness) {
  const landmarks = new Float32Array(HAND);
  hand.points.forEach((p, i) => landmarks.set([p.x, p.y, p.z], i * COORDS));
  const side = LABEL_SLOTS[handedness][hand.label === "Right" ? "Right" : "Left"];
  const score = Math.min(1, Math.max(0, hand.score || 0));
  let cx = 0;
  let cy = 0;
  for (let p = 0; p < POINTS; p++) {
    cx += landmarks[p * COORDS];
    cy += landmarks[p * COORDS + 1];
  }
  const weight = Math.max(2 * score - 1, 1e-3);
  return { landmarks, side, score, center: [cx / POINTS, cy / POINTS], vote: side === RIGHT ? weight : -weight };
}

function boxDiagonal(lm) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let p = 0; p < POINTS; p++) {
    const x = lm[p * COORDS];
    const y = lm[p * COORDS + 1];
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  return Math.hypot(x1 - x0, y1 - y0);
}

/** Whether two detections of one frame are one hand reported twice (same_hand). */
export function sameHand(a, b) {
  const size = 0.5 * (boxDiagonal(a.landmarks) + boxDiagonal(b.landmarks));
  if (size <= 0) return true;
  let total = 0;
  for (let p = 0; p < POINTS; p++) {
    const i = p * COORDS;
    total += Math.hypot(a.landmarks[i] - b.landmarks[i], a.landmarks[i + 1] - b.landmarks[i + 1]);
  }
  const ratio = total / POINTS / size;
  if (ratio < DUPLICATE_NEAR) return true;
  const surePair = a.side !== b.side && Math.min(a.score, b.score) >= SURE_SCORE;
  return ratio < DUPLICATE_FAR && !surePair;
}

/** Slots for one frame's detections from their tracks' votes (resolve_slots). */
export function resolveSlots(votes, centersX) {
  const slots = votes.map((v, i) => (v > 0 ? RIGHT : v < 0 ? LEFT : centersX[i] < 0.5 ? RIGHT : LEFT));
  if (slots.length === 2 && slots[0] === slots[1]) {
    const [a, b] = [Math.abs(votes[0]), Math.abs(votes[1])];
    if (a === b) {
      const right = centersX[0] <= centersX[1] ? 0 : 1;
      const out = [LEFT, LEFT];
      out[right] = RIGHT;
      return out;
    }
    const loser = a > b ? 1 : 0;
    slots[loser] = 1 - slots[loser];
  }
  return slots;
}

const distance = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]);

/** HandLinker + HandSlotter in one: detections in, slots out. */
export class HandSlotter {
  constructor(maxHands = HANDS) {
    this.maxHands = maxHands;
    this.reset();
  }

  reset() {
    this.live = new Map(); // track id -> {center, lastTime}
    this.votes = new Map(); // track id -> accumulated vote (positive = right)
  }

  mayLink(tid, det) {
    if (distance(this.live.get(tid).center, det.center) >= MAX_JUMP) return false;
    const vote = this.votes.get(tid);
    const contradicts = vote > 0 !== det.vote > 0;
    return !(contradicts && det.score >= CONFIDENT_SCORE && Math.abs(vote) >= ESTABLISHED_VOTE);
  }

  link(detections, t) {
    for (const [tid, track] of [...this.live]) if (t - track.lastTime > MAX_GAP_S + 1e-9) this.live.delete(tid);
    const options = detections.map((det) => [...[...this.live.keys()].filter((tid) => this.mayLink(tid, det)), null]);
    let best = { cost: Infinity, combo: detections.map(() => null) };
    const search = (i, combo) => {
      if (i === detections.length) {
        const chosen = combo.filter((tid) => tid !== null);
        if (new Set(chosen).size !== chosen.length) return;
        const cost = combo.reduce(
          (sum, tid, k) => sum + (tid === null ? MAX_JUMP : distance(this.live.get(tid).center, detections[k].center)),
          0,
        );
        if (cost < best.cost) best = { cost, combo: [...combo] };
        return;
      }
      for (const option of options[i]) search(i + 1, [...combo, option]);
    };
    search(0, []);
    return detections.map((det, k) => {
      let tid = best.combo[k];
      if (tid === null) {
        tid = this.votes.size;
        this.votes.set(tid, 0);
      }
      this.live.set(tid, { center: det.center, lastTime: t });
      this.votes.set(tid, this.votes.get(tid) + det.vote);
      return tid;
    });
  }

  distinct(detections) {
    if (detections.length <= 1) return [...detections];
    let kept = [];
    for (const det of [...detections].sort((a, b) => b.score - a.score)) {
      if (!kept.some((k) => sameHand(det, k))) kept.push(det);
    }
    kept = kept.slice(0, this.maxHands);
    return detections.filter((d) => kept.includes(d));
  }

  fill(detections, ids, into, at) {
    const slots = resolveSlots(ids.map((tid) => this.votes.get(tid)), detections.map((d) => d.center[0]));
    detections.forEach((det, k) => {
      into.landmarks.set(det.landmarks, (at * HANDS + slots[k]) * HAND);
      into.presence[at * HANDS + slots[k]] = 1;
    });
  }

  /** One frame, causally: a one-frame clip {frames: 1, landmarks, presence}. */
  assign(detections, t) {
    const kept = this.distinct(detections);
    const ids = this.link(kept, t);
    const frame = { frames: 1, landmarks: new Float32Array(HANDS * HAND), presence: new Uint8Array(HANDS) };
    this.fill(kept, ids, frame, 0);
    return frame;
  }

  /** A whole video [[detections, t], ...], each track by its final vote: a clip. */
  assignVideo(frames) {
    this.reset();
    const linked = frames.map(([detections, t]) => {
      const kept = this.distinct(detections);
      return [kept, this.link(kept, t)];
    });
    const clip = {
      frames: frames.length,
      landmarks: new Float32Array(frames.length * HANDS * HAND),
      presence: new Uint8Array(frames.length * HANDS),
    };
    linked.forEach(([kept, ids], t) => this.fill(kept, ids, clip, t));
    return clip;
  }
}
