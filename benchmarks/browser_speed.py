"""Speed of recognition on the device (issue 12) in Chromium on this CPU: the page's first load, the cold start, a drawn digit, a phone photo.

Starts ``digitlab serve`` (``serve.main.serve``, one worker, the shipped model, 127.0.0.1, a free port) in a child
process, drives Debian's Chromium (``/usr/bin/chromium``, ``$DIGITLAB_CHROMIUM`` overrides; never ``playwright
install``) with Playwright, and prints each figure beside its target from the same run, writing
``results/browser_speed.{json,md}``:
  * the app shell's first load, before the runtime is needed (a fresh context, the page until the network is idle,
    no interaction): the bytes the page fetched <= 500 kB (the service worker's own install fetches are listed apart);
  * the cold start: ``warmDevice()`` from call to ready (runtime and model fetched, session compiled and warmed up)
    after a reload, in a context whose service worker already holds them (a first visit that loaded the device):
    p50 of ``--reloads`` <= 2 s, online (the runtime from the worker's cache, the model network first through it) and
    offline (both from its cache); the very first load, from the network, beside them;
  * a drawn digit -> answer after warm-up: an MNIST test digit painted onto the pad (#pad, 280x280, dark ink on white)
    and read as the app reads a drawing (scaled to 140x140 by recognise.drawingPicture, for the device and the server alike),
    ``recogniseCanvas(pad)`` timed in the page with performance.now: p50 of ``--draws`` <= 15 ms;
  * a 4000x3000 phone-like JPEG (serve_speed.phone_jpeg, ~3 MB) -> answer: ``recogniseFile(file)`` in the page:
    p50 of ``--photos`` <= 400 ms;
  * the device's texts beside the server's for the same pictures (POST /api/predict with the pad's PNG and the JPEG).
Usage: python benchmarks/browser_speed.py [--model REF] [--reloads 5] [--draws 60] [--photos 12]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import write_results  # noqa: E402
from serve_speed import percentile, phone_jpeg, pick_model, start_server  # noqa: E402
from synthetic import load_mnist_test  # noqa: E402

TARGETS = {"shell_kb": 500.0, "cold_p50_ms": 2000.0, "drawn_p50_ms": 15.0, "photo_p50_ms": 400.0}
CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 120_000
DEVICE = "/static/js/ondevice/device.js"

# warmDevice() from call to ready; the module is already loaded by app.js, so the import costs nothing.
WARM = """async () => {
  const { warmDevice } = await import('/static/js/recognise.js');
  const t0 = performance.now();
  const loaded = await warmDevice();
  const ms = performance.now() - t0;
  if (!loaded) throw new Error('the device did not load: ' + document.querySelector('#device-status').textContent);
  return { ms, load_ms: loaded.ms, model_bytes: loaded.bytes, controlled: navigator.serviceWorker.controller !== null };
}"""
KEPT = """async () => {
  const has = async (path) => !!(await caches.match(new URL(path, document.baseURI).href));
  return (await has('static/vendor/ort/ort-wasm-simd-threaded.wasm')) && (await has('api/models/current/model.onnx'));
}"""
# An MNIST digit (28x28 grey levels, light ink on black) painted onto the pad as a drawing: dark ink on white, enlarged.
PAINT = """(levels) => {
  const small = new OffscreenCanvas(28, 28);
  const image = new ImageData(28, 28);
  levels.forEach((v, i) => image.data.set([255 - v, 255 - v, 255 - v, 255], 4 * i));
  small.getContext('2d').putImageData(image, 0, 0);
  const pad = document.querySelector('#pad');
  const ctx = pad.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, pad.width, pad.height);
  return pad.toDataURL('image/png').split(',')[1];
}"""
# The picture of the drawing the app reads (both engines): the pad scaled to recognise.js's READ_SIDE.
PICTURE = (
    "import('/static/js/recognise.js').then((m) => m.drawingPicture(document.querySelector('#pad')).toDataURL('image/png').split(',')[1])"
)
# `n` timed calls of `read()` after `warm` untimed ones: milliseconds each and the last answer's text.
TIMED = """async ([n, warm, what, b64]) => {
  const device = await import('DEVICE');
  let read;
  const { drawingPicture } = await import('/static/js/recognise.js');
  if (what === 'pad') read = () => device.recogniseCanvas(drawingPicture(document.querySelector('#pad'))); // as the app reads a drawing
  else {
    const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'photo.jpg', { type: 'image/jpeg' });
    read = () => device.recogniseFile(file);
  }
  for (let k = 0; k < warm; k++) await read();
  const ms = [];
  let answer;
  for (let k = 0; k < n; k++) {
    const t0 = performance.now();
    answer = await read();
    ms.push(performance.now() - t0);
  }
  return { ms, text: answer.text, error: answer.error, marks: answer.digits.length };
}""".replace("DEVICE", DEVICE)

# Where a drawing's time goes: scaling and reading the canvas (canvasGray) and the pipeline with the model (predictGray), n times.
PARTS = """async (n) => {
  const { device } = await import('DEVICE');
  const { canvasGray } = await import('/static/js/ondevice/picture.js');
  const { drawingPicture } = await import('/static/js/recognise.js');
  const { predictor } = await device();
  const pad = document.querySelector('#pad');
  const canvas = [], predict = [];
  for (let k = 0; k < n; k++) {
    let t0 = performance.now();
    const { gray } = canvasGray(drawingPicture(pad));
    canvas.push(performance.now() - t0);
    t0 = performance.now();
    await predictor.predictGray(gray);
    predict.push(performance.now() - t0);
  }
  return { canvas, predict };
}""".replace("DEVICE", DEVICE)


def shell_load(browser: Any, url: str) -> dict:
    """The page's first load in a fresh context until the network is idle: its responses' body bytes, by file."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page_files: dict[str, int] = {}
    worker_files: dict[str, int] = {}

    def seen(response: Any) -> None:
        path = response.url.removeprefix(url)
        if response.request.service_worker and path != "sw.js":  # the worker's own fetches (its script is the page's)
            worker_files[path] = max(response.request.sizes()["responseBodySize"], 0)  # 0: from the HTTP cache
        elif response.status < 300:
            page_files.setdefault(path, len(response.body()))  # once per file (the icon is asked for twice)

    context.on("response", seen)
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(1000)  # the service worker's install, for the record
    context.close()
    fetched_runtime = [p for p in page_files if "vendor/ort/" in p or p.endswith("model.onnx")]
    return {
        "bytes": sum(page_files.values()),
        "files": dict(sorted(page_files.items())),
        "runtime_or_model_fetched": fetched_runtime,
        "worker_install_bytes": sum(worker_files.values()),
        "worker_install_files": len(worker_files),
    }


