"""The web API of ``digitlab serve`` (issue 5), through ``create_app`` and FastAPI's test client.

One tiny model is trained once for the module (1 epoch, 1000 images, 1 thread);
the job tests train two more tiny runs (500 images) in the background queue.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitlab.config_docs import param_rows
from digitlab.models import count_params, create_model, list_models
from digitlab.serve import Settings, create_app
from digitlab.serve.main import make_settings
from digitlab.serve.settings import LOCAL_HOSTS, is_loopback
from synthetic import load_mnist_test
from tiny_search import tiny_search
from tiny_study import tiny_study

TINY_JOB = {"model": "fast", "epochs": 1, "train_subset": 500, "val_size": 500, "threads": 1, "batch_size": 64}


@dataclass
class Lab:
    """A runs folder holding one finished tiny run."""

    root: Path
    runs: Path
    run: str
    best: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    from digitlab.config import make_config
    from digitlab.runner import run_training
    from digitlab.steps import after_steps
    from digitlab.store import RunStore

    root = tmp_path_factory.mktemp("serve-lab")
    cfg = make_config({"threads": 1, "model": "fast", "train_subset": 1000, "val_size": 500, "epochs": 1})
    name, _ = run_training(cfg, runs_dir=root / "runs", store=RunStore(runs_dir=root / "runs"), after=after_steps())
    return Lab(root, root / "runs", name, root / "runs" / name / "weights" / "best.pt")


def lab_settings(**values) -> Settings:
    """Settings that also answer FastAPI's TestClient, whose requests name the host 'testserver'."""
    return Settings(**{"allowed_hosts": LOCAL_HOSTS | {"testserver"}, **values})


def settings(lab: Lab, **extra) -> Settings:
    return lab_settings(runs_dir=lab.runs, models_dir=lab.root / "models", model=str(lab.best), **extra)


@pytest.fixture(scope="module")
def client(lab) -> TestClient:
    return TestClient(create_app(settings(lab)), raise_server_exceptions=False)


def digit_picture(fmt: str, index: int = 0) -> bytes:
    """An MNIST test digit as dark ink on white paper, 4x enlarged, encoded as PNG or JPEG."""
    images, _ = load_mnist_test(index + 1)
    page = 255 - np.kron(images[index], np.ones((4, 4), np.uint8))
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (no pixel data behind it): a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def sentence(response) -> str:
    """The error body: JSON with one sentence in ``detail``."""
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    return body["detail"]


def check_answer(answer: dict) -> None:
    assert answer["error"] is None
    assert answer["digits"], answer
    for d in answer["digits"]:
        assert len(d["probs"]) == 10 and abs(sum(d["probs"]) - 1) < 1e-3
        assert np.asarray(d["image"]).shape == (28, 28)
        assert d["accepted"] == (d["reason"] is None)
        assert (d["label"] == "not a digit") != d["accepted"]


# -- recognise


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_predict_one_picture(client, fmt):
    r = client.post("/api/predict", files=files((f"seven.{fmt.lower()}", digit_picture(fmt))))
    assert r.status_code == 200, r.text
    [answer] = r.json()
    assert answer["source"] == f"seven.{fmt.lower()}"
    check_answer(answer)
    assert len(answer["digits"]) == 1


def test_predict_several_pictures_keeps_order(client):
    r = client.post(
        "/api/predict",
        files=files(("a.png", digit_picture("PNG", 0)), ("b.jpg", digit_picture("JPEG", 1)), ("c.png", digit_picture("PNG", 2))),
    )
    assert r.status_code == 200, r.text
    assert [a["source"] for a in r.json()] == ["a.png", "b.jpg", "c.png"]
    for answer in r.json():
        check_answer(answer)


def test_predict_mixed_batch_reports_the_bad_file_only(client):
    r = client.post("/api/predict", files=files(("good.png", digit_picture("PNG")), ("notes.txt", b"not a picture")))
    assert r.status_code == 200
    good, bad = r.json()
    check_answer(good)
    assert bad["digits"] == [] and "not a picture" in bad["error"]


