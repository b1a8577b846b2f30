// A minimal DOM for unit tests of the web app's modules in Node: elements with attributes, properties, children,
// text, events and simple selectors (tag, .class, #id, [attr=value], and "a b" descendants). Not a browser.

class Node {}

class Element extends Node {
  constructor(tag) {
    super();
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.children = [];
    this.parent = null;
    this.listeners = {};
    this.className = '';
    this.checked = false;
    this.selected = false;
  }

  // like a browser: the value property starts as the value attribute and always reads as text
  get value() {
    if (this.ownValue === undefined && this.tagName === 'SELECT') {
      const options = this.querySelectorAll('option');
      return (options.find((o) => o.selected) ?? options[0])?.value ?? '';
    }
    return this.ownValue ?? this.getAttribute('value') ?? '';
  }

  set value(v) { this.ownValue = String(v); }

  setAttribute(key, value) { this.attributes.set(key, String(value)); }
  getAttribute(key) { return this.attributes.has(key) ? this.attributes.get(key) : null; }
  hasAttribute(key) { return this.attributes.has(key); }
  removeAttribute(key) { this.attributes.delete(key); }
  addEventListener(kind, fn) { (this.listeners[kind] ||= []).push(fn); }
  get type() { return this.getAttribute('type'); }
  get name() { return this.getAttribute('name'); }
  get id() { return this.getAttribute('id'); }
  get dataset() { return Object.fromEntries([...this.attributes].filter(([k]) => k.startsWith('data-')).map(([k, v]) => [k.slice(5), v])); }

  append(...items) {
    for (const item of items) {
      if (item instanceof Node) {
        item.parent = this;
        this.children.push(item);
      } else {
        this.children.push(new Text(String(item)));
      }
    }
  }

  replaceChildren(...items) {
    this.children = [];
    this.append(...items);
  }

  get textContent() { return this.children.map((c) => c.textContent).join(''); }
  set textContent(value) { this.children = value === '' ? [] : [new Text(String(value))]; }

  *descendants() {
    for (const c of this.children) {
      if (c instanceof Element) {
        yield c;
        yield* c.descendants();
      }
    }
  }

  matches(selector) {
    return selector.split(/(?=[.#[])/).every((part) => {
      if (part.startsWith('.')) return this.className.split(/\s+/).includes(part.slice(1));
      if (part.startsWith('#')) return this.id === part.slice(1);
      if (part.startsWith('[')) {
        const [key, value] = part.slice(1, -1).split('=');
        return value === undefined ? this.hasAttribute(key) : this.getAttribute(key) === value.replace(/^["']|["']$/g, '');
      }
      return this.tagName === part.toUpperCase();
    });
  }

  querySelectorAll(selector) {
    const [first, ...rest] = selector.trim().split(/\s+/);
    let found = [...this.descendants()].filter((e) => e.matches(first));
    for (const part of rest) found = found.flatMap((e) => [...e.descendants()].filter((d) => d.matches(part)));
    return [...new Set(found)];
  }

  querySelector(selector) { return this.querySelectorAll(selector)[0] ?? null; }

  closest(selector) {
    for (let e = this; e; e = e.parent) if (e.matches(selector)) return e;
    return null;
  }

  /** form.elements[name]: the first named control inside. */
  get elements() {
    const controls = [...this.descendants()].filter((e) => e.name);
    return new Proxy({}, { get: (_, name) => controls.find((e) => e.name === name) });
  }

  focus() { globalThis.document.activeElement = this; }
}

class Text extends Node {
  constructor(text) {
    super();
    this.text = text;
  }

  get textContent() { return this.text; }
}

/** Install `document` and `Node` globally; `root` is what document.querySelector searches. */
export function installDom() {
  const root = new Element('html');
  const body = new Element('body');
  root.append(body);
  globalThis.Node = Node;
  globalThis.document = {
    documentElement: root,
    body,
    activeElement: null,
    createElement: (tag) => new Element(tag),
    querySelector: (s) => root.querySelector(s),
    querySelectorAll: (s) => root.querySelectorAll(s),
  };
  return globalThis.document;
}
