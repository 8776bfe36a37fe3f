// The exported model in the page: ONNX Runtime Web (WebAssembly) on model/model.onnx.gz, with the
// class names, preprocessing, calibration and unknown threshold of model/aslrec.json (written by
// `aslrec export --format web` from the run and the ONNX metadata).
//
// Threads: ONNX Runtime Web runs on several threads only in a cross-origin isolated page
// (COOP/COEP headers: sent by the host, or added by the page's service worker, isolate.js, where
// service workers may run); elsewhere it uses one. The page asks for two where it may
// (local.js), or for `?threads=N`.

import { fetchBytes, here } from "./files.js";
import { toModelInput } from "./preprocess.js";

const FRAME = 2 * 21 * 3;

export class Model {
  constructor(ort, session, config, fixed) {
    this.ort = ort;
    this.session = session;
    this.config = config;
    this.classes = config.classes;
    this.columns = null; // restrict()'s columns of the logits, or null: all
    this.seqLen = config.preprocessing.seq_len;
    this.fixed = fixed;
    // one clip's input buffers, refilled by every call (ONNX Runtime copies them into its heap)
    this.x = new Float32Array(this.seqLen * FRAME);
    this.mask = new Float32Array(this.seqLen);
    this.feeds = {
      landmarks: new ort.Tensor("float32", this.x, [1, this.seqLen, 2, 21, 3]),
      mask: new ort.Tensor("float32", this.mask, [1, this.seqLen]),
    };
    this.queue = Promise.resolve(); // one call at a time: the buffers are shared
  }

  /** Load the model of `config` (model/aslrec.json, whose "files" name ONNX Runtime's wasm and
   * the model, gzip-compressed); `threads` 0 lets ONNX Runtime choose; `optimization`: ONNX
   * Runtime's graph optimisation level ("all", "extended", "basic", "disabled"); `fixed`: the
   * session is made for one clip of seq_len frames (the page's only input: preprocessing pads
   * or samples every clip to seq_len), so ONNX Runtime folds the graph's shape arithmetic away
   * (measured in benchmarks/web.py); a batch is then run clip by clip. `arena`: ONNX Runtime's
   * memory arena and memory pattern, off in ONNX Runtime Web unless asked for (on in Python);
   * they made no difference here (benchmarks/web.py). */
  static async load(config, { threads = 1, optimization = "all", fixed = true, arena = false } = {}) {
    const ort = await import(here("static/ort/ort.wasm.min.mjs"));
    const [wasm, model] = await Promise.all([fetchBytes(config.files.ort_wasm), fetchBytes(config.model)]);
    ort.env.wasm.wasmBinary = wasm;
    ort.env.wasm.wasmPaths = { mjs: here("static/ort/ort-wasm-simd-threaded.mjs") };
    ort.env.wasm.numThreads = threads;
    const options = {
      executionProviders: ["wasm"],
      graphOptimizationLevel: optimization,
      enableCpuMemArena: arena,
      enableMemPattern: arena,
    };
    if (fixed) options.freeDimensionOverrides = { batch: 1, frames: config.preprocessing.seq_len };
    const session = await ort.InferenceSession.create(model, options);
    return new Model(ort, session, config, fixed);
  }

  /** Logits of model inputs [{x, mask}]: an array of Float32Array rows. */
  run(inputs) {
    const done = this.queue.then(() => (this.fixed ? this.runEach(inputs) : this.runBatch(inputs)));
    this.queue = done.catch(() => {});
    return done;
  }

  /** Clip by clip through the shared input buffers: the session made for one clip (`fixed`). */
  async runEach(inputs) {
    const rows = [];
    for (const input of inputs) {
      this.x.set(input.x);
      this.mask.set(input.mask);
      const { logits } = await this.session.run(this.feeds);
      rows.push(logits.data);
    }
    return rows;
  }

  /** All clips as one batch: a session for any shape (`?fixed=0`, kept to be measured against). */
  async runBatch(inputs) {
    const n = inputs.length;
    const x = new Float32Array(n * this.seqLen * FRAME);
    const mask = new Float32Array(n * this.seqLen);
    inputs.forEach((input, i) => {
      x.set(input.x, i * this.seqLen * FRAME);
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

  /** Only `signs` may win from now on (the page's `?signs=eat,hello`; Python's
   * Recognizer.restrict): logits, probabilities and classes of those signs alone. */
  restrict(signs) {
    const wanted = [...new Set(signs.map((s) => s.trim()).filter(Boolean))];
    const unknown = wanted.filter((s) => !this.config.classes.includes(s));
    if (unknown.length) throw new Error(`unknown sign(s) ${unknown.join(", ")} in ?signs=`);
    if (wanted.length < 2) throw new Error("choosing among signs needs at least 2 in ?signs=");
    this.columns = wanted.map((s) => this.config.classes.indexOf(s));
    this.classes = wanted;
  }

  /** Logits of clips {frames, landmarks, presence} (raw tracker coordinates), preprocessed here
   * (of restrict()'s signs only, when chosen). */
  async logits(clips) {
    const rows = await this.run(clips.map((clip) => toModelInput(clip, this.config.preprocessing)));
    const columns = this.columns;
    return columns ? rows.map((row) => Float32Array.from(columns, (i) => row[i])) : rows;
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
