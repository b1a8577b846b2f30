// Train tab: the generated form, starting a job, live progress over server-sent events, cancel, the queue.
import { api } from './api.js';
import { $, fill, h, pct, secs } from './dom.js';
import { fieldView, readForm, relabelFields, setFields } from './form.js';
import { t } from './i18n.js';
import { refreshRuns } from './runs.js';
import { state } from './state.js';

const QUICK = { model: 'fast', epochs: 1, train_subset: 500, val_size: 500, threads: 1 };
let params = [];
let stream = null;
let watched = null; // the job shown in the progress panel

function progressView(job) {
  const p = job.progress || {};
  const rows = [
    [t('train.status'), h('span', { class: `badge ${job.status}`, 'data-testid': 'job-status' }, t(`status.${job.status}`))],
    [t('train.run'), h('span', { 'data-testid': 'job-run' }, job.run || '')],
    [t('train.epoch'), p.epoch ? `${p.epoch} / ${p.epochs}` : ''], [t('train.batch'), p.batch ? `${p.batch} / ${p.batches}` : ''],
    [t('train.loss'), p.loss !== undefined ? p.loss.toFixed(4) : ''], [t('train.acc'), pct(p.acc)],
    [t('train.eta'), p.eta_s !== undefined && p.eta_s !== null && !job.finished ? secs(p.eta_s) : ''],
  ];
  const last = job.history.at(-1);
  if (last) rows.push([t('train.valAcc'), pct(last.val_acc)], [t('train.testAcc'), pct(last.test_acc)]);
  return [h('h2', {}, t('train.progressOf', { id: job.id })),
    h('progress', { max: 1, value: job.finished ? 1 : (p.share || 0) }),
    h('table', { class: 'kv' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))))),
    job.message ? h('p', { class: job.status === 'failed' ? 'error' : 'muted' }, job.message) : '',
    job.finished ? '' : h('button', { type: 'button', class: 'danger', onclick: () => cancel(job.id) }, t('train.cancel'))];
}

function watch(job) {
  stream?.close();
  watched = job;
  fill($('#train-progress'), progressView(job));
  if (job.finished) return;
  stream = new EventSource(`/api/jobs/${encodeURIComponent(job.id)}/events`);
  const update = (e) => {
    watched = JSON.parse(e.data);
    fill($('#train-progress'), progressView(watched));
  };
  stream.addEventListener('progress', update);
  stream.addEventListener('end', (e) => {
    update(e);
    stream.close();
    refreshQueue();
    refreshRuns();
  });
}

async function cancel(id) {
  try {
    await api(`/api/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch (err) {
    fill($('#train-message'), h('p', { class: 'error' }, err.message));
  }
  refreshQueue();
}

function queueRow(job) {
  const active = !job.finished;
  return h('tr', {}, h('td', {}, h('button', { class: 'link', onclick: () => watch(job) }, job.id)),
    h('td', {}, h('span', { class: `badge ${job.status}` }, t(`status.${job.status}`))),
    h('td', {}, job.position ?? ''), h('td', {}, job.run || ''), h('td', {}, Object.entries(job.config).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')),
    h('td', {}, active ? h('button', { class: 'danger small', onclick: () => cancel(job.id) }, t('train.cancel')) : ''));
}

/** Reload the job list. */
export async function refreshQueue() {
  try {
    const jobs = await api('/api/jobs');
    fill($('#train-queue tbody'), jobs.length ? jobs.map(queueRow) : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('train.noJobs'))));
  } catch (err) {
    fill($('#train-queue tbody'), h('tr', {}, h('td', { colspan: 6, class: 'error' }, err.message)));
  }
}

async function start(e) {
  e.preventDefault();
  const config = readForm($('#train-form'), params);
  const msg = $('#train-message');
  if (!config) return fill(msg, h('p', { class: 'error' }, t('train.fix')));
  fill(msg);  // an earlier message must not stand for this request's answer
  try {
    const job = await api('/api/jobs', { method: 'POST', json: config });
    fill(msg, h('p', { class: 'muted' }, t('train.queued', { id: job.id })));
    watch(job);
    refreshQueue();
  } catch (err) {
    fill(msg, h('p', { class: 'error' }, err.message));
  }
}

/** Build the form from the server's schema. */
export async function loadTrainForm() {
  const form = $('#train-form');
  try {
    params = (await api('/api/config/schema')).params;
  } catch (err) {
    return fill($('#train-fields'), h('p', { class: 'error' }, err.message));
  }
  fill($('#train-fields'), params.map(fieldView));
  form.addEventListener('submit', start);
  $('#train-quick').addEventListener('click', () => setFields(form, QUICK));
  $('#train-defaults').addEventListener('click', () => setFields(form, Object.fromEntries(params.map((p) => [p.name, p.default ?? '']))));
}

/** Re-render the live parts with the current language. */
export function relabelTrain() {
  if (params.length) relabelFields($('#train-form'), params);
  if (watched) fill($('#train-progress'), progressView(watched));
  if (state.tab === 'train') refreshQueue();
}
