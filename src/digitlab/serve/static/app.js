// digitlab in a browser: tabs, language, server info, and the service worker that keeps the shell offline.
import { adoptTokenFromUrl, api, setToken, token } from './js/api.js';
import { $, fill, h } from './js/dom.js';
import { initGenerate, refreshGenerators, relabelGenerate } from './js/generate.js';
import { initialLanguage, setLanguage, t } from './js/i18n.js';
import { initModels, refreshModels, relabelModels } from './js/models.js';
import { initRecognise, isStatic, relabelRecognise } from './js/recognise.js';
import { initRuns, refreshRuns, relabelRuns } from './js/runs.js';
import { state } from './js/state.js';
import { refreshSearches, relabelSearches } from './js/searches.js';
import { refreshStudies, relabelStudies } from './js/studies.js';
import { loadTrainForm, refreshQueue, relabelTrain } from './js/train.js';

const TABS = ['recognise', 'runs', 'train', 'models', 'generate'];
const ON_SHOW = {
  runs: () => { refreshRuns(); refreshStudies(); refreshSearches(); }, train: refreshQueue, models: refreshModels, generate: refreshGenerators,
};

function showTab(name) {
  state.tab = TABS.includes(name) ? name : 'recognise';
  for (const tab of TABS) {
    $(`#tab-${tab}`).hidden = tab !== state.tab;
    $(`[data-tab="${tab}"]`).setAttribute('aria-selected', String(tab === state.tab));
  }
  if (location.hash.slice(1) !== state.tab) history.replaceState(null, '', `#${state.tab}`);
  ON_SHOW[state.tab]?.();
}

function accessNotice() {
  const control = state.info?.control;
  const box = $('#access');
  box.hidden = control === 'open' || !control;
  if (control === 'off') return fill(box, h('p', {}, t('access.off')));
  if (control !== 'token') return;
  const input = h('input', { id: 'token', type: 'password', value: token(), autocomplete: 'off', 'aria-label': t('access.tokenLabel') });
  const done = h('span', { class: 'muted' });
  fill(box, h('p', {}, t('access.token')), h('form', { class: 'row', onsubmit: (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    done.textContent = t('access.saved');
  } }, h('label', { for: 'token' }, t('access.tokenLabel')), input, h('button', { type: 'submit' }, t('access.save')), done));
}

function relabel(lang) {
  setLanguage(lang);
  $('#lang').value = lang;
  accessNotice();
  relabelRecognise();
  relabelRuns();
  relabelStudies();
  relabelSearches();
  relabelTrain();
  relabelModels();
  relabelGenerate();
}

// The offline notice shows when the browser says it is offline, or when the server cannot be reached at all
// (status 0: no answer), which browsers do not always report through navigator.onLine.
let serverUnreachable = false;
const showOffline = () => { $('#offline').hidden = navigator.onLine && !serverUnreachable; };

async function loadInfo() {
  try {
    state.info = await api('/api/info');
    serverUnreachable = false;
  } catch (err) {
    state.info = null;
    serverUnreachable = err.status === 0;
  }
  showOffline();
  accessNotice();
}

function registerServiceWorker() {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => {});
  addEventListener('online', () => { showOffline(); if (!isStatic()) loadInfo(); });
  addEventListener('offline', showOffline);
  showOffline();
}

/** A static copy of the app (digitlab export --web) has no server: only Recognise, on the device. */
function staticMode() {
  for (const tab of TABS.slice(1)) $(`[data-tab="${tab}"]`).hidden = true;
  document.querySelector('footer').hidden = true;
  $('#offline').dataset.i18n = 'footer.offlineDevice'; // nothing here needs a server
}

function main() {
  if (isStatic()) staticMode();
  adoptTokenFromUrl();
  relabel(initialLanguage());
  $('#lang').addEventListener('change', (e) => relabel(e.target.value));
  for (const button of document.querySelectorAll('[data-tab]')) button.addEventListener('click', () => showTab(button.dataset.tab));
  addEventListener('hashchange', () => showTab(location.hash.slice(1)));
  initRecognise();
  if (!isStatic()) {
    initRuns();
    initModels();
    initGenerate();
    loadTrainForm();
    loadInfo();
  }
  showTab(isStatic() ? 'recognise' : location.hash.slice(1));
  registerServiceWorker();
}

main();
