// The second half of the predictor on the device (recognize/predictor.py classify, _read, predict after the model):
// model outputs -> rejection -> context acceptance -> marks -> verdict -> text, as Answer.to_dict() shapes it.
// Pure: the picture's page and boxes and the model's outputs come in (predictor.js finds and runs them).
import { CONTEXT_TPR, inContext } from './context.js';
import { CODE, pyRound, reason, reasonText, toDict } from './reasons.js';
import { rejectorFromMeta } from './rejection.js';
import { KIND, judge, verdictDict } from './verdict.js';

export const NOT_A_DIGIT = 'not a digit';

/** Softmax rows of float32 logits (n, C), as float32. */
function softmax(logits, n, C) {
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * C, (i + 1) * C);
    const max = Math.max(...row);
    const exps = Array.from(row, (v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    exps.forEach((e, k) => { out[i * C + k] = e / sum; });
  }
  return out;
}

/** What the model saw as 28 rows of 28 grey levels rounded to 3 decimals (to_dict(with_image=True)); null for none. */
function rows28(image) {
  if (!image) return null;
  return Array.from({ length: 28 }, (_, y) => Array.from(image.subarray(y * 28, (y + 1) * 28), (v) => pyRound(v, 3)));
}

/** Indices of the largest values, largest first (torch.topk). */
function topIndices(p, k) {
  return [...p.keys()].sort((a, b) => p[b] - p[a] || a - b).slice(0, k);
}

/** Index of the first largest value. */
function argmax(values) {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

/**
 * A reader for an exported model's metadata (export.py metadata()): classes and the calibrated rejector.
 * `reader.read(gray, page, boxes, reasons, view)` answers for one picture; `view` is {logits, features} of the boxes.
 */
export function createReader(meta) {
  const classes = meta.classes;
  const rejector = rejectorFromMeta(meta.rejection);
  const threshold = rejector.threshold;
  const contextThreshold = Math.min(rejector.thresholdAt(CONTEXT_TPR), threshold); // never above the threshold

  /** One answer per mark from the model's outputs; `reasons` are the input checks' refusals (or null). */
  function classify(outputs, n, reasons) {
    const C = classes.length;
    const view = { logits: outputs.logits, features: outputs.features, n, C, D: outputs.features.length / n };
    const probs = softmax(view.logits, n, C);
    const score = rejector.combined(view);
    return Array.from({ length: n }, (_, i) => {
      const p = probs.subarray(i * C, (i + 1) * C);
      const top = topIndices(p, 3);
      const why = reasons[i] || (score[i] >= threshold ? null : reason(CODE.UNLIKE_DIGITS, { score: score[i], threshold }));
      return {
        label: why ? NOT_A_DIGIT : classes[top[0]],
        digit: why ? null : top[0],
        confidence: p[top[0]],
        top3: top.map((k) => [classes[k], p[k]]),
        probs: Array.from(p, (v) => pyRound(v, 5)),
        accepted: !why,
        reason: why ? reasonText(why) : null,
        score: score[i],
        threshold,
        box: null,
        why,
        in_context: false,
      };
    });
  }

  /** `d` accepted as its top class: a refused mark that context showed to be a digit. */
  function accept(d) {
    const k = argmax(d.probs);
    return { ...d, label: classes[k], digit: k, accepted: true, reason: null, why: null, in_context: true };
  }

  /** The rejected answer of a picture without marks. */
  function empty(why) {
    return {
      label: NOT_A_DIGIT, digit: null, confidence: 0, top3: [], probs: classes.map(() => 0), accepted: false,
      reason: reasonText(why), score: -Infinity, threshold, box: null, why, in_context: false, image: new Float32Array(784),
    };
  }

  /** The marks' answers (context applied) and the verdict of one picture. */
  function read(gray, page, boxes, reasons, outputs) {
    if (!boxes.length) {
      const digits = [empty(reason(CODE.NO_INK))];
      return { digits, verdict: judge(gray, page, [], digits[0].why) };
    }
    const digits = classify(outputs, boxes.length, reasons.map((r) => (r ? { ...r, mark: r.mark ?? null } : null)));
    digits.forEach((d, i) => { d.box = [...boxes[i].box]; d.image = boxes[i].image; });
    for (const i of inContext(boxes, digits, contextThreshold)) digits[i] = accept(digits[i]);
    const marks = boxes.map((b, i) => ({ box: b.box, line: b.line, label: digits[i].label, reason: digits[i].why }));
    return { digits, verdict: judge(gray, page, marks, null) };
  }

  /** Answer.to_dict() of a read picture; `toInput` maps a box in the grey picture to the file's pixels. */
  function answerDict({ digits, verdict }, source, ms, toInput = (b) => b) {
    return {
      source,
      text: verdict.kind !== KIND.NOT_DIGITS ? verdict.text : '',
      error: null,
      ms: pyRound(ms, 2),
      verdict: verdictDict(verdict),
      digits: digits.map((d) => ({ ...d, box: d.box ? toInput(d.box) : null, image: rows28(d.image), why: toDict(d.why) })),
    };
  }

  return { classes, rejector, threshold, contextThreshold, classify, read, answerDict };
}
