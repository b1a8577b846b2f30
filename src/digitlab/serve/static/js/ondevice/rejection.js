// "Not a digit" on the device: the detectors of recognize/rejection/ and combine.py's Rejector, from the exported
// model's metadata (export.py: tensors as {dtype, shape, base64}). Every score is HIGHER for more digit-like inputs.
// Python computes the scores in float32 and the p-values in float64; so do these (Math.fround marks float32 steps).

const f32 = Math.fround;

/** float16 bits -> number (exact; Node 20 has no Float16Array). */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** {dtype, shape, base64} -> {shape, data: Float32Array} (float16 and float32, little-endian as numpy wrote them). */
export function decodeTensor(enc) {
  const bytes = Uint8Array.from(atob(enc.base64), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const n = enc.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (enc.dtype === 'float16') for (let i = 0; i < n; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
  else if (enc.dtype === 'float32') for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
  else throw new Error(`unsupported tensor dtype ${enc.dtype}`);
  return { shape: enc.shape, data };
}

/** torch.lerp's formula (exact ends): a + w (b - a) below w = 0.5, else b - (b - a)(1 - w). */
export function lerp(a, b, w) {
  return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
}

/** torch.quantile / numpy's default: linear interpolation between the sorted values around q (n - 1). */
export function quantile(values, q) {
  const s = Float64Array.from(values).sort();
  const rank = q * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return lerp(s[lo], s[hi], rank - lo);
}

/** Number of sorted `ref` values <= s (torch.searchsorted(right=True)). */
export function countAtMost(ref, s) {
  let lo = 0;
  let hi = ref.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ref[mid] <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Row i of the logits (N, C): its largest value and the sum of exp(logit - largest) (float64), as both scores need. */
function expSum(view, i) {
  const row = view.logits.subarray(i * view.C, (i + 1) * view.C);
  const max = Math.max(...row);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return { max, sum };
}

/** Maximum softmax probability per row of logits (N, C). */
function msp(view) {
  const out = new Float32Array(view.n);
  for (let i = 0; i < view.n; i++) out[i] = 1 / expSum(view, i).sum; // the top class's exp is 1
  return out;
}

/** logsumexp of the logits (minus the energy, temperature 1). */
function energy(view) {
  const out = new Float32Array(view.n);
  for (let i = 0; i < view.n; i++) {
    const { max, sum } = expSum(view, i);
    out[i] = max + Math.log(sum);
  }
  return out;
}

/** Minus the smallest class-conditional Mahalanobis distance (shared precision) of the features (N, D). */
function mahalanobis(view, state) {
  const [C, D] = state.means.shape;
  const means = state.means.data;
  const prec = state.precision.data;
  const out = new Float32Array(view.n);
  const d = new Float64Array(D);
  for (let i = 0; i < view.n; i++) {
    let best = Infinity;
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < D; k++) d[k] = view.features[i * D + k] - means[c * D + k];
      let dist = 0;
      for (let a = 0; a < D; a++) {
        let row = 0;
        for (let b = 0; b < D; b++) row += prec[a * D + b] * d[b];
        dist += d[a] * row;
      }
      best = Math.min(best, dist);
    }
    out[i] = -best;
  }
  return out;
}

/** Minus the distance to the k-th nearest unit training feature (cosine similarity on unit rows). */
function knn(view, state, k = 10) {
  const [B, D] = state.bank.shape;
  const bank = state.bank.data;
  const out = new Float32Array(view.n);
  const top = new Float64Array(Math.min(k, B));
  for (let i = 0; i < view.n; i++) {
    const q = view.features.subarray(i * D, (i + 1) * D);
    const norm = Math.max(Math.hypot(...q), 1e-12); // F.normalize's eps
    top.fill(-Infinity);
    // ReLU features are mostly zeros: the products of the nonzero ones, in the same order, give the same sums
    const nz = Int32Array.from(q.keys()).filter((t) => q[t] !== 0);
    for (let j = 0; j < B; j++) {
      let sim = 0;
      const row = j * D;
      for (let m = 0; m < nz.length; m++) sim += q[nz[m]] * bank[row + nz[m]];
      sim /= norm;
      if (sim > top[top.length - 1]) insertSorted(top, sim);
    }
    out[i] = -Math.sqrt(Math.max(2 - 2 * top[top.length - 1], 0));
  }
  return out;
}

/** Put v into a descending array, dropping its last (smallest) value. */
function insertSorted(top, v) {
  let p = top.length - 1;
  while (p > 0 && top[p - 1] < v) {
    top[p] = top[p - 1];
    p--;
  }
  top[p] = v;
}

/** Entropy (nats) of the C probabilities of `p` from `at`, with Python's clamp before the log. */
function entropy(p, at, C) {
  let h = 0;
  for (let c = 0; c < C; c++) h -= p[at + c] * Math.log(Math.max(p[at + c], 1e-12));
  return h;
}

/**
 * An ensemble's members' disagreement (recognize/rejection/disagreement.py): minus the mutual information between
 * their predictions, H(weighted mean) - sum of w_m H(p_m), read from the M * C probabilities that end its features.
 */
export function disagreement(view, state) {
  const w = state.weights.data;
  const M = w.length;
  const D = view.features.length / view.n;
  const out = new Float32Array(view.n);
  const mix = new Float64Array(view.C);
  for (let i = 0; i < view.n; i++) {
    const at = i * D + D - M * view.C;
    mix.fill(0);
    let inner = 0;
    for (let m = 0; m < M; m++) {
      for (let c = 0; c < view.C; c++) mix[c] += w[m] * view.features[at + m * view.C + c];
      inner += w[m] * entropy(view.features, at + m * view.C, view.C);
    }
    out[i] = -(entropy(mix, 0, view.C) - inner);
  }
  return out;
}

export const DETECTORS = { msp, energy, mahalanobis, knn, disagreement };

/**
 * log of the in-distribution p-value of float32 `scores` against a sorted reference (Rejector.log_p): the share of
 * reference scores <= s (plus one), and below the lowest reference score a tail decaying exponentially in units of
 * the lower tail's spread, so far-out inputs keep their order.
 */
export function logP(ref, scores) {
  const n = ref.length;
  const spread = Math.max(f32(ref[Math.max(Math.floor(n / 10), 1)] - ref[0]), f32(1e-6));
  const floor = f32(Math.log(f32(1 / (n + 1)))); // torch.tensor(1.0 / (n + 1)) is float32
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    out[i] = s < ref[0] ? floor - f32(f32(ref[0] - s) / spread) : Math.log((countAtMost(ref, s) + 1) / (n + 1));
  }
  return out;
}

