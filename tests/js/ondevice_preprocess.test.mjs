// Edge cases of the on-device first half (static/js/ondevice: preprocess, segment, checks); the expected values
// are what recognize/preprocess.py, segment.py and checks.py give for the same arrays (the parity on real
// pictures is tests/test_js_parity.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { inputReasons } from '../../src/digitlab/serve/static/js/ondevice/checks.js';
import { grayFromRGBA, inkPage, renderMnist } from '../../src/digitlab/serve/static/js/ondevice/preprocess.js';
import { findDigits } from '../../src/digitlab/serve/static/js/ondevice/segment.js';

/** A width x height grey picture of `paper` with dark rectangles [x0, y0, x1, y1) of value `ink`. */
function picture(width, height, rects = [], paper = 1, ink = 0) {
  const data = new Float32Array(width * height).fill(paper);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y < y1; y++) data.fill(ink, y * width + x0, y * width + x1);
  return { data, width, height };
}

const marksOf = (gray) => findDigits(inkPage(gray));

test('a blank page, a one-pixel picture and an all-ink page have no marks (and do not throw)', () => {
  for (const gray of [picture(80, 60), picture(1, 1, [], 0), picture(1, 1, [], 1), picture(70, 50, [], 0)]) {
    const page = inkPage(gray);
    assert.equal(page.areas.length, 1, `${gray.width}x${gray.height}: no components`);
    assert.equal(page.boxes.length, 4);
    assert.deepEqual(page.shape, [gray.height, gray.width]);
    assert.deepEqual(findDigits(page), []);
    assert.deepEqual(inputReasons([]), []);
  }
  assert.equal(inkPage(picture(80, 60)).inverted, true); // a light page is paper with dark ink
  assert.equal(inkPage(picture(70, 50, [], 0)).inverted, false);
});

test('one dark bar on white: one mark, its box in input pixels, the stats Python gives', () => {
  const [mark] = marksOf(picture(40, 40, [[18, 10, 22, 30]]));
  assert.deepEqual(mark.box, [18, 10, 22, 30]);
  assert.equal(mark.line, 0);
  assert.equal(mark.n_parts, 1);
  assert.equal(mark.ink_fraction, 1);
  assert.equal(mark.aspect, 5);
  assert.ok(Math.abs(mark.stroke_width - 3.333) < 1e-3, String(mark.stroke_width));
  assert.equal(mark.image.length, 784);
  assert.deepEqual(inputReasons([mark]), [null]);
});

test('a big picture is worked on at <= 640 px and boxes come back in its pixels', () => {
  const page = inkPage(picture(1300, 200, [[600, 40, 640, 160]]));
  assert.equal(page.scale, 3);
  assert.deepEqual([page.ink.width, page.ink.height], [434, 67]);
  const [mark] = findDigits(page);
  assert.deepEqual(mark.box, [600, 42, 639, 159]); // working pixels times 3, as Python
});

test('a ruled line across the page is erased but near the strokes crossing it; marks read left to right', () => {
  const gray = picture(300, 120, [[0, 60, 300, 61], [40, 30, 48, 90], [120, 30, 128, 90], [200, 30, 208, 90]]);
  const marks = marksOf(gray);
  assert.deepEqual(marks.map((m) => [m.box[0], m.box[2]]), [[37, 51], [117, 131], [197, 211]]); // as Python
  assert.ok(marks.every((m) => m.line === 0 && m.box[1] === 30 && m.box[3] === 90));
});

test('the input checks: a solid blob, thick strokes, a dash and too many marks', () => {
  const blob = { ink_fraction: 0.8, aspect: 1, stroke_width: 3 };
  assert.deepEqual(inputReasons([blob]), [{ code: 'solid_blob', numbers: { fill: 0.8, threshold: 0.75 } }]);
  assert.equal(inputReasons([{ ...blob, aspect: 3 }])[0], null); // a thin "1" fills its narrow box
  assert.equal(inputReasons([{ ink_fraction: 0.5, aspect: 1, stroke_width: 7.5 }])[0].code, 'not_strokes');
  const dash = { ink_fraction: 0.5, aspect: 0.1, stroke_width: 2 };
  assert.equal(inputReasons([dash])[0].code, 'line_or_dash');
  const many = inputReasons(Array(25).fill({ ink_fraction: 0.3, aspect: 1, stroke_width: 2 }));
  assert.ok(many.every((r) => r.code === 'too_many_marks' && r.numbers.marks === 25 && r.numbers.threshold === 24));
});

test('a thin strip with vertical bars does not throw (Python raises IndexError in _erase_band here)', () => {
  const marks = marksOf(picture(700, 15, [[300, 0, 304, 15], [500, 0, 503, 15]]));
  assert.ok(Array.isArray(marks));
});

test('RGBA -> grey: 601 luma, and transparency flattened onto paper as image_io does', () => {
  const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 0]);
  assert.deepEqual(Array.from(grayFromRGBA(rgba, 2, 2).data), [Math.fround(0.299), 0, 0, 0]); // hole -> paper's median
  const clear = new Uint8ClampedArray(4 * 9); // a dark dot on a transparent sheet: white behind it
  clear.set([0, 0, 0, 255], 16);
  assert.deepEqual(Array.from(grayFromRGBA(clear, 3, 3).data), [1, 1, 1, 1, 0, 1, 1, 1, 1]);
  assert.throws(() => grayFromRGBA(new Uint8ClampedArray(8), 3, 3));
});

test('render: the digit fits 20 px and its centre of mass lands at (14, 14)', () => {
  const crop = picture(10, 40, [[0, 0, 10, 40]], 0, 1); // solid ink 10 x 40 -> 5 x 20
  const img = renderMnist(crop);
  let [mass, cx, cy, rows] = [0, 0, 0, new Set()];
  img.forEach((v, i) => {
    mass += v;
    cx += v * (i % 28);
    cy += v * Math.floor(i / 28);
    if (v > 0) rows.add(Math.floor(i / 28));
  });
  assert.equal(rows.size, 20);
  assert.ok(Math.abs(cx / mass - 14) <= 0.5 && Math.abs(cy / mass - 14) <= 0.5, `${cx / mass}, ${cy / mass}`);
  assert.deepEqual(Array.from(renderMnist(picture(5, 5, [], 0))), Array(784).fill(0));
});
