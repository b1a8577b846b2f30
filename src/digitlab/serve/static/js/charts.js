// Overlaid per-epoch curves of several runs with uPlot (vendored, loaded on first use).

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const DASH = { train: [], val: [8, 4], test: [2, 3] };
let loading = null;

/** The uPlot constructor, loading its script and stylesheet once. */
export function loadUPlot() {
  loading ??= new Promise((resolve, reject) => {
    document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: '/static/vendor/uPlot.min.css' }));
    const script = Object.assign(document.createElement('script'), { src: '/static/vendor/uPlot.iife.min.js' });
    script.onload = () => resolve(window.uPlot);
    script.onerror = () => reject(new Error('uPlot could not be loaded'));
    document.head.append(script);
  });
  return loading;
}

/** uPlot's aligned data: epochs 1..max, then one column per (run, split), null where a run has no epoch. */
function aligned(runs, metric) {
  const last = Math.max(1, ...runs.map((r) => r.epochs.length ? r.epochs[r.epochs.length - 1].epoch : 1));
  const xs = Array.from({ length: last }, (_, i) => i + 1);
  const columns = [xs];
  const series = [{ label: 'epoch' }];
  runs.forEach((run, i) => {
    for (const split of ['train', 'val', 'test']) {
      const byEpoch = new Map(run.epochs.map((e) => [e.epoch, e[`${split}_${metric}`]]));
      columns.push(xs.map((x) => byEpoch.get(x) ?? null));
      series.push({ label: `${run.name} ${split}`, stroke: COLOURS[i % COLOURS.length], dash: DASH[split], width: 2,
        points: { show: xs.length < 30 }, spanGaps: true,
        value: (u, v) => v === null ? '' : (metric === 'acc' ? `${(100 * v).toFixed(2)}%` : v.toFixed(4)) });
    }
  });
  return { columns, series };
}

/** Width (px) of a y axis that fits its longest tick label: uPlot's fixed 50 px cut "100.0%" to "00.0%". */
function fitLabels(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size; // uPlot asks again after a resize of the labels; keep the first answer
  const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), '');
  u.ctx.font = axis.font[0];
  return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / devicePixelRatio) + 4;
}

/** Draw one chart of `metric` ('loss' | 'acc') for `runs` [{name, epochs}] into `el`; returns the uPlot. */
export async function curveChart(el, runs, metric, title) {
  const UPlot = await loadUPlot();
  const { columns, series } = aligned(runs, metric);
  const width = Math.max(280, el.clientWidth || 600);
  const opts = { title, width, height: 260, series,
    scales: { x: { time: false } },
    axes: [{ label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, { size: fitLabels, values: (u, ticks) => ticks.map((v) => metric === 'acc' ? `${(100 * v).toFixed(1)}%` : v.toPrecision(3)) }] };
  el.replaceChildren();
  const chart = new UPlot(opts, columns, el);
  new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 260 })).observe(el);
  return chart;
}

/** Draw accuracies `lines` [{label, values, points}] against `xs` (e.g. children of a search) into `el`. */
export async function accuracyChart(el, xs, lines, xLabel, title) {
  const UPlot = await loadUPlot();
  const series = [{ label: xLabel }, ...lines.map((l, i) => ({ label: l.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true,
    ...(l.points ? { paths: () => null, points: { show: true, size: 6 } } : { points: { show: false } }), // dots only, or a line only
    value: (u, v) => v === null ? '' : `${(100 * v).toFixed(2)}%` }))];
  const width = Math.max(280, el.clientWidth || 600);
  const opts = { title, width, height: 260, series, scales: { x: { time: false } },
    axes: [{ label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, { size: fitLabels, values: (u, ticks) => ticks.map((v) => `${(100 * v).toFixed(1)}%`) }] };
  el.replaceChildren();
  const chart = new UPlot(opts, [xs, ...lines.map((l) => l.values)], el);
  new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 260 })).observe(el);
  return chart;
}
