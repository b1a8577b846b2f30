// Runs tab, tuning studies (digitlab tune): a table of the studies; one study's best params, "fewest trainings",
// importances, Pareto front and plots. Hidden until the lab has a study.
import { api } from './api.js';
import { $, fill, h, pct, secs } from './dom.js';
import { t } from './i18n.js';

const COLUMNS = ['name', 'objectives', 'trials', 'complete', 'pruned', 'failed', 'best_val_acc', 'started'];
const view = { studies: [], open: null };
const plotUrl = (name, file) => `/api/studies/${encodeURIComponent(name)}/plots/${encodeURIComponent(file)}`;
const short = (v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(4) : String(v));

function row(s) {
  const cell = (key) => key === 'name' ? h('button', { class: 'link', onclick: () => openStudy(s.name) }, s.name)
    : key === 'best_val_acc' ? `${pct(s.best_val_acc)}${s.best_trial === null ? '' : ` (#${s.best_trial})`}` : String(s[key] ?? '');
  return h('tr', { 'data-study': s.name }, COLUMNS.map((key) => h('td', {}, cell(key))));
}

function render() {
  $('#studies').hidden = view.studies.length === 0;
  fill($('#studies-table thead'), h('tr', {}, COLUMNS.map((key) => h('th', { scope: 'col' }, t(`studies.col.${key}`)))));
  fill($('#studies-table tbody'), view.studies.map(row));
}

/** Reload the study list (an empty list hides the section). */
export async function refreshStudies() {
  try {
    view.studies = await api('/api/studies');
    render();
    if (view.open) await openStudy(view.open, false);
  } catch (err) {
    $('#studies').hidden = false;
    fill($('#study-detail'), h('p', { class: 'error' }, err.message));
  }
}

function fewest(f) {
  return f ? t('studies.fewest', { trials: f.trials, of: f.of_trials, secs: secs(f.seconds), total: secs(f.total_seconds), best: pct(f.best) }) : '';
}

function pairs(obj, show = short) {
  return h('dl', { class: 'config' }, Object.entries(obj).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, show(v)))));
}

function pareto(rep) {
  if (!rep.pareto.length) return null;
  return h('details', { open: true }, h('summary', {}, t('studies.pareto', { objectives: rep.objectives.join(', ') })),
    h('ul', {}, rep.pareto.map((p) => h('li', {}, `#${p.number}: ${pct(p.values[0])}, ${p.values.slice(1).map(short).join(', ')}`))));
}

async function openStudy(name, scroll = true) {
  const out = $('#study-detail');
  try {
    const rep = await api(`/api/studies/${encodeURIComponent(name)}`);
    view.open = name;
    const counts = Object.entries(rep.counts).filter(([, n]) => n).map(([s, n]) => `${n} ${t(`studies.state.${s}`)}`).join(', ');
    fill(out, h('div', { class: 'card', 'data-testid': 'study' },
      h('h2', {}, t('studies.detail', { name })),
      h('p', {}, counts),
      rep.best ? h('p', {}, t('studies.best', { trial: rep.best.number, acc: pct(rep.best.val_acc), run: rep.best.run })) : h('p', { class: 'muted' }, t('studies.noBest')),
      h('p', {}, fewest(rep.fewest)),
      h('div', { class: 'plots' }, rep.plots.map((file) => h('figure', { class: 'plot' },
        h('img', { src: plotUrl(name, file), alt: t(`studies.plot.${file}`), loading: 'lazy' }), h('figcaption', {}, t(`studies.plot.${file}`))))),
      rep.best ? h('details', { open: true }, h('summary', {}, t('studies.params')), pairs(rep.best.params)) : null,
      Object.keys(rep.importances).length ? h('details', {}, h('summary', {}, t('studies.importances')), pairs(rep.importances, (v) => v.toFixed(3))) : null,
      pareto(rep)));
    if (scroll) out.scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (err) {
    fill(out, h('p', { class: 'error' }, err.message));
  }
}

/** Re-render with the current language. */
export function relabelStudies() {
  render();
  if (view.open) openStudy(view.open, false);
}
