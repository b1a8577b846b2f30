"""``digitlab export REF --web DIR``: the web app as static files that recognise on the device (serve/site.py)."""

from __future__ import annotations

import json

import pytest

from digitlab.recognize.predictor import DEFAULT_MODEL
from digitlab.serve.site import MARKER, SiteError, static_page, write_site

pytest.importorskip("onnxruntime")


def test_the_site_holds_the_app_the_worker_and_the_model(tmp_path):
    site = write_site(DEFAULT_MODEL, tmp_path / "web")
    root = site.folder
    for name in ("index.html", "sw.js", "manifest.webmanifest", "README.txt", MARKER, "model/model.onnx", "model/model.json"):
        assert (root / name).is_file(), name
    assert (root / "static/vendor/ort/ort-wasm-simd-threaded.wasm").is_file() and (root / "static/js/ondevice/device.js").is_file()
    assert not (root / "static/vendor/swagger").exists() and not (root / "static/index.html").exists()  # the server's API page only
    page = (root / "index.html").read_text()
    assert 'data-mode="static"' in page and "wasm-unsafe-eval" in page and "frame-ancestors" not in page
    meta = json.loads((root / "model/model.json").read_text())
    assert meta["id"] == site.model_id and meta["classes"] == [str(d) for d in range(10)]
    assert site.files == sum(1 for p in root.rglob("*") if p.is_file())
    # an earlier site is replaced; a folder of other files is never written over
    assert write_site(DEFAULT_MODEL, root).model_id == site.model_id
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SiteError, match="already holds other files"):
        write_site(DEFAULT_MODEL, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SiteError, match="is a file"):
        write_site(DEFAULT_MODEL, tmp_path / "file")


def test_static_page_marks_the_mode_once():
    html = static_page('<!doctype html>\n<html lang="en">\n<head>\n</head><body><html lang="en"></body>')
    assert html.count('data-mode="static"') == 1 and html.count("Content-Security-Policy") == 1


def test_cli_writes_the_site_and_checks_its_model(cli, lab):
    res = cli("export", "ship", "--web", str(lab / "site"))
    assert res.code == 0, res.text
    assert "wrote the web app" in res.out and "same top class" in res.out and (lab / "site" / "model" / "model.onnx").is_file()
