// The Train form, generated from /api/config/schema, with the same checks the server makes.
import { h } from './dom.js';
import { language, t } from './i18n.js';

// A schema entry's words in the chosen language: `meaning_zh` for `meaning` in Chinese; English where none is given.
const local = (entry, key) => entry[`${key}_${language()}`] ?? entry[key];

function rangeText(p) {
  if (p.enum) return p.enum.join(' | ');
  return p.range === 'any' ? t('train.any') : local(p, 'range');
}

/** A model family as its option reads: name, one-line description and parameter count at default settings. */
function choiceText(c) {
  return t('train.modelChoice', { name: c.name, summary: local(c, 'summary'), n: c.params.toLocaleString('en-US') });
}

function inputFor(p) {
  const id = `p-${p.name}`;
  if (p.json_type === 'boolean') return h('input', { id, name: p.name, type: 'checkbox', checked: !!p.default });
  if (p.enum) return h('select', { id, name: p.name }, p.enum.map((v) => h('option', { value: v, selected: v === p.default }, v)));
  if (p.choices) return h('select', { id, name: p.name }, p.choices.map((c) => h('option', { value: c.name, selected: c.name === p.default }, choiceText(c))));
  if (p.json_type === 'object') return h('input', { id, name: p.name, type: 'text', value: JSON.stringify(p.default), spellcheck: false });
  const number = p.json_type === 'integer' || p.json_type === 'number';
  return h('input', { id, name: p.name, type: number ? 'number' : 'text', value: p.default ?? '', inputmode: number ? 'decimal' : undefined,
    step: p.json_type === 'integer' ? 1 : 'any', min: p.min_exclusive ? undefined : p.min ?? undefined,
    max: p.max_exclusive ? undefined : p.max ?? undefined,
    placeholder: p.nullable ? t('train.empty') : undefined, spellcheck: false });
}

function helpText(p) {
  const help = [local(p, 'meaning'), `${t('train.default')}: ${JSON.stringify(p.default)}`, `${t('train.range')}: ${rangeText(p)}`];
  if (p.unit) help.push(`${t('train.unit')}: ${local(p, 'unit')}`);
  return help.join(' · ');
}

/** One labelled field with its meaning, default and range, in the chosen language. */
export function fieldView(p) {
  return h('div', { class: `field ${p.json_type === 'boolean' ? 'check' : ''}`, 'data-param': p.name },
    h('label', { for: `p-${p.name}` }, p.name), inputFor(p),
    h('small', { class: 'help' }, helpText(p)), h('small', { class: 'field-error', 'aria-live': 'polite' }));
}

/** Say the fields' help and the model list again in the chosen language, keeping what was typed and chosen. */
export function relabelFields(form, params) {
  for (const p of params) {
    const el = form.elements[p.name];
    el.closest('.field').querySelector('.help').textContent = helpText(p);
    if (p.nullable) el.setAttribute('placeholder', t('train.empty'));
    if (p.choices) el.querySelectorAll('option').forEach((o, i) => { o.textContent = choiceText(p.choices[i]); });
  }
}

function parse(p, el) {
  if (p.json_type === 'boolean') return el.checked;
  const raw = el.value.trim();
  if (raw === '' && p.nullable) return null;
  if (p.json_type === 'object') {
    const value = JSON.parse(raw || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(t('check.object'));
    return value;
  }
  if (p.json_type === 'integer' || p.json_type === 'number') {
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) throw new Error(t('check.number'));
    if (p.json_type === 'integer' && !Number.isInteger(value)) throw new Error(t('check.integer'));
    return value;
  }
  return raw;
}

function check(p, value) {
  if (value === null || typeof value !== 'number') {
    if (p.pattern && typeof value === 'string' && !new RegExp(p.pattern).test(value)) throw new Error(t('check.pattern'));
    return;
  }
  if (p.min !== null && (p.min_exclusive ? value <= p.min : value < p.min)) throw new Error(t(p.min_exclusive ? 'check.gt' : 'check.ge', { v: p.min }));
  if (p.max !== null && (p.max_exclusive ? value >= p.max : value > p.max)) throw new Error(t(p.max_exclusive ? 'check.lt' : 'check.le', { v: p.max }));
}

/** The parameters that differ from their defaults, or null after marking every invalid field. */
export function readForm(form, params) {
  const out = {};
  let firstBad = null;
  for (const p of params) {
    const el = form.elements[p.name];
    const msg = el.closest('.field').querySelector('.field-error');
    try {
      const value = parse(p, el);
      check(p, value);
      msg.textContent = '';
      el.removeAttribute('aria-invalid');
      if (JSON.stringify(value) !== JSON.stringify(p.default)) out[p.name] = value;
    } catch (err) {
      msg.textContent = err instanceof SyntaxError ? t('check.json') : err.message;
      el.setAttribute('aria-invalid', 'true');
      firstBad ??= el;
    }
  }
  firstBad?.focus();
  return firstBad ? null : out;
}

/** Set form fields from a {name: value} map (used by the quick-test preset). */
export function setFields(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const el = form.elements[name];
    if (el.type === 'checkbox') el.checked = !!value;
    else el.value = typeof value === 'object' ? JSON.stringify(value) : value;
  }
}
