// 8-connected components of a binary mask: labels, areas and boxes (port of recognize/components.py).
// Components are numbered in raster order of their first pixel, as the Python labelling numbers them.

/**
 * mask: Uint8Array (h*w, 1 = ink), row-major. Returns {labels: Int32Array (h*w, 0 = background),
 * areas: Int32Array (n + 1), boxes: Int32Array (4 * (n + 1): x0, y0, x1, y1 exclusive; id 0 all zeros)}.
 * Works on horizontal runs with a union-find, so the cost grows with the runs, not the pixels.
 */
export function labelComponents(mask, w, h) {
  const runs = findRuns(mask, w, h); // [row, start, end) per run, row-major
  const n = runs.row.length;
  const parent = new Int32Array(n).map((_, i) => i);
  const find = (i) => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  let next = 0; // first run of the next row
  for (let i = 0; i < n; i++) {
    while (next < n && runs.row[next] <= runs.row[i]) next++;
    // runs of the next row touch when 8-adjacent: start <= this end and end >= this start
    for (let j = next; j < n && runs.row[j] === runs.row[i] + 1 && runs.start[j] <= runs.end[i]; j++) {
      if (runs.end[j] < runs.start[i]) continue;
      const a = find(i);
      const b = find(j);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b); // the root stays the first run: raster order
    }
  }
  const comp = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) comp[i] = find(i) === i ? ++count : comp[find(i)];
  const labels = new Int32Array(w * h);
  const areas = new Int32Array(count + 1);
  const boxes = new Int32Array(4 * (count + 1));
  for (let c = 1; c <= count; c++) boxes.set([w, h, 0, 0], 4 * c);
  for (let i = 0; i < n; i++) {
    const c = comp[i];
    const { row, start, end } = { row: runs.row[i], start: runs.start[i], end: runs.end[i] };
    labels.fill(c, row * w + start, row * w + end);
    areas[c] += end - start;
    boxes[4 * c] = Math.min(boxes[4 * c], start);
    boxes[4 * c + 1] = Math.min(boxes[4 * c + 1], row);
    boxes[4 * c + 2] = Math.max(boxes[4 * c + 2], end);
    boxes[4 * c + 3] = Math.max(boxes[4 * c + 3], row + 1);
  }
  return { labels, areas, boxes };
}

function findRuns(mask, w, h) {
  const row = [];
  const start = [];
  const end = [];
  for (let y = 0; y < h; y++) {
    const base = y * w;
    for (let x = 0; x < w; x++) {
      if (!mask[base + x]) continue;
      const s = x;
      while (x < w && mask[base + x]) x++;
      row.push(y);
      start.push(s);
      end.push(x);
    }
  }
  return { row: Int32Array.from(row), start: Int32Array.from(start), end: Int32Array.from(end) };
}

/** Chebyshev gap in pixels between two x0, y0, x1, y1 boxes (0 if they touch). */
export function boxGap(a, b) {
  return Math.max(a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3], 0);
}
