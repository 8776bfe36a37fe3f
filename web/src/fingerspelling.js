// Fingerspelling in the page: aslrec.inference.fingerspelling's FingerspellingDecoder, ported
// (its hold-letter rules; tests/export/test_web_fingerspelling.py feeds both the same frames and
// the same letter probabilities and compares what they emit).
//
// One letter per hold of the hand: settle_frames still frames (motion below settle_speed) make
// a hold, whose frames (at most `window`) are classified; the first letter that is top-1 among
// the model's letter columns (renormalised) with at least min_probability for hold_votes
// classifications in a row is emitted; a hold that ends without one but with hold_votes
// classifications emits the top letter of their mean when that is at least late_probability
// (a late letter); the same letter again needs a motion of move_speed since (a slide or
// bounce); a word closes when no hand is seen for drop_s and drop_frames frames in a row, or
// when for pause_s neither a letter came nor the hand moved faster than move_speed. J and Z are motions (the letters of
// motion_letters): over the last motion_window frames of one hand, an index fingertip that
// reverses its horizontal direction z_reversals times with a pointing hand is a Z, a little
// fingertip that travels j_path hand sizes and turns with an I-shaped hand a J, checked by the
// model when it has the letter. The settings are Python's SpellingConfig, written into the
// exported aslrec.json. With a lexicon (`aslrec export --format web --lexicon words.txt`, its
// words in model/lexicon.txt), a closed word is snapped to the nearest lexicon word as Python's
// Lexicon does: edit distance with a substitution by a runner-up letter costing less than 1,
// within max_edit_fraction of the word's length, ties to the earlier word.

import { motionSpeed } from "./live.js";

const EPS = 1e-6;
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const [WRIST, INDEX_TIP, PINKY_TIP] = [0, 8, 20];
const [TIPS, KNUCKLES] = [[8, 12, 16, 20], [5, 9, 13, 17]];
const [EXTENDED, CURLED] = [1.1, 0.95]; // fingertip-to-wrist / knuckle-to-wrist distance
const POINTING = [true, false, false, false]; // Z: index only
const I_SHAPE = [false, false, false, true]; // J: little finger only

/** The model's letter classes: [{column, letter}] (single letters A-Z, any case). */
export function letterColumns(classes) {
  return classes
    .map((name, column) => ({ column, letter: name.toUpperCase() }))
    .filter(({ letter }) => letter.length === 1 && LETTERS.includes(letter));
}

/**
 * Frames {landmarks: Float32Array(126), presence: Uint8Array(2), t} in; letters
 * {type: "letter", letter, confidence, start_s, emitted_s} and closed words
 * {type: "word", word, letters, closed_s, reason, snapped, distance} out (snapped: the lexicon
 * word, distance: its plain edit distance from word; null without a lexicon or when every word
 * is too far). `probabilities(frames)` => the model's calibrated probabilities over all its
 * classes for those frames as one clip; `lexicon`: a Lexicon or null.
 */
export class Speller {
  constructor(config, classes, probabilities, lexicon = null) {
    this.config = config;
    this.probabilities = probabilities;
    this.lexicon = lexicon;
    const columns = letterColumns(classes);
    if (!columns.length) throw new Error("the model has no letter classes (A-Z)");
    this.columns = columns.map((c) => c.column);
    this.letters = columns.map((c) => c.letter);
    this.words = [];
    this.modelCalls = 0;
    this.reset();
  }

  reset() {
    this.window = [];
    this.trail = [];
    this.prev = null;
    this.still = 0;
    this.holdSpent = false;
    this.moved = true;
    this.run = [];
    this.runLetter = null;
    this.holdProbs = [];
    this.holdStartS = 0;
    this.spelled = [];
    this.lastHandS = -Infinity;
    this.framesWithoutHand = 0;
    this.lastLetterS = -Infinity;
    this.lastMoveS = -Infinity;
    this.lastT = null;
  }

  /** The letters of the word in progress. */
  get current() {
    return this.spelled.map((l) => l.letter).join("");
  }

