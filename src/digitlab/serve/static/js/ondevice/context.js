// A digit among digits (recognize/context.py): a mark refused only as "unlike the digits" is accepted when it
// stands in a line that already holds accepted digits of about its height, judged at a looser threshold.
import { CODE } from './reasons.js';

export const CONTEXT_TPR = 0.998; // share of validation digits the in-context threshold accepts
export const MIN_NEIGHBOURS = 2; // accepted digits the mark's line must hold already
export const HEIGHT_RANGE = [2 / 3, 3 / 2]; // the mark's height relative to the median accepted height of its line

/** Python's statistics.median (the mean of the two middle values for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Indices of the refused marks to accept: refused as unlike the digits, scored >= `threshold`, in a number.
 * `boxes`: [{box: [x0, y0, x1, y1], line}]; `answers`: [{accepted, score, why: {code} | null}], same order.
 */
export function inContext(boxes, answers, threshold) {
  const out = [];
  boxes.forEach((b, i) => {
    const a = answers[i];
    if (a.accepted || a.why?.code !== CODE.UNLIKE_DIGITS || a.score < threshold) return;
    const heights = boxes.filter((o, j) => answers[j].accepted && o.line === b.line).map((o) => o.box[3] - o.box[1]);
    if (heights.length < MIN_NEIGHBOURS) return;
    const ratio = (b.box[3] - b.box[1]) / median(heights);
    if (HEIGHT_RANGE[0] <= ratio && ratio <= HEIGHT_RANGE[1]) out.push(i);
  });
  return out;
}
