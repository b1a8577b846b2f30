"""``digitlab serve --workers 2``: two real processes answer, and they agree on the model and the training jobs.

The model choice and the queue live in the run database (serve/board.py), so a switch or a job sent to one worker
is seen by the other at once; requests sent concurrently reach both processes.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from digitlab.recognize.predictor import DEFAULT_MODEL
from ports import free_port

TINY_JOB = {"model": "fast", "epochs": 1, "train_subset": 500, "val_size": 500, "threads": 1, "batch_size": 64}


@pytest.fixture
def two_workers(tmp_path):
    """A server with two worker processes on a free port, the shipped model (torch engine: no export needed)."""
    port = free_port()
    args = ["--runs-dir", str(tmp_path / "runs"), "--models-dir", str(tmp_path / "models"), "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "digitlab.cli", *args, "--workers", "2", "--engine", "torch", "--model", str(DEFAULT_MODEL)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                if httpx.get(url + "/api/info").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode()
        assert "Traceback" not in out, out


def info(url: str) -> dict:
    return httpx.get(url + "/api/info", timeout=30).json()  # a new connection per call: any worker may answer


def spread(url: str, path: str, n: int = 24) -> list[dict]:
    """``n`` GETs sent 8 at a time on separate connections (so both processes accept some)."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: httpx.get(url + path, timeout=60).json(), range(n)))


def png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_two_workers_answer_and_agree_on_the_model_and_the_jobs(two_workers, tmp_path):
    url = two_workers
    answers = spread(url, "/api/info", 48)
    assert len({a["worker"] for a in answers}) == 2, "both processes answer"
    assert {a["model"]["ref"] for a in answers} == {str(DEFAULT_MODEL)} and answers[0]["workers"] == 2

    other = shutil.copy(DEFAULT_MODEL, tmp_path / "other.pt")  # another model file: another choice
    assert httpx.put(url + "/api/models/current", json={"ref": str(other)}, timeout=60).status_code == 200
    after = spread(url, "/api/info", 48)
    assert {a["model"]["ref"] for a in after} == {str(other)}, "every worker follows the switch at once"
    assert len({a["worker"] for a in after}) == 2
    got = httpx.post(url + "/api/predict", files={"files": ("blank.png", png(), "image/png")}, timeout=60)
    assert got.status_code == 200

    job = httpx.post(url + "/api/jobs", json=TINY_JOB, timeout=60).json()
    seen = spread(url, f"/api/jobs/{job['id']}", 16)  # asked of both workers
    assert {j["id"] for j in seen} == {job["id"]}
    listings = spread(url, "/api/jobs", 16)
    assert all([j["id"] for j in lst] == [job["id"]] for lst in listings)
    end = time.monotonic() + 120
    while (state := httpx.get(url + f"/api/jobs/{job['id']}", timeout=30).json())["status"] in ("queued", "running"):
        assert time.monotonic() < end, state
        time.sleep(0.5)
    assert state["status"] == "completed" and state["history"], state
    assert {j["status"] for j in spread(url, f"/api/jobs/{job['id']}", 8)} == {"completed"}
