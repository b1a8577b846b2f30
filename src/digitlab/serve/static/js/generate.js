// Generate tab (issue 14): new digits from a generative run (a grid of one digit or of all, or walks from one digit to
// another), saved as PNG; the run's figures and warnings, and its sample grid after each epoch to replay how the
// digits formed.
import { ApiError, api } from './api.js';
import { $, fill, h, pct } from './dom.js';
import { t } from './i18n.js';

export const MAX_N = 256; // digits per request (the server's limit)
export const MAX_SEED = 2 ** 31 - 1; // the server's limit too
const PLAY_MS = 600; // how long each epoch's grid shows when replaying
const EPOCH_SCALE = 3; // the epoch grids are stored at 1 screen pixel per digit pixel: shown 3x larger
const COLUMNS = ['epoch', 'fid', 'class_acc', 'precision', 'recall', 'd_acc', 'g_loss', 'd_loss'];
const view = { ready: false, loaded: false, runs: [], grid: null, timer: null, play: null };

/** A form field's text as a number ('' is no number, not 0). */
const number = (text) => (String(text ?? '').trim() === '' ? NaN : Number(text));
const fixed = (value, digits) => (typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–');

/** The JSON body of POST /api/generate from the form's values (texts); throws an Error with the sentence to show. */
export function generateRequest({ run, digit, n, seed, walk, from, to }) {
  if (!run) throw new Error(t('gen.noRun'));
  const count = number(n);
  if (!Number.isInteger(count) || count < 1 || count > MAX_N) throw new Error(t('gen.badN', { max: MAX_N }));
  const s = number(seed);
  if (!Number.isInteger(s) || s < 0 || s > MAX_SEED) throw new Error(t('gen.badSeed', { max: MAX_SEED }));
  return {
    run, n: count, seed: s,
    digit: walk || digit === 'all' ? null : number(digit),
    interpolate: walk ? [number(from), number(to)] : null,
  };
}

/** The download's file name: digitlab-7s.png, digitlab-all.png, digitlab-3-to-8.png. */
export function gridFileName(req) {
  if (req.interpolate) return `digitlab-${req.interpolate[0]}-to-${req.interpolate[1]}.png`;
  return req.digit === null ? 'digitlab-all.png' : `digitlab-${req.digit}s.png`;
}

/** "16 digits sampled in 3.2 ms on the server" (the sampling alone, as the server timed it). */
export function tookText(count, ms) {
  return t('gen.took', { n: count, ms: fixed(ms, 1) });
}

/** A failure-mode warning in the current language (the server's English sentence for a code this page does not know). */
export function warningText(w) {
  const key = `gen.warn.${w.code}`;
  const said = w.code ? t(key, w) : key;
  return said === key ? w.text : said;
}

/** The run's final figures on the test split in one sentence. */
export function qualityText(q) {
  if (!q) return t('gen.noQuality');
  return t('gen.quality', {
    fid: fixed(q.fid, 2), floor: fixed(q.fid_floor, 2), ratio: fixed(q.fid_ratio, 1), acc: pct(q.class_acc, 1),
    precision: fixed(q.precision, 3), recall: fixed(q.recall, 3),
  });
}

/** "Epoch 3 of 10: Fréchet distance 41.20, judge accuracy 87.5 %". */
export function epochCaption(row, of) {
  return t('gen.epochCaption', { epoch: row.epoch, of, fid: fixed(row.fid, 2), acc: pct(row.class_acc, 1) });
}

/** One figure of the per-epoch table, formatted. */
export function epochCell(row, key) {
  if (key === 'epoch') return String(row.epoch);
  if (key === 'class_acc' || key === 'd_acc') return pct(row[key], 1);
  return fixed(row[key], key === 'fid' ? 2 : 3);
}

/** POST the request: the grid as a Blob, how many digits, and the sampling time (ms) the server measured. */
export async function fetchGrid(req) {
  let response;
  try {
    const headers = { 'Content-Type': 'application/json' };
    response = await fetch('/api/generate', { method: 'POST', headers, body: JSON.stringify(req) });
  } catch {
    throw new ApiError(t('error.network'), 0);
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(data?.detail || `${response.status} ${response.statusText}`, response.status);
  }
  const count = Number(response.headers.get('X-Generate-Count'));
  return { blob: await response.blob(), count, ms: Number(response.headers.get('X-Generate-Ms')) };
}

const selected = () => view.runs.find((r) => r.name === $('#gen-run').value) ?? null;

function formValues() {
  const value = (id) => $(`#gen-${id}`).value;
  return { run: value('run'), digit: value('digit'), n: value('n'), seed: value('seed'), walk: $('#gen-walk').checked, from: value('from'), to: value('to') };
}

function say(kind, text) {
  fill($('#gen-message'), text ? h('p', { class: kind }, text) : null);
}

async function generate() {
  let req;
  try {
    req = generateRequest(formValues());
  } catch (err) {
    return say('error', err.message);
  }
  const button = $('#gen-go');
  button.disabled = true;
  say('muted', t('gen.working'));
  try {
    const { blob, count, ms } = await fetchGrid(req);
    if (view.grid) URL.revokeObjectURL(view.grid.url); // the previous grid's bytes are let go
    view.grid = { url: URL.createObjectURL(blob), file: gridFileName(req), count, ms };
    say();
    renderGrid();
  } catch (err) {
    say('error', err.message);
  } finally {
    button.disabled = !selected()?.weights;
  }
}

function renderGrid() {
  const g = view.grid;
  const head = h('h2', {}, t('gen.result'));
  if (!g) return fill($('#gen-result'), head, h('p', { class: 'muted' }, t('gen.noResult')));
  fill($('#gen-result'), head,
    h('p', { class: 'muted', 'data-testid': 'gen-took' }, tookText(g.count, g.ms)),
    h('img', { class: 'gen-grid', src: g.url, alt: t('gen.gridAlt') }),
    h('p', {}, h('a', { class: 'button', href: g.url, download: g.file, 'data-testid': 'gen-download' }, t('gen.download', { file: g.file }))));
}

function stopReplay() {
  clearInterval(view.timer);
  view.timer = null;
  if (view.play) view.play.textContent = t('gen.play');
}

/** The epochs' grids under a slider, with a button that plays them in order. */
function replay(rows, of) {
  const img = h('img', { class: 'gen-epoch', alt: '' });
  img.addEventListener('load', () => { img.width = img.naturalWidth * EPOCH_SCALE; });
  const caption = h('figcaption', { 'data-testid': 'gen-epoch-caption' });
  const slider = h('input', { type: 'range', min: '1', max: String(rows.length), step: '1', 'aria-label': t('gen.epochSlider') });
  const show = (i) => {
    img.src = rows[i].grid;
    img.alt = t('gen.epochAlt', { epoch: rows[i].epoch });
    caption.textContent = epochCaption(rows[i], of);
    slider.value = String(i + 1);
  };
  slider.addEventListener('input', () => { stopReplay(); show(Number(slider.value) - 1); });
  const play = h('button', { type: 'button', onclick: () => {
    if (view.timer) return stopReplay();
    let i = Number(slider.value) % rows.length; // after the last epoch, from the first again
    play.textContent = t('gen.pause');
    const step = () => { show(i); i += 1; if (i >= rows.length) stopReplay(); };
    step();
    view.timer = setInterval(step, PLAY_MS);
  } }, t('gen.play'));
  view.play = play;
  show(rows.length - 1);
  return h('figure', { class: 'gen-replay' }, h('div', { class: 'row' }, play, slider), caption, img);
}

function epochTable(r) {
  const head = h('tr', {}, COLUMNS.map((k) => h('th', { scope: 'col' }, t(`gen.col.${k}`))));
  const rows = r.epochs.map((e) => h('tr', { class: e.epoch === r.best_epoch ? 'best' : undefined }, COLUMNS.map((k) => h('td', {}, epochCell(e, k)))));
  return h('details', {}, h('summary', {}, t('gen.table')), h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, head), h('tbody', {}, rows))));
}

