"""Review fixes to ``digitlab serve`` (issue 10, part 6): failed runs, NUL bytes and overflows, Host checks,
big pictures and per-request limits, and the headers of files served from run folders.

The server uses the shipped model; its runs folder holds one tiny run that failed in
its first epoch, so it has no summary figures.
"""

from __future__ import annotations

import io
import tracemalloc
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitlab.errors import DigitlabError
from digitlab.recognize.image_io import read_picture
from digitlab.recognize.predictor import Predictor
from digitlab.recognize.preprocess import DECODE_SIDE
from digitlab.serve import Settings, create_app
from digitlab.serve.main import make_settings
from test_serve_api import digit_picture, files, lab_settings, sentence


class Killed(Exception):
    """What stops the run in its first epoch (as a crash or a kill would)."""


def stop(metrics: dict) -> None:
    raise Killed("stopped in the first epoch")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A runs folder whose one run failed in its first epoch, before any summary figure was recorded."""
    from digitlab.config import make_config
    from digitlab.runner import run_training

    root = tmp_path_factory.mktemp("hardening")
    cfg = make_config({"model": "fast", "threads": 1, "epochs": 1, "train_subset": 500, "val_size": 500})
    with pytest.raises((Killed, DigitlabError)):
        run_training(cfg, runs_dir=root / "runs", hooks=[stop])
    return root / "runs"


def lab(runs: Path, **values) -> TestClient:
    """A client of a server on ``runs`` with the shipped model."""
    return TestClient(create_app(lab_settings(runs_dir=runs, models_dir=runs.parent / "models", **values)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(runs) -> TestClient:
    return lab(runs)


@pytest.fixture(scope="module")
def failed(client) -> str:
    [run] = client.get("/api/runs").json()
    return run["name"]


@pytest.fixture(scope="module")
def big_png() -> bytes:
    """A 6300 x 6300 grey PNG (just under the 40 M pixel limit, ~60 kB): a dark "1" on white paper."""
    page = np.full((6300, 6300), 255, np.uint8)
    page[1500:4800, 3000:3450] = 0
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


# -- a failed run is listed, with no figures (the web app's side is tests/e2e)


def test_failed_run_has_null_figures(client, failed):
    [row] = client.get("/api/runs").json()
    assert row["status"] == "failed" and row["message"]
    for key in ("train_seconds", "eval_seconds", "best_val_acc", "test_acc", "test_loss"):
        assert row[key] is None, key


# -- user input never gives 500


@pytest.mark.parametrize(
    "path", ["/api/runs/{run}/files/%00", "/api/runs/{run}/files/train.log%00.png", "/api/studies/x%00/plots/history.png"]
)
def test_nul_byte_in_a_file_path_is_404(client, failed, path):
    r = client.get(path.format(run=failed))
    assert r.status_code == 404, r.text
    sentence(r)


@pytest.mark.parametrize("generation", ["99999999999999999999999", "-1"])
def test_generation_out_of_range_is_422(client, generation):
    r = client.get("/api/runs", params={"generation": generation})
    assert r.status_code == 422, r.text
    assert "generation" in sentence(r)


# -- DNS rebinding: only the server's own names in the Host header


@pytest.mark.parametrize("base", ["http://localhost:8000", "http://127.0.0.1:5", "http://[::1]:8000", "http://LOCALHOST."])
def test_local_names_are_answered(runs, base):
    c = TestClient(create_app(Settings(runs_dir=runs, models_dir=runs.parent / "models")), base_url=base)
    assert c.get("/api/info").status_code == 200


def test_another_name_is_400_on_every_request(runs):
    app = create_app(Settings(runs_dir=runs, models_dir=runs.parent / "models"))
    rebound = TestClient(app, base_url="http://attacker.example:8000")
    for method, path, kwargs in [
        ("get", "/", {}),
        ("get", "/static/app.js", {}),
        ("get", "/api/info", {}),
        ("get", "/api/nope", {}),
        ("post", "/api/jobs", {"json": {"epochs": 1}}),
        ("put", "/api/models/current", {"json": {"ref": "x"}}),
        ("post", "/api/predict", {"files": files(("seven.png", digit_picture("PNG")))}),
    ]:
        r = getattr(rebound, method)(path, **kwargs)
        assert r.status_code == 400, (path, r.status_code)
        assert "attacker.example" in sentence(r) and "localhost" in sentence(r)
    assert TestClient(app, base_url="http://localhost").get("/api/jobs").json() == []  # nothing was queued


def test_the_host_given_to_serve_is_answered(runs):
    def client(host: str, base: str) -> TestClient:
        s = make_settings(host, None, False, runs, None, runs.parent / "models", None)
        return TestClient(create_app(s), base_url=base)

    assert client("lab.example", "http://lab.example:8000").get("/api/info").status_code == 200
    assert client("lab.example", "http://other.example:8000").get("/api/info").status_code == 400
    assert client("0.0.0.0", "http://192.168.1.10:8000").get("/api/info").status_code == 200  # every address: any IP
    assert client("0.0.0.0", "http://attacker.example:8000").get("/api/info").status_code == 400


# -- big pictures: decoded small, limits per request


def test_big_png_is_decoded_reduced(big_png):
    picture = read_picture(big_png, max_side=DECODE_SIDE)
    assert picture.size == (6300, 6300)
    assert max(picture.gray.shape) <= DECODE_SIDE and picture.gray.shape == (1260, 1260)  # 6300 / 5


def test_big_turned_jpeg_is_decoded_reduced_and_upright():
    page = np.full((3000, 4000), 255, np.uint8)  # landscape as stored; EXIF 6 says: turn it a quarter clockwise
    page[500:900, 2000:2100] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(page).convert("RGB").save(buf, "JPEG", quality=80, exif=exif)
    picture = read_picture(buf.getvalue(), max_side=DECODE_SIDE)
    assert picture.size == (3000, 4000)  # upright: portrait
    h, w = picture.gray.shape
    assert max(h, w) <= DECODE_SIDE and h > w and abs(h / w - 4 / 3) < 0.01


def test_big_png_is_read_in_bounded_memory_with_boxes_in_file_pixels(big_png):
    predictor = Predictor()
    tracemalloc.start()  # numpy's arrays are traced: the float copies of the picture
    try:
        answer = predictor.predict(big_png, "big.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.ok and answer.text == "1", answer
    assert peak < 80 * 2**20, peak  # one full-size float32 copy alone would be 159 MB
    x0, y0, x1, y1 = answer.digits[0].box
    assert abs(x0 - 3000) <= 10 and abs(y0 - 1500) <= 10 and abs(x1 - 3450) <= 10 and abs(y1 - 4800) <= 10


def test_big_png_through_the_api(client, big_png):
    r = client.post("/api/predict", files=files(("big.png", big_png)))
    assert r.status_code == 200, r.text
    assert r.json()[0]["digits"][0]["box"][2] > 3000  # the file's pixels, not the reduced copy's


def test_pixels_per_request_are_capped(runs):
    c = lab(runs, max_request_pixels=30_000)  # each picture is 112 x 112 = 12,544 pixels
    assert c.post("/api/predict", files=files(("a.png", digit_picture("PNG")), ("b.png", digit_picture("PNG")))).status_code == 200
    r = c.post("/api/predict", files=files(*[(f"{i}.png", digit_picture("PNG")) for i in range(3)]))
    assert r.status_code == 413
    assert "37,632 pixels together" in sentence(r) and "30,000" in sentence(r)


def test_bytes_per_request_are_capped(runs):
    size = len(digit_picture("PNG"))
    c = lab(runs, max_request_bytes=2 * size)
    assert c.post("/api/predict", files=files(("a.png", digit_picture("PNG")), ("b.png", digit_picture("PNG")))).status_code == 200
    r = c.post("/api/predict", files=files(*[(f"{i}.png", digit_picture("PNG")) for i in range(3)]))
    assert r.status_code == 413 and "together" in sentence(r) and "per request" in sentence(r)


def test_pixel_limit_per_picture_is_checked_when_loading(runs):
    c = lab(runs, max_pixels=10_000)
    r = c.post("/api/predict", files=files(("seven.png", digit_picture("PNG"))))
    assert r.status_code == 422 and "more than the limit of 10,000" in sentence(r)


def test_each_picture_waits_its_own_turn(runs):
    """The prediction gate is taken per picture, so other requests get in between a big request's pictures."""
    c = lab(runs)
    turns = []

    @asynccontextmanager
    async def gate():
        turns.append(1)
        yield

    class Counting:
        async def __aenter__(self):
            self.cm = gate()
            return await self.cm.__aenter__()

        async def __aexit__(self, *exc):
            return await self.cm.__aexit__(*exc)

    c.app.state.lab.predict_gate = Counting()
    r = c.post("/api/predict", files=files(*[(f"{i}.png", digit_picture("PNG")) for i in range(3)]))
    assert r.status_code == 200 and len(turns) == 3


# -- files from run and study folders cannot act as pages of the app


def test_run_and_study_files_have_csp_and_nosniff(client, failed, runs):
    plot = runs / "studies" / "tiny" / "history.png"
    plot.parent.mkdir(parents=True)
    plot.write_bytes(digit_picture("PNG"))
    for path in (f"/api/runs/{failed}/files/config.yaml", "/api/studies/tiny/plots/history.png"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["x-content-type-options"] == "nosniff"
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp
