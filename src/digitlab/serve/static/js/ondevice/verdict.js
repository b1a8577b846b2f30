// The verdict on a whole picture (recognize/verdict.py): "digits", "partly" (some marks refused: which and why) or
// "not digits", from the grey picture, its ink page and the marks. Marks are {box: [x0, y0, x1, y1] in the grey
// picture's pixels, line, label, reason: {code, numbers, mark} | null (accepted)}.
import { median } from './context.js';
import { f as f32, median32, percentile32, roundHalfEven } from './numeric.js';
import { CODE, reason, reasonText, toDict, pyRound } from './reasons.js';
import { plainShare, sceneTiles } from './surface.js';

export { plainShare, sceneTiles } from './surface.js';

export const KIND = Object.freeze({ DIGITS: 'digits', PARTLY: 'partly', NOT_DIGITS: 'not digits' });
export const MIN_PLAIN = 0.88; // fewer plain background tiles than this share: a scene
export const STEP_RATIO = 0.25; // sides of a mark differing by more than this share of its ink contrast: an edge
export const MAX_REFUSED_SHARE = 0.5; // more than half the marks refused: not a number with a stray mark
export const MAX_HEIGHT_RATIO = 2.5; // digits of one number: the tallest at most 2.5x the shortest
export const MAX_LINES = 4; // a number is a row or a few lines
export const MAX_GAP = 4.0; // widest gap between neighbouring digits of a line, in typical digit heights

/** The grey values of rows y0..y1, columns x0..x1 (clipped), ink made dark. */
function region(gray, dark, x0, x1, y0, y1) {
  const out = [];
  const xs = [Math.max(x0, 0), Math.min(x1, gray.width)];
  for (let y = Math.max(y0, 0); y < Math.min(y1, gray.height); y++) {
    for (let x = xs[0]; x < xs[1]; x++) {
      const v = gray.data[y * gray.width + x];
      out.push(dark ? v : f32(1 - v));
    }
  }
  return out;
}

/** How much the picture differs on the two sides of a mark, as a share of its ink contrast; null at the border. */
export function stepRatio(gray, box, darkInk) {
  const [x0, y0, x1, y1] = box;
  const m = Math.max(2, roundHalfEven(0.25 * Math.max(y1 - y0, x1 - x0)));
  const [a, b] =
    y1 - y0 >= x1 - x0
      ? [region(gray, darkInk, Math.max(x0 - m, 0), x0, y0, y1), region(gray, darkInk, x1, x1 + m, y0, y1)]
      : [region(gray, darkInk, x0, x1, Math.max(y0 - m, 0), y0), region(gray, darkInk, x0, x1, y1, y1 + m)];
  if (a.length === 0 || b.length === 0) return null;
  const sa = median32(a);
  const sb = median32(b);
  const ink = percentile32(region(gray, darkInk, x0, x1, y0, y1), 5);
  return Math.abs(sa - sb) / Math.max(Math.max(sa, sb) - ink, 1e-3);
}

/** `marks` with the accepted ones that are no pen strokes, or do not belong with the others, refused. */
export function setApart(marks, gray, darkInk = true) {
  marks = marks.map((m) => {
    const step = m.reason === null ? stepRatio(gray, m.box, darkInk) : null;
    return step !== null && step > STEP_RATIO ? { ...m, reason: reason(CODE.STEP_EDGE, { difference: step, threshold: STEP_RATIO }) } : m;
  });
  const accepted = marks.flatMap((m, i) => (m.reason === null ? [i] : []));
  if (accepted.length < 2) return marks;
  const out = [...marks];
  for (const i of accepted) {
    const [x0, y0, x1, y1] = marks[i].box;
    const others = median(accepted.filter((j) => j !== i).map((j) => marks[j].box[3] - marks[j].box[1]));
    const ratio = (y1 - y0) / Math.max(others, 1.0);
    if ((y0 <= 0 && y1 >= gray.height) || (x0 <= 0 && x1 >= gray.width)) out[i] = { ...marks[i], reason: reason(CODE.EDGE_TO_EDGE) };
    else if (ratio > MAX_HEIGHT_RATIO) out[i] = { ...marks[i], reason: reason(CODE.TOO_TALL, { ratio, threshold: MAX_HEIGHT_RATIO }) };
  }
  return out;
}

/** Tallest / shortest accepted mark; null for fewer than two. */
function heightRatio(accepted) {
  const heights = accepted.map((m) => m.box[3] - m.box[1]);
  return heights.length > 1 ? Math.max(...heights) / Math.max(Math.min(...heights), 1) : null;
}

