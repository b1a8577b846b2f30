// The surface evidence of the verdict (recognize/verdict.py scene_tiles, plain_share): is the picture away from the
// ink one plain surface (writing), or a scene? Images are {data: Float32Array, width, height}, row-major.

export const SCENE_SIDE = 512; // px: the ink page is box-averaged by an integer factor to at most this
export const TILE = 16; // px of that picture per tile
export const MIN_TILES = 24; // background tiles needed to judge the surface
export const TEXTURE = 0.05; // grey std within a tile above this is texture
export const PAPER_DELTA = 0.08; // a tile further than this off the fitted lighting surface is another surface

const f32 = Math.fround;

/** Pillow's Image.reduce(f) of a mode "F" image: f x f box means (float sums of four, double totals), partial edges. */
export function reduceF(img, f) {
  const { data, width: w, height: h } = img;
  const ow = Math.ceil(w / f);
  const oh = Math.ceil(h / f);
  const out = new Float32Array(ow * oh);
  const at = (x, y) => data[y * w + x];
  for (let y = 0; y < Math.floor(h / f); y++) {
    for (let x = 0; x < Math.floor(w / f); x++) out[y * ow + x] = blockNxN(at, x * f, y * f, f) * (1 / (f * f));
  }
  const cell = (x0, x1, y0, y1) => {
    let ss = 0;
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) ss += at(xx, yy);
    return ss * (1 / ((x1 - x0) * (y1 - y0)));
  };
  const fx = Math.floor(w / f) * f;
  const fy = Math.floor(h / f) * f;
  if (w % f) for (let y = 0; y < Math.floor(h / f); y++) out[y * ow + ow - 1] = cell(fx, w, y * f, y * f + f);
  if (h % f) for (let x = 0; x < Math.floor(w / f); x++) out[(oh - 1) * ow + x] = cell(x * f, x * f + f, fy, h);
  if (w % f && h % f) out[oh * ow - 1] = cell(fx, w, fy, h);
  return { data: out, width: ow, height: oh };
}

/** ImagingReduceNxN_32bpc's sum of one full block: pairs of rows and columns added in float, totals in double. */
function blockNxN(at, x0, y0, f) {
  let ss = 0;
  let yy = y0;
  for (; yy < y0 + f - 1; yy += 2) {
    let xx = x0;
    for (; xx < x0 + f - 1; xx += 2) ss += f32(f32(f32(at(xx, yy) + at(xx + 1, yy)) + at(xx, yy + 1)) + at(xx + 1, yy + 1));
    if (f & 1) ss += f32(at(xx, yy) + at(xx, yy + 1));
  }
  if (f & 1) {
    let xx = x0;
    for (; xx < x0 + f - 1; xx += 2) ss += f32(at(xx, yy) + at(xx + 1, yy));
    if (f & 1) ss += at(xx, yy);
  }
  return ss;
}

/** The ink mask (labels > 0) reduced by `k`: a cell is ink when any of its k x k pixels is (zero-padded). */
function inkGrid(labels, k) {
  const { data, width: w, height: h } = labels;
  const ow = Math.ceil(w / k);
  const oh = Math.ceil(h / k);
  const out = new Uint8Array(ow * oh);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (data[y * w + x] > 0) out[Math.floor(y / k) * ow + Math.floor(x / k)] = 1;
  return { data: out, width: ow, height: oh };
}

/**
 * Per tile of the picture reduced to <= SCENE_SIDE: grey std, grey mean and near-ink flags, each rows x cols
 * (row-major); null when the picture has too few tiles to judge (scene_tiles' empty arrays).
 */
export function sceneTiles(gray, page) {
  const k = Math.ceil(Math.max(page.labels.width, page.labels.height) / SCENE_SIDE);
  const f = page.scale * k;
  const small = f > 1 ? reduceF(gray, f) : gray;
  const ink = inkGrid(page.labels, k);
  const rows = Math.floor(Math.min(small.height, ink.height) / TILE);
  const cols = Math.floor(Math.min(small.width, ink.width) / TILE);
  if (rows * cols < MIN_TILES) return null;
  const mean = new Float64Array(rows * cols);
  const std = new Float64Array(rows * cols);
  const inked = new Uint8Array((rows + 2) * (cols + 2)); // padded by one tile
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      let sq = 0;
      let any = 0;
      for (let y = r * TILE; y < (r + 1) * TILE; y++) {
        for (let x = c * TILE; x < (c + 1) * TILE; x++) {
          const v = small.data[y * small.width + x];
          s += v;
          sq += f32(v * v); // np.square of float32 stays float32
          any |= ink.data[y * ink.width + x];
        }
      }
      const m = s / (TILE * TILE);
      mean[r * cols + c] = m;
      std[r * cols + c] = Math.sqrt(Math.max(sq / (TILE * TILE) - m * m, 0));
      inked[(r + 1) * (cols + 2) + c + 1] = any;
    }
  }
  const near = new Uint8Array(rows * cols); // the ink's tiles and their halo
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) near[r * cols + c] |= inked[(r + dy) * (cols + 2) + c + dx];
    }
  }
  return { std, mean, near, rows, cols };
}

/** np.linspace(-1, 1, n). */
function linspace(n) {
  if (n === 1) return [-1];
  const step = 2 / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : i * step + -1));
}