  async push(frame) {
    const cfg = this.config;
    const ts = frame.t;
    if (this.lastT !== null && ts <= this.lastT) throw new Error(`timestamps must increase: ${ts} after ${this.lastT}`);
    this.lastT = ts;
    const speed = motionSpeed(this.prev, frame);
    const out = [];
    if (speed === null) {
      out.push(...this.breakHold(ts));
      this.trail = [];
      this.framesWithoutHand += 1;
      if (this.framesWithoutHand >= cfg.drop_frames) this.prev = null; // back = a new appearance
      const dropped = ts - this.lastHandS >= cfg.drop_s - EPS;
      if (this.spelled.length && dropped && this.framesWithoutHand >= cfg.drop_frames) {
        out.push(this.close(ts, "hand_dropped"));
      }
      return out;
    }
    this.prev = frame; // across a shorter gap, speed is measured from where the hand was last seen
    this.lastHandS = ts;
    this.framesWithoutHand = 0;
    if (speed >= cfg.move_speed) {
      this.moved = true;
      this.lastMoveS = ts;
    }
    if (speed >= cfg.settle_speed) out.push(...this.breakHold(ts));
    else this.still += 1;
    if (!this.window.length) this.holdStartS = ts;
    this.window.push(frame);
    if (this.window.length > cfg.window) this.window.shift();
    this.trail.push(frame);
    if (this.trail.length > cfg.motion_window) this.trail.shift();
    const quietSince = Math.max(this.lastLetterS, this.lastMoveS);
    if (this.spelled.length && ts - quietSince >= cfg.pause_s - EPS) out.push(this.close(ts, "pause"));
    if (cfg.motion_letters && speed >= cfg.settle_speed) {
      const motion = await this.motionLetter(ts);
      if (motion) out.push(motion);
    }
    if (!this.holdSpent && this.still >= cfg.settle_frames && (this.still - cfg.settle_frames) % cfg.every === 0) {
      const letter = await this.vote(ts);
      if (letter) out.push(letter);
    }
    return out;
  }

  /** End of stream: the late letter of the hold in progress and the word in progress, if any. */
  flush() {
    const ts = this.lastT ?? 0;
    const out = this.breakHold(ts);
    if (this.spelled.length) out.push(this.close(ts, "end_of_stream"));
    return out;
  }

  /** End the hold in progress: its late letter, if it had one. */
  breakHold(ts) {
    const late = [];
    if (!this.holdSpent && this.holdProbs.length >= this.config.hold_votes) {
      const mean = meanOf(this.holdProbs);
      const best = argmax(mean);
      if (mean[best] >= this.config.late_probability) {
        const emitted = this.emit(this.letters[best], mean[best], ts, null, mean);
        if (emitted) late.push(emitted);
      }
    }
    this.holdProbs = [];
    this.still = 0;
    this.holdSpent = false;
    this.run = [];
    this.runLetter = null;
    this.window = [];
    return late;
  }

  /** The model's letter probabilities for `frames`, renormalised over the letters. */
  async letterProbabilities(frames) {
    const all = await this.probabilities(frames);
    this.modelCalls += 1;
    const raw = this.columns.map((c) => all[c]);
    const sum = Math.max(raw.reduce((a, b) => a + b, 0), 1e-12);
    return raw.map((p) => p / sum);
  }

  async vote(ts) {
    const probs = await this.letterProbabilities([...this.window]);
    this.holdProbs.push(probs);
    const best = argmax(probs);
    const letter = this.letters[best];
    const p = probs[best];
    if (p < this.config.min_probability) {
      this.run = [];
      this.runLetter = null;
      return null;
    }
    if (letter !== this.runLetter) {
      this.run = [];
      this.runLetter = letter;
    }
    this.run.push(p);
    if (this.run.length < this.config.hold_votes) return null;
    const confidence = this.run.reduce((a, b) => a + b, 0) / this.run.length;
    return this.emit(letter, confidence, ts, null, meanOf(this.holdProbs.slice(-this.run.length)));
  }

