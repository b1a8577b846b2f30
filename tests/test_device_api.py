"""The current model as files for recognition on the device: GET /api/models/current/model.json and model.onnx."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

from digitlab.data.dataset import load_raw
from digitlab.recognize.predictor import DEFAULT_MODEL
from digitlab.serve import Settings, create_app
from digitlab.serve.settings import LOCAL_HOSTS

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    settings = Settings(
        runs_dir=tmp_path_factory.mktemp("runs"), model=str(DEFAULT_MODEL), engine="torch", allowed_hosts=LOCAL_HOSTS | {"testserver"}
    )
    app = create_app(settings)
    with TestClient(app) as c:
        yield c


def test_model_json_carries_what_the_page_needs(client):
    r = client.get("/api/models/current/model.json")
    assert r.status_code == 200 and r.headers["etag"].strip('"') == r.json()["id"]
    meta = r.json()
    assert meta["classes"] == [str(d) for d in range(10)] and set(meta["norm"]) == {"mean", "std"}
    rej = meta["rejection"]
    assert set(rej["detectors"]) == {"msp", "energy", "mahalanobis", "knn"} and np.isfinite(rej["threshold"])
    bank = rej["detectors"]["knn"]["bank"]
    assert bank["dtype"] == "float16" and len(base64.b64decode(bank["base64"])) == 2 * np.prod(bank["shape"])


def test_model_onnx_answers_as_the_server_does(client):
    r = client.get("/api/models/current/model.onnx")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    session = ort.InferenceSession(r.content, providers=["CPUExecutionProvider"])
    x, y = load_raw("mnist", "t10k")
    logits, features = session.run(["logits", "features"], {"images": (x[:200, None] / 255).astype(np.float32)})
    assert (logits.argmax(1) == y[:200]).mean() > 0.98 and features.shape[0] == 200
    # the same export the next time (the page's cache key)
    assert client.get("/api/models/current/model.json").json()["id"] == client.get("/api/models/current/model.json").json()["id"]


def test_the_page_may_compile_webassembly(client):
    assert "'wasm-unsafe-eval'" in client.get("/").headers["content-security-policy"]
    wasm = client.get("/static/vendor/ort/ort-wasm-simd-threaded.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"
    assert client.get("/static/vendor/ort/ort.wasm.min.mjs").headers["content-type"].startswith("text/javascript")