/** Mean log p-value over detectors (float32, summed in order as torch does): higher = more digit-like. */
export function combine(refs, raw) {
  const names = Object.keys(raw);
  const n = raw[names[0]].length;
  const out = new Float32Array(n);
  const logs = names.map((name) => logP(refs[name], raw[name]));
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (const lp of logs) acc = f32(acc + lp[i]);
    out[i] = acc / names.length;
  }
  return out;
}

/**
 * The Rejector of the exported metadata (`meta.rejection`): detectors, sorted references, threshold.
 * `view` is {logits: Float32Array (n*C), features: Float32Array (n*D), n, C, D}.
 */
export function rejectorFromMeta(state) {
  const decodeAll = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, decodeTensor(v)]));
  const detectors = Object.fromEntries(Object.entries(state.detectors).map(([name, s]) => [name, decodeAll(s)]));
  for (const name of Object.keys(detectors)) if (!DETECTORS[name]) throw new Error(`unknown rejection detector ${name}`);
  const reference = Object.fromEntries(Object.entries(state.reference).map(([k, v]) => [k, decodeTensor(v).data]));
  return {
    names: Object.keys(detectors),
    reference,
    threshold: state.threshold,
    tpr: state.tpr,
    /** Each detector's raw score, (n,) each. */
    scores(view) {
      return Object.fromEntries(this.names.map((name) => [name, DETECTORS[name](view, detectors[name])]));
    },
    /** Combined score of a view, or of raw scores when given. */
    combined(view, raw = null) {
      return combine(this.reference, raw ?? this.scores(view));
    },
    /** The threshold accepting `tpr` of the stored validation reference. */
    thresholdAt(tpr) {
      return quantile(this.combined(null, this.reference), 1 - tpr);
    },
  };
}
