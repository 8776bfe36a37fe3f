// The exported model in the page: ONNX Runtime Web (WebAssembly) on model/model.onnx, with the
// class names, preprocessing, calibration and unknown threshold of model/aslrec.json (written by
// `aslrec export --format web` from the run and the ONNX metadata).
//
// Threads: ONNX Runtime Web runs on several threads only in a cross-origin isolated page
// (COOP/COEP headers, which `python -m http.server` does not send); elsewhere it uses one.

import { toModelInput } from "./preprocess.js";

const here = (path) => new URL(path, window.location.href).href;

export class Model {
  constructor(ort, session, config) {
    this.ort = ort;
    this.session = session;
    this.config = config;
    this.classes = config.classes;
    this.seqLen = config.preprocessing.seq_len;
  }

  /** Load the model of `config` (model/aslrec.json); `threads` 0 lets ONNX Runtime choose;
   * `optimization`: ONNX Runtime's graph optimisation level ("all", "extended", "basic",
   * "disabled"). */
  static async load(config, { threads = 1, optimization = "all" } = {}) {
    const ort = await import(here("static/ort/ort.wasm.min.mjs"));
    ort.env.wasm.wasmPaths = here("static/ort/");
    ort.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(here(config.model), {
      executionProviders: ["wasm"],
      graphOptimizationLevel: optimization,
    });
    return new Model(ort, session, config);
  }

  /** Logits of model inputs [{x, mask}] as one batch: an array of Float32Array rows. */
  async run(inputs) {
    const n = inputs.length;
    const frame = 2 * 21 * 3;
    const x = new Float32Array(n * this.seqLen * frame);
    const mask = new Float32Array(n * this.seqLen);
    inputs.forEach((input, i) => {
      x.set(input.x, i * this.seqLen * frame);
      mask.set(input.mask, i * this.seqLen);
    });
    const feeds = {
      landmarks: new this.ort.Tensor("float32", x, [n, this.seqLen, 2, 21, 3]),
      mask: new this.ort.Tensor("float32", mask, [n, this.seqLen]),
    };
    const { logits } = await this.session.run(feeds);
    const classes = logits.dims[1];
    return Array.from({ length: n }, (_, i) => logits.data.slice(i * classes, (i + 1) * classes));
  }

  /** Logits of clips {frames, landmarks, presence} (raw tracker coordinates), preprocessed here. */
  async logits(clips) {
    return this.run(clips.map((clip) => toModelInput(clip, this.config.preprocessing)));
  }

  /** Temperature-scaled probabilities of one row of logits (Recognizer: softmax(logits / T)). */
  probabilities(row) {
    const t = this.config.temperature;
    const top = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp((v - top) / t));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  /** {label, probability, top_k: [{label, probability}]} of one clip. */
  async predict(clip, k = 3) {
    const [row] = await this.logits([clip]);
    const p = this.probabilities(row);
    const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a]).slice(0, k);
    const top_k = order.map((i) => ({ label: this.classes[i], probability: p[i] }));
    return { label: top_k[0].label, probability: top_k[0].probability, top_k };
  }
}
