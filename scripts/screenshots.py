"""Take the README's web-app screenshots (docs/screenshots/*.png) from a lab of real runs.

1. The lab (a folder outside the repository; ``--lab DIR`` reuses one): zoo recipes trained with the lab's own
   ``digitlab zoo``, the best of them promoted as ``gen1`` (``digitlab promote``), and a short real tuning study
   (``digitlab tune --space fast`` on the full training set). Whatever the folder already holds is not redone.
2. ``digitlab serve`` on that lab (loopback, a free port) and Debian's Chromium through Playwright (never
   ``playwright install``) take recognise, runs, studies, train, models and mobile (360 px wide).
3. ``digitlab export ship --web`` served by a plain file server, on a phone's screen (412 x 915): the app that
   recognises on the device, photographed after the network was cut (phone-app). ``--phone-app`` takes only this one
   (no lab needed).

Usage: .venv/bin/python scripts/screenshots.py [--lab DIR] [--models fast,lenet5,cnn] [--threads 1] [--trials 6]
Training takes about 10 minutes of CPU; the pictures under a minute. One thread per run by default: on a busy
2-core machine two torch threads ran 6x slower than one (72 s against 11 s for a LeNet-5 epoch).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # synthetic.py: phone-like pictures of real MNIST test digits

from synthetic import load_mnist_test, make_strip  # noqa: E402

OUT = REPO / "docs" / "screenshots"
CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STUDY = "fast-full"
NUMBER = "2026"  # the number written in the Recognise picture, from MNIST test digits
WAIT_MS = 60_000
DESKTOP = {"width": 1280, "height": 900}


def digitlab(lab: Path, *args: str) -> None:
    """Run one ``digitlab`` command on the lab's folders (its output goes to the terminal)."""
    cmd = [sys.executable, "-m", "digitlab", "--runs-dir", str(lab / "runs"), "--models-dir", str(lab / "models"), *args]
    print("$", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)


def make_lab(lab: Path, models: list[str], threads: int, trials: int) -> None:
    """Zoo runs, a promoted model and a tuning study in ``lab``; each step is skipped when its result is there."""
    todo = [m for m in models if not (lab / "runs" / m / "weights" / "best.pt").exists()]
    if todo:
        digitlab(lab, "zoo", "--models", ",".join(todo), "--out", str(lab / "zoo.md"), "--threads", str(threads))
    if not (lab / "models" / "gen1").exists():
        digitlab(lab, "promote", best_run(lab, models), "--as", "gen1")
    if not (lab / "runs" / "studies" / STUDY).exists():
        # The shipped CI space (`fast`, one epoch) on the whole training set instead of its 300 images.
        overrides = [f"threads={threads}", "train_subset=0", "val_size=5000"]
        digitlab(lab, "tune", "--space", "fast", "--study", STUDY, "--trials", str(trials), "--no-final", *overrides)


def best_run(lab: Path, models: list[str]) -> str:
    """The zoo run with the best validation accuracy (the zoo names each run after its model)."""
    best = {m: max(float(r["val_acc"]) for r in csv_rows(lab / "runs" / m / "metrics.csv")) for m in models}
    return max(best, key=best.__getitem__)


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a run's metrics.csv."""
    with path.open() as f:
        return list(csv.DictReader(f))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(lab: Path) -> Iterator[str]:
    """``digitlab serve`` on the lab, Recognise using gen1; yields its address (127.0.0.1: the server checks Host)."""
    port = free_port()
    cmd = [sys.executable, "-m", "digitlab", "--runs-dir", str(lab / "runs"), "--models-dir", str(lab / "models")]
    proc = subprocess.Popen([*cmd, "serve", "--port", str(port), "--model", "gen1"])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/info", timeout=5) as r:
                    json.load(r)
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"digitlab serve did not start (exit {proc.returncode})")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def number_photo(folder: Path, number: str = NUMBER) -> Path:
    """A phone-like JPEG of ``number`` written with the first MNIST test digits of each figure."""
    images, labels = load_mnist_test(200)
    digits = [images[int(np.flatnonzero(labels == int(c))[number[:i].count(c)])] for i, c in enumerate(number)]
    path = folder / f"photo-{number}.jpg"
    Image.fromarray(make_strip(digits, np.random.default_rng(7))).save(path, quality=88)
    return path


