// ONNX Runtime Web (the WebAssembly build, vendored in static/vendor/ort/), loaded only when the device first recognises.
// One thread: threads need a cross-origin-isolated page (SharedArrayBuffer), and a few 28x28 marks per picture
// leave nothing to share out; the SIMD build runs the shipped model in well under a millisecond per mark.

const ORT = new URL('../../vendor/ort/', import.meta.url);
const FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
let loading = null;

/** The runtime's files (absolute URLs): what the service worker keeps for offline use. */
export const runtimeFiles = () => FILES.map((f) => new URL(f, ORT).href);

/** The runtime module, imported once (its 14 MB wasm binary is fetched by the first session). */
export function runtime() {
  loading ??= import(new URL(FILES[0], ORT).href).then((ort) => {
    ort.env.wasm.wasmPaths = ORT.href;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    return ort;
  });
  return loading;
}

/** A warm session on the model's bytes and the `run(images, n)` the predictor calls: (N*784) -> logits, features. */
export async function session(bytes) {
  const ort = await runtime();
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const run = async (images, n) => {
    const out = await s.run({ images: new ort.Tensor('float32', images, [n, 1, 28, 28]) });
    return { logits: out.logits.data, features: out.features.data };
  };
  await run(new Float32Array(784), 1); // compile the kernels now, not on the first picture
  return run;
}
