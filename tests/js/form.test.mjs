// The Train form generated from /api/config/schema (form.js), on a fake DOM: one field per parameter with the right
// control, bounds and help; reading it returns only changed values and refuses what the server would refuse.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import { installDom } from './fake_dom.mjs';

// Entries as GET /api/config/schema sends them (digitlab/serve/config_api.py), one of each kind.
const base = { type: '', unit: '', tunable: true, nullable: false, min: null, max: null, min_exclusive: false, max_exclusive: false, enum: null, pattern: null };
const PARAMS = [
  { ...base, name: 'name', default: null, range: 'pattern', nullable: true, json_type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', meaning: 'Run name' },
  { ...base, name: 'model', default: 'cnn', range: 'any', range_zh: '任意', json_type: 'string', meaning: 'Registered model name', meaning_zh: '已注册的模型名称',
    choices: [{ name: 'cnn', summary: 'Lab CNN.', summary_zh: '实验室 CNN。', params: 131050 }, { name: 'fast', summary: 'Speed-run net.', summary_zh: '速通网络。', params: 215250 }] },
  { ...base, name: 'model_kwargs', default: {}, range: 'any', json_type: 'object', meaning: 'Keyword arguments of the model factory' },
  { ...base, name: 'epochs', default: 8, range: '>= 1, <= 1000', range_zh: '>= 1, <= 1000', unit: 'epochs', unit_zh: '轮', json_type: 'integer', min: 1, max: 1000,
    meaning: 'Passes over the training split', meaning_zh: '遍历训练集的轮数' },
  { ...base, name: 'optimizer', default: 'adamw', range: 'sgd | adam | adamw', json_type: 'string', enum: ['sgd', 'adam', 'adamw'], meaning: 'Optimiser' },
  { ...base, name: 'lr', default: 0.004, range: '> 0, <= 10', json_type: 'number', min: 0, max: 10, min_exclusive: true, meaning: 'Peak learning rate' },
  { ...base, name: 'momentum', default: 0.9, range: '>= 0, < 1', json_type: 'number', min: 0, max: 1, max_exclusive: true, meaning: 'SGD momentum' },
  { ...base, name: 'augment', default: true, range: 'any', json_type: 'boolean', meaning: 'Random affine augmentation' },
];
let fieldView, readForm, relabelFields, setFields, h, i18n;
let form;

before(async () => {
  installDom();
  const saved = {};
  globalThis.localStorage = { getItem: (k) => saved[k] ?? null, setItem: (k, v) => { saved[k] = String(v); } };
  i18n = await import('../../src/digitlab/serve/static/js/i18n.js');
  ({ fieldView, readForm, relabelFields, setFields } = await import('../../src/digitlab/serve/static/js/form.js'));
  ({ h } = await import('../../src/digitlab/serve/static/js/dom.js'));
  i18n.setLanguage('en');
});

after(() => i18n.setLanguage('en'));

beforeEach(() => {
  form = h('form', {}, PARAMS.map(fieldView));
});

const control = (name) => form.elements[name];
const error = (name) => control(name).closest('.field').querySelector('.field-error').textContent;

test('one labelled field per parameter, in schema order', () => {
  const fields = form.querySelectorAll('.field');
  assert.deepEqual(fields.map((f) => f.getAttribute('data-param')), PARAMS.map((p) => p.name));
  for (const f of fields) assert.equal(f.querySelector('label').getAttribute('for'), `p-${f.getAttribute('data-param')}`);
});

test('each JSON type gets its control, holding the default', () => {
  assert.equal(control('augment').type, 'checkbox');
  assert.equal(control('augment').checked, true);
  assert.equal(control('optimizer').tagName, 'SELECT');
  assert.deepEqual(control('optimizer').querySelectorAll('option').map((o) => o.value), ['sgd', 'adam', 'adamw']);
  assert.equal(control('optimizer').value, 'adamw');
  assert.equal(control('model_kwargs').type, 'text');
  assert.equal(control('model_kwargs').value, '{}');
  assert.equal(control('epochs').type, 'number');
  assert.equal(control('epochs').value, '8');
  assert.equal(control('model').value, 'cnn');
  assert.equal(control('name').value, '');
  assert.equal(control('name').getAttribute('placeholder'), '(empty)'); // nullable: empty means "none"
});

test('number inputs carry the inclusive bounds only, and whole-number steps for integers', () => {
  const attrs = (name) => ['min', 'max', 'step'].map((a) => control(name).getAttribute(a));
  assert.deepEqual(attrs('epochs'), ['1', '1000', '1']);
  assert.deepEqual(attrs('lr'), [null, '10', 'any']); // > 0: the browser's min would allow 0
  assert.deepEqual(attrs('momentum'), ['0', null, 'any']); // < 1
});

const help = (name) => control(name).closest('.field').querySelector('.help').textContent;
const options = (name) => control(name).querySelectorAll('option').map((o) => [o.value, o.textContent]);

test('help text gives meaning, default, range and unit', () => {
  assert.equal(help('epochs'), 'Passes over the training split · default: 8 · range: >= 1, <= 1000 · unit: epochs');
  assert.equal(help('optimizer'), 'Optimiser · default: "adamw" · range: sgd | adam | adamw');
  assert.equal(help('model'), 'Registered model name · default: "cnn" · range: any');
});

test('the model is chosen from the registered families, each with its description and parameter count', () => {
  assert.equal(control('model').tagName, 'SELECT');
  assert.deepEqual(options('model'), [['cnn', 'cnn — Lab CNN. (131,050 parameters)'], ['fast', 'fast — Speed-run net. (215,250 parameters)']]);
  assert.equal(control('model').value, 'cnn');
  setFields(form, { model: 'fast' }); // the quick-test preset picks a family by name
  assert.deepEqual(readForm(form, PARAMS), { model: 'fast' });
});

test('in Chinese the form says meanings, units, range words and the families in Chinese, and relabels in place', () => {
  i18n.setLanguage('zh');
  try {
    const zhForm = h('form', {}, PARAMS.map(fieldView));
    const zhHelp = zhForm.elements.epochs.closest('.field').querySelector('.help').textContent;
    assert.equal(zhHelp, '遍历训练集的轮数 · 默认: 8 · 范围: >= 1, <= 1000 · 单位: 轮');
    assert.equal(zhForm.elements.lr.closest('.field').querySelector('.help').textContent.split(' · ')[0], 'Peak learning rate'); // no Chinese given: English
    setFields(form, { epochs: 3, model: 'fast' });
    relabelFields(form, PARAMS); // the form built in English, after the language switch
    assert.equal(help('epochs'), zhHelp);
    assert.equal(help('model'), '已注册的模型名称 · 默认: "cnn" · 范围: 任意');
    assert.deepEqual(options('model'), [['cnn', 'cnn — 实验室 CNN。（131,050 个参数）'], ['fast', 'fast — 速通网络。（215,250 个参数）']]);
    assert.equal(control('name').getAttribute('placeholder'), '（空）');
    assert.deepEqual(readForm(form, PARAMS), { epochs: 3, model: 'fast' }); // what was typed and chosen stays
  } finally {
    i18n.setLanguage('en');
  }
});

test('an untouched form sends nothing: the server applies its defaults', () => {
  assert.deepEqual(readForm(form, PARAMS), {});
});

test('changed values come back typed', () => {
  setFields(form, { epochs: 3, augment: false, model_kwargs: { width: 64 }, name: 'my-run', lr: '1e-3' });
  control('optimizer').value = 'sgd';
  assert.deepEqual(readForm(form, PARAMS), { epochs: 3, augment: false, model_kwargs: { width: 64 }, name: 'my-run', lr: 0.001, optimizer: 'sgd' });
});

test('values the server would refuse are marked on their fields and nothing is sent', () => {
  const bad = { epochs: '0', lr: '0', momentum: '1', model_kwargs: '[1]', name: 'no spaces' };
  setFields(form, bad);
  assert.equal(readForm(form, PARAMS), null);
  assert.equal(error('epochs'), 'Must be at least 1.');
  assert.equal(error('lr'), 'Must be more than 0.');
  assert.equal(error('momentum'), 'Must be less than 1.');
  assert.equal(error('model_kwargs'), 'Enter a JSON object such as {"width": 64}.');
  assert.match(error('name'), /letters, digits/);
  for (const name of Object.keys(bad)) assert.equal(control(name).getAttribute('aria-invalid'), 'true', name);
  assert.equal(error('optimizer'), '');
  assert.equal(document.activeElement, control('name')); // the first invalid field, in form order, gets the focus
});

test('numbers must be numbers, integers whole, JSON valid; a nullable field may be emptied', () => {
  setFields(form, { epochs: '2.5', lr: 'fast', model_kwargs: '{' });
  assert.equal(readForm(form, PARAMS), null);
  assert.equal(error('epochs'), 'Enter a whole number.');
  assert.equal(error('lr'), 'Enter a number.');
  assert.equal(error('model_kwargs'), 'This is not valid JSON.');
  setFields(form, { epochs: '1000', lr: '10', model_kwargs: '{}', name: '' });
  assert.deepEqual(readForm(form, PARAMS), { epochs: 1000, lr: 10 }); // inclusive upper bounds; errors cleared
  assert.equal(error('epochs'), '');
  assert.equal(control('epochs').getAttribute('aria-invalid'), null);
});