def test_too_many_files_is_422(client):
    r = client.post("/api/predict", files=files(*[(f"{i}.png", digit_picture("PNG")) for i in range(21)]))
    assert r.status_code == 422
    assert "at most 20" in sentence(r)


def test_too_large_file_is_413(lab):
    small = TestClient(create_app(settings(lab, max_upload_bytes=20_000)))
    big = digit_picture("PNG") + b"\0" * 30_000  # trailing bytes after IEND: still a PNG, but 30 kB over
    r = small.post("/api/predict", files=files(("big.png", big)))
    assert r.status_code == 413
    assert "big.png" in sentence(r) and "limit" in sentence(r)


def test_request_body_over_the_total_limit_is_413(lab):
    small = TestClient(create_app(settings(lab, max_upload_bytes=1000, max_files=2)))  # body limit: 2 kB + 1 MB
    r = small.post("/api/predict", files=files(("huge.png", b"\0" * (2 * 1024 * 1024))))
    assert r.status_code == 413
    assert "larger than the limit" in sentence(r)


def test_not_an_image_is_422(client):
    r = client.post("/api/predict", files=files(("notes.txt", b"hello, not a picture")))
    assert r.status_code == 422
    assert "notes.txt" in sentence(r) and "not a picture" in sentence(r)


def test_empty_file_is_422(client):
    r = client.post("/api/predict", files=files(("empty.png", b"")))
    assert r.status_code == 422
    assert "empty" in sentence(r)


@pytest.mark.parametrize("side", [8000, 100_000])
def test_pixel_bomb_is_refused_before_decoding(client, side):
    t0 = time.perf_counter()
    r = client.post("/api/predict", files=files(("bomb.png", png_header(side, side))))
    assert r.status_code in (413, 422)
    assert "pixels" in sentence(r)
    assert time.perf_counter() - t0 < 5  # nothing was decoded


def test_pixel_limit_comes_from_the_settings(lab):
    strict = TestClient(create_app(settings(lab, max_pixels=10_000)))
    r = strict.post("/api/predict", files=files(("seven.png", digit_picture("PNG"))))  # 112 x 112 = 12,544 pixels
    assert r.status_code == 422
    assert "more than the limit of 10,000" in sentence(r)


def test_predict_without_files_is_422(client):
    r = client.post("/api/predict")
    assert r.status_code == 422
    assert "files" in sentence(r)


def test_canvas_pixels(client):
    ink = np.zeros((28, 28))
    ink[4:24, 13:16] = 1.0  # a "1"
    r = client.post("/api/predict/canvas", json={"pixels": ink.tolist()})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["source"] == "canvas"
    check_answer(answer)


def test_canvas_data_url_goes_through_the_picture_path(client):
    url = "data:image/png;base64," + base64.b64encode(digit_picture("PNG")).decode()
    canvas = client.post("/api/predict/canvas", json={"pixels": url}).json()
    upload = client.post("/api/predict", files=files(("seven.png", digit_picture("PNG")))).json()[0]
    check_answer(canvas)
    assert canvas["digits"][0]["probs"] == upload["digits"][0]["probs"]


def test_blank_canvas_is_not_a_digit(client):
    r = client.post("/api/predict/canvas", json={"pixels": np.zeros((28, 28)).tolist()})
    assert r.status_code == 200
    [d] = r.json()["digits"]
    assert d["label"] == "not a digit" and not d["accepted"] and d["reason"]
    assert d["score"] is None  # -inf is not JSON; it comes as null


@pytest.mark.parametrize(
    "pixels",
    [
        [[0.0] * 28] * 27,
        [[0.0] * 27] * 28,
        [[2.0] * 28] * 28,
        [],
        "data:text/plain;base64,aGk=",
        "data:image/png;base64,!!!",
        "not a url",
        "data:image/png;base64,aGVsbG8=",
    ],
)
def test_bad_canvas_is_422(client, pixels):
    r = client.post("/api/predict/canvas", json={"pixels": pixels})
    assert r.status_code == 422, r.text
    sentence(r)


