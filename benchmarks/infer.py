"""Issue 12: model-only inference speed of the shipped model, torch against ONNX Runtime, side by side in one run.

* batch 1: p50 latency of one 28x28 image -> (logits, features); target ONNX Runtime <= 0.1 ms and >= 3x faster than
  torch in the same run;
* batch 256: throughput; target >= 20,000 images/s on 2 cores and >= 1.5x torch in the same run.
Both engines use every core; the export is checked for parity first (the same check `digitlab export` runs).
Writes results/infer.{json,md}. Usage: python benchmarks/infer.py [--model REF] [--reps N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import times_ms, write_results
from digitlab.catalog import resolve
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.export import Exported, check_parity, export_onnx
from digitlab.inference import layout
from digitlab.store import RunStore


def p50_ms(fn: Callable[[], object], reps: int) -> float:
    return statistics.median(times_ms(fn, reps, warmup=max(reps // 10, 3)))  # warm-up: first calls pick kernels and allocate


def engines(ckpt_path: Path, onnx_path: Path) -> dict[str, Callable[[np.ndarray], object]]:
    """name -> run(images (N, 1, 28, 28) float32 in [0, 1])."""
    import onnxruntime as ort

    ckpt = load_checkpoint(ckpt_path)
    model = model_from_checkpoint(ckpt)
    fmt = layout(model)  # torch as the lab runs it: channels_last for convolutional nets
    graph = Exported(model.to(memory_format=fmt), ckpt["norm"]["mean"], ckpt["norm"]["std"]).eval()
    torch.set_num_threads(os.cpu_count() or 1)

    @torch.no_grad()
    def run_torch(x: np.ndarray) -> object:
        return graph(torch.from_numpy(x).contiguous(memory_format=fmt))

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    return {"torch": run_torch, "onnxruntime": lambda x: session.run(None, {"images": x})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="run name, checkpoint or promoted model (default: the shipped model)")
    ap.add_argument("--reps", type=int, default=2000)
    args = ap.parse_args()
    path = resolve(args.model, RunStore(), Path("models"))
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(path, Path(tmp) / "model.onnx")
        parity = check_parity(onnx_path, path)
        rng = np.random.default_rng(0)
        one, many = rng.random((1, 1, 28, 28), np.float32), rng.random((256, 1, 28, 28), np.float32)
        figs = {}
        for name, run in engines(path, onnx_path).items():
            figs[f"{name}_b1_ms"] = p50_ms(lambda run=run: run(one), args.reps)
            figs[f"{name}_b256_img_s"] = 256 / (p50_ms(lambda run=run: run(many), max(args.reps // 20, 20)) / 1000)
    t1, o1, t256, o256 = figs["torch_b1_ms"], figs["onnxruntime_b1_ms"], figs["torch_b256_img_s"], figs["onnxruntime_b256_img_s"]
    rows = [
        ["batch 1, p50: ONNX Runtime / torch", f"{o1:.3f} ms / {t1:.3f} ms", "<= 0.1 ms", o1 <= 0.1],
        ["batch 1: ONNX Runtime speed-up over torch", f"{t1 / o1:.1f}x", ">= 3x", t1 / o1 >= 3],
        ["batch 256: ONNX Runtime / torch throughput", f"{o256:,.0f} / {t256:,.0f} images/s", ">= 20,000 images/s", o256 >= 20_000],
        ["batch 256: ONNX Runtime speed-up over torch", f"{o256 / t256:.2f}x", ">= 1.5x", o256 / t256 >= 1.5],
        ["parity on the test split: same class / max logit diff / same decision",
         f"{100 * parity.argmax:.2f}% / {parity.max_logit_diff:.1e} / {100 * parity.decision:.2f}%", "100% / <= 1e-4 / >= 99.9%", parity.ok],
    ]  # fmt: skip
    rows = [[a, b, c, "yes" if d else "NO"] for a, b, c, d in rows]
    write_results("infer", {"model": str(path), **figs, "parity": parity.__dict__}, rows, ["figure", "measured", "target", "met"])


if __name__ == "__main__":
    main()
