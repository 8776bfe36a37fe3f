// The page's files, by path relative to the page. A folder written by `aslrec export --format
// web` stores its large files gzip-compressed (`NAME.gz`: the wasm of ONNX Runtime Web and
// MediaPipe, MediaPipe's loader, the hand model, the sign model), which the page inflates itself
// with the browser's DecompressionStream, so the folder is small on disk and any static host
// serves it as it is (`python -m http.server` included: no Content-Encoding header needed).
// aslrec serve's build keeps its files plain; a plain path is used as it is.

export const here = (path) => new URL(path, window.location.href).href;

const GZIP = [0x1f, 0x8b];

/** The bytes of `path`, inflated when it is a `.gz` file. A host that sends `.gz` files with
 * `Content-Encoding: gzip` has the browser inflate them already: bytes without gzip's magic
 * number are taken as they are. */
export async function fetchBytes(path) {
  const response = await fetch(here(path));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!path.endsWith(".gz") || bytes[0] !== GZIP[0] || bytes[1] !== GZIP[1]) return bytes;
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

/** A URL with the contents of `path`: its own when it is plain, else a blob: URL of the inflated
 * bytes, of MIME type `type` (kept for the page's lifetime: the loaders may fetch it again). */
export async function fileUrl(path, type) {
  if (!path.endsWith(".gz")) return here(path);
  return URL.createObjectURL(new Blob([await fetchBytes(path)], { type }));
}