# -- runs


def test_runs_list_and_detail(client, lab):
    runs = client.get("/api/runs").json()
    row = next(r for r in runs if r["name"] == lab.run)
    assert row["status"] == "completed" and row["model"] == "fast"
    assert row["key_params"].startswith("adamw lr=") and 0 <= row["test_acc"] <= 1
    detail = client.get(f"/api/runs/{lab.run}").json()
    assert detail["config"]["epochs"] == 1 and detail["status"] == "completed"
    assert {"train.log", "metrics.csv", "weights/best.pt", "plots/confusion.png"} <= set(detail["files"])
    assert len(detail["epochs"]) == 1


def test_runs_filter(client, lab):
    assert [r["name"] for r in client.get("/api/runs", params={"model": "fast", "status": "completed"}).json()][:1] == [lab.run]
    assert client.get("/api/runs", params={"model": "vit"}).json() == []


def test_run_metrics(client, lab):
    m = client.get(f"/api/runs/{lab.run}/metrics").json()
    assert m["name"] == lab.run and "val_acc" in m["columns"]
    [epoch] = m["epochs"]
    assert epoch["epoch"] == 1 and 0 <= epoch["val_acc"] <= 1 and epoch["train_loss"] > 0


def test_unknown_run_is_404_with_suggestion(client, lab):
    r = client.get(f"/api/runs/{lab.run}x")
    assert r.status_code == 404
    assert lab.run in sentence(r)


def test_run_doctor_in_both_languages(client, lab):
    """Issue 17: GET /api/runs/{name}/doctor gives each finding in English and Chinese, or in the one asked for."""
    from sick_runs import DIVERGED, HEALTHY, record_run

    record_run(lab.runs, "api-diverged", DIVERGED, lr=0.4)
    both = client.get("/api/runs/api-diverged/doctor").json()
    assert [f["code"] for f in both["findings"]][:2] == ["diverged", "not_learning"]
    first = both["findings"][0]
    assert first["severity"] == "problem" and "lr to ~0.04" in first["en"]["suggestion"] and "0.04" in first["zh"]["suggestion"]
    assert first["en"]["evidence"] != first["zh"]["evidence"]
    zh = client.get("/api/runs/api-diverged/doctor", params={"lang": "zh"}).json()
    assert set(zh["findings"][0]) == {"code", "severity", "zh"}
    record_run(lab.runs, "api-healthy", HEALTHY)
    assert client.get("/api/runs/api-healthy/doctor").json()["findings"] == []
    assert client.get("/api/runs/api-healthy/doctor", params={"lang": "fr"}).status_code == 422
    missing = client.get("/api/runs/api-healthyy/doctor")
    assert missing.status_code == 404 and "api-healthy" in sentence(missing)


def test_run_files(client, lab):
    log = client.get(f"/api/runs/{lab.run}/files/train.log")
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain") and "epoch 1" in log.text
    png = client.get(f"/api/runs/{lab.run}/files/plots/confusion.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG") and png.headers["content-type"] == "image/png"
    assert client.get(f"/api/runs/{lab.run}/files/nope.txt").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "../digitlab.db",
        "..%2fdigitlab.db",
        "%2e%2e/digitlab.db",
        "%2e%2e%2fdigitlab.db",
        "plots/%2e%2e/%2e%2e/digitlab.db",
        "%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "//etc/passwd",
        ".%2e/digitlab.db",
        "..\\digitlab.db",
        ".hidden",
        "weights/.best.pt.tmp",
    ],
)
def test_files_never_escape_the_run_folder(client, lab, path):
    r = client.get(f"/api/runs/{lab.run}/files/{path}")
    assert r.status_code in (400, 404), (path, r.status_code)
    assert b"SQLite" not in r.content and b"root:" not in r.content


def test_files_do_not_follow_links_out_of_the_run_folder(client, lab):
    link = lab.runs / lab.run / "escape.log"
    link.symlink_to(lab.runs / "digitlab.db")
    try:
        r = client.get(f"/api/runs/{lab.run}/files/escape.log")
    finally:
        link.unlink()
    assert r.status_code == 404 and b"SQLite" not in r.content


