// Runs tab, structure searches (digitlab nas): a table of the searches; one search's learning curve (each child's
// proxy accuracy, the moving mean, the best so far), its quarters, and its best structures drawn as block diagrams.
// Hidden until the lab has a search.
import { api } from './api.js';
import { accuracyChart } from './charts.js';
import { $, fill, h, pct } from './dom.js';
import { t } from './i18n.js';

const COLUMNS = ['name', 'controller', 'children', 'best_val_acc', 'best_structure'];
const WINDOW = 10; // children per point of the moving mean, as in `digitlab nas show --plots`
const view = { searches: [], open: null };
const plotUrl = (name, file) => `/api/searches/${encodeURIComponent(name)}/plots/${encodeURIComponent(file)}`;

function row(s) {
  const cell = (key) => key === 'name' ? h('button', { class: 'link', onclick: () => openSearch(s.name) }, s.name)
    : key === 'best_val_acc' ? pct(s.best_val_acc) : key === 'controller' ? t(`searches.controller.${s.controller}`) : String(s[key] ?? '');
  return h('tr', { 'data-search': s.name }, COLUMNS.map((key) => h('td', {}, cell(key))));
}

function render() {
  $('#searches').hidden = view.searches.length === 0;
  fill($('#searches-table thead'), h('tr', {}, COLUMNS.map((key) => h('th', { scope: 'col' }, t(`searches.col.${key}`)))));
  fill($('#searches-table tbody'), view.searches.map(row));
}

/** Reload the search list (an empty list hides the section). */
export async function refreshSearches() {
  try {
    view.searches = await api('/api/searches');
    render();
    if (view.open) await openSearch(view.open, false);
  } catch (err) {
    $('#searches').hidden = false;
    fill($('#search-detail'), h('p', { class: 'error' }, err.message));
  }
}

/** One block of a structure as a box: operation and width, a skip mark, a pool mark. */
function blockBox(b) {
  const label = b.op === 'id' ? t('searches.op.id') : t(`searches.op.${b.op}`, { width: b.width });
  return h('div', { class: `nas-block nas-${b.op}`, title: label },
    h('span', {}, label), b.skip ? h('span', { class: 'nas-mark' }, t('searches.skip')) : null, b.pool ? h('span', { class: 'nas-mark' }, t('searches.pool')) : null);
}

/** A structure as a left-to-right diagram: input, its blocks, global average pooling and the classifier. */
function diagram(c) {
  const ends = (key) => h('div', { class: 'nas-block nas-end' }, h('span', {}, t(key)));
  return h('figure', { class: 'nas-diagram', 'data-testid': 'structure' },
    h('div', { class: 'nas-row' }, ends('searches.input'), ...c.blocks.map(blockBox), ends('searches.head')),
    h('figcaption', {}, t('searches.caption', { child: c.number, acc: pct(c.val_acc), params: c.params.toLocaleString(), structure: c.structure })));
}

function curve(rep) {
  const accs = rep.children.map((c) => c.val_acc);
  const xs = accs.map((_, i) => i + 1);
  const mean = accs.map((_, i) => { const w = accs.slice(Math.max(0, i - WINDOW + 1), i + 1); return w.reduce((a, b) => a + b, 0) / w.length; });
  const best = accs.map((_, i) => Math.max(...accs.slice(0, i + 1)));
  return [xs, [{ label: t('searches.child'), values: accs, points: true }, { label: t('searches.mean', { n: WINDOW }), values: mean }, { label: t('searches.bestSoFar'), values: best }]];
}

async function openSearch(name, scroll = true) {
  const out = $('#search-detail');
  try {
    const rep = await api(`/api/searches/${encodeURIComponent(name)}`);
    view.open = name;
    const chart = h('div', { class: 'chart', 'data-testid': 'search-curve' });
    fill(out, h('div', { class: 'card', 'data-testid': 'search' },
      h('h2', {}, t('searches.detail', { name })),
      h('p', {}, t('searches.summary', { controller: t(`searches.controller.${rep.controller}`), n: rep.children.length, seed: rep.seed })),
      h('p', { class: 'muted' }, rep.space),
      rep.quarters.length ? h('p', {}, t('searches.quarters', { quarters: rep.quarters.map(pct).join(' → ') })) : null,
      rep.trainings_to_best ? h('p', {}, t('searches.toBest', { n: rep.trainings_to_best, of: rep.children.length })) : null,
      chart,
      h('h3', {}, t('searches.best')),
      ...rep.best.map(diagram),
      h('div', { class: 'plots' }, rep.plots.map((file) => h('figure', { class: 'plot' },
        h('img', { src: plotUrl(name, file), alt: t(`searches.plot.${file}`), loading: 'lazy' }), h('figcaption', {}, t(`searches.plot.${file}`)))))));
    if (rep.children.length) await accuracyChart(chart, ...curve(rep), t('searches.children'), t('searches.curve'));
    if (scroll) out.scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (err) {
    fill(out, h('p', { class: 'error' }, err.message));
  }
}

/** Re-render with the current language. */
export function relabelSearches() {
  render();
  if (view.open) openSearch(view.open, false);
}