function renderRun() {
  stopReplay();
  view.play = null;
  const r = selected();
  const box = $('#gen-run-detail');
  box.hidden = !r;
  $('#gen-go').disabled = !r?.weights;
  if (!r) return;
  const grids = r.epochs.filter((e) => e.grid);
  fill(box, h('h2', {}, t('gen.runTitle', { name: r.name })),
    h('p', {}, `${r.model} · ${r.key_params} · ${t(`status.${r.status}`)}`),
    r.weights ? null : h('p', { class: 'error' }, t('gen.noWeights')),
    r.best_epoch ? h('p', {}, t('gen.bestEpoch', { epoch: r.best_epoch })) : null,
    h('p', {}, qualityText(r.quality), r.judge ? ` ${t('gen.judge', { judge: r.judge })}` : ''),
    r.warnings.map((w) => h('p', { class: 'warning', 'data-testid': 'gen-warning' }, h('strong', {}, t('gen.warning')), ' ', warningText(w))),
    h('h3', {}, t('gen.epochs')), h('p', { class: 'muted' }, t('gen.epochHint')),
    grids.length ? replay(grids, r.epochs_done) : h('p', { class: 'muted' }, t('gen.noEpochs')),
    r.epochs.length ? epochTable(r) : null);
}

function renderRuns() {
  const select = $('#gen-run');
  const keep = select.value;
  const label = (r) => t('gen.option', { name: r.name, model: r.model, status: t(`status.${r.status}`) });
  fill(select, view.runs.map((r) => h('option', { value: r.name }, label(r))));
  const usable = view.runs.filter((r) => r.weights);
  const pick = view.runs.some((r) => r.name === keep) ? keep : (usable.at(-1) ?? view.runs.at(-1))?.name;
  if (pick) select.value = pick;
  $('#gen-none').hidden = view.runs.length > 0;
}

/** Reload the generative runs (the choice of run is kept when it is still there). */
export async function refreshGenerators() {
  try {
    view.runs = await api('/api/generators');
    view.loaded = true;
    renderRuns();
    renderRun();
  } catch (err) {
    say('error', err.message);
  }
}

function walkChanged() {
  const walk = $('#gen-walk').checked;
  $('#gen-digit').disabled = walk;
  $('#gen-from').disabled = !walk;
  $('#gen-to').disabled = !walk;
}

export function initGenerate() {
  $('#gen-form').addEventListener('submit', (e) => { e.preventDefault(); generate(); });
  $('#gen-run').addEventListener('change', renderRun);
  $('#gen-walk').addEventListener('change', walkChanged);
  $('#gen-reseed').addEventListener('click', () => {
    $('#gen-seed').value = String(Math.floor(Math.random() * 100_000));
    generate();
  });
  view.ready = true;
  walkChanged();
  renderGrid();
}

/** Re-render with the current language. */
export function relabelGenerate() {
  if (!view.ready) return;
  renderGrid();
  if (!view.loaded) return;
  renderRuns();
  renderRun();
}
