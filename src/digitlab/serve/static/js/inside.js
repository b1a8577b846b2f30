// "why?" on a recognised digit: the server looks inside its network (POST /api/inside) and the panel shows which
// pixels drove the answer (integrated gradients; Grad-CAM where there is a convolution), the first layer's filters,
// and every layer's name and output shape with a few of its channel maps.
import { api } from './api.js';
import { fill, h } from './dom.js';
import { t } from './i18n.js';

const looked = new WeakMap(); // picture (a File, or the drawing's canvas) -> Map(digit index -> { data, open })

/** The state of one digit's panel: kept across re-renders (a language switch redraws the answers). */
function entry(picture, index) {
  if (!looked.has(picture)) looked.set(picture, new Map());
  const byDigit = looked.get(picture);
  if (!byDigit.has(index)) byDigit.set(index, { data: null, open: false });
  return byDigit.get(index);
}

const blobOf = (picture) => (picture instanceof Blob ? Promise.resolve(picture) : new Promise((ok) => picture.toBlob(ok, 'image/png')));
const shape = (dims) => `[${dims.join(', ')}]`;

function picture(src, caption, testid, cls = 'pixelated') {
  return h('figure', { class: 'inside-figure' }, h('img', { class: cls, src, alt: caption, 'data-testid': testid }), h('figcaption', {}, caption));
}

function layerItem(layer) {
  return h('li', {},
    h('code', { class: 'name' }, layer.name), ' ', h('span', { class: 'type' }, layer.type), ' ',
    h('code', { class: 'shape', 'data-testid': 'inside-shape' }, shape(layer.shape)),
    layer.maps ? h('img', { class: 'maps pixelated', src: layer.maps, alt: t('inside.maps', { n: layer.channels.length, name: layer.name }) }) : '');
}

const gradcamCaption = (cam) => t(cam.entering ? 'inside.gradcamEntering' : 'inside.gradcam', { layer: cam.layer, side: cam.side.join('×') });

/** The panel's content for the JSON of /api/inside. */
export function insideView(d) {
  const ig = d.integrated_gradients;
  const change = (ig.logit - ig.baseline_logit).toFixed(2);
  return [
    h('p', { class: 'inside-answer' }, t('inside.answer', { label: d.label, p: (100 * d.confidence).toFixed(1) })),
    h('div', { class: 'inside-pictures' },
      picture(d.images.saliency, t('inside.saliency'), 'inside-saliency'),
      d.gradcam ? picture(d.images.gradcam, gradcamCaption(d.gradcam), 'inside-gradcam') : ''),
    h('p', { class: 'muted' }, t('inside.igSum', { sum: ig.sum.toFixed(2), change, steps: ig.steps })),
    d.gradcam ? '' : h('p', { class: 'muted' }, t('inside.noGradcam')),
    h('h4', {}, t('inside.filters')),
    d.filters
      ? picture(d.images.filters, t('inside.filtersOf', { layer: d.filters.layer, shape: shape(d.filters.shape), n: d.filters.shown }), 'inside-filters', 'pixelated filters')
      : h('p', { class: 'muted' }, t('inside.noFilters')),
    h('h4', {}, t('inside.layers')),
    h('p', { class: 'muted' }, t('inside.layersNote')),
    h('ol', { class: 'inside-layers', 'data-testid': 'inside-layers' }, d.layers.map(layerItem)),
  ];
}

/** A "why?" button and its panel for digit `index` of `picture` (a File, or the canvas of a drawing). */
export function whyButton(picture, index) {
  const state = entry(picture, index);
  const panel = h('div', { class: 'inside', 'data-testid': 'inside', hidden: !state.open }, state.data ? insideView(state.data) : '');
  const button = h('button', { type: 'button', class: 'small why', 'data-testid': 'why', 'aria-expanded': String(state.open) }, t('inside.why'));
  button.addEventListener('click', async () => {
    state.open = !state.open;
    panel.hidden = !state.open;
    button.setAttribute('aria-expanded', String(state.open));
    if (!state.open || state.data) return;
    fill(panel, h('p', { class: 'muted' }, t('inside.loading')));
    try {
      const form = new FormData();
      form.append('file', await blobOf(picture), picture.name || 'drawing.png');
      form.append('digit', String(index));
      state.data = await api('/api/inside', { method: 'POST', body: form });
      fill(panel, insideView(state.data));
    } catch (err) {
      fill(panel, h('p', { class: 'error' }, err.message));
    }
  });
  return h('div', { class: 'why-box' }, button, panel);
}
