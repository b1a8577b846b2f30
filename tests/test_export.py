"""ONNX export (issue 12, part 1): the file reproduces the model and carries what predict needs; checked against torch."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxscript, onnxruntime) is not installed")

from conftest import error_line
from digitlab.checkpoint import DEFAULT_MODEL, load_checkpoint, save_checkpoint
from digitlab.export import OPSET, ExportError, check_parity, export_onnx, onnx_view, read_metadata


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_onnx(DEFAULT_MODEL, tmp_path_factory.mktemp("export") / "model.onnx")


def test_the_export_matches_torch_on_the_whole_test_split(exported):
    p = check_parity(exported, DEFAULT_MODEL)
    assert p.n == 10_000 and p.ok, p
    assert p.argmax == 1.0 and p.max_logit_diff <= 1e-4 and p.decision >= 0.999


def test_the_metadata_round_trips_and_the_batch_axis_is_dynamic(exported):
    meta, ckpt = read_metadata(exported), load_checkpoint(DEFAULT_MODEL)
    assert meta["opset"] == OPSET and meta["classes"] == ckpt["classes"] and meta["norm"] == ckpt["norm"]
    assert meta["preprocessing"].startswith("0.") and "+" in meta["preprocessing"]
    rej, want = meta["rejection"], ckpt["rejection"]
    assert rej["threshold"] == want["threshold"] and rej["tpr"] == want["tpr"]
    for name, tensor in want["detectors"]["mahalanobis"].items():
        assert torch.equal(rej["detectors"]["mahalanobis"][name], tensor)
    assert torch.equal(rej["detectors"]["knn"]["bank"], want["detectors"]["knn"]["bank"])
    for n in (1, 7):
        view = onnx_view(exported, torch.zeros(n, 28, 28, dtype=torch.uint8))
        assert view.logits.shape == (n, len(ckpt["classes"])) and view.features.shape[0] == n


def test_bad_inputs_are_one_sentence(tmp_path):
    garbage = tmp_path / "x.onnx"
    garbage.write_bytes(b"garbage")
    with pytest.raises(ExportError, match="not a readable ONNX file"):
        read_metadata(garbage)
    ckpt = load_checkpoint(DEFAULT_MODEL)
    ckpt.pop("rejection")
    bare = save_checkpoint(tmp_path / "bare.pt", {k: v for k, v in ckpt.items() if k != "format"})
    with pytest.raises(ExportError, match="no calibrated 'not a digit' detectors"):
        export_onnx(bare, tmp_path / "bare.onnx")


def test_cli_exports_and_checks(cli, lab):
    res = cli("export", "ship", "--out", str(lab / "out"))
    assert res.code == 0, res.text
    assert (lab / "out" / "model.onnx").is_file() and "same accept / refuse decision" in res.out
    bad = cli("export", "ship", "--format", "tflite")
    assert bad.code == 2 and "--format 'tflite' is not available" in error_line(bad)


def test_bench_infer_times_every_engine_after_the_parity_check(cli):
    res = cli("bench-infer", "ship", "--reps", "20")
    assert res.code == 0, res.text
    assert "same accept / refuse decision" in res.out
    for engine in ("torch", "onnxruntime"):
        row = next(line for line in res.out.splitlines() if line.strip("│┃ ").startswith(engine + " "))
        assert row.count(" ms") == 2 and "images/s" in row, row  # batch 1, batch 256 and end to end, each measured


def test_bench_infer_figures_are_numbers(tmp_path):
    from digitlab.bench_infer import bench_infer
    from digitlab.recognize.predictor import DEFAULT_MODEL

    bench = bench_infer(DEFAULT_MODEL, reps=20)
    assert bench.parity.ok and [s.engine for s in bench.speeds] == ["torch", "onnxruntime"]
    for s in bench.speeds:
        assert 0 < s.batch1_ms < 1000 and s.batch256_img_s > 0 and s.predict_ms is not None and s.predict_ms > 0
