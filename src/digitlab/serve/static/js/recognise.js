// Recognise tab: pictures (drop, choose, paste, camera) and the drawing pad, answered by the API.
import { answerView } from './answer.js';
import { api } from './api.js';
import { DrawPad } from './draw.js';
import { $, debounce, fill, h } from './dom.js';
import { t } from './i18n.js';
import { state } from './state.js';

let padRequest = null; // AbortController of the drawing's request in flight
const shown = { pictures: [], drawing: null }; // answers on screen, re-rendered when the language changes

function renderAnswers() {
  fill($('#answers'), shown.pictures.map(({ answer, thumb }) => answerView(answer, thumb)));
  if (shown.drawing) fill($('#pad-answer'), answerView({ ...shown.drawing, source: t('rec.drawing') }));
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

/** Send pictures in batches of the server's per-request limits and show every answer. */
export async function recognise(files) {
  const pictures = [...files].filter((f) => f.type.startsWith('image/') || !f.type);
  if (!pictures.length) return status(t('rec.noImages'), true);
  shown.pictures.forEach(({ thumb }) => URL.revokeObjectURL(thumb));
  shown.pictures = [];
  renderAnswers();
  status(t('rec.reading', { n: pictures.length }));
  try {
    let first = 0;
    for (const batch of batches(pictures, state.info?.limits)) {
      const answers = await send(batch, first);
      answers.forEach((answer, k) => shown.pictures.push({ answer, thumb: URL.createObjectURL(batch[k]) }));
      renderAnswers();
      first += batch.length;
    }
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
  try {
    shown.drawing = await api('/api/predict/canvas', { method: 'POST', json: { pixels: pad.dataUrl() }, signal: padRequest.signal });
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

export function initRecognise() {
  wireDropZone();
  const pad = new DrawPad($('#pad'), debounce(predictDrawing, 150));
  $('#pad-undo').addEventListener('click', () => pad.undo());
  $('#pad-clear').addEventListener('click', () => pad.clear());
}

/** Re-render the answers on screen with the current language. */
export function relabelRecognise() {
  renderAnswers();
}
