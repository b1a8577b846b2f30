"""End-to-end: recognition on the device (issue 12) in Chromium, with the network cut.

The page recognises a drawn digit and an uploaded photo with ONNX Runtime Web and the ported pipeline, and gets the
server's answers; then the network is cut (Playwright ``set_offline``), the page is reloaded from the service worker,
and it still reads both, the same. The static copy of the app (``digitlab export --web``), served by a plain file
server, passes the same test against the Python predictor.
"""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from e2e.pad import draw_one
from ports import free_port
from synthetic import encode, load_mnist_test, make_photo

pytestmark = pytest.mark.slow
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A 640x480 phone-like JPEG of an MNIST test digit (a 7) written on paper."""
    path = tmp_path_factory.mktemp("pictures") / "photo.jpg"
    path.write_bytes(encode(make_photo(load_mnist_test(1)[0][0], np.random.default_rng(3)), "JPEG", quality=90))
    return path


def device_answers(page, photo: Path) -> dict[str, str]:
    """Draw a "1" and upload ``photo``; both answered on the device: their texts, and the drawing as PNG (base64)."""
    page.click("#pad-clear")
    draw_one(page)
    drawn = page.locator("#pad-answer .answer .ms[data-engine=device]")
    drawn.wait_for(timeout=TIMEOUT_MS)
    page.set_input_files("#file-input", str(photo))
    page.locator("#answers .answer .ms[data-engine=device]").wait_for(timeout=TIMEOUT_MS)
    text = lambda root: page.locator(f"{root} .answer [data-testid=answer-text]").first.inner_text()  # noqa: E731
    picture = "import('./static/js/recognise.js').then((m) => m.drawingPicture(document.querySelector('#pad')).toDataURL('image/png'))"
    png = page.evaluate(picture)  # the picture of the drawing that was read
    return {"drawing": text("#pad-answer"), "photo": text("#answers"), "png": png.split(",", 1)[1]}


def quoted(text: str) -> str:
    return f"“{text}”" if text else "nothing read"


def go_offline_and_read_again(context, page, photo: Path) -> dict[str, str]:
    """Reload under the service worker with the network cut, then read both again on the device."""
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    kept = "async () => !!(await caches.match(new URL('static/vendor/ort/ort-wasm-simd-threaded.wasm', document.baseURI).href))"
    page.wait_for_function(kept, timeout=TIMEOUT_MS)  # the worker keeps what the first visit fetched before it took over
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.reload()
    return device_answers(page, photo)


def test_recognises_on_the_device_with_the_network_cut_and_gets_the_servers_answers(browser, server, photo):
    from digitlab.recognize.predictor import DEFAULT_MODEL

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}, base_url=server.url)
    try:
        page = context.new_page()
        assert page.request.put("/api/models/current", data={"ref": str(DEFAULT_MODEL)}).ok
        page.goto(server.url)
        assert page.locator("#engine").input_value() == "device"
        online = device_answers(page, photo)
        assert online["drawing"] == "“1”" and online["photo"] == "“7”"
        # the server's answers for the same pictures
        by_server = page.request.post(
            "/api/predict", multipart={"files": {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo.read_bytes()}}
        )
        drawing = page.request.post("/api/predict/canvas", data={"pixels": "data:image/png;base64," + online["png"]})
        assert quoted(by_server.json()[0]["text"]) == online["photo"] and quoted(drawing.json()["text"]) == online["drawing"]
        offline = go_offline_and_read_again(context, page, photo)
        assert (offline["drawing"], offline["photo"]) == (online["drawing"], online["photo"])
        assert not page.locator("#offline").is_hidden()
    finally:
        context.close()
        from urllib.request import Request, urlopen

        urlopen(
            Request(
                f"{server.url}/api/models/current",
                data=f'{{"ref": "{server.run}"}}'.encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
        )


@pytest.fixture(scope="module")
def static_site(tmp_path_factory):
    """``digitlab export ship --web DIR`` served by Python's plain file server on loopback."""
    from digitlab.recognize.predictor import DEFAULT_MODEL
    from digitlab.serve.site import write_site

    folder = tmp_path_factory.mktemp("site") / "web"
    write_site(DEFAULT_MODEL, folder)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    handler.log_message = lambda *a: None  # quiet
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_the_static_copy_recognises_offline_like_the_python_predictor(browser, static_site, photo):
    from digitlab.recognize.predictor import Predictor

    context = browser.new_context(locale="en-US", viewport={"width": 412, "height": 915})  # a phone's screen
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(static_site)
        assert page.locator("[data-tab=runs]").is_hidden() and page.locator("#engine").is_hidden()
        online = device_answers(page, photo)
        python = Predictor()
        assert online["photo"] == quoted(python.predict(photo.read_bytes()).text)
        assert online["drawing"] == quoted(python.predict(base64.b64decode(online["png"])).text)
        offline = go_offline_and_read_again(context, page, photo)
        assert (offline["drawing"], offline["photo"]) == (online["drawing"], online["photo"])
        assert not errors, errors
    finally:
        context.close()
