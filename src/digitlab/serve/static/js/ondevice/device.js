// The recogniser on this device: the model's files (model.json + model.onnx) and the runtime, fetched when first
// needed and kept by the service worker, then every picture and drawing is answered here, with the network cut or not.
// Answers have the server's shape (Answer.to_dict()), so the page shows them the same way.
import { canvasGray, fileGray, PictureError, toInput } from './picture.js';
import { createPredictor } from './predictor.js';
import { runtimeFiles, session } from './runtime.js';

/** Where the model's files are: beside a static copy of the app (digitlab export --web), else the server's current model. */
export function modelBase() {
  return document.documentElement.dataset.mode === 'static' ? 'model/' : 'api/models/current/';
}

async function fetchOk(url, as) {
  const r = await fetch(url, { cache: 'no-cache' });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  return r[as]();
}

/** Load the model and the runtime: {id, meta, predictor, bytes, ms}. */
async function load(base) {
  const t0 = performance.now();
  const [meta, bytes] = await Promise.all([fetchOk(`${base}model.json`, 'json'), fetchOk(`${base}model.onnx`, 'arrayBuffer')]);
  const run = await session(new Uint8Array(bytes));
  keepOffline([`${base}model.json`, `${base}model.onnx`].map((u) => new URL(u, document.baseURI).href).concat(runtimeFiles()));
  return { id: meta.id, meta, bytes: bytes.byteLength, predictor: createPredictor({ meta, run }), ms: performance.now() - t0 };
}

/** Ask the service worker to keep these files (the first visit fetched them before it controlled the page). */
function keepOffline(urls) {
  navigator.serviceWorker?.ready.then((registration) => registration.active?.postMessage({ keep: urls })).catch(() => {});
}

let current = null; // Promise of the loaded recogniser

/** The recogniser, loading it on first use; `fresh` reloads it (another model was chosen on the server). */
export function device({ fresh = false } = {}) {
  if (fresh || !current) current = load(modelBase()).catch((err) => { current = null; throw err; });
  return current;
}

/** The answer for one picture file, read on the device; a picture that cannot be read gives an answer with `error`. */
export async function recogniseFile(file, message = (key) => key) {
  const t0 = performance.now();
  const { predictor } = await device();
  const source = file.name || 'picture';
  try {
    const { gray, size } = await fileGray(file);
    const answer = await predictor.predictGray(gray, { source, toInput: (b) => toInput(b, gray, size) });
    return { ...answer, ms: Math.round((performance.now() - t0) * 100) / 100, engine: 'device' };
  } catch (err) {
    if (!(err instanceof PictureError)) throw err;
    return { source, text: '', error: message(err.key, err.values), ms: performance.now() - t0, verdict: null, digits: [], engine: 'device' };
  }
}

/** The answer for the drawing pad's canvas, read on the device. */
export async function recogniseCanvas(canvas, source = 'canvas') {
  const t0 = performance.now();
  const { predictor } = await device();
  const { gray } = canvasGray(canvas);
  const answer = await predictor.predictGray(gray, { source });
  return { ...answer, ms: Math.round((performance.now() - t0) * 100) / 100, engine: 'device' };
}
