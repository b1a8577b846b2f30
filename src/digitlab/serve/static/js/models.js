// Models tab: promoted models by generation, completed runs, and the model Recognise uses.
import { api } from './api.js';
import { $, fill, h, pct } from './dom.js';
import { t } from './i18n.js';
import { warmDevice } from './recognise.js';
import { state } from './state.js';

let last = null;

function currentView(cur) {
  if (!cur.loaded) return h('p', { class: 'muted', 'data-testid': 'current-model' }, t('models.noneLoaded'));
  const line = h('p', { 'data-testid': 'current-model' }, h('strong', {}, cur.ref), ' — ',
    t('models.arch', { model: cur.model }), cur.metrics?.test_acc !== undefined ? ` · ${t('models.testAcc')} ${pct(cur.metrics.test_acc)}` : '',
    cur.rejection ? '' : ` · ${t('models.noRejection')}`);
  return cur.ensemble ? h('div', {}, line, ensembleView(cur.ensemble)) : line;
}

/** An ensemble's method and members with their weights (model_slot.info's `ensemble`). */
export function ensembleText(e) {
  const head = t('models.ensemble', { method: e.method, n: e.members.length }) + (e.tta ? ` · ${t('models.tta')}` : '');
  const members = e.members.map((m) => t('models.member', { run: m.run ?? '?', model: m.model, weight: m.weight.toFixed(3) }));
  return { head, members };
}

function ensembleView(e) {
  const { head, members } = ensembleText(e);
  return h('div', { 'data-testid': 'ensemble-members' }, h('p', { class: 'muted' }, head), h('ul', {}, members.map((m) => h('li', {}, m))));
}

function useButton(ref) {
  const isCurrent = last?.current?.ref === ref;
  return h('button', { class: isCurrent ? 'small' : 'small primary', disabled: isCurrent, onclick: () => choose(ref) },
    isCurrent ? t('models.inUse') : t('models.use'));
}

function promotedTable(rows) {
  if (!rows.length) return h('p', { class: 'muted' }, t('models.nonePromoted'));
  const head = ['name', 'version', 'generation', 'run', 'val', 'test', 'created', ''].map((k) => h('th', {}, k ? t(`models.col.${k}`) : ''));
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows.map((m) => h('tr', {},
    h('td', {}, m.name), h('td', {}, `v${m.version}`), h('td', {}, m.generation ?? ''), h('td', {}, m.run || ''),
    h('td', {}, pct(m.best_val_acc)), h('td', {}, pct(m.test_acc)), h('td', {}, (m.created_at || '').slice(0, 16).replace('T', ' ')),
    h('td', {}, useButton(m.ref)))))));
}

function render() {
  fill($('#models-current'), h('h2', {}, t('models.current')), currentView(last.current));
  fill($('#models-promoted'), h('h2', {}, t('models.promoted')), promotedTable(last.promoted));
  fill($('#models-run-list'), last.runs.map((r) => h('option', { value: r.name }, `${r.model} ${pct(r.test_acc)}`)));
  const shipped = $('#models-shipped');
  shipped.hidden = !last.shipped;
  if (last.shipped) fill(shipped, useButton(last.shipped), ' ', t('models.shipped'));
}

/** Reload the model list. */
export async function refreshModels() {
  try {
    last = await api('/api/models');
    render();
  } catch (err) {
    fill($('#models-current'), h('p', { class: 'error' }, err.message));
  }
}

async function choose(ref) {
  const msg = $('#models-message');
  fill(msg, h('p', { class: 'muted' }, t('models.loading', { ref })));
  try {
    state.info.model = await api('/api/models/current', { method: 'PUT', json: { ref } });
    fill(msg, h('p', { class: 'muted' }, t('models.switched', { ref })));
    warmDevice({ fresh: true }); // the device reads with the new model too
  } catch (err) {
    fill(msg, h('p', { class: 'error' }, err.message));
  }
  refreshModels();
}

export function initModels() {
  $('#models-use-run').addEventListener('submit', (e) => {
    e.preventDefault();
    const ref = $('#models-ref').value.trim();
    if (ref) choose(ref);
  });
}

export function relabelModels() {
  if (last) render();
}