def draw_digit(page) -> None:
    """Draw a "7" on the pad with the mouse: a top bar, then a slanted stroke down."""
    box = page.locator("#pad").bounding_box()

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    page.mouse.move(*at(0.25, 0.22))
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(*at(0.25 + 0.05 * k, 0.22 + 0.002 * k))
    for k in range(1, 21):
        page.mouse.move(*at(0.75 - 0.014 * k, 0.22 + 0.031 * k))
    page.mouse.up()


def answer_text(page, root: str) -> str:
    page.locator(f"{root} .answer [data-testid=answer-text]").first.wait_for(timeout=WAIT_MS)
    return page.locator(f"{root} .answer [data-testid=answer-text]").first.inner_text().strip("“” ")


def shoot(page, name: str, out: Path) -> None:
    """Full-page PNG of the page as it is, after images have loaded; fails on an error banner."""
    page.wait_for_load_state("networkidle")
    for img in page.locator("img:visible").all():  # plots load lazily: bring each into view and wait for it
        img.scroll_into_view_if_needed()
        if not img.evaluate("(i) => i.decode().then(() => i.naturalWidth, () => 0)"):
            raise SystemExit(f"{name}: a picture did not load: {img.get_attribute('src')}")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)  # smooth scrolling and chart animations settle
    errors = [t for t in page.locator(".error:visible").all_inner_texts() if t.strip()]
    if errors:
        raise SystemExit(f"{name}: the page shows an error: {errors}")
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"wrote {out / f'{name}.png'} ({(out / f'{name}.png').stat().st_size // 1024} KB)", flush=True)


def recognise(page, photo: Path, out: Path) -> None:
    page.set_input_files("#file-input", str(photo))
    read = answer_text(page, "#answers")
    if read != NUMBER:
        raise SystemExit(f"the photo of {NUMBER} was read as {read!r}")
    draw_digit(page)
    if (drawn := answer_text(page, "#pad-answer")) != "7":
        raise SystemExit(f"the drawn 7 was read as {drawn!r}")
    shoot(page, "recognise", out)


def inside(page, out: Path) -> None:
    """Recognise: a drawn 7 and its "why?" panel (saliency, Grad-CAM, filters, every layer with its output shape)."""
    draw_digit(page)
    if (drawn := answer_text(page, "#pad-answer")) != "7":
        raise SystemExit(f"the drawn 7 was read as {drawn!r}")
    page.locator("#pad-answer [data-testid=why]").first.click()
    page.locator("#pad-answer [data-testid=inside-layers]").first.wait_for(timeout=WAIT_MS)
    shoot(page, "inside", out)


def runs(page, models: list[str], out: Path) -> None:
    """Runs: the zoo runs selected and overlaid, the best one opened (curves, confusion matrix, log)."""
    page.click("[data-tab=runs]")
    page.locator("#runs-table tbody tr[data-run]").first.wait_for(timeout=WAIT_MS)
    for m in models:
        page.locator(f"#runs-table tr[data-run='{m}'] input[type=checkbox]").check()
    page.click("#runs-compare")
    page.locator("[data-testid=chart-acc] canvas").wait_for(timeout=WAIT_MS)
    page.click(f"#runs-table tr[data-run='{models[-1]}'] button.link")
    page.locator("#run-detail img[alt='Confusion matrix (test)']").wait_for(timeout=WAIT_MS)
    shoot(page, "runs", out)


def studies(page, out: Path) -> None:
    page.click("[data-tab=runs]")
    page.locator(f"#studies-table tr[data-study='{STUDY}'] button.link").click(timeout=WAIT_MS)
    page.locator("#study-detail img[alt='Optimisation history']").wait_for(timeout=WAIT_MS)
    shoot(page, "studies", out)


def tab(page, name: str, ready: str, out: Path) -> None:
    page.click(f"[data-tab={name}]")
    page.locator(ready).first.wait_for(timeout=WAIT_MS)
    shoot(page, name, out)


def mobile(browser, url: str, out: Path) -> None:
    """Recognise at 360 px with a drawn 7 (a photo's answer, one card per digit, makes the page too long to show)."""
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(url)
        draw_digit(page)
        if (drawn := answer_text(page, "#pad-answer")) != "7":
            raise SystemExit(f"phone: the drawn 7 was read as {drawn!r}")
        if page.evaluate("document.scrollingElement.scrollWidth") > 360:
            raise SystemExit("phone: the page scrolls sideways at 360 px")
        shoot(page, "mobile", out)
    finally:
        context.close()


