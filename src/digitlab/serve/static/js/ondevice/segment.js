// Find several digits in one picture, in reading order: a port of recognize/segment.py.
// The components of one digit are merged (a broken 4 or 5 comes as two pieces stacked over each other), small
// groups dropped, the digits grouped into lines top to bottom and ordered left to right within a line. Each
// digit's 28x28 image is made by the same digitCrop -> renderMnist code as in Python.

import { median64 } from './numeric.js';
import { digitCrop, inputBox, renderMnist, strokeWidth, unionBox } from './preprocess.js';

export const MAX_PARTS = 400; // components considered; a page with more is texture, not digits
export const OVERLAP = 0.5; // parts of one digit share >= half the narrower part's columns,
export const TOUCH_GAP = 0.1; // and either nearly touch (gap <= 10 % of the taller part's height)
export const MAX_GAP = 0.25; // or are at most this many typical digit heights apart vertically
export const MAX_HEIGHT = 1.4; // and together no taller than this (else: two lines)
export const MIN_RELATIVE_AREA = 0.1; // digits under 10 % of the median digit's ink are specks

/**
 * All digits of a page (inkPage's result), top line first, left to right; [] when there is no ink. Each is
 * Python's DigitBox: {box: [x0, y0, x1, y1] input pixels, line, image: Float32Array(784), ink_fraction,
 * aspect, stroke_width, n_parts}.
 */
export function findDigits(page) {
  const groups = dropSmall(page, mergeParts(page));
  const boxes = groups.map((g) => unionBox(page, g));
  const found = [];
  lines(boxes).forEach((members, line) => {
    const ordered = [...members].sort((a, b) => boxes[a][0] - boxes[b][0]); // stable: ties keep their order
    for (const i of ordered) {
      const { crop, box } = digitCrop(page, groups[i]);
      const image = renderMnist(crop);
      const [h, w] = [box[3] - box[1], box[2] - box[0]];
      const ink = groups[i].reduce((s, id) => s + page.areas[id], 0);
      found.push({ box: inputBox(page, box), line, image, ink_fraction: ink / (h * w), aspect: h / w, stroke_width: strokeWidth(image), n_parts: groups[i].length });
    }
  });
  return found;
}

/**
 * Group component ids whose columns overlap strongly and that are stacked close.
 * Two digits in the same column of consecutive lines also overlap in columns; the height limit (relative to
 * the median part height, i.e. the typical digit) keeps them apart.
 */
function mergeParts(page) {
  const count = page.areas.length - 1;
  const n = Math.min(count, MAX_PARTS);
  if (n === 0) return [];
  const byArea = Array.from({ length: count }, (_, i) => i + 1).sort((a, b) => page.areas[b] - page.areas[a] || a - b);
  const ids = byArea.slice(0, n);
  const b = ids.map((id) => Array.from(page.boxes.subarray(4 * id, 4 * id + 4)));
  const w = b.map((r) => r[2] - r[0]);
  const h = b.map((r) => r[3] - r[1]);
  const ref = median64(h); // typical digit height: most digits are one component
  const near = (i, j) => {
    const cols = Math.min(b[i][2], b[j][2]) - Math.max(b[i][0], b[j][0]);
    const vgap = Math.max(b[i][1], b[j][1]) - Math.min(b[i][3], b[j][3]);
    const tall = Math.max(b[i][3], b[j][3]) - Math.min(b[i][1], b[j][1]);
    const touching = vgap <= TOUCH_GAP * Math.max(h[i], h[j]); // a stroke broken apart
    const stacked = vgap <= MAX_GAP * ref && tall <= MAX_HEIGHT * ref; // e.g. the bar of a 5
    return cols >= OVERLAP * Math.min(w[i], w[j]) && (touching || stacked);
  };
  const adjacent = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter((j) => near(i, j)));
  let group = Int32Array.from({ length: n }, (_, i) => i);
  for (;;) { // min-label propagation over the (small) adjacency lists, as the Python loop does
    const low = group.map((g, i) => Math.min(g, ...adjacent[i].map((j) => group[j])));
    const next = low.map((g) => low[g]);
    if (next.every((g, i) => g === group[i])) break;
    group = next;
  }
  const labels = [...new Set(group)].sort((x, y) => x - y);
  return labels.map((g) => ids.filter((_, i) => group[i] === g));
}

/** Drop groups with much less ink than the typical digit (dots, dust, dashes). */
function dropSmall(page, groups) {
  if (!groups.length) return groups;
  const ink = groups.map((g) => g.reduce((s, id) => s + page.areas[id], 0));
  const typical = median64(ink);
  return groups.filter((_, i) => ink[i] >= MIN_RELATIVE_AREA * typical);
}

/**
 * Indices of boxes per text line, lines top to bottom. Boxes are taken in order of their vertical centre; a
 * box joins the current line when its centre lies within half the line's median height of the line's median
 * centre, else it starts a new line.
 */
function lines(boxes) {
  const cy = boxes.map((b) => (b[1] + b[3]) / 2);
  const order = cy.map((_, i) => i).sort((a, b) => cy[a] - cy[b]); // stable, as argsort(kind="stable")
  const out = [];
  for (const i of order) {
    const last = out[out.length - 1];
    if (last) {
      const centre = median64(last.map((j) => cy[j]));
      const height = median64(last.map((j) => boxes[j][3] - boxes[j][1]));
      if (Math.abs(cy[i] - centre) <= 0.5 * height) {
        last.push(i);
        continue;
      }
    }
    out.push([i]);
  }
  return out;
}
