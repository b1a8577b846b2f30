// Small DOM helpers shared by the tabs.

/** Create an element: h('div', {class: 'x', onclick: fn}, child, 'text', ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) el.append(child);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** True for a finite number: what the formatters below show (a failed run has null figures). */
const shown = (value) => typeof value === 'number' && Number.isFinite(value);

/** 0.9876 -> "98.76 %" (empty for a missing or non-numeric figure). */
export function pct(value, digits = 2) {
  return shown(value) ? `${(100 * value).toFixed(digits)} %` : '';
}

/** Seconds -> "1 m 05 s" / "12.3 s" (empty for a missing or non-numeric figure). */
export function secs(value) {
  if (!shown(value)) return '';
  if (value < 59.95) return `${value.toFixed(1)} s`; // 59.95 would print as "60.0 s"
  const whole = Math.round(value); // round once: 119.6 s is "2 m 00 s", not "1 m 60 s"
  return `${Math.floor(whole / 60)} m ${String(whole % 60).padStart(2, '0')} s`;
}

/** Call `fn` once `ms` after the last of a burst of calls. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
