// Fingerspelling in the page: aslrec.inference.fingerspelling's FingerspellingDecoder, ported
// (the hold-letter rules of the committed Python; tests/export/test_web_fingerspelling.py feeds
// both the same frames and the same letter probabilities and compares what they emit).
//
// One letter per hold of the hand: settle_frames still frames (motion below settle_speed) make
// a hold, whose frames (at most `window`) are classified; the first letter that is top-1 among
// the model's letter columns (renormalised) with at least min_probability for hold_votes
// classifications in a row is emitted; the same letter again needs a motion of move_speed
// since (a slide or bounce); a word closes when no hand is seen for drop_s or no letter comes
// for pause_s. The settings are Python's SpellingConfig, written into the exported aslrec.json.
// Not ported: the lexicon snap (the page has no lexicon) and J/Z motion letters.

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
    this.holdStartS = 0;
    this.spelled = [];
    this.lastHandS = -Infinity;
    this.lastLetterS = -Infinity;
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
    if (speed === null) {
      this.breakHold();
      if (this.spelled.length && ts - this.lastHandS >= cfg.drop_s - EPS) return [this.close(ts, "hand_dropped")];
      return [];
    }
    this.lastHandS = ts;
    this.moved = this.moved || speed >= cfg.move_speed;
    if (speed >= cfg.settle_speed) this.breakHold();
    else this.still += 1;
    if (!this.window.length) this.holdStartS = ts;
    this.window.push(frame);
    if (this.window.length > cfg.window) this.window.shift();
    const out = [];
    if (this.spelled.length && ts - this.lastLetterS >= cfg.pause_s - EPS) out.push(this.close(ts, "pause"));
    if (!this.holdSpent && this.still >= cfg.settle_frames && (this.still - cfg.settle_frames) % cfg.every === 0) {
      const letter = await this.vote(ts);
      if (letter) out.push(letter);
    }
    return out;
  }

  /** End of stream: the word in progress, if any. */
  flush() {
    return this.spelled.length ? [this.close(this.lastT ?? 0, "end_of_stream")] : [];
  }

  breakHold() {
    this.still = 0;
    this.holdSpent = false;
    this.run = [];
    this.runLetter = null;
    this.window = [];
  }

  async vote(ts) {
    const all = await this.probabilities([...this.window]);
    this.modelCalls += 1;
    const probs = this.columns.map((c) => all[c]);
    const sum = Math.max(probs.reduce((a, b) => a + b, 0), 1e-12);
    let best = 0;
    for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
    const letter = this.letters[best];
    const p = probs[best] / sum;
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
    const previous = this.spelled.length ? this.spelled[this.spelled.length - 1].letter : null;
    this.holdSpent = true;
    if (letter === previous && !this.moved) return null; // the same letter again without a slide: a tremor
    this.moved = false;
    const confidence = this.run.reduce((a, b) => a + b, 0) / this.run.length;
    const emitted = { type: "letter", letter, confidence, start_s: this.holdStartS, emitted_s: ts };
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
