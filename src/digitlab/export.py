"""Export a trained model to ONNX with everything ``predict`` needs in the file, and check it against torch.

The graph takes pictures in MNIST form, ``images (N, 1, 28, 28)`` float in [0, 1] (light ink on black), normalises
them with the training split's statistics inside the graph, and returns ``logits (N, C)`` and the penultimate
``features (N, D)`` the "not a digit" detectors read. The batch axis is dynamic. The file's ``digitlab`` metadata
entry (JSON) holds the normalisation, the class names, the rejection detectors' statistics and threshold, the
opset and the version of the preprocessing that makes the 28x28 inputs, so the file alone reproduces ``predict``.
Exported with the dynamo-based ``torch.onnx.export`` (needs the ``export`` extra: onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import load_checkpoint, model_from_checkpoint
from .data.dataset import load_raw
from .errors import DigitlabError
from .fsio import atomic_path
from .inference import ModelView, model_view
from .models import DigitNet
from .recognize.rejection import Rejector
from .version import __version__

OPSET = 18
FORMAT = "digitlab-onnx-1"
PARITY = {"argmax": 1.0, "max_logit_diff": 1e-4, "decision": 0.999}  # the bar, checked on the whole test split
PREPROCESSING = ("image_io.py", "preprocess.py", "components.py", "segment.py", "checks.py", "context.py", "verdict.py")


class ExportError(DigitlabError):
    """An export cannot be made, read or does not match its checkpoint."""


class Exported(torch.nn.Module):
    """The exported graph: [0, 1] pictures -> (logits, features), normalisation inside."""

    def __init__(self, model: DigitNet, mean: float, std: float):
        super().__init__()
        self.model, self.mean, self.std = model, mean, std

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (N,1,28,28) -> (N,C), (N,D)
        features = self.model.forward_features((images - self.mean) / self.std)
        return self.model.head(features), features


def preprocessing_version() -> str:
    """Package version + a hash of the code that turns a picture into 28x28 inputs and judges them."""
    here = Path(__file__).resolve().parent / "recognize"
    digest = hashlib.sha256(b"".join((here / f).read_bytes() for f in PREPROCESSING)).hexdigest()[:12]
    return f"{__version__}+{digest}"


def _encode(value: Any) -> Any:
    """Tensors as {dtype, shape, base64}; dicts and lists recursively; the rest as it is (JSON-ready)."""
    if isinstance(value, torch.Tensor):
        a = value.detach().cpu().numpy()
        return {"dtype": str(a.dtype), "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def decode_tensors(value: Any) -> Any:
    """Inverse of ``_encode``; also reads ``{dtype, shape, zlib}`` tensors (base64 of zlib, the INT8 file's form)."""
    if isinstance(value, dict) and set(value) in ({"dtype", "shape", "base64"}, {"dtype", "shape", "zlib"}):
        data = base64.b64decode(value["base64"]) if "base64" in value else zlib.decompress(base64.b64decode(value["zlib"]))
        raw = np.frombuffer(data, dtype=value["dtype"]).reshape(value["shape"])
        return torch.from_numpy(raw.copy())
    if isinstance(value, dict):
        return {k: decode_tensors(v) for k, v in value.items()}
    return value


def metadata(ckpt: dict[str, Any]) -> dict[str, Any]:
    """What the file carries beside the graph."""
    if "rejection" not in ckpt:
        raise ExportError("This checkpoint has no calibrated 'not a digit' detectors (trained with calibrate=false); calibrate it first.")
    return {
        "format": FORMAT,
        "opset": OPSET,
        "model": ckpt["model"],
        "model_kwargs": ckpt["model_kwargs"],
        "classes": list(ckpt["classes"]),
        "norm": ckpt["norm"],
        "input": {"name": "images", "shape": ["N", 1, 28, 28], "range": [0.0, 1.0], "ink": "light on black (MNIST form)"},
        "outputs": ["logits", "features"],
        "rejection": _encode(ckpt["rejection"]),
        "preprocessing": preprocessing_version(),
        "metrics": ckpt.get("metrics", {}),
    }


def export_onnx(checkpoint: Path, out: Path) -> Path:
    """Write ``out`` (``.onnx``) from ``checkpoint``: the graph with a dynamic batch axis, and its metadata."""
    import onnx  # the export extra; imported here so the lab works without it

    ckpt = load_checkpoint(checkpoint)
    meta = metadata(ckpt)
    graph = Exported(model_from_checkpoint(ckpt), ckpt["norm"]["mean"], ckpt["norm"]["std"]).eval()
    example = torch.rand(2, 1, 28, 28)
    with warnings.catch_warnings(), _quiet("torch.onnx"):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            graph, (example,), dynamo=True, input_names=["images"], output_names=["logits", "features"],
            dynamic_shapes={"images": {0: torch.export.Dim("batch")}}, opset_version=OPSET, verbose=False,
        )  # fmt: skip
    proto = program.model_proto
    proto.metadata_props.add(key="digitlab", value=json.dumps(meta))
    with atomic_path(out) as tmp:
        onnx.save(proto, str(tmp))
    return out


class _quiet:
    """Silence a logger (the exporter narrates each step) for a ``with`` block."""

    def __init__(self, name: str):
        self.log = logging.getLogger(name)

    def __enter__(self) -> None:
        self.level, self.log.level = self.log.level, logging.ERROR

    def __exit__(self, *exc: Any) -> None:
        self.log.setLevel(self.level)


