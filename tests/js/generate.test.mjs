// The Generate tab's pure parts: the request built from the form, file names, figures and warnings in both
// languages, and the PNG fetch (fake fetch): a Blob with the server's count and time, or the server's sentence.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { installDom } from './fake_dom.mjs';

let gen;
let i18n;
const FORM = { run: 'g', digit: '7', n: '16', seed: '3', walk: false, from: '3', to: '8' };

before(async () => {
  installDom();
  const saved = {};
  globalThis.localStorage = { getItem: (k) => saved[k] ?? null, setItem: (k, v) => { saved[k] = String(v); } };
  i18n = await import('../../src/digitlab/serve/static/js/i18n.js');
  gen = await import('../../src/digitlab/serve/static/js/generate.js');
  i18n.setLanguage('en');
});

after(() => i18n.setLanguage('en'));

test('the request names the run, one digit or all, how many and the seed', () => {
  assert.deepEqual(gen.generateRequest(FORM), { run: 'g', n: 16, seed: 3, digit: 7, interpolate: null });
  assert.deepEqual(gen.generateRequest({ ...FORM, digit: 'all' }), { run: 'g', n: 16, seed: 3, digit: null, interpolate: null });
  assert.equal(gen.generateRequest({ ...FORM, digit: '0' }).digit, 0); // 0 is a digit, not "all"
});

test('interpolating asks for a walk between the two digits and no single digit', () => {
  assert.deepEqual(gen.generateRequest({ ...FORM, walk: true }), { run: 'g', n: 16, seed: 3, digit: null, interpolate: [3, 8] });
});

test('bad counts and seeds are refused in a sentence before anything is sent', () => {
  for (const n of ['', '0', '257', '2.5', 'x']) {
    assert.throws(() => gen.generateRequest({ ...FORM, n }), { message: 'How many must be a whole number from 1 to 256.' }, n);
  }
  for (const seed of ['', '-1', '1e12', '0.5']) {
    assert.throws(() => gen.generateRequest({ ...FORM, seed }), { message: 'The seed must be a whole number from 0 to 2147483647.' }, seed);
  }
  assert.throws(() => gen.generateRequest({ ...FORM, run: '' }), { message: 'Choose a generator first.' });
  assert.equal(gen.generateRequest({ ...FORM, n: '256', seed: '0' }).n, 256);
});

test('the download is named after what it holds', () => {
  assert.equal(gen.gridFileName(gen.generateRequest(FORM)), 'digitlab-7s.png');
  assert.equal(gen.gridFileName(gen.generateRequest({ ...FORM, digit: 'all' })), 'digitlab-all.png');
  assert.equal(gen.gridFileName(gen.generateRequest({ ...FORM, walk: true, from: '1', to: '9' })), 'digitlab-1-to-9.png');
});

test('figures are formatted; a missing one shows a dash, not NaN or null', () => {
  const q = { fid: 41.234, fid_floor: 2.5, fid_ratio: 16.49, class_acc: 0.875, precision: 0.5, recall: 0.25 };
  assert.equal(gen.qualityText(q),
    'On the test split: Fréchet distance 41.23 (16.5× the real-vs-real floor of 2.50), judge accuracy 87.5 %, precision 0.500, recall 0.250.');
  assert.equal(gen.qualityText(null), 'No final figures yet: they are measured on the test split when the run ends.');
  assert.equal(gen.epochCaption({ epoch: 3, fid: 7.5, class_acc: 0.5 }, 10), 'Epoch 3 of 10: Fréchet distance 7.50, judge accuracy 50.0 %');
  assert.equal(gen.epochCell({ epoch: 2, fid: null }, 'fid'), '–');
  assert.equal(gen.epochCell({ epoch: 2, d_acc: 0.9963 }, 'd_acc'), '99.6 %');
  assert.equal(gen.epochCell({ epoch: 2, g_loss: 1.23456 }, 'g_loss'), '1.235');
  assert.equal(gen.tookText(16, 12.34), '16 digits sampled in 12.3 ms on the server.');
  assert.equal(gen.tookText(16, NaN), '16 digits sampled in – ms on the server.'); // no timing header
});

test('warnings are said in the chosen language from their code; an unknown one in the server\'s English', () => {
  const collapse = { code: 'mode_collapse', text: 'mode collapse: ...', digits: '3, 7', acc: null };
  const wins = { code: 'discriminator_wins', text: 'the discriminator wins outright ...', digits: null, acc: '99.6' };
  const other = { code: null, text: 'something new', digits: null, acc: null };
  assert.match(gen.warningText(collapse), /^mode collapse: the samples of digit\(s\) 3, 7 look alike/);
  assert.match(gen.warningText(wins), /^the discriminator wins outright \(99\.6 %/);
  i18n.setLanguage('zh');
  assert.equal(gen.warningText(collapse), '模式崩溃：数字 3, 7 的样本彼此相似（不同样本的比例不到真实数据的 80 %）。');
  assert.match(gen.warningText(wins), /^判别器完胜（真假样本有 99\.6 % 分对）/);
  assert.equal(gen.warningText(other), 'something new');
  assert.equal(gen.warningText({ ...other, code: 'from_a_newer_server' }), 'something new');
  assert.equal(gen.gridFileName({ digit: 7, interpolate: null }), 'digitlab-7s.png'); // file names are not translated
  i18n.setLanguage('en');
});

test('the grid is fetched as a Blob with the count and time from the server\'s headers', async () => {
  let sent;
  globalThis.fetch = async (path, init) => {
    sent = { path, ...init };
    const headers = { 'x-generate-ms': '12.5', 'x-generate-count': '16' };
    return { ok: true, headers: { get: (k) => headers[k.toLowerCase()] ?? null }, blob: async () => 'PNG' };
  };
  const req = gen.generateRequest(FORM);
  assert.deepEqual(await gen.fetchGrid(req), { blob: 'PNG', count: 16, ms: 12.5 });
  assert.equal(sent.path, '/api/generate');
  assert.equal(sent.method, 'POST');
  assert.deepEqual(JSON.parse(sent.body), req);
});

test('a refusal brings the server\'s sentence and status; no answer at all says the server cannot be reached', async () => {
  globalThis.fetch = async () => ({ ok: false, status: 422, statusText: 'Unprocessable', json: async () => ({ detail: 'digit: input should be less than or equal to 9.' }) });
  await assert.rejects(gen.fetchGrid({}), { message: 'digit: input should be less than or equal to 9.', status: 422 });
  globalThis.fetch = async () => ({ ok: false, status: 502, statusText: 'Bad Gateway', json: async () => { throw new SyntaxError('not JSON'); } });
  await assert.rejects(gen.fetchGrid({}), { message: '502 Bad Gateway', status: 502 });
  globalThis.fetch = async () => { throw new TypeError('Failed to fetch'); };
  await assert.rejects(gen.fetchGrid({}), { status: 0, message: i18n.t('error.network') });
});