/** Widest horizontal gap between neighbours on one line, in median mark heights; null without neighbours. */
function widestGap(accepted) {
  const typical = accepted.length ? median(accepted.map((m) => m.box[3] - m.box[1])) : 0;
  const gaps = [];
  for (const line of new Set(accepted.map((m) => m.line))) {
    const row = accepted.filter((m) => m.line === line).map((m) => m.box).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < row.length; i++) gaps.push((row[i][0] - row[i - 1][2]) / Math.max(typical, 1.0));
  }
  return gaps.length ? Math.max(...gaps) : null;
}

/** Every piece of evidence about one picture (Evidence, field names as in Python). */
export function gather(gray, page, marks) {
  const accepted = marks.filter((m) => m.reason === null);
  const tiles = sceneTiles(gray, page);
  return {
    marks: marks.length,
    refused: marks.length - accepted.length,
    plain: tiles === null ? null : plainShare(tiles),
    height_ratio: heightRatio(accepted),
    lines: new Set(accepted.map((m) => m.line)).size,
    widest_gap: widestGap(accepted),
  };
}

/** The evidence that the picture as a whole is no written number (empty: none). */
export function against(ev) {
  const out = [];
  if (ev.plain !== null && ev.plain < MIN_PLAIN) out.push(reason(CODE.SCENE, { plain: ev.plain, threshold: MIN_PLAIN }));
  if (ev.marks > 1 && ev.refused / ev.marks > MAX_REFUSED_SHARE) {
    out.push(reason(CODE.MOSTLY_REFUSED, { refused: ev.refused, marks: ev.marks, threshold: MAX_REFUSED_SHARE }));
  }
  if (ev.height_ratio !== null && ev.height_ratio > MAX_HEIGHT_RATIO) {
    out.push(reason(CODE.UNEVEN_HEIGHTS, { ratio: ev.height_ratio, threshold: MAX_HEIGHT_RATIO }));
  }
  if (ev.lines > MAX_LINES) out.push(reason(CODE.TOO_MANY_LINES, { lines: ev.lines, threshold: MAX_LINES }));
  if (ev.widest_gap !== null && ev.widest_gap > MAX_GAP) out.push(reason(CODE.SCATTERED, { gap: ev.widest_gap, threshold: MAX_GAP }));
  return out;
}

/** The verdict from the evidence; `empty` is the reason when no mark was found at all (no ink). */
export function decide(marks, ev, empty = null) {
  const refused = marks.flatMap((m, i) => (m.reason !== null ? [i] : []));
  const text = marks.map((m) => (m.reason ? '?' : m.label)).join('');
  const reasons = against(ev);
  const verdict = (kind, txt, why) => ({ kind, text: txt, refused: kind === KIND.DIGITS ? [] : refused, reasons: why, evidence: ev });
  if (refused.length === marks.length) {
    const whole = reasons.filter((r) => r.code !== CODE.MOSTLY_REFUSED);
    if (marks.length > 1) return verdict(KIND.NOT_DIGITS, '', [...whole, ...reasons.filter((r) => r.code === CODE.MOSTLY_REFUSED)]);
    const only = marks.length ? marks[0].reason : empty;
    return verdict(KIND.NOT_DIGITS, '', [...whole, only || reason(CODE.NO_INK)]);
  }
  if (reasons.length) return verdict(KIND.NOT_DIGITS, '', reasons);
  if (refused.length) return verdict(KIND.PARTLY, text, refused.map((i) => ({ ...marks[i].reason, mark: i })));
  return verdict(KIND.DIGITS, text, []);
}

/** Set apart the marks that do not belong, gather the evidence on one picture and decide. */
export function judge(gray, page, marks, empty = null) {
  marks = setApart(marks, gray, page.inverted);
  return decide(marks, gather(gray, page, marks), empty);
}

/** The verdict as Verdict.to_dict(): kind, text, refused, reason (English), why, evidence (floats to 4 places). */
export function verdictDict(v) {
  const evidence = Object.fromEntries(Object.entries(v.evidence).map(([k, x]) => [k, typeof x === 'number' ? pyRound(x, 4) : x]));
  return {
    kind: v.kind,
    text: v.text,
    refused: [...v.refused],
    reason: v.reasons.map(reasonText).join('; ') || null,
    why: v.reasons.map(toDict),
    evidence,
  };
}
