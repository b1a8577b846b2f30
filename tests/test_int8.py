"""INT8 export (issue 12, part 2): quantised from the float32 export, calibrated on training images, checked against it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxscript, onnxruntime) is not installed")

from digitlab.checkpoint import DEFAULT_MODEL, load_checkpoint
from digitlab.data.dataset import load_raw, stratified_split
from digitlab.export import export_onnx, onnx_view, read_metadata
from digitlab.export_int8 import calibration_images, check_int8, export_int8, graph_bytes


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("int8")
    float_path = export_onnx(DEFAULT_MODEL, folder / "model.onnx")
    return float_path, export_int8(float_path, DEFAULT_MODEL, folder / "model.int8.onnx")


def test_int8_agrees_with_float32_on_the_test_split_and_is_smaller(files):
    c = check_int8(files[1], files[0], DEFAULT_MODEL)
    assert c.n == 10_000 and c.ok, c
    assert c.argmax >= 0.999 and c.accuracy_change_pp >= -0.05 and abs(c.refusal_change_pp) <= 0.2
    assert c.size[1] <= c.size[0] / 3 and c.graph[1] <= c.graph[0] / 3  # the network itself shrinks, not only the metadata
    assert graph_bytes(files[1]) == c.graph[1] < files[1].stat().st_size


def test_the_metadata_round_trips_compressed(files):
    import onnx

    f, q = read_metadata(files[0]), read_metadata(files[1])
    assert {k: v for k, v in q.items() if k not in ("rejection", "int8")} == {k: v for k, v in f.items() if k != "rejection"}
    assert q["int8"]["activations"] == "uint8" and "training" in q["int8"]["calibration"]
    bank = q["rejection"]["detectors"]["knn"]["bank"]
    assert bank.dtype == torch.float16 and torch.equal(bank, load_checkpoint(DEFAULT_MODEL)["rejection"]["detectors"]["knn"]["bank"])
    assert q["rejection"]["threshold"] == f["rejection"]["threshold"]
    raw = json.loads({p.key: p.value for p in onnx.load(str(files[1])).metadata_props}["digitlab"])
    assert set(raw["rejection"]["detectors"]["knn"]["bank"]) == {"dtype", "shape", "zlib"}
    view = onnx_view(files[1], torch.zeros(3, 28, 28, dtype=torch.uint8))  # the batch axis stays dynamic
    assert view.logits.shape == (3, len(f["classes"])) and view.features.shape == (3, f["model_kwargs"]["hidden"])


def test_calibration_never_sees_validation_or_test_images():
    ckpt = load_checkpoint(DEFAULT_MODEL)
    cal = calibration_images(ckpt)
    x, y = load_raw("mnist", "train")
    _, val = stratified_split(y, ckpt["config"]["val_size"], ckpt["config"]["split_seed"])
    held_out = {im.tobytes() for im in x[val]} | {im.tobytes() for im in load_raw("mnist", "t10k")[0]}
    assert len(cal) == 1000 and cal.dtype == np.uint8
    assert not any(im.tobytes() in held_out for im in cal)
    assert np.array_equal(cal, calibration_images(ckpt))  # a fixed sample: the same file from the same checkpoint


def test_cli_writes_the_int8_file_beside_the_float_one(cli, lab):
    res = cli("export", "ship", "--out", str(lab / "out"), "--int8", "--no-check")
    assert res.code == 0, res.text
    assert (lab / "out" / "model.onnx").is_file() and (lab / "out" / "model.int8.onnx").is_file()
    assert read_metadata(lab / "out" / "model.int8.onnx")["int8"]["weights"].startswith("int8")
