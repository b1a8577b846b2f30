// Input checks after preprocessing: evidence of "not a digit" read from the ink before the model runs
// (a port of recognize/checks.py). Limits are loose on purpose: they only catch what is clearly no handwritten
// digit; the calibrated model scores decide the rest. A reason is {code, numbers}, the codes of reasons.py.

export const MAX_DIGITS = 24; // more marks than this on one picture: noise, texture or text, not a number
export const MAX_FILL = 0.75; // ink filling more of its box is a solid blob: MNIST's median is 0.35, its 99.9th percentile 0.70 ...
export const BLOB_ASPECT = 2.5; // ... counted only for boxes less than 2.5x taller than wide (a thin "1" fills its narrow box)
export const MAX_STROKE = 7.0; // strokes wider than this (in 28x28 pixels; MNIST is ~2-3) are not pen strokes
export const MIN_ASPECT = 0.15; // boxes over 6.7x wider than tall are lines or dashes (MNIST's widest is 0.19)

/** A reason that applies to every box of the picture, or null. */
export function checkPage(boxes) {
  if (boxes.length > MAX_DIGITS) return { code: 'too_many_marks', numbers: { marks: boxes.length, threshold: MAX_DIGITS } };
  return null;
}

/** For each box of one picture (findDigits' result): the reason the input checks refuse it (the page's first), or null. */
export function inputReasons(boxes) {
  const page = checkPage(boxes);
  return boxes.map((b) => page || checkDigit(b));
}

/** A reason why this box is not a handwritten digit, or null. */
export function checkDigit(box) {
  if (box.ink_fraction > MAX_FILL && box.aspect < BLOB_ASPECT) return { code: 'solid_blob', numbers: { fill: box.ink_fraction, threshold: MAX_FILL } };
  if (box.stroke_width > MAX_STROKE) return { code: 'not_strokes', numbers: { width: box.stroke_width, threshold: MAX_STROKE } };
  if (box.aspect < MIN_ASPECT) return { code: 'line_or_dash', numbers: { aspect: box.aspect, threshold: MIN_ASPECT } };
  return null;
}
