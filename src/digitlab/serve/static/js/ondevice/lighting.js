// Polarity and uneven lighting: steps 3 and 4 of recognize/preprocess.py, same constants and order of operations.
// Images are {data: Float32Array, width, height}, row-major; float32 steps are rounded as numpy rounds them.

import { f, lstsqSymmetric, median32, quantiles64, roundHalfEven, sum32 } from './numeric.js';
import { resize } from './resample.js';

export const GRID_SIDE = 64; // cells: coarse grid for the paper-brightness estimate
export const MIN_CONTRAST = 0.02; // ink must differ from paper by 2 % of full scale ...
export const NOISE_SIGMAS = 4.0; // ... and by this many noise standard deviations

/** Block means so the longer side is at most `side` cells (noise averages out). */
function grid(x, side) {
  const fct = Math.max(x.width, x.height) / side;
  if (fct <= 1) return x;
  return resize(x, Math.max(1, roundHalfEven(x.width / fct)), Math.max(1, roundHalfEven(x.height / fct)), 'box');
}

/** Pixel or cell centres of an axis of n samples mapped onto [-1, 1] (float32). */
function axis(n) {
  return Float32Array.from({ length: n }, (_, i) => f(f(f(f(i + 0.5) / n) * 2) - 1));
}

/**
 * Coefficients (float32) of a quadratic surface fitted to the paper cells of grid g.
 *
 * Lighting (gradients, vignetting) is smooth, ink is not: after each least-squares fit only cells whose
 * residual lies between the qLo and qHi quantiles are kept, which drops ink cells on either side.
 */
function surface(g, qLo, qHi) {
  const u = axis(g.width);
  const v = axis(g.height);
  const n = g.width * g.height;
  const terms = new Float32Array(6 * n); // (n, 6): 1, u, v, u^2, uv, v^2 per cell
  for (let y = 0, i = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++, i += 6) {
      terms[i] = 1;
      terms[i + 1] = u[x];
      terms[i + 2] = v[y];
      terms[i + 3] = f(u[x] * u[x]);
      terms[i + 4] = f(u[x] * v[y]);
      terms[i + 5] = f(v[y] * v[y]);
    }
  }
  const sel = new Uint8Array(n).fill(1);
  let coef;
  const resid = new Float64Array(n);
  for (let iter = 0; iter < 3; iter++) {
    coef = solveNormal(terms, g.data, sel);
    for (let i = 0; i < n; i++) {
      let fit = 0;
      for (let k = 0; k < 6; k++) fit += terms[6 * i + k] * coef[k];
      resid[i] = g.data[i] - fit;
    }
    const [lo, hi] = quantiles64(resid, [qLo, qHi]);
    for (let i = 0; i < n; i++) sel[i] = resid[i] >= lo && resid[i] <= hi ? 1 : 0;
  }
  return Float32Array.from(coef);
}

/** The 6x6 normal equations of the selected cells (the matrix float32, as numpy's float32 product) solved. */
function solveNormal(terms, values, sel) {
  const A = Array.from({ length: 6 }, () => new Float64Array(6));
  const b = new Float64Array(6);
  for (let i = 0; i < sel.length; i++) {
    if (!sel[i]) continue;
    for (let p = 0; p < 6; p++) {
      const tp = terms[6 * i + p];
      b[p] += tp * values[i];
      for (let q = p; q < 6; q++) A[p][q] += tp * terms[6 * i + q]; // the upper half: A is symmetric
    }
  }
  for (let p = 1; p < 6; p++) for (let q = 0; q < p; q++) A[p][q] = A[q][p];
  return lstsqSymmetric(A.map((row) => row.map(f)), b);
}

/** Quadratic surface at every pixel of a width x height image (same [-1, 1] frame), float32. */
function evalSurface(c, width, height) {
  const u = axis(width);
  const v = axis(height);
  const out = new Float32Array(width * height);
  const a = u.map((ux) => f(f(c[0] + f(c[1] * ux)) + f(f(c[3] * ux) * ux)));
  const cu = u.map((ux) => f(c[2] + f(c[4] * ux)));
  for (let y = 0; y < height; y++) {
    const cv = f(c[5] * v[y]);
    for (let x = 0; x < width; x++) out[y * width + x] = a[x] + f(v[y] * f(cu[x] + cv));
  }
  return { data: out, width, height };
}

function minus(a, b) {
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] - b.data[i];
  return { data: out, width: a.width, height: a.height };
}

/**
 * Separable sliding-window min, max or mean of odd width k, edges replicated: along columns first, then rows.
 * numpy sums a window down a column one value after the other and along a row pairwise: the same here.
 */