@contextlib.contextmanager
def static_site(scratch: Path) -> Iterator[str]:
    """``digitlab export ship --web`` (the real command) served by Python's plain file server on loopback."""
    site = scratch / "site"
    subprocess.run([sys.executable, "-m", "digitlab.cli", "export", "ship", "--web", str(site), "--no-check"], check=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(site)], stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=1)
                break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def phone_app(browser, url: str, photo: Path, out: Path) -> None:
    """The static app on a phone's screen: a photo and a drawing read on the device, then again with the network cut."""
    context = browser.new_context(locale="en-US", viewport={"width": 412, "height": 915}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(url)
        draw_digit(page)
        answer_text(page, "#pad-answer")
        page.evaluate("navigator.serviceWorker.ready")
        kept = "async () => !!(await caches.match(new URL('static/vendor/ort/ort-wasm-simd-threaded.wasm', document.baseURI).href))"
        page.wait_for_function(kept, timeout=WAIT_MS)
        page.reload()
        context.set_offline(True)
        page.reload()
        page.set_input_files("#file-input", str(photo))
        if (read := answer_text(page, "#answers")) != NUMBER:
            raise SystemExit(f"phone app: the photo of {NUMBER} was read as {read!r}")
        draw_digit(page)
        if (drawn := answer_text(page, "#pad-answer")) != "7":
            raise SystemExit(f"phone app: the drawn 7 was read as {drawn!r}")
        page.screenshot(path=str(out / "phone-app.png"), full_page=True)
        print(f"wrote {out / 'phone-app.png'}", flush=True)
    finally:
        context.close()


def take_phone_app(out: Path, scratch: Path) -> None:
    from playwright.sync_api import sync_playwright

    photo = number_photo(scratch)
    with static_site(scratch) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone_app(browser, url, photo, out)
        browser.close()


def take_all(url: str, models: list[str], out: Path, scratch: Path) -> None:
    """The seven pictures; JavaScript errors on any page stop the script."""
    from playwright.sync_api import sync_playwright

    photo = number_photo(scratch)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, take in [
            ("recognise", lambda p: recognise(p, photo, out)),
            ("inside", lambda p: inside(p, out)),
            ("runs", lambda p: runs(p, models, out)),
            ("studies", lambda p: studies(p, out)),
            ("train", lambda p: tab(p, "train", "#train-fields #p-epochs", out)),
            ("models", lambda p: tab(p, "models", "#models-promoted table", out)),
        ]:
            context = browser.new_context(locale="en-US", viewport=DESKTOP, base_url=url)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
            page.goto(url)
            take(page)
            context.close()
            if errors:
                raise SystemExit(f"{name}: JavaScript errors: {errors}")
        mobile(browser, url, out)
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", type=Path, help="lab folder to make or reuse (default: a new temporary folder)")
    ap.add_argument("--models", default="fast,lenet5,cnn", help="zoo recipes to train and compare (default: fast,lenet5,cnn)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per training run (default 1)")
    ap.add_argument("--trials", type=int, default=6, help="trials of the tuning study (default 6)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default docs/screenshots)")
    ap.add_argument("--phone-app", action="store_true", help="take only the static app on a phone's screen (no lab needed)")
    args = ap.parse_args()
    if args.phone_app:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            return take_phone_app(args.out, Path(scratch))
    lab = (args.lab or Path(tempfile.mkdtemp(prefix="digitlab-lab-"))).resolve()
    if lab.is_relative_to(REPO):
        raise SystemExit(f"--lab must be outside the repository, not {lab}")
    models = args.models.split(",")
    lab.mkdir(parents=True, exist_ok=True)
    make_lab(lab, models, args.threads, args.trials)
    args.out.mkdir(parents=True, exist_ok=True)
    with serving(lab) as url, tempfile.TemporaryDirectory() as scratch:
        take_all(url, models, args.out, Path(scratch))
        take_phone_app(args.out, Path(scratch))
    print(f"lab: {lab}")


if __name__ == "__main__":
    main()
