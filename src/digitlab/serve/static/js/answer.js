// Render the predictor's answer: digits read, a bar per class, the "not a digit" verdict and the 28x28 input.
import { h } from './dom.js';
import { t } from './i18n.js';

const SCALE = 4; // the 28x28 picture is drawn 4x enlarged

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
    h('span', {}, t('answer.reason', { reason: digit.reason })),
    h('span', { class: 'score' }, t('answer.score', { score, threshold: digit.threshold.toFixed(2) })));
}

function digitCard(digit) {
  return h('div', { class: `digit ${digit.accepted ? '' : 'rejected'}` },
    h('figure', {}, digit.image ? seenCanvas(digit.image) : '', h('figcaption', {}, t('answer.seen'))),
    h('div', { class: 'detail' }, verdict(digit), bars(digit)));
}

/** One picture's answer as an <article>; `thumb` is an optional preview URL of the original. */
export function answerView(answer, thumb) {
  const read = answer.error ? t('answer.error') : (answer.text ? `“${answer.text}”` : t('answer.nothing'));
  return h('article', { class: 'answer' },
    h('header', {},
      thumb ? h('img', { class: 'thumb', src: thumb, alt: '' }) : '',
      h('span', { class: 'source' }, answer.source),
      h('strong', { class: 'text', 'data-testid': 'answer-text' }, read),
      h('span', { class: 'ms' }, `${Math.round(answer.ms)} ms`)),
    answer.error ? h('p', { class: 'error' }, answer.error) : h('div', { class: 'digits' }, answer.digits.map(digitCard)));
}
