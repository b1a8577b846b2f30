"""INT8 export (issue 12, part 2): the ONNX export statically quantised with ONNX Runtime, and its check against float32.

How the file is made: QDQ format, weights int8 per output channel, activations uint8 (every quantised activation
follows a ReLU or is the input, and ONNX Runtime's x86 kernels run u8 x s8 fastest), MinMax ranges measured on
``CALIBRATION_IMAGES`` images of the checkpoint's own training part of the split: never validation (the threshold's
calibration data), never test. The file carries the float32 export's ``digitlab`` metadata with an ``int8`` entry
saying how it was made; its tensors are zlib-compressed (``{"dtype", "shape", "zlib"}``, lossless: the knn bank is
mostly zeros, ReLU features), because as plain base64 the detectors' statistics alone are ~80 % of the float32 file.
The detectors and threshold are the float32 ones, unchanged: on INT8 outputs they refuse the same share of digits
(``check_int8`` measures it on the test split; the benchmark also on validation digits and Fashion-MNIST).
"""

from __future__ import annotations

import base64
import json
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import load_checkpoint
from .data.dataset import load_raw, stratified_split
from .export import ExportError, onnx_view, read_metadata
from .fsio import atomic_path
from .inference import ModelView
from .recognize.rejection import Rejector

CALIBRATION_IMAGES = 1000  # training images whose activations set the ranges: enough for MinMax on a small CNN
INT8_BARS = {"argmax": 0.999, "accuracy_change_pp": -0.05, "refusal_change_pp": 0.2, "size_ratio": 1 / 3}


def calibration_images(ckpt: dict[str, Any], data_dir: str | None = None, n: int = CALIBRATION_IMAGES) -> np.ndarray:
    """A fixed sample ``(n, 28, 28)`` uint8 of the training images the checkpoint's split kept for training."""
    cfg = ckpt["config"]
    x, y = load_raw(cfg.get("dataset", "mnist"), "train", data_dir)
    train_idx, _ = stratified_split(y, cfg.get("val_size", 5000), cfg.get("split_seed", 0))  # validation stays unseen
    pick = np.random.default_rng(0).choice(train_idx, min(n, len(train_idx)), replace=False)
    return x[np.sort(pick)]


def _reader(images: np.ndarray, batch: int = 100) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class Images(CalibrationDataReader):  # batches of (B, 1, 28, 28) float in [0, 1], as the graph takes them
        def __init__(self) -> None:
            self.batches = iter([images[i : i + batch, None].astype(np.float32) / 255 for i in range(0, len(images), batch)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            b = next(self.batches, None)
            return None if b is None else {"images": b}

    return Images()


def _compress(value: Any) -> Any:
    """Base64 tensors of the metadata -> zlib-compressed ones (``export.decode_tensors`` reads both)."""
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "base64"}:
        raw = zlib.compress(base64.b64decode(value["base64"]), 9)
        return {"dtype": value["dtype"], "shape": value["shape"], "zlib": base64.b64encode(raw).decode()}
    if isinstance(value, dict):
        return {k: _compress(v) for k, v in value.items()}
    return value


def export_int8(float_onnx: Path, checkpoint: Path, out: Path, data_dir: str | None = None) -> Path:
    """Write ``out``: ``float_onnx`` (made by ``export.export_onnx`` from ``checkpoint``) quantised to INT8."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    proto = onnx.load(str(float_onnx))
    props = {p.key: p.value for p in proto.metadata_props}
    if "digitlab" not in props:
        raise ExportError(f"{float_onnx} has no digitlab metadata; export it with `digitlab export` first.")
    images = calibration_images(load_checkpoint(checkpoint), data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        pre, quant = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(float_onnx), str(pre))  # shape inference + graph clean-up, as ONNX Runtime advises
        quantize_static(
            str(pre), str(quant), _reader(images), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
        )  # fmt: skip
        model = onnx.load(str(quant))
    meta = json.loads(props["digitlab"])
    meta["rejection"] = _compress(meta["rejection"])
    meta["int8"] = {
        "method": "ONNX Runtime static quantisation, QDQ, MinMax",
        "weights": "int8, per output channel",
        "activations": "uint8",
        "calibration": f"{len(images)} images of the training part of the checkpoint's split (seed 0)",
        "tensors": "zlib",
    }
    del model.metadata_props[:]
    model.metadata_props.add(key="digitlab", value=json.dumps(meta))
    with atomic_path(out) as tmp_out:
        onnx.save(model, str(tmp_out))
    return out


def graph_bytes(path: Path) -> int:
    """Bytes of an ONNX file without its metadata: the network alone."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    return proto.ByteSize()


@dataclass(frozen=True)
class Int8Check:
    """The INT8 file against the float32 one on the test split (each with the detectors its own file carries)."""

    n: int
    argmax: float  # share of test images with the same top class
    accuracy: tuple[float, float]  # float32, int8
    refusal: tuple[float, float]  # share of test digits refused as "not a digit": float32, int8
    size: tuple[int, int]  # whole files, bytes: float32, int8
    graph: tuple[int, int]  # without metadata, bytes: float32, int8

    @property
    def accuracy_change_pp(self) -> float:
        return 100 * (self.accuracy[1] - self.accuracy[0])

    @property
    def refusal_change_pp(self) -> float:
        return 100 * (self.refusal[1] - self.refusal[0])

    @property
    def ok(self) -> bool:
        return (
            self.argmax >= INT8_BARS["argmax"]
            and self.accuracy_change_pp >= INT8_BARS["accuracy_change_pp"]
            and abs(self.refusal_change_pp) <= INT8_BARS["refusal_change_pp"]
            and self.size[1] <= INT8_BARS["size_ratio"] * self.size[0]
        )


def refused(path: Path, view: ModelView) -> torch.Tensor:
    """Which images the file's own rejector refuses (N,) bool."""
    rej = Rejector.from_state(read_metadata(path)["rejection"])
    return rej.combined(view) < rej.threshold


def check_int8(int8_path: Path, float_path: Path, checkpoint: Path, data_dir: str | None = None) -> Int8Check:
    """Compare the INT8 file with the float32 file on the whole test split."""
    dataset = load_checkpoint(checkpoint)["config"].get("dataset", "mnist")
    x, y = (torch.from_numpy(a.copy()) for a in load_raw(dataset, "t10k", data_dir))
    f, q = onnx_view(float_path, x), onnx_view(int8_path, x)
    return Int8Check(
        len(x),
        (f.logits.argmax(1) == q.logits.argmax(1)).float().mean().item(),
        ((f.logits.argmax(1) == y).float().mean().item(), (q.logits.argmax(1) == y).float().mean().item()),
        (refused(float_path, f).float().mean().item(), refused(int8_path, q).float().mean().item()),
        (float_path.stat().st_size, int8_path.stat().st_size),
        (graph_bytes(float_path), graph_bytes(int8_path)),
    )