def read_metadata(path: Path) -> dict[str, Any]:
    """The ``digitlab`` metadata of an exported file, tensors decoded."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise ExportError(f"{path} is not a readable ONNX file ({type(err).__name__}).") from err
    props = {p.key: p.value for p in proto.metadata_props}
    if "digitlab" not in props:
        raise ExportError(f"{path} is an ONNX file without digitlab metadata; export it with `digitlab export`.")
    meta = json.loads(props["digitlab"])
    meta["rejection"] = decode_tensors(meta["rejection"])
    return meta


@dataclass(frozen=True)
class Parity:
    """How an export agrees with its checkpoint on the test split."""

    n: int
    argmax: float  # share of images with the same top class
    max_logit_diff: float
    decision: float  # share with the same accept/refuse decision (the file's own rejector on ONNX outputs)

    @property
    def ok(self) -> bool:
        return self.argmax >= PARITY["argmax"] and self.max_logit_diff <= PARITY["max_logit_diff"] and self.decision >= PARITY["decision"]


def onnx_view(path: Path, images: torch.Tensor, batch: int = 1000) -> ModelView:
    """Logits and features of uint8 ``(N, 28, 28)`` images from ONNX Runtime."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, feats = [], []
    for i in range(0, len(images), batch):
        x = images[i : i + batch].unsqueeze(1).float().div(255).numpy()
        lo, fe = session.run(["logits", "features"], {"images": x})
        logits.append(torch.from_numpy(lo))
        feats.append(torch.from_numpy(fe))
    return ModelView(torch.cat(feats), torch.cat(logits))


def check_parity(path: Path, checkpoint: Path, data_dir: str | None = None) -> Parity:
    """Compare the export with its checkpoint on the whole test split (the rejector on the ONNX side comes from the file)."""
    return compare(checkpoint, read_metadata(path), lambda x: onnx_view(path, x), data_dir)


def compare(checkpoint: Path, meta: dict[str, Any], view: Callable[[torch.Tensor], ModelView], data_dir: str | None = None) -> Parity:
    """An exported model (its metadata, and ``view``: uint8 test images -> its outputs) against torch on the test split."""
    ckpt = load_checkpoint(checkpoint)
    x = torch.from_numpy(load_raw(ckpt["config"].get("dataset", "mnist"), "t10k", data_dir)[0].copy())
    ref = model_view(model_from_checkpoint(ckpt), x, meta["norm"]["mean"], meta["norm"]["std"])
    got = view(x)
    torch_rej, file_rej = Rejector.from_state(ckpt["rejection"]), Rejector.from_state(meta["rejection"])
    same_decision = (torch_rej.combined(ref) >= torch_rej.threshold) == (file_rej.combined(got) >= file_rej.threshold)
    return Parity(
        len(x),
        (ref.logits.argmax(1) == got.logits.argmax(1)).float().mean().item(),
        (ref.logits - got.logits).abs().max().item(),
        same_decision.float().mean().item(),
    )


def cached_export(checkpoint: Path) -> Path:
    """The checkpoint's ONNX file in the user cache (made on first use, keyed by the checkpoint's bytes and the code).

    A quick check guards each new file (256 random pictures: same top class, logits within 1e-4); ``digitlab export``
    checks an export on the whole test split.
    """
    from .data.sources import cache_dir

    key = hashlib.sha256(Path(checkpoint).read_bytes() + preprocessing_version().encode() + FORMAT.encode()).hexdigest()[:16]
    path = cache_dir() / "exports" / key / "model.onnx"
    if path.is_file():
        return path
    export_onnx(Path(checkpoint), path)
    ckpt = load_checkpoint(checkpoint)
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (256, 28, 28), dtype=np.uint8))
    ref = model_view(model_from_checkpoint(ckpt), x, ckpt["norm"]["mean"], ckpt["norm"]["std"])
    got = onnx_view(path, x)
    if not torch.equal(ref.logits.argmax(1), got.logits.argmax(1)) or (ref.logits - got.logits).abs().max() > PARITY["max_logit_diff"]:
        path.unlink()
        raise ExportError(f"The ONNX export of {checkpoint} does not match it; use --engine torch.")
    return path


def engine_file(checkpoint: Path, engine: str) -> Path | None:
    """The exported file to run ``checkpoint`` with, or None for torch: ``auto`` uses ONNX Runtime where installed."""
    if engine not in ("auto", "torch", "onnx"):
        raise ExportError(f"Unknown engine {engine!r}; use auto, torch or onnx.")
    if engine == "torch" or (engine == "auto" and not export_installed()):
        return None
    if not export_installed():
        raise ExportError("The onnx engine needs the export extra: pip install 'digitlab[export]' (onnx, onnxscript, onnxruntime).")
    return cached_export(checkpoint)


def export_installed() -> bool:
    """Whether the export extra (onnx, onnxscript, onnxruntime) is installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript", "onnxruntime"))


def device_model(checkpoint: Path) -> tuple[Path, dict[str, Any]]:
    """What a browser needs to recognise on its own: the cached ONNX file and its metadata as JSON-ready data.

    The metadata (tensors as base64) travels beside the graph as ``model.json``, so the page reads it without
    parsing the ONNX protobuf; ``id`` names the export (the same id: the same file), for caches and the page's status.
    """
    path = cached_export(checkpoint)
    return path, {"id": path.parent.name, **metadata(load_checkpoint(checkpoint))}