function filter2d(img, k, kind) {
  const { width: w, height: h } = img;
  const down = new Float32Array(w * h); // numpy axis 0: down each column
  const col = new Float32Array(h + k - 1);
  for (let x = 0; x < w; x++) {
    padded(col, (i) => img.data[i * w + x], h, k);
    for (let y = 0; y < h; y++) down[y * w + x] = windowOf(col, y, k, kind, false);
  }
  const out = new Float32Array(w * h); // axis 1: along each row
  const row = new Float32Array(w + k - 1);
  for (let y = 0; y < h; y++) {
    padded(row, (i) => down[y * w + i], w, k);
    for (let x = 0; x < w; x++) out[y * w + x] = windowOf(row, x, k, kind, true);
  }
  return { data: out, width: w, height: h };
}

/** `buf` = the n values at(0..n-1) with k >> 1 copies of the first and last on either side (edges replicated). */
function padded(buf, at, n, k) {
  const half = k >> 1;
  for (let i = 0; i < buf.length; i++) buf[i] = at(Math.min(Math.max(i - half, 0), n - 1));
}

/** min, max or mean of buf[s..s+k-1]; a mean sums one after the other, or pairwise as numpy does along a row. */
function windowOf(buf, s, k, kind, pairwise) {
  if (kind === 'mean') {
    if (pairwise) return f(sum32(buf, s, k) / k);
    let r = 0;
    for (let j = 0; j < k; j++) r = f(r + buf[s + j]);
    return f(r / k);
  }
  let r = buf[s];
  if (kind === 'min') for (let j = 1; j < k; j++) r = buf[s + j] < r ? buf[s + j] : r;
  else for (let j = 1; j < k; j++) r = buf[s + j] > r ? buf[s + j] : r;
  return r;
}

/** Every other pixel of every other row, as numpy's x[::2, ::2]. */
export function subsample(img) {
  const [w, h] = [Math.ceil(img.width / 2), Math.ceil(img.height / 2)];
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = img.data[2 * y * img.width + 2 * x];
  return out;
}

/**
 * True when the ink is darker than the paper (so the picture must be inverted).
 *
 * Around the paper (a robust quadratic surface) noise and lighting are symmetric while ink is a one-sided
 * tail: the side with more mass beyond 4 noise sigmas is the ink. With no clear tail (a blank page) a light
 * page is taken as paper with dark ink.
 */
export function isDarkInk(work) {
  const flat = minus(work, evalSurface(surface(grid(work, GRID_SIDE), 0.25, 0.75), work.width, work.height));
  const sample = subsample(flat);
  const med = median32(sample);
  const sigma = 1.4826 * median32(sample.map((s) => Math.abs(s - med)));
  const thr = f(NOISE_SIGMAS * sigma + MIN_CONTRAST / 2);
  const size = flat.data.length;
  const [darkTail, lightTail] = [new Float32Array(size), new Float32Array(size)];
  for (let i = 0; i < size; i++) {
    darkTail[i] = Math.max(f(-flat.data[i] - thr), 0);
    lightTail[i] = Math.max(f(flat.data[i] - thr), 0);
  }
  const [dark, light] = [sum32(darkTail), sum32(lightTail)];
  if (Math.max(dark, light) < 0.001 * size || Math.max(dark, light) < 1.5 * Math.min(dark, light)) {
    return median32(work.data) > 0.5; // no decisive ink tail
  }
  return dark > light;
}

/**
 * Ink strength of a light-ink image x: (x - paper) / (1 - paper); paper ~ 0, may be < 0.
 *
 * Paper = quadratic surface (smooth lighting, exact up to the borders) plus a grey opening of what is left,
 * on the coarse grid, with a window wider than any stroke so it sees paper only (local shading). Dividing by
 * 1 - paper is dividing dark-ink pictures by the local paper brightness.
 */
export function flattenLighting(x) {
  const g = grid(x, GRID_SIDE);
  const coef = surface(g, 0.0, 0.6); // ink is high in x: fit the lower cells
  let rest = minus(g, evalSurface(coef, g.width, g.height));
  const k = Math.floor(Math.max(3, roundHalfEven(0.2 * Math.min(g.width, g.height))) / 2) * 2 + 1;
  rest = filter2d(filter2d(filter2d(rest, k, 'min'), k, 'max'), k, 'mean');
  const paper = evalSurface(coef, x.width, x.height);
  if (rest.width !== x.width || rest.height !== x.height) rest = resize(rest, x.width, x.height, 'bilinear');
  const out = new Float32Array(x.data.length);
  const floor = f(0.05);
  for (let i = 0; i < out.length; i++) {
    const p = f(paper.data[i] + rest.data[i]);
    out[i] = f(x.data[i] - p) / Math.max(f(1 - p), floor);
  }
  return { data: out, width: x.width, height: x.height };
}
