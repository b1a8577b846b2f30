"""Browser tests: the real server (uvicorn on loopback, a free port, a tiny trained model) and Debian's Chromium via Playwright.

Never runs ``playwright install``: the browser is the system's ``/usr/bin/chromium``
(``$DIGITLAB_CHROMIUM`` overrides). The tests are skipped, with the reason, only
when that browser cannot be launched.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ports import free_port

CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Server:
    """The running lab: its address and folders."""

    url: str
    runs: Path
    run: str  # the tiny run trained for the tests


def train_tiny(root: Path) -> str:
    """One tiny recorded run (1 epoch, 1000 images, 1 thread), promoted as gen1."""
    from digitlab.catalog import promote
    from digitlab.config import make_config
    from digitlab.runner import run_training
    from digitlab.steps import after_steps
    from digitlab.store import RunStore

    store = RunStore(runs_dir=root / "runs")
    cfg = make_config({"threads": 1, "model": "fast", "train_subset": 1000, "val_size": 500, "epochs": 1})
    name, _ = run_training(cfg, runs_dir=root / "runs", store=store, after=after_steps())
    promote(store, name, "gen1", models_dir=root / "models")
    return name


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session (skips the e2e tests when it cannot start)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package 'playwright' is not installed")
    with sync_api.sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as err:
            pytest.skip(
                f"Chromium cannot be launched from {CHROMIUM} ({str(err).splitlines()[0]}); install it with `apt-get install -y chromium`"
            )
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(browser, tmp_path_factory) -> Iterator[Server]:
    """``digitlab serve``'s app under uvicorn (one worker) in a background thread, serving the tiny run's model."""
    import uvicorn

    from digitlab.serve import Settings, create_app

    root = tmp_path_factory.mktemp("e2e-lab")
    run = train_tiny(root)
    app = create_app(Settings(runs_dir=root / "runs", models_dir=root / "models", model=run))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, workers=1, log_level="warning"))
    thread = threading.Thread(target=srv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", root / "runs", run)
    srv.should_exit = True
    thread.join(30)


@pytest.fixture
def page(browser, server):
    """A fresh English browser tab on the lab's page."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}, base_url=server.url)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text))
    p.goto(server.url)
    yield p
    context.close()
    assert not errors, f"JavaScript or Content-Security-Policy errors: {errors}"


@pytest.fixture(scope="session")
def shot(tmp_path_factory) -> Callable:
    """``shot(page, "runs")``: a full-page screenshot in the test's output folder only.

    The README's pictures (docs/screenshots/) come from real runs, taken by scripts/screenshots.py, never from
    these tiny test runs.
    """
    out = tmp_path_factory.mktemp("screenshots")

    def take(page, name: str) -> Path:
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