# -- config schema


def test_config_schema_describes_every_parameter(client):
    params = client.get("/api/config/schema").json()["params"]
    assert [p["name"] for p in params] == [r["name"] for r in param_rows()]
    by = {p["name"]: p for p in params}
    for p in params:
        assert p["meaning"] and "default" in p and p["range"] and p["json_type"] in ("string", "integer", "number", "boolean", "object")
    assert by["lr"]["min"] == 0 and by["lr"]["min_exclusive"] and by["lr"]["max"] == 10 and not by["lr"]["max_exclusive"]
    assert by["epochs"] == {**by["epochs"], "json_type": "integer", "min": 1, "max": 1000, "unit": "epochs", "default": 8}
    assert by["optimizer"]["enum"] == ["sgd", "adam", "adamw"]
    assert by["name"]["nullable"] and by["name"]["pattern"]
    choices = {c["name"]: c for c in by["model"]["choices"]}
    assert list(choices) == list_models() and "suggestions" not in by["model"]
    assert choices["fast"]["params"] == count_params(create_model("fast")) and choices["cnn"]["params"] == 131_050
    assert choices["fast"]["summary"].startswith("Speed-run net") and "速通网络" in choices["fast"]["summary_zh"]


def test_config_schema_says_every_meaning_unit_and_range_in_chinese(client):
    by = {p["name"]: p for p in client.get("/api/config/schema").json()["params"]}
    assert by["lr"]["meaning"] == "Peak learning rate" and by["lr"]["meaning_zh"] == "峰值学习率"
    assert (by["epochs"]["unit"], by["epochs"]["unit_zh"]) == ("epochs", "轮")
    assert (by["parent"]["range"], by["parent"]["range_zh"]) == ("any", "任意")
    for p in by.values():
        assert re.search(r"[\u4e00-\u9fff]", p["meaning_zh"]), p["name"]
        assert bool(p["unit"]) == bool(p["unit_zh"]), p["name"]


# -- jobs


