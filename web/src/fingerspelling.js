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
// bounce); a word closes when no hand is seen for drop_s, or when for pause_s neither a letter
// came nor the hand moved faster than move_speed. The settings are Python's SpellingConfig,
// written into the exported aslrec.json. Not ported: lexicon snapping (the page has no
// lexicon) and the J/Z motion letters (motion_letters).

import { motionSpeed } from "./live.js";

const EPS = 1e-6;
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The model's letter classes: [{column, letter}] (single letters A-Z, any case). */
export function letterColumns(classes) {
  return classes
    .map((name, column) => ({ column, letter: name.toUpperCase() }))
    .filter(({ letter }) => letter.length === 1 && LETTERS.includes(letter));
}

/**
 * Frames {landmarks: Float32Array(126), presence: Uint8Array(2), t} in; letters
 * {type: "letter", letter, confidence, start_s, emitted_s} and closed words
 * {type: "word", word, letters, closed_s, reason} out. `probabilities(frames)` => the model's
 * calibrated probabilities over all its classes for those frames as one clip.
 */
export class Speller {
  constructor(config, classes, probabilities) {
    this.config = config;
    this.probabilities = probabilities;
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
    this.prev = frame.presence.some(Boolean) ? frame : null;
    const out = [];
    if (speed === null) {
      out.push(...this.breakHold(ts));
      if (this.spelled.length && ts - this.lastHandS >= cfg.drop_s - EPS) out.push(this.close(ts, "hand_dropped"));
      return out;
    }
    this.lastHandS = ts;
    if (speed >= cfg.move_speed) {
      this.moved = true;
      this.lastMoveS = ts;
    }
    if (speed >= cfg.settle_speed) out.push(...this.breakHold(ts));
    else this.still += 1;
    if (!this.window.length) this.holdStartS = ts;
    this.window.push(frame);
    if (this.window.length > cfg.window) this.window.shift();
    const quietSince = Math.max(this.lastLetterS, this.lastMoveS);
    if (this.spelled.length && ts - quietSince >= cfg.pause_s - EPS) out.push(this.close(ts, "pause"));
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

  async vote(ts) {
    const all = await this.probabilities([...this.window]);
    this.modelCalls += 1;
    const raw = this.columns.map((c) => all[c]);
    const sum = Math.max(raw.reduce((a, b) => a + b, 0), 1e-12);
    const probs = raw.map((p) => p / sum);
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
    const order = probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a]).filter((i) => this.letters[i] !== letter);
    const alternatives = order.slice(0, 3).filter((i) => probs[i] >= 0.05).map((i) => [this.letters[i], probs[i]]);
    const emitted = { type: "letter", letter, confidence, start_s: startS ?? this.holdStartS, emitted_s: ts, alternatives };
    this.spelled.push(emitted);
    this.lastLetterS = ts;
    return emitted;
  }

  close(ts, reason) {
    const word = { type: "word", word: this.current, letters: this.spelled, closed_s: ts, reason };
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