  /** The letter (of the hold in progress unless `startS` says where it started), unless it
   * repeats the previous one without a move (a tremor); `probs` give its alternatives. */
  emit(letter, confidence, ts, startS, probs) {
    const previous = this.spelled.length ? this.spelled[this.spelled.length - 1].letter : null;
    this.holdSpent = this.holdSpent || startS === null;
    if (letter === previous && !this.moved) return null; // the same letter again without a slide: a tremor
    this.moved = false;
    const order = (probs || []).map((_, i) => i).sort((a, b) => probs[b] - probs[a]).filter((i) => this.letters[i] !== letter);
    const alternatives = order.slice(0, 3).filter((i) => probs[i] >= 0.05).map((i) => [this.letters[i], probs[i]]);
    const emitted = { type: "letter", letter, confidence, start_s: startS ?? this.holdStartS, emitted_s: ts, alternatives };
    this.spelled.push(emitted);
    this.lastLetterS = ts;
    return emitted;
  }

  /** A J or Z traced over the trail, or null. */
  async motionLetter(ts) {
    const cfg = this.config;
    if (this.trail.length < Math.floor(cfg.motion_window / 2)) return null;
    const frames = [...this.trail];
    // one hand: the signer's right when both are seen; [x, y] of its 21 points
    const hands = frames.map((f) => {
      const at = (f.presence[1] ? 1 : 0) * 63;
      return Array.from({ length: 21 }, (_, p) => [f.landmarks[at + 3 * p], f.landmarks[at + 3 * p + 1]]);
    });
    const size = Math.max(median(hands.map(handSize)), 1e-6);
    let candidate = null;
    const pointing = fraction(hands, POINTING);
    if (cfg.motion_letters.includes("Z") && pointing >= 0.5
        && reversals(hands.map((h) => h[INDEX_TIP][0] / size), cfg.z_stroke) >= cfg.z_reversals) {
      candidate = ["Z", pointing];
    } else if (cfg.motion_letters.includes("J")) {
      const hook = fraction(hands, I_SHAPE);
      const tip = hands.map((h) => [h[PINKY_TIP][0] / size, h[PINKY_TIP][1] / size]);
      let travel = 0;
      for (let i = 1; i < tip.length; i++) travel += Math.hypot(tip[i][0] - tip[i - 1][0], tip[i][1] - tip[i - 1][1]);
      if (hook >= 0.5 && travel >= cfg.j_path && turns(tip, cfg.j_path / 3)) candidate = ["J", hook];
    }
    if (!candidate) return null;
    let [letter, confidence] = candidate;
    let probs = null;
    if (this.letters.includes(letter)) { // the model knows the letter: it must agree
      probs = await this.letterProbabilities(frames);
      const best = argmax(probs);
      if (this.letters[best] !== letter || probs[best] < cfg.min_probability) return null;
      confidence = probs[best];
    }
    this.trail = [];
    return this.emit(letter, confidence, ts, frames[0].t, probs);
  }

  close(ts, reason) {
    const word = { type: "word", word: this.current, letters: this.spelled, closed_s: ts, reason,
      snapped: null, distance: null };
    const snapped = this.lexicon ? this.lexicon.snap(word.word, word.letters) : null;
    if (snapped) [word.snapped, word.distance] = snapped;
    this.spelled = [];
    this.moved = true;
    this.words.push(word);
    return word;
  }
}

/** Element-wise mean of equal-length rows (numpy's mean over axis 0: summed in order). */
function meanOf(rows) {
  const out = rows[0].slice();
  for (let r = 1; r < rows.length; r++) for (let i = 0; i < out.length; i++) out[i] += rows[r][i];
  return out.map((v) => v / rows.length);
}

