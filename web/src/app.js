// aslrec's browser page: webcam -> hand tracking in this browser -> landmarks over a WebSocket
// to aslrec serve (/v1/stream) -> current sign and transcript. The video never leaves the page.
//
// Two trackers, both from npm and served by aslrec itself (no CDN):
// - "tasks" (default): MediaPipe Tasks Vision's HandLandmarker on the CPU (WebAssembly), with
//   the hand model that aslrec builds from its own MediaPipe wheel (GET /models/hand_landmarker.task),
//   i.e. the very model `aslrec predict` tracks videos with. Measured in headless Chromium
//   without a GPU: ~80 ms a frame, against ~2 s for the other one.
// - "hands" (?engine=hands): the @mediapipe/hands solution, which runs on WebGL (fast with a
//   GPU, very slow in software).
//
// Hand slots. Tasks labels each hand as the signer's own ("Right" = the signer's right hand,
// handedness "signer"); the Hands solution labels as if the image were a mirror, so its "Left"
// is the signer's right (handedness "selfie"). Both trackers get the camera's frames
// un-mirrored (the page mirrors only what it draws), the page sends the raw labels with their
// handedness mode, and the server assigns aslrec's slots (0 = signer's left, 1 = signer's
// right) with the Python tracker's own pipeline (aslrec.landmarks.hands.HandSlotter). slotOf()
// below makes the same per-frame mapping, only to colour the drawing.
"use strict";