def cold_starts(browser: Any, url: str, reloads: int) -> tuple[dict, Any, Any]:
    """A first visit that loads the device, then ``reloads`` reloads online and as many offline, each timing
    warmDevice(); returns the figures and the (context, page), online and warm, for the next measurements."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url, wait_until="networkidle")
    first = page.evaluate(WARM)
    page.wait_for_function(KEPT, timeout=TIMEOUT_MS)  # the worker keeps what the first visit fetched
    runs: dict[str, list[dict]] = {"online": [], "offline": []}
    for mode in ("online", "offline"):
        context.set_offline(mode == "offline")
        for _ in range(reloads):
            page.reload(wait_until="load")
            runs[mode].append(page.evaluate(WARM))
    context.set_offline(False)
    page.reload(wait_until="load")
    page.evaluate(WARM)
    assert all(r["controlled"] for rs in runs.values() for r in rs), "a reload was not served by the service worker"
    figures = {"first": first, **{f"{m}_ms": [r["ms"] for r in rs] for m, rs in runs.items()}}
    figures |= {f"{m}_p50_ms": percentile(figures[f"{m}_ms"], 50) for m in runs}
    return figures, context, page


def timed(page: Any, n: int, warm: int, what: str, b64: str = "") -> dict:
    """``n`` timed answers in the page (``what``: 'pad' or 'photo') after ``warm`` untimed ones."""
    r = page.evaluate(TIMED, [n, warm, what, b64])
    return {**r, "p50_ms": percentile(r["ms"], 50), "p90_ms": percentile(r["ms"], 90), "min_ms": min(r["ms"])}


def server_answer(url: str, name: str, data: bytes, n: int = 3) -> dict:
    """The server's text for the same picture and its median time over ``n`` requests (loopback, one client)."""
    times, text = [], ""
    with httpx.Client(timeout=60) as http:
        for _ in range(n):
            t0 = time.perf_counter()
            r = http.post(f"{url}api/predict", files=[("files", (name, data, "application/octet-stream"))])
            r.raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
            text = r.json()[0]["text"]
    return {"text": text, "p50_ms": statistics.median(times)}


def measure(browser: Any, url: str, args: argparse.Namespace) -> dict:
    """Every figure on one server and one browser."""
    shell = shell_load(browser, url)
    cold, context, page = cold_starts(browser, url, args.reloads)
    try:
        digit = load_mnist_test(1)[0][0]  # (28, 28) uint8, a 7
        page.evaluate(PAINT, digit.reshape(-1).tolist())
        png = base64.b64decode(page.evaluate(PICTURE))  # what the app sends the server for the same drawing
        drawn = timed(page, args.draws, 5, "pad")
        parts = page.evaluate(PARTS, args.draws)
        drawn |= {f"{k}_p50_ms": percentile(v, 50) for k, v in parts.items()}
        jpeg = phone_jpeg()
        photo = timed(page, args.photos, 2, "photo", base64.b64encode(jpeg).decode())
    finally:
        context.close()
    drawn["server"] = server_answer(url, "drawing.png", png)
    photo["server"] = server_answer(url, "photo.jpg", jpeg)
    return {"chromium": browser.version, "shell": shell, "cold": cold, "drawn": drawn, "photo": {**photo, "jpeg_bytes": len(jpeg)}}


