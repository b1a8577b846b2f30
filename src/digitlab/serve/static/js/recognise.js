// Recognise tab: pictures (drop, choose, paste, camera) and the drawing pad, answered on this device (ONNX Runtime
// Web and the ported pipeline, ondevice/) or by the server's API; the device is the default where WebAssembly runs.
import { answerView } from './answer.js';
import { api } from './api.js';
import { DrawPad, scaledCopy } from './draw.js';
import { $, debounce, fill, h } from './dom.js';
import { t } from './i18n.js';
import { whyButton } from './inside.js';
import { state } from './state.js';

let padRequest = null; // AbortController of the drawing's request in flight
const shown = { pictures: [], drawing: null, drawn: null }; // answers on screen (re-rendered when the language changes); the drawing's picture
const ENGINE_KEY = 'digitlab-engine';
const ondevice = () => import('./ondevice/device.js'); // loaded when first needed: not part of the page's first load
let deviceNote = null; // [key, values] of the device's status line

export const isStatic = () => document.documentElement.dataset.mode === 'static';
const canUseDevice = () => typeof WebAssembly === 'object';

/** 'device' or 'server': the reader's choice, the device by default (a static copy of the app has no server). */
export function engine() {
  if (isStatic()) return 'device';
  const chosen = localStorage.getItem(ENGINE_KEY);
  return chosen === 'server' || !canUseDevice() ? 'server' : 'device';
}

function deviceStatus(key, values = {}) {
  deviceNote = key ? [key, values] : null;
  fill($('#device-status'), key ? t(key, values) : '');
}

/** Load the model and runtime onto the device (once; `fresh` after a model switch); falls back to the server. */
export async function warmDevice({ fresh = false } = {}) {
  if (engine() !== 'device') return deviceStatus(null);
  deviceStatus('device.loading');
  try {
    const loaded = await (await ondevice()).device({ fresh });
    deviceStatus('device.ready', { model: loaded.meta.model, mb: (loaded.bytes / 1e6).toFixed(1), ms: Math.round(loaded.ms) });
    return loaded;
  } catch (err) {
    deviceStatus('device.failed', { reason: err.message });
    if (!isStatic()) $('#engine').value = 'server';
    return null;
  }
}

const FIRST_USE = ['pointerdown', 'dragenter', 'focusin', 'paste'];
// px: a drawing is read at 5x MNIST's side (the pad is 280 px): a 20-px digit keeps its strokes, and the pipeline
// reads a quarter of the pixels (on the device as on the server: both get this same picture)
const READ_SIDE = 140;

/** The picture of a drawing that is read, on the device or by the server. */
export const drawingPicture = (canvas) => scaledCopy(canvas, READ_SIDE);
const useDevice = () => engine() === 'device' && $('#engine').value === 'device';

/** The "why?" maker for a picture's answer: the server looks inside its model (none in a static copy: no server). */
const whyOf = (picture) => (isStatic() ? null : (i) => whyButton(picture, i));

function renderAnswers() {
  fill($('#answers'), shown.pictures.map(({ answer, thumb, file }) => answerView(answer, thumb, whyOf(file))));
  if (shown.drawing) fill($('#pad-answer'), answerView({ ...shown.drawing, source: t('rec.drawing') }, undefined, whyOf(shown.drawn)));
  if (deviceNote) deviceStatus(...deviceNote);
}

function status(text, isError = false) {
  fill($('#rec-status'), text ? h('p', { class: isError ? 'error' : 'muted' }, text) : '');
}

/** The pictures in batches within the server's per-request limits on files and bytes. */
function batches(pictures, limits) {
  const most = limits?.max_files || 20, bytes = limits?.max_request_bytes || Infinity;
  const out = [[]];
  let size = 0;
  for (const f of pictures) {
    const last = out[out.length - 1];
    if (last.length && (last.length >= most || size + f.size > bytes)) { out.push([]); size = 0; }
    out[out.length - 1].push(f);
    size += f.size;
  }
  return out;
}

