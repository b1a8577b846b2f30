// The drawing pad: strokes with mouse, touch or pen (pointer events), undo, clear; reports changes.

const INK = '#000';
const PAPER = '#fff';

export class DrawPad {
  /** `onChange(pad)` is called after every change of the drawing. */
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.strokes = [];
    this.current = null;
    this.onChange = onChange;
    canvas.addEventListener('pointerdown', (e) => this.start(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel']) canvas.addEventListener(type, (e) => this.end(e));
    this.redraw();
  }

  get empty() {
    return this.strokes.length === 0;
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.canvas.width / r.width), (e.clientY - r.top) * (this.canvas.height / r.height)];
  }

  start(e) {
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.current = [this.point(e)];
    this.strokes.push(this.current);
    this.redraw();
  }

  move(e) {
    if (!this.current) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) this.current.push(this.point(ev));
    this.redraw();
    this.onChange(this);
  }

  end() {
    if (!this.current) return;
    this.current = null;
    this.onChange(this);
  }

  undo() {
    this.strokes.pop();
    this.redraw();
    this.onChange(this);
  }

  clear() {
    this.strokes = [];
    this.redraw();
    this.onChange(this);
  }

  redraw() {
    const { ctx, canvas } = this;
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = canvas.width / 14; // about MNIST's stroke width relative to the digit
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const stroke of this.strokes) {
      ctx.beginPath();
      ctx.moveTo(...stroke[0]);
      for (const p of stroke.slice(1)) ctx.lineTo(...p);
      if (stroke.length === 1) ctx.arc(stroke[0][0], stroke[0][1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      stroke.length === 1 ? ctx.fill() : ctx.stroke();
    }
  }
}

/** A `side` x `side` copy of a canvas, scaled smoothly (what is read of a drawing). */
export function scaledCopy(canvas, side) {
  const copy = Object.assign(document.createElement('canvas'), { width: side, height: side });
  const ctx = copy.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(canvas, 0, 0, side, side);
  return copy;
}