def report(r: dict, args: argparse.Namespace, seconds: float) -> None:
    """Print each figure beside its target and write results/browser_speed.{json,md}."""
    ok = lambda v, t: "yes" if v <= t else "NO"  # noqa: E731
    shell, cold, drawn, photo = r["shell"], r["cold"], r["drawn"], r["photo"]
    same = lambda a: "same" if a["text"] == a["server"]["text"] else "DIFFERS"  # noqa: E731
    rows = [
        [f"app shell first load, no interaction ({len(shell['files'])} files; runtime or model fetched: {len(shell['runtime_or_model_fetched'])})", f"{shell['bytes'] / 1000:.0f} kB", "<= 500 kB", ok(shell["bytes"] / 1000, 500)],
        [f"same, with what the service worker's install fetched over the network ({shell['worker_install_files']} files, in the background)", f"{(shell['bytes'] + shell['worker_install_bytes']) / 1000:.0f} kB", "<= 500 kB", ok((shell["bytes"] + shell["worker_install_bytes"]) / 1000, 500)],
        [f"cold start after reload, online (runtime cached, model network first): p50 of {args.reloads}", f"{cold['online_p50_ms']:.0f} ms", "<= 2000 ms", ok(cold["online_p50_ms"], 2000)],
        [f"cold start after reload, offline (both from the worker's cache): p50 of {args.reloads}", f"{cold['offline_p50_ms']:.0f} ms", "<= 2000 ms", ok(cold["offline_p50_ms"], 2000)],
        [f"very first load from the network (runtime + {cold['first']['model_bytes'] / 1e6:.1f} MB model)", f"{cold['first']['ms']:.0f} ms", "(reference)", ""],
        [f"drawn digit -> answer (the 280x280 pad read at 140x140): p50 of {args.draws}", f"{drawn['p50_ms']:.1f} ms", "<= 15 ms", ok(drawn["p50_ms"], 15)],
        ["same: p90", f"{drawn['p90_ms']:.1f} ms", "", ""],
        ["same, in parts: scaling and reading the canvas / the pipeline and model (predictGray), p50", f"{drawn['canvas_p50_ms']:.1f} ms / {drawn['predict_p50_ms']:.1f} ms", "", ""],
        [f"{photo['jpeg_bytes'] / 1e6:.1f} MB 4000x3000 JPEG -> answer (recogniseFile): p50 of {args.photos}", f"{photo['p50_ms']:.0f} ms", "<= 400 ms", ok(photo["p50_ms"], 400)],
        ["same: p90", f"{photo['p90_ms']:.0f} ms", "", ""],
        ["drawing: device's text / server's text", f"{drawn['text']!r} / {drawn['server']['text']!r}", "the same", same(drawn)],
        ["photo: device's text / server's text", f"{photo['text']!r} / {photo['server']['text']!r}", "the same", same(photo)],
        ["server for comparison (POST /api/predict, loopback): drawing / photo p50", f"{drawn['server']['p50_ms']:.0f} ms / {photo['server']['p50_ms']:.0f} ms", "", ""],
        [f"whole benchmark run (load average at start: {args.load[0]:.1f} on {os.cpu_count()} CPUs)", f"{seconds:.0f} s", "", ""],
    ]  # fmt: skip
    settings = {
        "reloads": args.reloads,
        "draws": args.draws,
        "photos": args.photos,
        "model": args.model_used,
        "load_average_at_start": args.load,
    }
    write_results("browser_speed", {"settings": settings, "targets": TARGETS, **r}, rows, ["figure", "measured", "target", "met"])


def main() -> None:
    """Parse the options; start the server and the browser, measure, report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="run name, checkpoint or promoted model (default: shipped, else a tiny trained one)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--reloads", type=int, default=5, help="reloads per cold-start figure (online, offline)")
    p.add_argument("--draws", type=int, default=60, help="timed answers to the drawn digit")
    p.add_argument("--photos", type=int, default=12, help="timed answers to the phone photo")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    t0, args.load = time.perf_counter(), [round(v, 2) for v in os.getloadavg()]  # other work on this machine, for the record
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        args.model_used = pick_model(args.model, Path(tmp))
        proc, port = start_server(args.model_used, Path(args.runs_dir) if args.model else Path(tmp) / "runs", 1, "auto")
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            r = measure(browser, f"http://127.0.0.1:{port}/", args)
        finally:
            browser.close()
            proc.terminate()
            proc.wait(30)
        report(r, args, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
