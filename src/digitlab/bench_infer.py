"""Inference speed of one model per engine, side by side, with the export's parity check (``digitlab bench-infer``).

Engines: torch (as the lab runs it: channels_last for convolutional nets, every core), ONNX Runtime on the model's
export (every core), and optionally its INT8 export. Figures: model only, p50 of a batch of one 28x28 image and the
throughput of batches of 256; and ``predict`` end to end (bytes of a 28x28 MNIST test PNG -> the answer: decode,
preprocess, model, rejection, verdict) with the predictor's own engine set-up (torch, or one ONNX Runtime thread).
``benchmarks/infer.py`` prints the same figures beside the issue's targets.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_checkpoint, model_from_checkpoint
from .data.dataset import load_raw
from .export import Exported, Parity, cached_export, check_parity
from .inference import layout
from .timing import p50_ms

Run = Callable[[np.ndarray], object]  # images (N, 1, 28, 28) float32 in [0, 1] -> outputs


@dataclass(frozen=True)
class EngineSpeed:
    """One engine's figures."""

    engine: str
    batch1_ms: float  # p50, model only
    batch256_img_s: float  # images per second in batches of 256, model only
    predict_ms: float | None  # p50, a 28x28 PNG end to end (None: the predictor has no such engine)


@dataclass(frozen=True)
class InferBench:
    model: Path
    parity: Parity
    speeds: list[EngineSpeed]


def model_engines(checkpoint: Path, onnx: Path, int8: Path | None = None) -> dict[str, Run]:
    """name -> run: torch and ONNX Runtime (and INT8), every core each."""
    import onnxruntime as ort

    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    fmt = layout(model)  # torch as the lab runs it
    graph = Exported(model.to(memory_format=fmt), ckpt["norm"]["mean"], ckpt["norm"]["std"]).eval()
    torch.set_num_threads(os.cpu_count() or 1)

    @torch.no_grad()
    def run_torch(x: np.ndarray) -> object:
        return graph(torch.from_numpy(x).contiguous(memory_format=fmt))

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1

    def runner(path: Path) -> Run:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return lambda x: session.run(None, {"images": x})

    runs: dict[str, Run] = {"torch": run_torch, "onnxruntime": runner(onnx)}
    if int8 is not None:
        runs["int8"] = runner(int8)
    return runs


def model_speed(run: Run, reps: int) -> tuple[float, float]:
    """(p50 ms of a batch of 1, images/s in batches of 256) on random images (the time does not depend on them)."""
    rng = np.random.default_rng(0)
    one, many = rng.random((1, 1, 28, 28), np.float32), rng.random((256, 1, 28, 28), np.float32)
    return p50_ms(lambda: run(one), reps), 256 / (p50_ms(lambda: run(many), max(reps // 20, 20)) / 1000)


def mnist_pngs(n: int = 100, data_dir: str | None = None) -> list[bytes]:
    """The first ``n`` MNIST test digits as PNG files."""
    from PIL import Image

    out = []
    for digit in load_raw("mnist", "t10k", data_dir)[0][:n]:
        buf = io.BytesIO()
        Image.fromarray(digit).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def predict_ms(checkpoint: Path, onnx: Path | None, reps: int, pngs: list[bytes]) -> float:
    """p50 ms of ``Predictor.predict`` on the PNGs in turn (``onnx``: the ONNX engine's file; None: torch)."""
    from .recognize.predictor import Predictor

    predictor, pics = Predictor(checkpoint, onnx=onnx), itertools.cycle(pngs)
    return p50_ms(lambda: predictor.predict(next(pics)), reps)


def bench_infer(checkpoint: Path, reps: int = 2000, int8: Path | None = None, data_dir: str | None = None) -> InferBench:
    """Parity of the checkpoint's export on the test split, then every engine's figures in the same run."""
    onnx = cached_export(checkpoint)
    parity = check_parity(onnx, checkpoint, data_dir)
    pngs = mnist_pngs(data_dir=data_dir)
    e2e = {"torch": None, "onnxruntime": onnx}
    speeds = []
    for name, run in model_engines(checkpoint, onnx, int8).items():
        b1, b256 = model_speed(run, reps)
        ms = predict_ms(checkpoint, e2e[name], max(reps // 4, 100), pngs) if name in e2e else None
        speeds.append(EngineSpeed(name, b1, b256, ms))
    return InferBench(checkpoint, parity, speeds)
