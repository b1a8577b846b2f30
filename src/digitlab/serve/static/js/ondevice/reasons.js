// Why a mark or a picture is refused, on the device: the codes, numbers and English sentences of recognize/reasons.py.
// The web app says a reason in the reader's language from its code and numbers (i18n.js, key why.<code>); the
// English sentence here is what the server's answer carries in `reason`, so an on-device answer reads the same.

/** Stable reason codes (part of the API: the same strings as reasons.py's Code). */
export const CODE = Object.freeze({
  NO_INK: 'no_ink',
  TOO_MANY_MARKS: 'too_many_marks',
  SOLID_BLOB: 'solid_blob',
  NOT_STROKES: 'not_strokes',
  LINE_OR_DASH: 'line_or_dash',
  UNLIKE_DIGITS: 'unlike_digits',
  TOO_TALL: 'too_tall',
  EDGE_TO_EDGE: 'edge_to_edge',
  STEP_EDGE: 'step_edge',
  SCENE: 'scene',
  MOSTLY_REFUSED: 'mostly_refused',
  UNEVEN_HEIGHTS: 'uneven_heights',
  SCATTERED: 'scattered',
  TOO_MANY_LINES: 'too_many_lines',
});

/** English sentence per code, Python format syntax ({name}, {name:.1f}, {name:.0%}), as in reasons.py TEMPLATES. */
export const TEMPLATES = Object.freeze({
  no_ink: 'no ink found',
  too_many_marks: 'too many separate marks ({marks}) for a number: noise or texture',
  solid_blob: 'a solid blob of ink ({fill:.0%} of its box), not pen strokes',
  not_strokes: 'ink is not stroke-like (stroke width {width:.1f} px in 28x28)',
  line_or_dash: 'far wider than tall: a line or a dash, not a digit',
  unlike_digits: 'unlike the digits this model knows (score {score:.2f} < {threshold:.2f})',
  too_tall: 'much taller than the other digits ({ratio:.1f}x their height > {threshold:.1f}x)',
  edge_to_edge: 'runs from one edge of the picture to the other: an edge or a pole, not a digit',
  step_edge: 'the edge between two different surfaces, not a pen stroke (its sides differ by {difference:.0%} of its contrast > {threshold:.0%})',
  scene: 'a photo of a scene, not writing on a plain surface (plain background {plain:.0%} < {threshold:.0%})',
  mostly_refused: 'most marks are not digits ({refused} of {marks} refused)',
  uneven_heights: 'the digits are not of similar heights, as in a written number (tallest {ratio:.1f}x the shortest > {threshold:.1f}x)',
  scattered: 'the digits are scattered, not written in a row (a gap of {gap:.1f} digit heights > {threshold:.1f})',
  too_many_lines: 'the digits stand on too many lines for a number ({lines} > {threshold})',
});

/** `x` with `digits` decimals as Python writes it: the exact binary value rounded, ties to even (toFixed: ties up). */
export function fixed(x, digits) {
  const text = x.toFixed(digits);
  const scaled = Math.abs(x) * 2 ** (digits + 1); // exact (a power of two): odd integer <=> x lies exactly on a tie
  if (!Number.isInteger(scaled) || scaled % 2 === 0) return text;
  const last = Number(text[text.length - 1]);
  if (last % 2 === 0) return text; // toFixed rounded the tie up to an even digit: Python agrees
  const down = (Math.abs(x) * 10 ** digits - 0.5) / 10 ** digits; // ties here are few-bit numbers: exact enough
  return (x < 0 ? '-' : '') + down.toFixed(digits);
}

/** Python's round(x, digits) for a float (ties to even on the exact binary value). */
export function pyRound(x, digits) {
  return Number.isFinite(x) ? Number(fixed(x, digits)) : x;
}

/** One value formatted by a Python format spec of the templates: '', '.Nf' or '.N%'. */
export function formatValue(value, spec) {
  const m = /^\.(\d+)([f%])$/.exec(spec || '');
  if (!m) return String(value);
  const digits = Number(m[1]);
  return m[2] === '%' ? `${fixed(value * 100, digits)}%` : fixed(value, digits);
}

/** A template with its {name[:spec]} placeholders filled from `numbers` (Python's str.format for these templates). */
export function formatTemplate(template, numbers) {
  return template.replace(/\{(\w+)(?::([^}]*))?\}/g, (_, name, spec) => {
    if (!(name in numbers)) throw new Error(`missing number ${name}`);
    return formatValue(numbers[name], spec);
  });
}

/** A refusal: code, numbers (unrounded) and the mark it is about (null: the picture or the mark itself). */
export function reason(code, numbers = {}, mark = null) {
  return { code, numbers, mark };
}

/** The English sentence of a reason (Reason.text). */
export function reasonText(r) {
  const sentence = formatTemplate(TEMPLATES[r.code], r.numbers);
  return r.mark === null || r.mark === undefined ? sentence : `mark ${r.mark + 1}: ${sentence}`;
}

/** {code, ...numbers rounded to 4 decimals, mark?}: Reason.to_dict. */
export function reasonDict(code, numbers = {}, mark = null) {
  const d = { code };
  for (const [k, v] of Object.entries(numbers)) d[k] = typeof v === 'number' && !Number.isInteger(v) ? pyRound(v, 4) : v;
  if (mark !== null && mark !== undefined) d.mark = mark;
  return d;
}

/** reasonDict of a reason object. */
export function toDict(r) {
  return r ? reasonDict(r.code, r.numbers, r.mark) : null;
}
