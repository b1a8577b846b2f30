// Render the predictor's answer: digits read, a bar per class, the "not a digit" verdict and the 28x28 input.
import { h } from './dom.js';
import { t } from './i18n.js';

const SCALE = 4; // the 28x28 picture is drawn 4x enlarged
const PERCENT = { fill: true, plain: true, difference: true }; // numbers of a reason shown as percentages ...
const PERCENT_THRESHOLD = { solid_blob: true, scene: true, mostly_refused: true, step_edge: true }; // ... and these codes' thresholds

/** A reason's numbers as shown: percentages whole, scores with 2 decimals, other fractions with 1, counts as they are. */
function shownNumbers(why) {
  const out = {};
  for (const [key, v] of Object.entries(why)) {
    if (typeof v !== 'number') out[key] = v;
    else if (PERCENT[key] || (key === 'threshold' && PERCENT_THRESHOLD[why.code])) out[key] = String(Math.round(100 * v));
    else if (Number.isInteger(v)) out[key] = String(v);
    else out[key] = v.toFixed(key === 'score' || key === 'threshold' ? 2 : 1);
  }
  return out;
}

/** A refusal in the reader's language: from its code and numbers (`why`), else the server's English sentence. */
export function reasonText(why, english) {
  if (!why || !why.code) return english || '';
  const text = t(`why.${why.code}`, shownNumbers(why));
  return why.mark === undefined || why.mark === null ? text : t('verdict.mark', { n: why.mark + 1, reason: text });
}

/** A canvas showing the 28x28 grey image the model saw (ink = 1, drawn dark on white). */
export function seenCanvas(image) {
  const canvas = h('canvas', { class: 'seen', width: 28 * SCALE, height: 28 * SCALE, title: t('answer.seen') });
  const small = new ImageData(28, 28);
  image.forEach((row, y) => row.forEach((v, x) => {
    const level = Math.round(255 * (1 - v));
    small.data.set([level, level, level, 255], 4 * (28 * y + x));
  }));
  const ctx = canvas.getContext('2d');
  const tmp = h('canvas', { width: 28, height: 28 });
  tmp.getContext('2d').putImageData(small, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, 28 * SCALE, 28 * SCALE);
  return canvas;
}

function bars(digit) {
  const best = digit.probs.indexOf(Math.max(...digit.probs));
  return h('ol', { class: 'bars', 'aria-label': t('answer.probs') },
    digit.probs.map((p, k) => h('li', { class: k === best ? 'best' : '' },
      h('span', { class: 'cls' }, String(k)),
      h('span', { class: 'bar' }, h('span', { style: `width:${(100 * p).toFixed(1)}%` })),
      h('span', { class: 'val' }, `${(100 * p).toFixed(1)}%`))));
}

function verdict(digit) {
  if (digit.accepted) {
    return h('div', { class: 'verdict ok' },
      h('span', { class: 'label' }, digit.label),
      h('span', {}, t('answer.confidence', { p: (100 * digit.confidence).toFixed(1) })));
  }
  const score = digit.score === null ? '−∞' : digit.score.toFixed(2);
  return h('div', { class: 'verdict rejected' },
    h('span', { class: 'label' }, t('answer.notDigit')),
    h('span', {}, t('answer.reason', { reason: reasonText(digit.why, digit.reason) })),
    h('span', { class: 'score' }, t('answer.score', { score, threshold: digit.threshold.toFixed(2) })));
}

/** A mark's card; `setApart`: the model read it as a digit, but the verdict on the whole picture does not count it;
 * `why`: a "why?" button and panel for a mark that was found (it has a box), or nothing. */
function digitCard(digit, setApart = false, why = null) {
  return h('div', { class: `digit ${digit.accepted && !setApart ? '' : 'rejected'} ${why ? 'has-why' : ''}` },
    h('figure', {}, digit.image ? seenCanvas(digit.image) : '', h('figcaption', {}, t('answer.seen'))),
    h('div', { class: 'detail' }, verdict(digit),
      setApart && digit.accepted ? h('p', { class: 'set-apart', 'data-testid': 'set-apart' }, t('answer.setApart')) : '',
      bars(digit)),
    why || '');
}

/** Indices of the marks the verdict does not count: its refused ones, or all of a picture that is not digits. */
function setApartMarks(answer) {
  const v = answer.verdict;
  if (!v) return new Set();
  return new Set(v.kind === 'not digits' ? answer.digits.map((_, i) => i) : v.refused || []);
}

const KIND_KEYS = { digits: 'verdict.digits', partly: 'verdict.partly', 'not digits': 'verdict.notDigits' };

/** The verdict on the whole picture: its kind, and why it is not (all) digits, in the reader's language. */
export function wholeVerdict(verdict) {
  if (!verdict) return '';
  const reasons = (verdict.why || []).map((why) => reasonText(why));
  const kind = verdict.kind === 'not digits' ? 'no' : verdict.kind === 'partly' ? 'part' : 'ok';
  return h('p', { class: `whole ${kind}`, 'data-testid': 'verdict' },
    h('strong', { 'data-testid': 'verdict-kind' }, t(KIND_KEYS[verdict.kind] || 'verdict.digits', { text: verdict.text })),
    reasons.length ? h('span', { 'data-testid': 'verdict-reason' }, ` ${t('answer.reason', { reason: reasons.join('; ') })}`) : '');
}

/** One picture's answer as an <article>; `thumb` is an optional preview URL of the original; `why(i)`, when given, makes
 * digit i's "why?" button (inside.js). */
export function answerView(answer, thumb, why = null) {
  const read = answer.error ? t('answer.error') : (answer.text ? `“${answer.text}”` : t('answer.nothing'));
  return h('article', { class: 'answer' },
    h('header', {},
      thumb ? h('img', { class: 'thumb', src: thumb, alt: '' }) : '',
      h('span', { class: 'source' }, answer.source),
      h('strong', { class: 'text', 'data-testid': 'answer-text' }, read),
      h('span', { class: 'ms', 'data-engine': answer.engine === 'device' ? 'device' : 'server' }, t('rec.answeredBy', {
        where: t(answer.engine === 'device' ? 'rec.whereDevice' : 'rec.whereServer'),
        ms: answer.ms < 10 ? answer.ms.toFixed(1) : Math.round(answer.ms),
      }))),
    answer.error ? h('p', { class: 'error' }, answer.error) : wholeVerdict(answer.verdict),
    answer.error ? '' : h('div', { class: 'digits' }, answer.digits.map((d, i) => digitCard(d, setApartMarks(answer).has(i), why && d.box ? why(i) : null))));
}
