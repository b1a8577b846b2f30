"""ExecuTorch export (issue 12, part 6): the same graph as the ONNX export as a ``.pte`` program for native apps.

``torch.export`` -> ``to_edge_transform_and_lower`` with the XNNPACK partitioner (the CPU backend of ExecuTorch on
Android and iOS) -> ``model.pte``. A .pte file has no free-form metadata field, so the ``digitlab`` metadata (the same
JSON as in the ONNX file) goes beside it in ``model.pte.json``. Inputs and outputs as in the ONNX export:
``images (N, 1, 28, 28)`` float in [0, 1] -> ``logits (N, C)``, ``features (N, D)``; N from 1 to the metadata's
``max_batch`` (ExecuTorch 1.5.1's XNNPACK lowering plans a dynamic batch through a convolution for at most 15 images,
whatever larger bound is asked: measured, so the bound the program really got is read back and recorded).
Needs the optional ``pte`` extra (``executorch``, which installs beside torch 2.13 without replacing it). Its modules
are imported by name, so the lab and its type check work without it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import torch

from .checkpoint import load_checkpoint, model_from_checkpoint
from .export import Exported, ExportError, Parity, compare, decode_tensors, metadata
from .fsio import atomic_path
from .inference import ModelView

MAX_BATCH = 1024  # asked for; the program may get less (see above): ExecuTorch plans memory for the largest batch


def installed() -> bool:
    return importlib.util.find_spec("executorch") is not None


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def export_pte(checkpoint: Path, out: Path) -> Path:
    """Write ``out`` (``.pte``, XNNPACK-delegated) from ``checkpoint`` and its metadata to ``out`` + ``.json``."""
    if not installed():
        raise ExportError("--format pte needs ExecuTorch: pip install 'digitlab[pte]'.")
    lower = importlib.import_module("executorch.exir").to_edge_transform_and_lower
    partitioner = importlib.import_module("executorch.backends.xnnpack.partition.xnnpack_partitioner").XnnpackPartitioner
    ckpt = load_checkpoint(checkpoint)
    meta = {**metadata(ckpt), "format": "digitlab-pte-1", "opset": None, "backend": "XNNPACK"}
    graph = Exported(model_from_checkpoint(ckpt), ckpt["norm"]["mean"], ckpt["norm"]["std"]).eval()
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExecuTorch's passes warn about deprecated pytree APIs of torch
        program = torch.export.export(graph, (torch.rand(2, 1, 28, 28),), dynamic_shapes=({0: batch},))
        et = lower(program, partitioner=[partitioner()]).to_executorch()
    plan = et.executorch_program.execution_plan[0]
    meta["max_batch"] = int(plan.values[plan.inputs[0]].val.sizes[0])  # the input's planned (upper-bound) shape
    buffer = et.buffer
    with atomic_path(out) as tmp:
        tmp.write_bytes(buffer)
    with atomic_path(sidecar(out)) as tmp:
        tmp.write_text(json.dumps(meta))
    return out


def read_pte_metadata(path: Path) -> dict[str, Any]:
    """The metadata beside a ``.pte`` file, tensors decoded."""
    try:
        meta = json.loads(sidecar(path).read_text())
    except (OSError, ValueError) as err:
        raise ExportError(f"{sidecar(path)} (the metadata of {path.name}) is missing or unreadable; export again.") from err
    meta["rejection"] = decode_tensors(meta["rejection"])
    return meta


def pte_view(path: Path, images: torch.Tensor) -> ModelView:
    """Logits and features of uint8 ``(N, 28, 28)`` images from the ExecuTorch runtime (its Python bindings)."""
    batch = read_pte_metadata(path)["max_batch"]
    runtime = importlib.import_module("executorch.runtime").Runtime.get()
    method = runtime.load_program(Path(path)).load_method("forward")
    logits, feats = [], []
    for i in range(0, len(images), batch):
        lo, fe = method.execute([images[i : i + batch].unsqueeze(1).float().div(255).contiguous()])
        logits.append(lo.clone())
        feats.append(fe.clone())
    return ModelView(torch.cat(feats), torch.cat(logits))


def check_pte_parity(path: Path, checkpoint: Path, data_dir: str | None = None) -> Parity:
    """The ONNX export's check for a ``.pte`` file: the whole test split against torch, the same bars."""
    return compare(checkpoint, read_pte_metadata(path), lambda x: pte_view(path, x), data_dir)
