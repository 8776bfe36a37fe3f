// A clip's hand landmarks -> the model's input: aslrec.data.preprocessing.to_model_input in JS.
//
// The one JS implementation (the exported page imports it; tests/export/test_web_preprocess.py
// runs it under node on real clips and compares with Python to 1e-6), so keep it step for step
// with the Python module: keep hand frames (select_frames), slots by chirality
// (slots_by_chirality, landmarks/geometry.py), normalise, mirror the dominant hand
// (canonicalise_dominant_hand), pad. Float32 arithmetic is reproduced with Math.fround where
// numpy computes in float32 (normalisation); chirality and motion are float64 there and here.
//
// A clip: {frames: T, landmarks: Float32Array(T*2*21*3) (frame, slot, point, xyz), presence:
// Uint8Array(T*2)}; slot 0 the signer's left hand, 1 the right (aslrec.landmarks.clip).

export const HANDS = 2;
export const POINTS = 21;
export const COORDS = 3;
export const LEFT = 0;
export const RIGHT = 1;
const HAND = POINTS * COORDS;
const FRAME = HANDS * HAND;

export const DOMINANCE_MARGIN = 1.2;
export const RESTING_MOTION = 0.5;
export const CHIRALITY_MARGIN = 0.3;
const WRIST = 0;
const INDEX_MCP = 5;
const PINKY_MCP = 17;
const KNUCKLES = [5, 9, 13, 17];
const FINGERTIPS = [8, 12, 16, 20];

