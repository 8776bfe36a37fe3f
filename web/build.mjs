// Copies the pages and the MediaPipe (Tasks Vision and Hands) / Swagger UI / ONNX Runtime Web files they need
// into aslrec's package (src/aslrec/serving/static/, git-ignored): `aslrec serve` serves them (no CDN at run
// time), and `aslrec export --format web` copies the same page (index.html) and the files it needs from there.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.ASLREC_STATIC_DIR || join(here, "..", "src", "aslrec", "serving", "static");
const modules = join(here, "node_modules");

const parts = [
  // [from folder, to folder, file names (all files when null)]
  [join(here, "src"), out, null],
  [join(modules, "@mediapipe", "hands"), join(out, "mediapipe", "hands"), (name) =>
    /\.(js|wasm|data|binarypb|tflite)$/.test(name)],
  [join(modules, "@mediapipe", "tasks-vision"), join(out, "mediapipe", "tasks-vision"), (name) =>
    ["vision_bundle.mjs", "LICENSE", "README.md"].includes(name)],
  [join(modules, "@mediapipe", "tasks-vision", "wasm"), join(out, "mediapipe", "tasks-vision", "wasm"),
    (name) => /^vision_wasm_(nosimd_)?internal\.(js|wasm)$/.test(name)],
  // ONNX Runtime Web, WebAssembly only (SIMD + threads build; one thread without cross-origin isolation)
  [join(modules, "onnxruntime-web", "dist"), join(out, "ort"), (name) =>
    ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"].includes(name)],
  [join(modules, "swagger-ui-dist"), join(out, "swagger-ui"), (name) =>
    ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"].includes(name)],
];

rmSync(out, { recursive: true, force: true });
const copied = [];
for (const [from, to, keep] of parts) {
  if (!existsSync(from)) {
    console.error(`missing ${from}: run \`npm ci\` in web/ first`);
    process.exit(1);
  }
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (keep && !keep(name)) continue;
    cpSync(join(from, name), join(to, name), { recursive: true });
    copied.push(join(to, name).slice(out.length + 1));
  }
}
for (const needed of ["index.html", "isolate.js", "page.js", "files.js", "server.js", "local.js", "fingerspelling.js", "mediapipe/hands/hands.js", "mediapipe/hands/hands_solution_simd_wasm_bin.wasm",
  "mediapipe/tasks-vision/vision_bundle.mjs", "mediapipe/tasks-vision/wasm/vision_wasm_internal.wasm", "swagger-ui/swagger-ui-bundle.js",
  "preprocess.js", "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.wasm"]) {
  if (!copied.includes(needed)) {
    console.error(`build incomplete: ${needed} was not copied`);
    process.exit(1);
  }
}
writeFileSync(join(out, "BUILD.txt"), "Built by web/build.mjs (`make web`); do not edit: re-run the build.\n");
console.log(`web: ${copied.length} files -> ${out}`);