/** The answers to one batch; one over the request's pixel limit (413) is sent again in halves. */
async function send(batch, first) {
  const form = new FormData();
  batch.forEach((f, k) => form.append('files', f, f.name || `pasted-${first + k + 1}.png`));
  try {
    return await api('/api/predict', { method: 'POST', body: form });
  } catch (err) {
    if (err.status !== 413 || batch.length < 2) throw err;
    const half = Math.ceil(batch.length / 2);
    return [...await send(batch.slice(0, half), first), ...await send(batch.slice(half), first + half)];
  }
}

/** Read pictures on this device, one by one, showing each answer as it comes. */
async function onDevice(pictures) {
  const { recogniseFile } = await ondevice();
  for (const file of pictures) {
    const answer = await recogniseFile(file, (key, values) => t(key, values));
    shown.pictures.push({ answer, thumb: URL.createObjectURL(file), file });
    renderAnswers();
  }
}

/** Send pictures to the server in batches of its per-request limits and show every answer. */
async function onServer(pictures) {
  let first = 0;
  for (const batch of batches(pictures, state.info?.limits)) {
    const answers = await send(batch, first);
    answers.forEach((answer, k) => shown.pictures.push({ answer, thumb: URL.createObjectURL(batch[k]), file: batch[k] }));
    renderAnswers();
    first += batch.length;
  }
}

/** Read the pictures (on the device or the server) and show every answer. */
export async function recognise(files) {
  const pictures = [...files].filter((f) => f.type.startsWith('image/') || !f.type);
  if (!pictures.length) return status(t('rec.noImages'), true);
  shown.pictures.forEach(({ thumb }) => URL.revokeObjectURL(thumb));
  shown.pictures = [];
  renderAnswers();
  status(t('rec.reading', { n: pictures.length }));
  try {
    await (useDevice() && await warmDevice() ? onDevice(pictures) : onServer(pictures));
    status('');
  } catch (err) {
    status(err.message, true);
  }
}

async function predictDrawing(pad) {
  padRequest?.abort();
  if (pad.empty) {
    shown.drawing = null;
    return fill($('#pad-answer'), h('p', { class: 'muted', 'data-i18n': 'rec.drawHint' }, t('rec.drawHint')));
  }
  padRequest = new AbortController();
  const request = padRequest;
  const picture = drawingPicture(pad.canvas);
  try {
    const answer = useDevice() && await warmDevice()
      ? await (await ondevice()).recogniseCanvas(picture)
      : await api('/api/predict/canvas', { method: 'POST', json: { pixels: picture.toDataURL('image/png') }, signal: request.signal });
    if (request.signal.aborted) return; // a newer stroke is being read
    shown.drawing = answer;
    shown.drawn = picture;
    renderAnswers();
  } catch (err) {
    if (err.name !== 'AbortError') fill($('#pad-answer'), h('p', { class: 'error' }, err.message));
  }
}

function wireDropZone() {
  const zone = $('#dropzone');
  const input = $('#file-input');
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } });
  for (const type of ['dragenter', 'dragover']) zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    recognise(e.dataTransfer.files);
  });
  for (const el of [input, $('#camera-input')]) {
    el.addEventListener('change', () => { recognise(el.files); el.value = ''; });
  }
  document.addEventListener('paste', (e) => {
    if (state.tab !== 'recognise') return;
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) { e.preventDefault(); recognise(files); }
  });
}

function wireEngine() {
  const select = $('#engine');
  select.value = engine();
  select.hidden = isStatic(); // a static copy has no server to choose
  $('label[for=engine]').hidden = isStatic();
  select.addEventListener('change', () => {
    localStorage.setItem(ENGINE_KEY, select.value);
    warmDevice();
  });
  // The runtime (14 MB of WebAssembly) and the model are fetched when first needed: as soon as the reader starts to
  // draw, drops, chooses or pastes a picture, so the page's first load stays small; then they are kept offline.
  const area = $('#tab-recognise');
  const start = () => { for (const type of FIRST_USE) area.removeEventListener(type, start); warmDevice(); };
  for (const type of FIRST_USE) area.addEventListener(type, start);
}

export function initRecognise() {
  wireEngine();
  wireDropZone();
  const pad = new DrawPad($('#pad'), debounce(predictDrawing, 150));
  $('#pad-undo').addEventListener('click', () => pad.undo());
  $('#pad-clear').addEventListener('click', () => pad.clear());
}

/** Re-render the answers on screen with the current language. */
export function relabelRecognise() {
  renderAnswers();
}