/** numpy's np.round: halves to even. */
function roundHalfEven(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Indices of the frames to keep when a clip is longer than seqLen (sample_frames). */
export function sampleFrames(numFrames, seqLen, method) {
  if (numFrames <= seqLen) return Array.from({ length: numFrames }, (_, i) => i);
  if (method === "resample") {
    // np.linspace(0, n - 1, seqLen).round(): i * step, the last one exactly n - 1
    const step = (numFrames - 1) / (seqLen - 1);
    return Array.from({ length: seqLen }, (_, i) =>
      i === seqLen - 1 && seqLen > 1 ? numFrames - 1 : roundHalfEven(i * step),
    );
  }
  if (method === "truncate") return Array.from({ length: seqLen }, (_, i) => i);
  throw new Error(`frame sampling must be resample, truncate or span, not ${method}`);
}

/** The frames that become the model's input, in time order (select_frames). */
export function selectFrames(frameMask, seqLen, method) {
  const hand = [];
  frameMask.forEach((seen, t) => {
    if (seen) hand.push(t);
  });
  if (!hand.length) return hand;
  if (method === "span") {
    const first = hand[0];
    const size = hand[hand.length - 1] - first + 1;
    const picked = [...new Set(sampleFrames(size, seqLen, "resample").map((i) => first + i))];
    return picked.sort((a, b) => a - b).filter((t) => frameMask[t]);
  }
  return sampleFrames(hand.length, seqLen, method).map((i) => hand[i]);
}

/** One hand's chirality (geometry.chirality): > 0 right, < 0 left, 0 flat or absent. */
export function chirality(lm, at) {
  const p = (point, c) => lm[at + point * COORDS + c];
  const a = [0, 1, 2].map((c) => p(INDEX_MCP, c) - p(WRIST, c));
  const b = [0, 1, 2].map((c) => p(PINKY_MCP, c) - p(WRIST, c));
  const palm = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const bend = [0, 1, 2].map(
    (c) => FINGERTIPS.reduce((sum, tip, i) => sum + (p(tip, c) - p(KNUCKLES[i], c)), 0) / 4,
  );
  const norms = Math.hypot(...palm) * Math.hypot(...bend);
  const dot = palm[0] * bend[0] + palm[1] * bend[1] + palm[2] * bend[2];
  return norms > 1e-12 ? dot / norms : 0;
}

function seenCounts(clip) {
  const seen = [0, 0];
  for (let t = 0; t < clip.frames; t++) {
    for (let s = 0; s < HANDS; s++) seen[s] += clip.presence[t * HANDS + s] ? 1 : 0;
  }
  return seen;
}

/** A clip with its two slots swapped, x negated too when `negateX` (a mirror image). */
function swapSlots(clip, negateX) {
  const landmarks = new Float32Array(clip.landmarks.length);
  const presence = new Uint8Array(clip.presence.length);
  for (let t = 0; t < clip.frames; t++) {
    for (let s = 0; s < HANDS; s++) {
      const from = t * FRAME + (1 - s) * HAND;
      const to = t * FRAME + s * HAND;
      for (let k = 0; k < HAND; k++) {
        const v = clip.landmarks[from + k];
        landmarks[to + k] = negateX && k % COORDS === 0 ? -v : v;
      }
      presence[t * HANDS + s] = clip.presence[t * HANDS + 1 - s];
    }
  }
  return { frames: clip.frames, landmarks, presence };
}

/** Swap the slots when the hands' geometry clearly says so (slots_by_chirality). */
export function slotsByChirality(clip, margin = CHIRALITY_MARGIN) {
  const seen = seenCounts(clip);
  const score = [0, 1].map((s) => {
    let total = 0;
    for (let t = 0; t < clip.frames; t++) {
      if (clip.presence[t * HANDS + s]) total += chirality(clip.landmarks, t * FRAME + s * HAND);
    }
    return seen[s] > 0 ? total / seen[s] : 0;
  });
  let swap;
  if (seen[LEFT] && seen[RIGHT]) swap = score[LEFT] - score[RIGHT] > margin;
  else if (seen[RIGHT]) swap = score[RIGHT] < -margin;
  else swap = seen[LEFT] > 0 && score[LEFT] > margin;
  return swap ? swapSlots(clip, false) : clip;
}

/** Present coordinates into [-1, 1], absent hands exactly zero (normalise), in float32.
 * "body" is "frame" here: the page tracks no body, and Python's body normalisation falls back
 * to frame normalisation for a clip without pose (the model then runs without body context). */
export function normalise(clip, mode = "frame") {
  const f = Math.fround;
  const out = new Float32Array(clip.landmarks.length);
  const present = [];
  for (let t = 0; t < clip.frames; t++) {
    for (let s = 0; s < HANDS; s++) if (clip.presence[t * HANDS + s]) present.push(t * FRAME + s * HAND);
  }
  if (!present.length) return { ...clip, landmarks: out };
  const lm = clip.landmarks;
  const clamp = (v) => Math.min(1, Math.max(-1, v));
  if (mode === "frame" || mode === "body") {
    for (const at of present) {
      for (let k = 0; k < HAND; k++) {
        const v = lm[at + k];
        out[at + k] = clamp(k % COORDS === 2 ? v : f(f(v * 2) - 1));
      }
    }
  } else if (mode === "clip") {
    // numpy's float32 mean over axis 0: one float32 running sum per coordinate, in order
    const centre = [0, 1].map((c) => {
      let sum = 0;
      for (const at of present) for (let p = 0; p < POINTS; p++) sum = f(sum + lm[at + p * COORDS + c]);
      return f(sum / (present.length * POINTS));
    });
    let scale = 0;
    for (const at of present) {
      for (let p = 0; p < POINTS; p++) {
        for (let c = 0; c < 2; c++) scale = Math.max(scale, Math.abs(f(lm[at + p * COORDS + c] - centre[c])));
      }
    }
    scale = Math.max(scale, 1e-6);
    const scale32 = f(scale);
    for (const at of present) {
      for (let k = 0; k < HAND; k++) {
        const c = k % COORDS;
        const v = c < 2 ? f(lm[at + k] - centre[c]) : lm[at + k];
        out[at + k] = clamp(f(v / scale32));
      }
    }
  } else {
    throw new Error(`normalisation must be 'frame', 'clip' or 'body', not ${mode}`);
  }
  return { ...clip, landmarks: out };
}

/** How far each hand's centre wanders over the frames it is seen in (hand_motion). */
export function handMotion(clip) {
  return [LEFT, RIGHT].map((s) => {
    const centres = [];
    for (let t = 0; t < clip.frames; t++) {
      if (!clip.presence[t * HANDS + s]) continue;
      const at = t * FRAME + s * HAND;
      const c = [0, 1].map((k) => {
        let sum = 0;
        for (let p = 0; p < POINTS; p++) sum += clip.landmarks[at + p * COORDS + k];
        return sum / POINTS;
      });
      centres.push(c);
    }
    if (centres.length < 2) return 0;
    let variance = 0;
    for (let k = 0; k < 2; k++) {
      const mean = centres.reduce((a, c) => a + c[k], 0) / centres.length;
      variance += centres.reduce((a, c) => a + (c[k] - mean) ** 2, 0) / centres.length;
    }
    return Math.sqrt(variance);
  });
}

/** symmetric_dominant_slot: "moving" without its right-handed default (mirror equivariant). */
export function symmetricDominantSlot(seen, motion) {
  for (const [hand, other] of [[LEFT, RIGHT], [RIGHT, LEFT]]) {
    if (seen[hand] > DOMINANCE_MARGIN * seen[other]) {
      return motion[hand] < RESTING_MOTION * motion[other] ? other : hand;
    }
  }
  return motion[LEFT] > motion[RIGHT] ? LEFT : RIGHT;
}

/** The slot of the signing hand (dominant_slot); "moving" also weighs how much each moves. */
export function dominantSlot(clip, moving) {
  const seen = seenCounts(clip);
  if (seen[LEFT] <= DOMINANCE_MARGIN * seen[RIGHT]) return RIGHT;
  if (moving) {
    const motion = handMotion(clip);
    if (motion[LEFT] < RESTING_MOTION * motion[RIGHT]) return RIGHT;
  }
  return LEFT;
}

/** Mirror left-handed signing onto the right hand (canonicalise_dominant_hand). */
export function canonicaliseDominantHand(clip, dominance = "seen") {
  if (!["seen", "moving", "symmetric"].includes(dominance)) {
    throw new Error(`dominance must be 'seen', 'moving' or 'symmetric', not ${dominance}`);
  }
  const slot =
    dominance === "symmetric"
      ? symmetricDominantSlot(seenCounts(clip), handMotion(clip))
      : dominantSlot(clip, dominance === "moving");
  return slot === LEFT ? swapSlots(clip, true) : clip;
}

/** The frames `keep` of a clip, as a new clip. */
function takeFrames(clip, keep) {
  const landmarks = new Float32Array(keep.length * FRAME);
  const presence = new Uint8Array(keep.length * HANDS);
  keep.forEach((t, i) => {
    landmarks.set(clip.landmarks.subarray(t * FRAME, (t + 1) * FRAME), i * FRAME);
    presence.set(clip.presence.subarray(t * HANDS, (t + 1) * HANDS), i * HANDS);
  });
  return { frames: keep.length, landmarks, presence };
}

/** frame_mask: whether each frame has a hand. */
export function frameMask(clip) {
  return Array.from({ length: clip.frames }, (_, t) => Boolean(clip.presence[t * HANDS] || clip.presence[t * HANDS + 1]));
}

/**
 * to_model_input for `spec` (the run's PreprocessingSpec as a dict): {x: Float32Array(seq_len
 * * 126), mask: Float32Array(seq_len)}. Throws when no frame has a hand.
 */
export function toModelInput(clip, spec) {
  const seqLen = spec.seq_len ?? 30;
  const keep = selectFrames(frameMask(clip), seqLen, spec.frame_sampling ?? "resample");
  if (!keep.length) throw new Error("no hands in any frame");
  let c = takeFrames(clip, keep);
  if ((spec.handedness ?? "slots") === "chirality") c = slotsByChirality(c);
  c = normalise(c, spec.normalisation ?? "frame");
  if (spec.dominant_hand) c = canonicaliseDominantHand(c, spec.dominance ?? "seen");
  const x = new Float32Array(seqLen * FRAME);
  const mask = new Float32Array(seqLen);
  x.set(c.landmarks);
  mask.fill(1, 0, keep.length);
  return { x, mask };
}
