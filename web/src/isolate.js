// A service worker that makes an exported page cross-origin isolated on any static host: it
// passes every same-origin request through and adds the COOP/COEP headers to the response,
// which a plain static server (`python -m http.server`, most static hosts) does not send.
// Why: ONNX Runtime Web runs the model on more than one thread only in a cross-origin isolated
// page (SharedArrayBuffer), and benchmarks/web.py measured two threads faster per clip than one.
// It changes no content, caches nothing and never touches other origins (the page loads
// nothing from them). Registered by page.js (`isolate`) only where the page is not isolated
// already and service workers may run (https, or http on localhost).

const HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
// The page asks again after a hard reload, which loads it without this worker in control.
self.addEventListener("message", (event) => {
  if (event.data === "claim") event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0) return response;
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(HEADERS)) headers.set(name, value);
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
