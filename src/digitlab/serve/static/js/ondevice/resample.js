// Pillow's resampling of float ("F" mode) images, ported from its C code (Resample.c, Reduce.c) so the
// browser's working copy, lighting grid and 28x28 digit match what recognize/preprocess.py gets from Pillow.
// An image is {data: Float32Array, width, height}, row-major.

import { f } from './numeric.js';

const FILTERS = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, fn: (x) => Math.max(0, 1 - Math.abs(x)) },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

function sinc(x) {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

/** Pillow's precompute_coeffs: per output sample, the first input index, the count and normalised weights. */
function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const inv = 1 / filterscale; // Pillow multiplies by the reciprocal
  const bounds = new Int32Array(2 * outSize);
  const weights = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k = new Float64Array(Math.max(xmax, 0));
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = filter.fn((x + xmin - center + 0.5) * inv);
      ww += k[x];
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) k[x] /= ww;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
    weights.push(k);
  }
  return { bounds, weights };
}

/**
 * Image.resize(size, filter) of a float image: two passes, each only when that side changes. Pillow 13 runs the
 * vertical pass first when the height shrinks by more than twice as many pixels as the width (a cheaper first pass).
 */
export function resize(img, width, height, filterName) {
  const filter = FILTERS[filterName];
  const verticalFirst = img.height >= height && img.height - height > 2 * (img.width - width);
  let cur = img;
  for (const pass of verticalFirst ? ['v', 'h'] : ['h', 'v']) {
    if (pass === 'h' && width !== img.width) cur = horizontal(cur, width, filter);
    if (pass === 'v' && height !== img.height) cur = vertical(cur, height, filter);
  }
  return cur === img ? { data: Float32Array.from(img.data), width, height } : cur;
}

function horizontal(img, width, filter) {
  const { bounds, weights } = coefficients(img.width, width, filter);
  const out = new Float32Array(width * img.height);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    for (let xx = 0; xx < width; xx++) {
      const k = weights[xx];
      const x0 = row + bounds[2 * xx];
      let ss = 0;
      for (let x = 0; x < k.length; x++) ss += img.data[x0 + x] * k[x];
      out[y * width + xx] = ss;
    }
  }
  return { data: out, width, height: img.height };
}

function vertical(img, height, filter) {
  const { bounds, weights } = coefficients(img.height, height, filter);
  const w = img.width;
  const out = new Float32Array(w * height);
  for (let yy = 0; yy < height; yy++) {
    const k = weights[yy];
    const y0 = bounds[2 * yy];
    for (let x = 0; x < w; x++) {
      let ss = 0;
      for (let y = 0; y < k.length; y++) ss += img.data[(y0 + y) * w + x] * k[y];
      out[yy * w + x] = ss;
    }
  }
  return { data: out, width: w, height };
}

/**
 * Image.reduce(factor) of a float image: the mean of each factor x factor block; the last column and row
 * average the partial blocks (Pillow's ImagingReduceNxN_32bpc and ImagingReduceCorners_32bpc, same sums).
 */
export function reduce(img, factor) {
  const { data, width: w, height: h } = img;
  const ow = Math.ceil(w / factor);
  const oh = Math.ceil(h / factor);
  const fullW = Math.floor(w / factor);
  const fullH = Math.floor(h / factor);
  const out = new Float32Array(ow * oh);
  for (let y = 0; y < fullH; y++) {
    for (let x = 0; x < fullW; x++) out[y * ow + x] = blockSum(data, w, x * factor, y * factor, factor);
  }
  const restW = w % factor;
  const restH = h % factor;
  const plain = (x0, y0, x1, y1) => {
    let ss = 0;
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) ss += data[yy * w + xx];
    return ss;
  };
  if (restW) for (let y = 0; y < fullH; y++) out[y * ow + fullW] = plain(fullW * factor, y * factor, w, (y + 1) * factor) * (1 / (restW * factor));
  if (restH) for (let x = 0; x < fullW; x++) out[fullH * ow + x] = plain(x * factor, fullH * factor, (x + 1) * factor, h) * (1 / (factor * restH));
  if (restW && restH) out[fullH * ow + fullW] = plain(fullW * factor, fullH * factor, w, h) * (1 / (restW * restH));
  return { data: out, width: ow, height: oh };
}

/** Sum of one full block in Pillow's order: 2x2 float32 quads added to a double, odd row / column last. */
function blockSum(data, w, x0, y0, n) {
  let ss = 0;
  let yy = y0;
  for (; yy < y0 + n - 1; yy += 2) {
    const r0 = yy * w;
    const r1 = r0 + w;
    let xx = x0;
    for (; xx < x0 + n - 1; xx += 2) ss += f(f(f(data[r0 + xx] + data[r0 + xx + 1]) + data[r1 + xx]) + data[r1 + xx + 1]);
    if (n & 1) ss += f(data[r0 + xx] + data[r1 + xx]);
  }
  if (n & 1) {
    const r = yy * w;
    let xx = x0;
    for (; xx < x0 + n - 1; xx += 2) ss += f(data[r + xx] + data[r + xx + 1]);
    ss += data[r + xx];
  }
  return ss * (1 / (n * n));
}