def wait_for(predicate, timeout: float = 180.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def sse_events(client: TestClient, job_id: str) -> list[tuple[str, dict]]:
    """All (event, data) of a job's event stream, read until the server ends it."""
    events, kind = [], None
    with client.stream("GET", f"/api/jobs/{job_id}/events") as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        for line in s.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


@pytest.mark.slow
def test_jobs_queue_run_cancel(lab, tmp_path):
    app = create_app(lab_settings(runs_dir=tmp_path / "runs", model=str(lab.best)))
    with TestClient(app) as c:
        first, second, third = (c.post("/api/jobs", json=TINY_JOB) for _ in range(3))
        assert first.status_code == second.status_code == third.status_code == 201
        first, second, third = first.json(), second.json(), third.json()
        # positions from one listing: the first job may start between two POSTs, which shifts later answers
        places = {j["id"]: j["position"] for j in c.get("/api/jobs").json()}
        assert second["status"] == "queued" and places[second["id"]] >= 1
        assert places[third["id"]] == places[second["id"]] + 1
        assert c.delete(f"/api/jobs/{third['id']}").json()["status"] == "cancelled"  # waiting: leaves the queue
        assert {j["id"]: j["status"] for j in c.get("/api/jobs").json()}[third["id"]] == "cancelled"

        events = sse_events(c, first["id"])
        kind, done = events[-1]
        assert kind == "end" and done["status"] == "completed", done
        assert any(k == "progress" and e["progress"].get("epochs") == 1 for k, e in events)
        assert done["history"][0]["epoch"] == 1 and done["run"]
        assert next(r for r in c.get("/api/runs").json() if r["name"] == done["run"])["status"] == "completed"

        wait_for(lambda: c.get(f"/api/jobs/{second['id']}").json()["status"] == "running")
        assert c.delete(f"/api/jobs/{second['id']}").status_code == 200  # running: stops cooperatively
        stopped = wait_for(lambda: (j := c.get(f"/api/jobs/{second['id']}").json())["finished"] and j)
        assert stopped["status"] == "cancelled" and stopped["run"]
        assert c.get(f"/api/runs/{stopped['run']}").json()["status"] == "interrupted"
        assert c.delete(f"/api/jobs/{second['id']}").status_code == 409


@pytest.mark.slow
def test_failing_job_is_marked_failed_and_the_server_goes_on(lab, tmp_path):
    with TestClient(create_app(lab_settings(runs_dir=tmp_path / "runs", model=str(lab.best)))) as c:
        # depth 19 is within resnet's bounds (so the job is accepted) but no resnet has it (so training fails)
        job = c.post("/api/jobs", json={**TINY_JOB, "model": "resnet", "model_kwargs": {"depth": 19}}).json()
        done = wait_for(lambda: (j := c.get(f"/api/jobs/{job['id']}").json())["finished"] and j)
        assert done["status"] == "failed" and "unsupported depth 19" in done["message"]
        assert c.get("/api/info").status_code == 200
        assert c.post("/api/predict", files=files(("seven.png", digit_picture("PNG")))).status_code == 200


@pytest.mark.parametrize(
    "config, words",
    [
        ({"epochs": 0}, "epochs=0"),
        ({"lr": -1}, "lr=-1"),
        ({"lrr": 0.1}, "Did you mean lr"),
        ({"model": "nope"}, "Unknown model"),
        ({"optimizer": "rmsprop"}, "optimizer"),
    ],
)
def test_bad_job_config_is_422_with_the_sentence(client, config, words):
    r = client.post("/api/jobs", json=config)
    assert r.status_code == 422
    assert words in sentence(r)


def test_job_body_must_be_an_object(client):
    assert client.post("/api/jobs", json=[1, 2]).status_code == 422


def test_unknown_job_is_404(client):
    assert client.get("/api/jobs/job-999").status_code == 404
    assert client.delete("/api/jobs/job-999").status_code == 404
    assert client.get("/api/jobs/job-999/events").status_code == 404


# -- models


def test_models_list_and_switch(lab):
    from digitlab.catalog import promote
    from digitlab.store import RunStore

    promote(RunStore(runs_dir=lab.runs), lab.run, "gen1", models_dir=lab.root / "models")
    c = TestClient(create_app(settings(lab)))
    models = c.get("/api/models").json()
    assert models["current"]["ref"] == str(lab.best) and models["current"]["loaded"]
    [gen1] = models["promoted"]
    assert gen1["ref"] == "gen1:v1" and gen1["run"] == lab.run
    assert lab.run in [r["name"] for r in models["runs"]]
    switched = c.put("/api/models/current", json={"ref": "gen1:v1"})
    assert switched.status_code == 200 and switched.json()["ref"] == "gen1:v1"
    assert c.get("/api/info").json()["model"]["ref"] == "gen1:v1"
    missing = c.put("/api/models/current", json={"ref": "gen7"})
    assert missing.status_code == 404 and "gen7" in sentence(missing)
    assert c.get("/api/info").json()["model"]["ref"] == "gen1:v1"  # a failed switch keeps the old model


def test_without_any_model_recognise_is_503(tmp_path, monkeypatch):
    from digitlab.serve import model_slot

    monkeypatch.setattr(model_slot, "DEFAULT_MODEL", tmp_path / "missing.pt")  # as if no model were shipped
    c = TestClient(create_app(lab_settings(runs_dir=tmp_path / "runs", models_dir=tmp_path / "models")))
    assert c.get("/api/info").json()["model"] == {"ref": None, "loaded": False}
    r = c.post("/api/predict", files=files(("seven.png", digit_picture("PNG"))))
    assert r.status_code == 503 and "No model" in sentence(r)


def test_default_model_is_the_newest_completed_run(lab, monkeypatch):
    from digitlab.serve import model_slot

    monkeypatch.setattr(model_slot, "DEFAULT_MODEL", lab.root / "missing.pt")
    c = TestClient(create_app(lab_settings(runs_dir=lab.runs, models_dir=lab.root / "models")))
    assert c.get("/api/info").json()["model"]["run"] == lab.run


def test_unknown_start_model_fails_before_serving(lab):
    from digitlab.errors import DigitlabError

    with pytest.raises(DigitlabError, match="nope"):
        create_app(lab_settings(runs_dir=lab.runs, model="nope"))


# -- exposure and tokens


def test_exposed_without_token_refuses_training_and_model_changes(lab):
    c = TestClient(create_app(settings(lab, exposed=True)))
    assert c.get("/api/info").json()["control"] == "off"
    for r in (c.post("/api/jobs", json=TINY_JOB), c.delete("/api/jobs/job-1"), c.put("/api/models/current", json={"ref": lab.run})):
        assert r.status_code == 403
        assert "--allow-train" in sentence(r)
    assert c.get("/api/runs").status_code == 200
    assert c.post("/api/predict", files=files(("seven.png", digit_picture("PNG")))).status_code == 200


def test_exposed_with_token_needs_the_header(lab):
    c = TestClient(create_app(settings(lab, exposed=True, token="s3cret")))
    assert c.get("/api/info").json()["control"] == "token"
    for headers in ({}, {"X-Digitlab-Token": "wrong"}, {"X-Digitlab-Token": "s3cret-but-longer"}):
        r = c.post("/api/jobs", json={"epochs": 0}, headers=headers)
        assert r.status_code == 403 and "X-Digitlab-Token" in sentence(r)
    assert c.post("/api/jobs", json={"epochs": 0}, headers={"X-Digitlab-Token": "s3cret"}).status_code == 422  # past the door
    assert c.put("/api/models/current", json={"ref": lab.run}, headers={"X-Digitlab-Token": "s3cret"}).status_code == 200


def test_non_ascii_token_header_is_403_not_500(lab):
    c = TestClient(create_app(settings(lab, exposed=True, token="s3cret")), raise_server_exceptions=False)
    r = c.post("/api/jobs", json={}, headers={"X-Digitlab-Token": "tökén".encode()})
    assert r.status_code == 403


def test_serve_settings_by_host():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")
    local = make_settings("127.0.0.1", None, False, Path("runs"), None, Path("models"), None)
    assert not local.exposed and local.token is None
    open_net = make_settings("0.0.0.0", None, False, Path("runs"), None, Path("models"), None)
    assert open_net.exposed and open_net.token is None
    allowed = make_settings("0.0.0.0", None, True, Path("runs"), None, Path("models"), None)
    assert allowed.exposed and len(allowed.token) >= 24


def test_serve_announces_warning_and_token(lab, capsys):
    from digitlab.serve.main import announce

    announce(settings(lab, exposed=True, token="tok123"), "0.0.0.0", 8000, {"ref": "gen1"})
    out = capsys.readouterr()
    assert "warning" in out.err and "0.0.0.0" in out.err
    assert "tok123" in out.out and "#token=tok123" in out.out


# -- errors and the app shell


def test_unknown_routes_are_404_json(client):
    for path in ("/api/nope", "/nope", "/static/nope.js"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/json"
        sentence(r)
    r = client.delete("/api/runs")
    assert r.status_code == 405 and "DELETE" in sentence(r)


def test_bad_json_is_422(client):
    for path in ("/api/jobs", "/api/predict/canvas"):
        r = client.post(path, content=b'{"epochs": 1,', headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        assert "not valid JSON" in sentence(r)
    r = client.put("/api/models/current", json={"reff": "x"})
    assert r.status_code == 422 and "ref" in sentence(r)


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("post", "/api/predict", {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}),
        ("post", "/api/predict", {"data": {"files": "text, not a file"}}),
        ("post", "/api/predict/canvas", {"json": {"pixels": [[None] * 28] * 28}}),
        ("post", "/api/predict/canvas", {"json": {"pixels": [["a"] * 28] * 28}}),
        ("post", "/api/jobs", {"json": {"model_kwargs": "wide"}}),
        ("post", "/api/jobs", {"json": {"name": "../../etc"}}),
        ("get", "/api/runs", {"params": {"generation": "first"}}),
        ("get", "/api/runs/%00", {}),
        ("put", "/api/models/current", {"json": {"ref": "../../../etc/passwd"}}),
        ("put", "/api/models/current", {"json": {"ref": "/etc/passwd.pt"}}),
    ],
)
def test_user_input_never_gives_500(client, method, path, kwargs):
    r = getattr(client, method)(path, **kwargs)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    sentence(r)


def test_page_docs_and_app_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'type="module"' in page.text and "http" not in page.text.replace("http-equiv", "")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/sw.js").headers["service-worker-allowed"] == "/"
    assert client.get("/manifest.webmanifest").json()["icons"][0]["sizes"] == "192x192"
    for icon in ("icon-192.png", "icon-512.png"):
        assert client.get(f"/static/icons/{icon}").content.startswith(b"\x89PNG")
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()  # the API page renders offline too
    assert client.get("/static/vendor/swagger/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/predict",
        "/api/predict/canvas",
        "/api/runs",
        "/api/runs/{name}",
        "/api/runs/{name}/metrics",
        "/api/runs/{name}/files/{path}",
        "/api/config/schema",
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/events",
        "/api/models",
        "/api/models/current",
        "/api/studies",
        "/api/studies/{name}",
        "/api/studies/{name}/plots/{file}",
        "/api/searches",
        "/api/searches/{name}",
        "/api/searches/{name}/plots/{file}",
    ):
        assert path in paths, path


def test_static_files_link_nothing_outside_the_server():
    static = Path(__file__).resolve().parents[1] / "src" / "digitlab" / "serve" / "static"
    for f in static.rglob("*"):
        if f.suffix in (".html", ".js", ".css", ".webmanifest") and "vendor" not in f.parts:
            text = f.read_text()
            assert "http://" not in text and "https://" not in text and "//cdn" not in text, f


# ---------------------------------------------------------------- tuning studies (issue 6)
@pytest.fixture(scope="module")
def studies_lab(lab, tmp_path_factory) -> Path:
    """A second runs folder (so the run tests above keep their counts) holding one real three-trial study."""
    runs = tmp_path_factory.mktemp("studies-lab") / "runs"
    tiny_study(runs, "tiny")
    (runs / "history.png").write_bytes(b"\x89PNG outside the studies folder")
    return runs


def test_studies_are_empty_before_any_tuning_and_looking_creates_nothing(lab, tmp_path):
    c = TestClient(create_app(lab_settings(runs_dir=tmp_path / "runs", models_dir=tmp_path / "models", model=str(lab.best))))
    assert c.get("/api/studies").json() == []
    r = c.get("/api/studies/tiny")
    assert r.status_code == 404 and "nothing has been tuned yet" in sentence(r)
    assert not (tmp_path / "runs" / "optuna.db").exists()


def test_studies_list_report_and_plots(lab, studies_lab):
    c = TestClient(create_app(lab_settings(runs_dir=studies_lab, models_dir=studies_lab.parent / "models", model=str(lab.best))))
    [item] = c.get("/api/studies").json()
    assert item["name"] == "tiny" and item["trials"] == 3 and item["complete"] == 3 and item["objectives"] == "val_acc"
    rep = c.get("/api/studies/tiny").json()
    accs = [t["val_acc"] for t in rep["trials"]]
    assert len(accs) == 3 and item["best_val_acc"] == rep["best"]["val_acc"] == max(accs)
    assert {"lr", "batch_size", "optimizer"} <= set(rep["best"]["params"]) and rep["best"]["run"] == f"tiny-t{rep['best']['number']}"
    assert 1 <= rep["fewest"]["trials"] <= 3 and rep["fewest"]["best"] == max(accs)
    assert {"history.png", "parallel.png"} <= set(rep["plots"])
    for file in rep["plots"]:
        r = c.get(f"/api/studies/tiny/plots/{file}")
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG") and r.headers["content-type"] == "image/png"
    r = c.get("/api/studies/tinny")
    assert r.status_code == 404 and "did you mean tiny" in sentence(r)


@pytest.mark.parametrize(
    "path",
    [
        "/api/studies/tiny/plots/config.yaml",
        "/api/studies/../plots/history.png",
        "/api/studies/%2E%2E/plots/history.png",
        "/api/studies/nope/plots/history.png",
    ],
)
def test_study_plots_never_escape_the_studies_folder(lab, studies_lab, path):
    c = TestClient(create_app(lab_settings(runs_dir=studies_lab, models_dir=studies_lab.parent / "models", model=str(lab.best))))
    r = c.get(path)
    assert r.status_code == 404 and not r.content.startswith(b"\x89PNG"), (path, r.text)
    sentence(r)


def test_unreachable_study_storage_is_503(lab, tmp_path):
    c = TestClient(
        create_app(
            lab_settings(
                runs_dir=tmp_path / "runs",
                models_dir=tmp_path / "models",
                model=str(lab.best),
                study_storage="postgresql://nobody@127.0.0.1:1/none",
            )
        )
    )
    r = c.get("/api/studies")
    assert r.status_code == 503 and "127.0.0.1" in sentence(r), r.text


# ---------------------------------------------------------------- structure searches (issue 15)
@pytest.fixture(scope="module")
def searches_lab(lab, tmp_path_factory) -> Path:
    """A runs folder holding one real three-child structure search and its plots."""
    runs = tmp_path_factory.mktemp("searches-lab") / "runs"
    tiny_search(runs, "tiny")
    return runs


def test_searches_are_empty_before_any_search_and_looking_creates_nothing(lab, tmp_path):
    c = TestClient(create_app(lab_settings(runs_dir=tmp_path / "runs", models_dir=tmp_path / "models", model=str(lab.best))))
    assert c.get("/api/searches").json() == []
    r = c.get("/api/searches/tiny")
    assert r.status_code == 404 and "nothing has been searched yet" in sentence(r)
    assert not (tmp_path / "runs" / "nas.db").exists()


def test_searches_list_report_and_plots(lab, searches_lab):
    c = TestClient(create_app(lab_settings(runs_dir=searches_lab, models_dir=searches_lab.parent / "models", model=str(lab.best))))
    [item] = c.get("/api/searches").json()
    assert item["name"] == "tiny" and item["controller"] == "random" and item["children"] == 3
    rep = c.get("/api/searches/tiny").json()
    accs = [k["val_acc"] for k in rep["children"]]
    assert [k["run"] for k in rep["children"]] == ["tiny-c0", "tiny-c1", "tiny-c2"]
    assert item["best_val_acc"] == max(accs) and rep["best"][0]["val_acc"] == max(accs)
    assert rep["best"][0]["blocks"] and {"op", "width", "skip", "pool"} <= set(rep["best"][0]["blocks"][0])
    assert rep["plots"] == ["learning.png", "pareto.png"]
    for file in rep["plots"]:
        r = c.get(f"/api/searches/tiny/plots/{file}")
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert "tiny-c0" in {r["name"] for r in c.get("/api/runs").json()}  # every child is a run
    r = c.get("/api/searches/tinny")
    assert r.status_code == 404 and "did you mean tiny" in sentence(r)
    assert c.get("/api/studies").json() == []  # searches are not tuning studies


@pytest.mark.parametrize(
    "path", ["/api/searches/tiny/plots/config.yaml", "/api/searches/../plots/learning.png", "/api/searches/%2E%2E/plots/learning.png"]
)
def test_search_plots_never_escape_the_searches_folder(lab, searches_lab, path):
    c = TestClient(create_app(lab_settings(runs_dir=searches_lab, models_dir=searches_lab.parent / "models", model=str(lab.best))))
    r = c.get(path)
    assert r.status_code == 404 and not r.content.startswith(b"\x89PNG"), (path, r.text)
