// Runs tab: a sortable, filterable table; overlaid curves of selected runs; one run's config, log and plots.
import { api } from './api.js';
import { curveChart } from './charts.js';
import { $, fill, h, pct, secs } from './dom.js';
import { language, t } from './i18n.js';

const COLUMNS = [
  ['name', (r) => r.name], ['status', (r) => r.status], ['model', (r) => r.model],
  ['params', (r) => r.key_params], // computed once, by the server (records.key_params)
  ['generation', (r) => r.generation ?? ''], ['best_val_acc', (r) => r.best_val_acc], ['test_acc', (r) => r.test_acc],
  ['train_seconds', (r) => r.train_seconds], ['created_at', (r) => r.created_at],
];
const SHOW = { best_val_acc: pct, test_acc: pct, train_seconds: secs, created_at: (v) => (v || '').replace('T', ' ').slice(0, 19) };
const view = { runs: [], sort: 'created_at', desc: true, filter: '', selected: new Set(), doctor: null };

function visibleRuns() {
  const words = view.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const key = COLUMNS.find(([k]) => k === view.sort)[1];
  const rows = view.runs.filter((r) => words.every((w) => COLUMNS.some(([, get]) => String(get(r) ?? '').toLowerCase().includes(w))));
  return rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const order = x === y ? 0 : (x === null || x === undefined) ? 1 : (y === null || y === undefined) ? -1 : x < y ? -1 : 1;
    return view.desc ? -order : order;
  });
}

function headerRow() {
  return h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('runs.select'))),
    COLUMNS.map(([key]) => h('th', { scope: 'col', 'aria-sort': view.sort === key ? (view.desc ? 'descending' : 'ascending') : 'none' },
      h('button', { class: 'sort', onclick: () => { view.desc = view.sort === key ? !view.desc : false; view.sort = key; render(); } },
        t(`runs.col.${key}`), view.sort === key ? (view.desc ? ' ▼' : ' ▲') : ''))));
}

function runRow(run) {
  const check = h('input', { type: 'checkbox', checked: view.selected.has(run.name), 'aria-label': run.name,
    onchange: (e) => { e.target.checked ? view.selected.add(run.name) : view.selected.delete(run.name); } });
  return h('tr', { 'data-run': run.name }, h('td', {}, check), COLUMNS.map(([key, get]) => h('td', { class: `c-${key}` },
    key === 'name' ? h('button', { class: 'link', onclick: () => openRun(run.name) }, run.name)
      : key === 'status' ? h('span', { class: `badge ${run.status}` }, t(`status.${run.status}`))
        : SHOW[key] ? SHOW[key](get(run)) : String(get(run) ?? ''))));
}

function render() {
  fill($('#runs-table thead'), headerRow());
  const rows = visibleRuns();
  fill($('#runs-table tbody'), rows.length ? rows.map(runRow) : h('tr', {}, h('td', { colspan: COLUMNS.length + 1, class: 'muted' }, t('runs.none'))));
  $('#runs-count').textContent = t('runs.count', { n: rows.length, total: view.runs.length });
}

/** Reload the run list from the server. */
export async function refreshRuns() {
  try {
    view.runs = await api('/api/runs');
    render();
  } catch (err) {
    fill($('#runs-count'), h('span', { class: 'error' }, err.message));
  }
}

async function compare() {
  const names = [...view.selected];
  const out = $('#runs-charts');
  if (!names.length) return fill(out, h('p', { class: 'muted' }, t('runs.selectFirst')));
  try {
    const runs = await Promise.all(names.map((n) => api(`/api/runs/${encodeURIComponent(n)}/metrics`)));
    const loss = h('div', { class: 'chart', 'data-testid': 'chart-loss' });
    const acc = h('div', { class: 'chart', 'data-testid': 'chart-acc' });
    fill(out, loss, acc);
    await curveChart(loss, runs, 'loss', t('runs.chart.loss'));
    await curveChart(acc, runs, 'acc', t('runs.chart.acc'));
  } catch (err) {
    fill(out, h('p', { class: 'error' }, err.message));
  }
}

function fileUrl(name, path) {
  return `/api/runs/${encodeURIComponent(name)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

function plots(run) {
  const shown = [['plots/confusion.png', 'runs.confusion'], ['plots/misclassified.png', 'runs.misclassified'], ['plots/curves.png', 'runs.curves']];
  return shown.filter(([p]) => run.files.includes(p)).map(([p, key]) =>
    h('figure', { class: 'plot' }, h('img', { src: fileUrl(run.name, p), alt: t(key), loading: 'lazy' }), h('figcaption', {}, t(key))));
}

/** The run doctor's findings (the API gives every finding in both languages), in the current language. */
function doctorCard() {
  const found = view.doctor?.findings;
  if (!found) return [];
  return [h('h3', {}, t('doctor.title')), found.length ? h('ul', { class: 'doctor' }, found.map((f) => {
    const text = f[language()] ?? f.en;
    return h('li', { class: `finding ${f.severity}`, 'data-code': f.code },
      h('span', { class: `badge ${f.severity}` }, t(`doctor.${f.severity}`)), ' ', text.evidence,
      h('br'), h('span', { class: 'muted' }, t('doctor.suggestion'), ' ', text.suggestion));
  })) : h('p', { class: 'muted' }, t('doctor.nothing'))];
}

function renderDoctor() {
  const box = $('#run-doctor');
  if (box) fill(box, doctorCard());
}

async function openRun(name) {
  const out = $('#run-detail');
  try {
    const run = await api(`/api/runs/${encodeURIComponent(name)}`);
    const log = run.files.includes('train.log') ? await api(fileUrl(name, 'train.log')) : '';
    view.doctor = await api(`/api/runs/${encodeURIComponent(name)}/doctor`).catch(() => null); // a generator has no doctor
    fill(out, h('div', { class: 'card' },
      h('h2', {}, t('runs.detail', { name })),
      h('p', {}, h('span', { class: `badge ${run.status}` }, t(`status.${run.status}`)), ' ', run.message || ''),
      h('section', { id: 'run-doctor', 'data-testid': 'run-doctor' }, doctorCard()),
      h('div', { class: 'plots' }, plots(run)),
      h('details', { open: true }, h('summary', {}, t('runs.config')), h('dl', { class: 'config' },
        Object.entries(run.config).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ')))))),
      h('details', {}, h('summary', {}, t('runs.log')), h('pre', { class: 'log' }, log.split('\n').slice(-300).join('\n'))),
      h('details', {}, h('summary', {}, t('runs.files')), h('ul', {}, run.files.map((f) => h('li', {}, h('a', { href: fileUrl(name, f), target: '_blank' }, f)))))));
    out.scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (err) {
    fill(out, h('p', { class: 'error' }, err.message));
  }
}

export function initRuns() {
  $('#runs-filter').addEventListener('input', (e) => { view.filter = e.target.value; render(); });
  $('#runs-compare').addEventListener('click', compare);
  $('#runs-refresh').addEventListener('click', refreshRuns);
}

/** Re-render with the current language. */
export function relabelRuns() {
  if (view.runs.length) render();
  renderDoctor();
}
