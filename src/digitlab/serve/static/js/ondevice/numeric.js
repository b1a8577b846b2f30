// Numeric helpers that reproduce numpy's float32 arithmetic, so the browser's preprocessing agrees with
// recognize/preprocess.py to the last bit where it matters (thresholds, rounding of the centre of mass).
// numpy does each float32 operation in float32: `f` (Math.fround) after every step does the same in JS.

export const f = Math.fround;

/** Python's round() on a float: halves go to the even neighbour (round(2.5) == 2). */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy's float32 sum of n values a[start + i*stride]: pairwise, 8 accumulators per block of <= 128. */
export function sum32(a, start = 0, n = a.length - start, stride = 1) {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r = f(r + a[start + i * stride]);
    return r;
  }
  if (n <= 128) {
    const r = new Float32Array(8); // float32 accumulators: each += rounds as numpy's does
    for (let j = 0; j < 8; j++) r[j] = a[start + j * stride];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + (i + j) * stride];
    let res = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) res = f(res + a[start + i * stride]);
    return res;
  }
  const n2 = halfBlock(n);
  return f(sum32(a, start, n2, stride) + sum32(a, start + n2 * stride, n - n2, stride));
}

/** numpy's float64 sum, same order as sum32. */
export function sum64(a, start = 0, n = a.length - start, stride = 1) {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r += a[start + i * stride];
    return r;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j * stride];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + (i + j) * stride];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i * stride];
    return res;
  }
  const n2 = halfBlock(n);
  return sum64(a, start, n2, stride) + sum64(a, start + n2 * stride, n - n2, stride);
}

/** Where numpy splits a pairwise sum: half, rounded down to a multiple of the 8-way unrolling. */
function halfBlock(n) {
  const n2 = Math.floor(n / 2);
  return n2 - (n2 % 8);
}

/** np.median of a float32 sample (returns the float32 value numpy returns); linear time, as numpy's partition. */
export function median32(values) {
  const s = Float32Array.from(values);
  const m = s.length >> 1;
  const upper = select(s, m);
  if (s.length % 2) return upper;
  let lower = -Infinity; // the largest of the lower half, which select left in front of position m
  for (let i = 0; i < m; i++) lower = Math.max(lower, s[i]);
  return f(f(lower + upper) / 2);
}

/** The k-th smallest of a (reordered in place: a[i] <= a[k] for i < k), Hoare's quickselect with a median-of-3 pivot. */
function select(a, k) {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const pivot = Math.max(Math.min(a[lo], a[mid]), Math.min(Math.max(a[lo], a[mid]), a[hi]));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break; // j < k < i: a[k] equals the pivot
  }
  return a[k];
}

/** np.median of plain (float64) numbers. */
export function median64(values) {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** numpy's default ("linear") quantile of sorted values at q: index (n*q + (1 - q)) - 1, lerp from the nearer end. */
function lerpAt(sorted, q, lerp) {
  const n = sorted.length;
  const v = n * q + (1 - q) - 1;
  const lo = Math.min(Math.max(Math.floor(v), 0), n - 1);
  const hi = Math.min(lo + 1, n - 1);
  return lerp(sorted[lo], sorted[hi], v - Math.floor(v));
}

/** np.quantile of float64 values at each q (gamma as a float64 array); the two order statistics each needs, not a sort. */
export function quantiles64(values, qs) {
  const n = values.length;
  return qs.map((q) => {
    const a = Float64Array.from(values);
    const lo = Math.min(Math.max(Math.floor(n * q + (1 - q) - 1), 0), n - 1);
    const pair = new Float64Array(n); // lerpAt reads positions lo (select) and lo + 1 (the least value above it)
    pair[lo] = select(a, lo);
    if (lo + 1 < n) pair[lo + 1] = a.subarray(lo + 1).reduce((m, v) => Math.min(m, v), Infinity);
    return lerpAt(pair, q, (x, y, t) => (t >= 0.5 ? y - (y - x) * (1 - t) : x + (y - x) * t));
  });
}

/** np.percentile(float32 array, p): a float32 result, the weight cast to float32 as numpy does for a scalar q. */
export function percentile32(values, p) {
  const n = values.length;
  const a = Float32Array.from(values);
  const lo = Math.min(Math.max(Math.floor(n * (p / 100) + (1 - p / 100) - 1), 0), n - 1);
  const pair = new Float32Array(n); // only the two order statistics lerpAt reads: lo (select) and lo + 1 (the least above)
  pair[lo] = select(a, lo);
  if (lo + 1 < n) pair[lo + 1] = a.subarray(lo + 1).reduce((m, v) => Math.min(m, v), Infinity);
  return lerpAt(pair, p / 100, (x, y, t) => {
    const d = f(y - x);
    return t >= 0.5 ? f(y - f(d * f(1 - t))) : f(x + f(d * f(t)));
  });
}

/**
 * Least-squares solution of the symmetric n x n system A x = b with the smallest norm, as np.linalg.lstsq
 * (rcond=None: singular values under n * eps * the largest are dropped). A is symmetric positive semi-definite
 * here (normal equations), so its SVD is its eigen-decomposition: cyclic Jacobi rotations find it.
 */
export function lstsqSymmetric(A, b) {
  const n = b.length;
  const a = A.map((row) => Float64Array.from(row));
  const v = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-300) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) jacobiRotate(a, v, p, q);
  }
  const lam = a.map((row, i) => row[i]);
  const cut = n * 2.220446049250313e-16 * Math.max(...lam.map(Math.abs));
  const x = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    if (Math.abs(lam[k]) <= cut) continue;
    let proj = 0;
    for (let i = 0; i < n; i++) proj += v[i][k] * b[i];
    for (let i = 0; i < n; i++) x[i] += (v[i][k] * proj) / lam[k];
  }
  return x;
}

/** One Jacobi rotation zeroing a[p][q] (a symmetric, v accumulates the eigenvectors as columns). */
function jacobiRotate(a, v, p, q) {
  if (a[p][q] === 0) return;
  const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  const n = a.length;
  for (let k = 0; k < n; k++) {
    const akp = a[k][p];
    const akq = a[k][q];
    a[k][p] = c * akp - s * akq;
    a[k][q] = s * akp + c * akq;
  }
  for (let k = 0; k < n; k++) {
    const apk = a[p][k];
    const aqk = a[q][k];
    a[p][k] = c * apk - s * aqk;
    a[q][k] = s * apk + c * aqk;
  }
  for (let k = 0; k < n; k++) {
    const vkp = v[k][p];
    const vkq = v[k][q];
    v[k][p] = c * vkp - s * vkq;
    v[k][q] = s * vkp + c * vkq;
  }
}