/** numpy's linear quantile of float64 values (the same formula as torch.quantile). */
function quantile64(values, q) {
  const s = Float64Array.from(values).sort();
  const rank = q * (s.length - 1);
  const lo = Math.floor(rank);
  const a = s[lo];
  const b = s[Math.min(lo + 1, s.length - 1)];
  const w = rank - lo;
  return w < 0.5 ? a + (b - a) * w : b - (b - a) * (1 - w);
}

/**
 * Share of the tiles away from the ink that are flat and on a plain surface (plain_share); null when too few to
 * judge. The surface is a quadratic lighting surface fitted to the flat tiles, trimmed of outliers twice, plus one
 * second level (the desk beside the sheet).
 */
export function plainShare(tiles) {
  const { std, mean, near, rows, cols } = tiles;
  const v = linspace(rows);
  const u = linspace(cols);
  const terms = [];
  const values = [];
  const flat = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (near[r * cols + c]) continue;
      terms.push([1, u[c], v[r], u[c] * u[c], u[c] * v[r], v[r] * v[r]]);
      values.push(mean[r * cols + c]);
      flat.push(std[r * cols + c] < TEXTURE);
    }
  }
  if (values.length < MIN_TILES) return null;
  const keep = [...flat];
  if (count(keep) < 6) return 0.0;
  let signed;
  let resid;
  for (let pass = 0; pass < 2; pass++) {
    const idx = keep.flatMap((k, i) => (k ? [i] : []));
    const fit = fittedAll(terms, idx.map((i) => terms[i]), idx.map((i) => values[i]));
    signed = values.map((val, i) => val - fit[i]);
    resid = signed.map(Math.abs);
    const cut = Math.max(quantile64(idx.map((i) => resid[i]), 0.75), 1e-3);
    for (let i = 0; i < keep.length; i++) keep[i] = keep[i] && resid[i] <= cut;
    if (count(keep) < 6) break;
  }
  const plain = flat.map((fl, i) => fl && resid[i] <= PAPER_DELTA);
  const second = secondLevel(signed, flat.map((fl, i) => fl && !plain[i]));
  return count(plain.map((p, i) => p || (flat[i] && second[i]))) / plain.length;
}

const count = (flags) => flags.reduce((a, b) => a + (b ? 1 : 0), 0);

/** The lstsq surface fitted to (X, y) (minimum-norm coefficients, as numpy's), evaluated on every row of `all`. */
function fittedAll(all, X, y) {
  const p = X[0].length;
  const A = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => X.reduce((s, row) => s + row[a] * row[b], 0)));
  const rhs = Array.from({ length: p }, (_, a) => X.reduce((s, row, i) => s + row[a] * y[i], 0));
  const coef = symmetricSolve(A, rhs);
  return all.map((row) => row.reduce((s, t, j) => s + t * coef[j], 0));
}

/** Solve A x = b for symmetric positive semi-definite A by Jacobi eigen-decomposition (pseudo-inverse). */
function symmetricSolve(A, b) {
  const n = A.length;
  const a = A.map((row) => [...row]);
  const V = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i][j] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) rotate(a, V, p, q);
  }
  const top = Math.max(...a.map((row, i) => Math.abs(row[i])));
  const x = new Array(n).fill(0);
  for (let k = 0; k < n; k++) {
    const lambda = a[k][k];
    if (Math.abs(lambda) <= 1e-13 * top) continue;
    const proj = V.reduce((s, row, i) => s + row[k] * b[i], 0) / lambda;
    for (let i = 0; i < n; i++) x[i] += proj * V[i][k];
  }
  return x;
}

/** One Jacobi rotation zeroing a[p][q]. */
function rotate(a, V, p, q) {
  if (Math.abs(a[p][q]) < 1e-300) return;
  const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < a.length; k++) {
    const akp = a[k][p];
    const akq = a[k][q];
    a[k][p] = c * akp - s * akq;
    a[k][q] = s * akp + c * akq;
  }
  for (let k = 0; k < a.length; k++) {
    const apk = a[p][k];
    const aqk = a[q][k];
    a[p][k] = c * apk - s * aqk;
    a[q][k] = s * apk + c * aqk;
  }
  for (let k = 0; k < a.length; k++) {
    const vkp = V[k][p];
    const vkq = V[k][q];
    V[k][p] = c * vkp - s * vkq;
    V[k][q] = s * vkp + c * vkq;
  }
}

/** The candidates within +-PAPER_DELTA of their densest level (the one other plain surface allowed). */
function secondLevel(signed, candidates) {
  const r = Float64Array.from(signed.filter((_, i) => candidates[i])).sort();
  if (r.length === 0) return candidates.map(() => false);
  let best = 0;
  let bestCount = -1;
  let hi = 0;
  for (let i = 0; i < r.length; i++) {
    while (hi < r.length && r[hi] <= r[i] + 2 * PAPER_DELTA) hi++; // searchsorted(right) of r_i + 2 delta
    if (hi - i > bestCount) [best, bestCount] = [i, hi - i];
  }
  const lo = r[best];
  return candidates.map((c, i) => c && signed[i] >= lo && signed[i] <= lo + 2 * PAPER_DELTA);
}
