"""The ONNX Runtime engine gives the torch engine's answers (issue 12, part 3), picture for picture."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxscript, onnxruntime) is not installed")

import scenes
from conftest import error_line
from digitlab.checkpoint import DEFAULT_MODEL
from digitlab.export import engine_file
from digitlab.recognize.predictor import Predictor
from synthetic import encode, load_mnist_test, make_photo, make_strip


@pytest.fixture(scope="module")
def pictures() -> list[bytes]:
    x, _ = load_mnist_test(40)
    rng = np.random.default_rng(3)
    pics = [encode(d) for d in x[:30]]  # 28x28 PNGs
    pics += [encode(make_photo(x[i], rng), "JPEG", quality=90) for i in range(30, 36)]
    pics += [encode(make_strip(list(x[36:40]), rng), "JPEG", quality=90)]
    pics += [encode(scenes.rectangle_and_pole(np.random.default_rng(37)), "JPEG", quality=85), encode(np.full((64, 64), 255, np.uint8))]
    return pics


def test_onnx_and_torch_engines_answer_alike(pictures):
    torch_p, onnx_p = Predictor(), Predictor(onnx=engine_file(DEFAULT_MODEL, "onnx"))
    assert (torch_p.engine.name, onnx_p.engine.name) == ("torch", "onnx")
    for pic in pictures:
        a, b = torch_p.predict(pic), onnx_p.predict(pic)
        assert a.text == b.text and [d.accepted for d in a.digits] == [d.accepted for d in b.digits]
        assert (a.verdict.kind if a.verdict else None) == (b.verdict.kind if b.verdict else None)
        for da, db in zip(a.digits, b.digits):
            assert np.allclose(da.probs, db.probs, atol=1e-4) and np.isclose(da.score, db.score, atol=1e-3)  # -inf: no ink


def test_auto_uses_onnx_runtime_here_and_the_export_is_cached():
    first = engine_file(DEFAULT_MODEL, "auto")
    assert first is not None and first.is_file() and engine_file(DEFAULT_MODEL, "auto") == first
    assert engine_file(DEFAULT_MODEL, "torch") is None


def test_cli_engine_choice(cli, lab):
    png = lab / "seven.png"
    png.write_bytes(encode(load_mnist_test(1)[0][0]))
    outs = [cli("predict", str(png), "--engine", e, "--json") for e in ("torch", "onnx", "auto")]
    assert all(o.code == 0 for o in outs) and len({o.out.split('"ms"')[0] for o in outs}) == 1  # same answer up to the time
    bad = cli("predict", str(png), "--engine", "tpu")
    assert bad.code == 2 and "Unknown engine 'tpu'" in error_line(bad)
