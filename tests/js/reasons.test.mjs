// Every refusal code of recognize/reasons.py has a translation in both languages with the same {placeholders}
// as its English sentence there; reasons and the whole-picture verdict render from code and numbers (issue 11).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';

import { installDom } from './fake_dom.mjs';

const PY = readFileSync(new URL('../../src/digitlab/recognize/reasons.py', import.meta.url), 'utf8');
const placeholders = (text) => [...new Set([...text.matchAll(/\{(\w+)(?::[^}]*)?\}/g)].map((m) => m[1]))].sort();

/** code -> English template, read from the Python table (``Code.NAME: "template"``) and the enum (``NAME = "code"``). */
function pythonReasons() {
  const codes = Object.fromEntries([...PY.matchAll(/^ {4}([A-Z_]+) = "([a-z_]+)"$/gm)].map((m) => [m[1], m[2]]));
  const templates = Object.fromEntries([...PY.matchAll(/^ {4}Code\.([A-Z_]+): "(.*)",$/gm)].map((m) => [codes[m[1]], m[2]]));
  return { codes: Object.values(codes), templates };
}

let i18n, answer;
before(async () => {
  installDom();
  const store = {};
  globalThis.localStorage = { getItem: (k) => store[k] ?? null, setItem: (k, v) => { store[k] = String(v); } };
  i18n = await import('../../src/digitlab/serve/static/js/i18n.js');
  answer = await import('../../src/digitlab/serve/static/js/answer.js');
});

test('the Python table is read: every code has an English sentence there', () => {
  const { codes, templates } = pythonReasons();
  assert.ok(codes.length >= 11, `found only ${codes.length} codes: the scan is broken`);
  assert.deepEqual(codes.filter((c) => !(c in templates)), []);
});

test('every code has a why.<code> string in English and Chinese with the placeholders of its Python sentence', () => {
  const { en, zh } = i18n.DICTIONARIES;
  for (const [code, template] of Object.entries(pythonReasons().templates)) {
    for (const [lang, dict] of [['en', en], ['zh', zh]]) {
      assert.ok(dict[`why.${code}`], `why.${code} missing in ${lang}`);
      assert.deepEqual(placeholders(dict[`why.${code}`]), placeholders(template), `placeholders of why.${code} in ${lang}`);
    }
  }
  for (const key of ['verdict.digits', 'verdict.partly', 'verdict.notDigits', 'verdict.mark']) assert.ok(en[key] && zh[key], key);
});

test('a reason renders from its code and numbers in the chosen language, never the English sentence in Chinese', () => {
  const why = { code: 'unlike_digits', score: -5.1234, threshold: -4.46 };
  i18n.setLanguage('en');
  assert.equal(answer.reasonText(why, 'english'), 'unlike the digits this model knows (score -5.12 < -4.46)');
  assert.equal(answer.reasonText({ code: 'solid_blob', fill: 0.873, threshold: 0.75 }), 'a solid blob of ink (87 % of its box), not pen strokes');
  assert.equal(answer.reasonText(null, 'old server sentence'), 'old server sentence'); // no code: the server's words
  i18n.setLanguage('zh');
  assert.equal(answer.reasonText({ code: 'no_ink' }, 'no ink found'), '没有找到笔迹');
  assert.equal(answer.reasonText({ code: 'scene', plain: 0.53, threshold: 0.9 }), '这是一张场景照片，不是写在平整表面上的字（平整背景 53 % < 90 %）');
  assert.equal(answer.reasonText({ code: 'solid_blob', fill: 0.87, threshold: 0.75, mark: 1 }), '第 2 个记号：一块实心墨迹（占其方框的 87 %），不是笔画');
  i18n.setLanguage('en');
});

test('the whole-picture verdict shows its kind and its translated reasons', () => {
  i18n.setLanguage('zh');
  const el = answer.wholeVerdict({ kind: 'not digits', text: '', why: [{ code: 'scene', plain: 0.5, threshold: 0.9 }] });
  assert.equal(el.querySelector('[data-testid=verdict-kind]').textContent, '不是数字');
  assert.match(el.querySelector('[data-testid=verdict-reason]').textContent, /原因：这是一张场景照片/);
  i18n.setLanguage('en');
  const ok = answer.wholeVerdict({ kind: 'digits', text: '4071', why: [] });
  assert.equal(ok.textContent, 'Digits: “4071”');
  assert.equal(answer.wholeVerdict(null), '');
});
