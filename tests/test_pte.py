"""ExecuTorch export (issue 12, part 6): model.pte (XNNPACK) + model.pte.json, checked against torch like the ONNX file."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from conftest import error_line
from digitlab.checkpoint import DEFAULT_MODEL, load_checkpoint

needs_executorch = pytest.mark.skipif(importlib.util.find_spec("executorch") is None, reason="the pte extra (executorch) is not installed")


@needs_executorch
def test_the_pte_export_matches_torch_and_carries_the_metadata(tmp_path):
    from digitlab.export_pte import check_pte_parity, export_pte, pte_view, read_pte_metadata

    path = export_pte(DEFAULT_MODEL, tmp_path / "model.pte")
    p = check_pte_parity(path, DEFAULT_MODEL)
    assert p.n == 10_000 and p.ok, p
    meta, ckpt = read_pte_metadata(path), load_checkpoint(DEFAULT_MODEL)
    assert meta["classes"] == ckpt["classes"] and meta["norm"] == ckpt["norm"] and meta["backend"] == "XNNPACK"
    assert torch.equal(meta["rejection"]["detectors"]["knn"]["bank"], ckpt["rejection"]["detectors"]["knn"]["bank"])
    assert meta["max_batch"] >= 1
    view = pte_view(path, torch.zeros(meta["max_batch"] + 1, 28, 28, dtype=torch.uint8))  # more than one call's worth
    assert view.logits.shape == (meta["max_batch"] + 1, len(ckpt["classes"]))


@pytest.mark.skipif(importlib.util.find_spec("executorch") is not None, reason="executorch is installed")
def test_without_executorch_pte_is_one_sentence(cli, lab):
    res = cli("export", "ship", "--format", "pte", "--out", str(lab / "out"))
    assert res.code == 2 and "pip install 'digitlab[pte]'" in error_line(res)


def test_int8_goes_with_onnx_only(cli, lab):
    res = cli("export", "ship", "--format", "pte", "--int8")
    assert res.code == 2 and "--int8 goes with --format onnx" in error_line(res)