/** The first index of the largest value (numpy's argmax). */
function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** The diagonal of a hand's bounding box (numpy: norm(ptp(points, axis=0))). */
function handSize(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return Math.hypot(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The fraction of hands whose fingers of `shape` are extended and the others curled. */
function fraction(hands, shape) {
  const inShape = (h) => shape.every((extended, k) => {
    const ratio = dist(h[TIPS[k]], h[WRIST]) / Math.max(dist(h[KNUCKLES[k]], h[WRIST]), 1e-6);
    return extended ? ratio > EXTENDED : ratio < CURLED;
  });
  return hands.filter(inShape).length / hands.length;
}

/** Direction changes of a 1-D path whose strokes are each at least `stroke` long. */
function reversals(x, stroke) {
  let [count, direction, anchor] = [0, 0, x[0]];
  for (const value of x.slice(1)) {
    const delta = value - anchor;
    if (direction === 0) {
      if (Math.abs(delta) >= stroke) [direction, anchor] = [delta > 0 ? 1 : -1, value];
    } else if (delta * direction > 0) {
      anchor = value;
    } else if (Math.abs(delta) >= stroke) {
      [count, direction, anchor] = [count + 1, -direction, value];
    }
  }
  return count;
}

/** Whether a 2-D path's second half heads 60 degrees or more away from its first half, each
 * half moving at least `leg`. */
function turns(path, leg) {
  const half = Math.floor(path.length / 2);
  const a = [path[half][0] - path[0][0], path[half][1] - path[0][1]];
  const last = path[path.length - 1];
  const b = [last[0] - path[half][0], last[1] - path[half][1]];
  const [na, nb] = [Math.hypot(...a), Math.hypot(...b)];
  return Math.min(na, nb) >= leg && (a[0] * b[0] + a[1] * b[1]) / (na * nb) <= 0.5;
}

/** Levenshtein distance between two strings (Python's edit_distance). */
export function editDistance(a, b) {
  if (a.length < b.length) [a, b] = [b, a];
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] !== b[j - 1] ? 1 : 0));
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** What reading an emitted letter as `letter` costs (Python's Letter.cost): 0 for itself, 1 for
 * a letter the model did not consider, 1 - p / confidence for a runner-up. */
function letterCost(emitted, letter) {
  if (letter === emitted.letter) return 0;
  const runnerUp = emitted.alternatives.find(([l]) => l === letter);
  return 1 - Math.min(1, (runnerUp ? runnerUp[1] : 0) / Math.max(emitted.confidence, 1e-6));
}

/** Edit distance from decoded letters to `word`, substitutions weighed by `costs` (one
 * {letter: cost} per decoded letter; Python's _weighted_distance). */
function weightedDistance(costs, word) {
  const row = Array.from({ length: word.length + 1 }, (_, j) => j);
  costs.forEach((cost, k) => {
    let diagonal = row[0];
    row[0] = k + 1;
    for (let j = 1; j <= word.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + cost[word[j - 1]]);
      diagonal = row[j];
      row[j] = next;
    }
  });
  return row[word.length];
}

/** Words to snap spellings to (Python's Lexicon: upper-cased, the first of each kept, order =
 * priority). */
export class Lexicon {
  constructor(words, maxEditFraction = 0.34) {
    this.words = [...new Set(words.map((w) => w.trim().toUpperCase()).filter((w) => w))];
    if (!this.words.length) throw new Error("the lexicon holds no words");
    this.maxEditFraction = maxEditFraction;
  }

  /** [word, edit distance from raw] of the nearest word, or null when every word is too far;
   * with the decoded `letters` of raw, substitutions are weighed by their cost. */
  snap(raw, letters = null) {
    const bound = Math.max(1, Math.floor(this.maxEditFraction * raw.length));
    const costs = letters && letters.map((x) => Object.fromEntries([...LETTERS].map((c) => [c, letterCost(x, c)])));
    let best = null;
    for (const word of this.words) { // a later word must beat the best so far: ties go earlier
      const limit = best === null ? bound + EPS : best[1] - EPS;
      if (Math.abs(word.length - raw.length) > limit) continue;
      const d = costs ? weightedDistance(costs, word) : editDistance(raw, word);
      if (d <= limit) {
        best = [word, d];
        if (d === 0) break;
      }
    }
    return best && [best[0], editDistance(raw, best[0])];
  }
}
