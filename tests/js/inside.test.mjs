// The "why?" panel (issue 17, part 6) from /api/inside's JSON (fake DOM, fake fetch): the layers with their shapes,
// the saliency and Grad-CAM captions, a network without convolution or filters said so, in English and Chinese; the
// button asks the server once and keeps its panel open across a re-render.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { installDom } from './fake_dom.mjs';

let inside;
let i18n;
const PNG = 'data:image/png;base64,iVBORw0KGgo=';
const IG = { steps: 64, sum: 3.96, logit: 4.1, baseline_logit: 0.17 };
const CNN = {
  label: '7', predicted: 7, confidence: 0.94, probs: [],
  layers: [
    { name: 'features.0.0', type: 'Conv2d', shape: [1, 32, 26, 26], channels: [3, 30], maps: PNG },
    { name: 'features.3', type: 'Flatten', shape: [1, 576], channels: [], maps: null },
    { name: 'head', type: 'Linear', shape: [1, 10], channels: [], maps: null },
  ],
  filters: { layer: 'features.0.0', type: 'Conv2d', shape: [32, 1, 3, 3], shown: 32 },
  integrated_gradients: IG,
  gradcam: { layer: 'features.3', entering: true, side: [3, 3] },
  images: { saliency: PNG, gradcam: PNG, filters: PNG },
};
const RNN = {
  ...CNN,
  layers: [{ name: 'rnn', type: 'LSTM', shape: [1, 28, 128], channels: [], maps: null }, { name: 'head', type: 'Linear', shape: [1, 10], channels: [], maps: null }],
  filters: null, gradcam: null, images: { saliency: PNG, gradcam: null, filters: null },
};

function panel(data) {
  const div = document.createElement('div');
  div.append(...inside.insideView(data).filter((x) => x !== ''));
  return div;
}

const shapes = (el) => el.querySelectorAll('[data-testid=inside-shape]').map((c) => c.textContent);

before(async () => {
  installDom();
  const saved = {};
  globalThis.localStorage = { getItem: (k) => saved[k] ?? null, setItem: (k, v) => { saved[k] = String(v); } };
  globalThis.sessionStorage = { getItem: () => null };
  i18n = await import('../../src/digitlab/serve/static/js/i18n.js');
  inside = await import('../../src/digitlab/serve/static/js/inside.js');
  i18n.setLanguage('en');
});

after(() => i18n.setLanguage('en'));

test('the layers with their shapes, the saliency, Grad-CAM on the map entering the flatten, the filters', () => {
  const el = panel(CNN);
  assert.deepEqual(shapes(el), ['[1, 32, 26, 26]', '[1, 576]', '[1, 10]']);
  assert.equal(el.querySelectorAll('img.maps').length, 1); // only the spatial layer has channel maps
  const text = el.textContent;
  assert.match(text, /The network answers 7 \(94\.0 % sure\)/);
  assert.match(text, /Grad-CAM on the 3×3 map entering features\.3/);
  assert.match(text, /The pixels' shares add up to 3\.96; the answer's logit rose by 3\.93 from a blank picture \(64 steps\)/);
  assert.match(text, /32 filters of features\.0\.0, weights \[32, 1, 3, 3\]/);
  assert.ok(el.querySelector('[data-testid=inside-saliency]') && el.querySelector('[data-testid=inside-gradcam]'));
  assert.doesNotMatch(text, /No Grad-CAM|no filters/);
});

test('a network without convolution or image-shaped filters says so, in both languages', () => {
  let el = panel(RNN);
  assert.equal(el.querySelector('[data-testid=inside-gradcam]'), null);
  assert.equal(el.querySelector('[data-testid=inside-filters]'), null);
  assert.match(el.textContent, /No Grad-CAM: this network has no convolution\./);
  assert.match(el.textContent, /no filters to show/);
  assert.deepEqual(shapes(el), ['[1, 28, 128]', '[1, 10]']);
  i18n.setLanguage('zh');
  el = panel(RNN);
  assert.match(el.textContent, /没有 Grad-CAM：这个网络没有卷积层。/);
  assert.match(el.textContent, /没有可显示的滤波器/);
  assert.match(panel(CNN).textContent, /Grad-CAM，基于输入 features\.3 的 3×3 特征图/);
  assert.doesNotMatch(el.textContent, /[A-Za-z]{5,} (the|a|of) /); // no English sentence left
  i18n.setLanguage('en');
});

test('"why?" asks the server once for its digit and keeps the panel open when the answers are drawn again', async () => {
  const sent = [];
  globalThis.fetch = async (path, { method, body }) => {
    sent.push([path, method, body.get('digit'), body.get('file').name]);
    return { ok: true, headers: { get: () => 'application/json' }, json: async () => CNN };
  };
  const picture = new File([new Uint8Array([1, 2, 3])], 'seven.png', { type: 'image/png' });
  const box = inside.whyButton(picture, 1);
  const [button, div] = box.children;
  assert.equal(button.textContent, 'why?');
  assert.equal(div.getAttribute('hidden'), '');
  await button.listeners.click[0]();
  assert.deepEqual(sent, [['/api/inside', 'POST', '1', 'seven.png']]);
  assert.equal(div.hidden, false);
  assert.deepEqual(shapes(div), ['[1, 32, 26, 26]', '[1, 576]', '[1, 10]']);
  const again = inside.whyButton(picture, 1).children[1]; // e.g. after a language switch
  assert.equal(again.getAttribute('hidden'), null);
  assert.deepEqual(shapes(again), ['[1, 32, 26, 26]', '[1, 576]', '[1, 10]']);
  await button.listeners.click[0](); // closes
  await button.listeners.click[0](); // opens again, from what it has
  assert.equal(div.hidden, false);
  assert.equal(sent.length, 1);
  assert.equal(inside.whyButton(picture, 0).children[1].getAttribute('hidden'), ''); // another digit: its own panel
});