(() => {
  const SEND_FPS = 30; // the server accepts up to 60 frames/s per socket
  const NO_HANDS_AFTER_MS = 1500;
  const MAX_BUFFERED = 256 * 1024;
  const COLORS = ["#f28c28", "#2d8cf0"]; // signer's left, signer's right
  // the 21-point hand skeleton (MediaPipe's HAND_CONNECTIONS)
  const CONNECTIONS = [
    [0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [5, 9], [9, 10], [10, 11],
    [11, 12], [9, 13], [13, 14], [14, 15], [15, 16], [13, 17], [0, 17], [17, 18], [18, 19], [19, 20],
  ];

  // Everything the page knows, also for tests and debugging (window.aslrec).
  const state = {
    status: "starting",
    key: null, // "missing" | "wrong" once the server refused this page's ?key= (or its absence)
    camera: null, // "ok" | "denied" | "missing" | "error"
    engine: null, // "tasks" | "hands"
    tracking: false,
    connected: false,
    labels: [],
    results: 0,
    handFrames: 0,
    handsNow: 0, // hands in the latest tracked frame
    framesSent: 0,
    notSent: 0,
    partials: 0,
    trackMs: null, // mean time of one MediaPipe Hands call (ms)
    prediction: null, // {label, probability, top_k, final}
    events: [],
    slotCounts: [0, 0], // frames in which the server put a hand in slot 0 / slot 1
    warnings: [],
    errors: [],
  };
  window.aslrec = state;

  const $ = (id) => document.getElementById(id);
  const video = $("video");
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");

  const params = new URLSearchParams(window.location.search);
  const KEY = params.get("key");
  const ENGINE = params.get("engine") === "hands" ? "hands" : "tasks";
  const HANDEDNESS = ENGINE === "hands" ? "selfie" : "signer";
  state.engine = ENGINE;

  // A copy of aslrec.landmarks.hands.LABEL_SLOTS (label -> slot per handedness convention),
  // kept here so the drawing needs no round trip; tests/serving/test_page.py checks it is equal.
  const LABEL_SLOTS = { selfie: { Left: 1, Right: 0 }, signer: { Left: 0, Right: 1 } };

  function slotOf(label) {
    return LABEL_SLOTS[HANDEDNESS][label === "Right" ? "Right" : "Left"];
  }

  function setStatus(text, bad = false) {
    if (state.key) return; // nothing works without the key: its message stays
    state.status = text;
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("bad", bad);
  }

  function showMessage(text) {
    if (state.key) return; // the key's message stays
    const el = $("message");
    el.textContent = text;
    el.hidden = !text;
  }

  // -------------------------------------------------------------------------------- API key
  // A server started with --api-key refuses the socket without it. Browsers cannot set headers
  // on a WebSocket, so the page takes the key from its own address (/?key=...) and checks it
  // first, before asking for the camera or loading hand tracking, neither of which helps then.
  function keyRefused() {
    showMessage(
      KEY
        ? "The server refused this page's API key: open the page as /?key=YOUR_KEY with the key the server was started with (aslrec serve --api-key)."
        : "The server needs an API key: open this page as /?key=YOUR_KEY (the key given to aslrec serve --api-key).",
    );
    setStatus("API key needed", true);
    state.key = KEY ? "wrong" : "missing";
  }

  // false when the server says the key is missing or wrong; anything else (the server down,
  // a proxy error) is left to the socket's retries
  async function keyAccepted() {
    try {
      const response = await fetch(new URL("v1/labels", window.location.href), {
        headers: KEY ? { "X-API-Key": KEY } : {},
      });
      if (response.status === 401) {
        keyRefused();
        return false;
      }
    } catch {
      // the server is unreachable: the socket reports it, and retries
    }
    return true;
  }

  // ---------------------------------------------------------------------------------- socket
  let ws = null;
  let retryMs = 1000;

  function streamUrl() {
    const url = new URL("v1/stream", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("unknown", "true");
    if (KEY) url.searchParams.set("api_key", KEY);
    return url.toString();
  }

  function connect() {
    ws = new WebSocket(streamUrl());
    ws.onopen = () => {
      retryMs = 1000;
    };
    ws.onmessage = (msg) => {
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch {
        return;
      }
      handleMessage(data);
    };
    ws.onclose = (ev) => {
      state.connected = false;
      if (ev.code === 1008 && ev.reason === "unauthorized") {
        keyRefused(); // e.g. the server restarted with another key
        return;
      }
      setStatus(`Disconnected from the server; retrying in ${retryMs / 1000} s…`, true);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  function handleMessage(data) {
    switch (data.type) {
      case "ready":
        state.connected = true;
        state.labels = data.labels || [];
        setStatus(`Connected: ${state.labels.length} signs known`);
        break;
      case "partial":
        state.partials += 1;
        if (Array.isArray(data.presence)) {
          data.presence.forEach((seen, slot) => {
            if (seen) state.slotCounts[slot] += 1;
          });
        }
        if (data.label) {
          showPrediction({ label: data.label, probability: data.probability, top_k: data.top_k, final: false });
        }
        break;
      case "event":
        state.events.push(data);
        addWord(data);
        showPrediction({ label: data.label, probability: data.probability, top_k: data.top_k, final: true });
        break;
      case "warning":
        state.warnings.push(data);
        break;
      case "error":
        state.errors.push(data);
        setStatus(`Server: ${data.message}`, true);
        break;
      default:
        break;
    }
  }

  function send(message) {
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.connected || ws.bufferedAmount > MAX_BUFFERED) {
      state.notSent += 1;
      return;
    }
    ws.send(JSON.stringify(message));
    state.framesSent += 1;
  }

  // ----------------------------------------------------------------------------------- display
  function showPrediction(pred) {
    state.prediction = pred;
    const known = pred.label !== "unknown";
    const label = $("label");
    label.textContent = known ? pred.label : "?";
    label.classList.toggle("provisional", !pred.final);
    const pct = Math.round((pred.probability || 0) * 100);
    $("bar").style.width = `${pct}%`;
    $("confidence").textContent = pred.final
      ? known
        ? `${pct}% confident`
        : `not sure (best guess ${pct}%)`
      : `${pct}% so far…`;
    const list = $("topk");
    list.replaceChildren(
      ...(pred.top_k || []).map((item) => {
        const li = document.createElement("li");
        li.textContent = `${item.label} ${Math.round(item.probability * 100)}%`;
        return li;
      }),
    );
  }

  function addWord(event) {
    const span = document.createElement("span");
    const known = event.known !== false && event.label !== "unknown";
    span.className = known ? "word" : "word unknown";
    span.textContent = known ? event.label : "?";
    span.title = `${event.start_s.toFixed(1)}–${event.end_s.toFixed(1)} s, ${Math.round(event.probability * 100)}%`;
    $("transcript").appendChild(span);
  }

  $("clear").addEventListener("click", () => {
    $("transcript").replaceChildren();
    state.events = [];
  });

  // The frame that was tracked, mirrored for the user (landmarks stay in camera coordinates).
  function drawFrame(image) {
    const w = video.videoWidth || canvas.width;
    const h = video.videoHeight || canvas.height;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.save();
    ctx.translate(w, 0);
    ctx.scale(-1, 1);
    ctx.drawImage(image, 0, 0, w, h);
    ctx.restore();
  }

  function drawHands(hands) {
    const w = canvas.width;
    const h = canvas.height;
    ctx.save();
    ctx.translate(w, 0);
    ctx.scale(-1, 1);
    for (const hand of hands) {
      const points = hand.points;
      ctx.strokeStyle = COLORS[slotOf(hand.label)];
      ctx.lineWidth = Math.max(2, w / 240);
      for (const [a, b] of CONNECTIONS) {
        ctx.beginPath();
        ctx.moveTo(points[a].x * w, points[a].y * h);
        ctx.lineTo(points[b].x * w, points[b].y * h);
        ctx.stroke();
      }
      ctx.fillStyle = "#fff";
      for (const p of points) {
        ctx.beginPath();
        ctx.arc(p.x * w, p.y * h, Math.max(2.5, w / 200), 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  // ------------------------------------------------------------------------------- tracking
  const t0 = performance.now();
  let lastT = -1;
  let lastSentMs = -Infinity;
  let lastHandMs = performance.now();

  function round(v) {
    return Math.round(v * 1e5) / 1e5;
  }

  // hands: [{label: "Left" | "Right", score, points: [{x, y, z}] x 21}]
  function onHands(hands) {
    state.results += 1;
    state.handsNow = hands.length;
    drawHands(hands);
    const now = performance.now();
    if (hands.length) {
      state.handFrames += 1;
      lastHandMs = now;
    }
    $("nohands").hidden = now - lastHandMs < NO_HANDS_AFTER_MS;
    if (now - lastSentMs < 1000 / SEND_FPS - 2) return;
    lastSentMs = now;
    let t = (now - t0) / 1000;
    if (t <= lastT) t = lastT + 0.001;
    lastT = t;
    send({
      type: "frame",
      t: round(t),
      handedness: HANDEDNESS,
      hands: hands.slice(0, 2).map((hand) => ({
        label: hand.label === "Right" ? "Right" : "Left",
        score: Math.min(1, Math.max(0, hand.score || 0)),
        landmarks: hand.points.map((p) => [round(p.x), round(p.y), round(p.z)]),
      })),
    });
  }

  function timed(ms) {
    state.trackMs = state.trackMs === null ? ms : 0.8 * state.trackMs + 0.2 * ms;
  }

  // Each tracker: async () => (async () => void), the per-frame step.
  async function tasksTracker() {
    const base = new URL("static/mediapipe/tasks-vision/", window.location.href).href;
    const vision = await import(`${base}vision_bundle.mjs`);
    const fileset = await vision.FilesetResolver.forVisionTasks(`${base}wasm`);
    const landmarker = await vision.HandLandmarker.createFromOptions(fileset, {
      baseOptions: {
        modelAssetPath: new URL("models/hand_landmarker.task", window.location.href).href,
        delegate: params.get("delegate") === "GPU" ? "GPU" : "CPU",
      },
      runningMode: "VIDEO",
      numHands: 2,
      minHandDetectionConfidence: 0.5,
      minHandPresenceConfidence: 0.5,
      minTrackingConfidence: 0.5,
    });
    let lastMs = -1;
    return async () => {
      const started = performance.now();
      const ms = Math.max(started, lastMs + 1); // VIDEO mode wants increasing timestamps
      lastMs = ms;
      drawFrame(video); // drawn and tracked in the same task: the same frame
      const result = landmarker.detectForVideo(video, ms);
      timed(performance.now() - started);
      onHands(
        (result.landmarks || []).map((points, i) => {
          const best = ((result.handedness || [])[i] || [])[0] || {};
          return { label: best.categoryName, score: best.score, points };
        }),
      );
    };
  }

  async function handsTracker() {
    await new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "static/mediapipe/hands/hands.js";
      script.onload = resolve;
      script.onerror = () => reject(new Error("MediaPipe Hands did not load"));
      document.head.appendChild(script);
    });
    const hands = new window.Hands({ locateFile: (file) => `static/mediapipe/hands/${file}` });
    hands.setOptions({
      maxNumHands: 2,
      modelComplexity: params.get("lite") === "1" ? 0 : 1,
      minDetectionConfidence: 0.5,
      minTrackingConfidence: 0.5,
      selfieMode: false,
    });
    hands.onResults((results) => {
      drawFrame(results.image || video);
      const handedness = results.multiHandedness || [];
      onHands(
        (results.multiHandLandmarks || []).map((points, i) => ({
          label: (handedness[i] || {}).label,
          score: (handedness[i] || {}).score,
          points,
        })),
      );
    });
    await hands.initialize();
    return async () => {
      const started = performance.now();
      await hands.send({ image: video });
      timed(performance.now() - started);
    };
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      state.camera = "error";
      showMessage("This browser gives the page no camera: open it as http://localhost:PORT/ (or over https) in a current browser.");
      return false;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
      video.srcObject = stream;
      await video.play();
      state.camera = "ok";
      return true;
    } catch (err) {
      const name = err && err.name;
      if (name === "NotAllowedError" || name === "SecurityError") {
        state.camera = "denied";
        showMessage("Camera access was not allowed. Allow the camera for this page (the camera icon in the address bar), then reload.");
      } else if (name === "NotFoundError" || name === "OverconstrainedError") {
        state.camera = "missing";
        showMessage("No camera was found. Connect a camera, then reload.");
      } else {
        state.camera = "error";
        showMessage(`The camera could not be started (${name || "error"}: ${err && err.message}). Is another program using it?`);
      }
      setStatus("No camera", true);
      return false;
    }
  }

  async function main() {
    if (!(await keyAccepted())) return;
    connect();
    if (!(await startCamera())) return;
    setStatus("Loading hand tracking…");
    let step;
    try {
      step = await (ENGINE === "hands" ? handsTracker() : tasksTracker());
    } catch (err) {
      showMessage(
        `Hand tracking failed to start (${err && err.message ? err.message : err}). ` +
          "If the page was not built, run `make web` and restart aslrec serve.",
      );
      setStatus("Hand tracking failed", true);
      return;
    }
    state.tracking = true;
    if (state.connected) setStatus(`Connected: ${state.labels.length} signs known`);
    let busy = false;
    const tick = async () => {
      if (!busy && video.readyState >= 2) {
        busy = true;
        try {
          await step();
        } catch (err) {
          state.errors.push({ code: "tracking", message: String(err) });
        }
        busy = false;
      }
      schedule();
    };
    const schedule = () => {
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(tick);
      else requestAnimationFrame(tick);
    };
    schedule();
  }

  main();
})();
