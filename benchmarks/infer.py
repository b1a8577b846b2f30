"""Issue 12: model-only inference speed of the shipped model, torch against ONNX Runtime, side by side in one run.

* batch 1: p50 latency of one 28x28 image -> (logits, features); target ONNX Runtime <= 0.1 ms and >= 3x faster than
  torch in the same run;
* batch 256: throughput; target >= 20,000 images/s on 2 cores and >= 1.5x torch in the same run.
* INT8 (`digitlab export --int8`, the same run): file size <= 1/3 of float32 (whole file and network alone), test
  accuracy change >= -0.05 pp, test refusal rate change within 0.2 pp; its latency and throughput beside float32's;
  also (no target) refusals on validation digits and the Fashion-MNIST AUROC of the rejection, float32 vs INT8.
* `predict` end to end (bytes of a 28x28 MNIST test PNG -> Predictor.predict's answer: decode, preprocess, model,
  rejection, verdict), p50 with the torch engine and with the ONNX engine (the file `digitlab.export.cached_export`
  makes, as `predict --engine onnx` runs it); target <= 1.5 ms for the default engine (ONNX Runtime where installed).
Every engine uses every core (the predictor's ONNX session: one thread, as it is shipped); the export is checked for
parity first (the same check `digitlab export` runs).
Writes results/infer.{json,md}. Usage: python benchmarks/infer.py [--model REF] [--reps N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results
from digitlab.bench_infer import mnist_pngs, model_engines, model_speed, predict_ms
from digitlab.catalog import resolve
from digitlab.checkpoint import load_checkpoint
from digitlab.data.dataset import load_raw, stratified_split
from digitlab.export import cached_export, check_parity, export_onnx, onnx_view, read_metadata
from digitlab.export_int8 import INT8_BARS, Int8Check, check_int8, export_int8, refused
from digitlab.store import RunStore


def rejection_extras(float_path: Path, int8_path: Path, ckpt_path: Path) -> dict[str, float]:
    """No target, for the record: refusal rate on validation digits and Fashion-MNIST AUROC, float32 vs INT8."""
    from digitlab.recognize.ood_metrics import auroc
    from digitlab.recognize.rejection import Rejector

    cfg = load_checkpoint(ckpt_path)["config"]
    x, y = load_raw(cfg.get("dataset", "mnist"), "train")
    val = torch.from_numpy(x[stratified_split(y, cfg.get("val_size", 5000), cfg.get("split_seed", 0))[1]].copy())
    fashion = torch.from_numpy(load_raw("fashion-mnist", "t10k")[0].copy())
    test = torch.from_numpy(load_raw(cfg.get("dataset", "mnist"), "t10k")[0].copy())
    out = {}
    for name, path in (("float32", float_path), ("int8", int8_path)):
        out[f"{name}_val_refused"] = refused(path, onnx_view(path, val)).float().mean().item()
        rej = Rejector.from_state(read_metadata(path)["rejection"])
        out[f"{name}_fashion_auroc"] = auroc(rej.combined(onnx_view(path, test)).numpy(), rej.combined(onnx_view(path, fashion)).numpy())
    return out


def int8_rows(c: Int8Check, figs: dict[str, float], extra: dict[str, float]) -> list[list[object]]:
    """The INT8 section: each figure beside its target, float32 beside INT8."""
    mb = [b / 1e6 for b in (*c.size, *c.graph)]
    return [
        ["INT8 file size / float32 (whole file, metadata zlib-compressed)", f"{mb[1]:.2f} / {mb[0]:.2f} MB = {c.size[1] / c.size[0]:.2f}", "<= 0.33", c.size[1] <= c.size[0] * INT8_BARS["size_ratio"]],
        ["INT8 network alone / float32 (no metadata)", f"{mb[3]:.2f} / {mb[2]:.2f} MB = {c.graph[1] / c.graph[0]:.2f}", "<= 0.33", c.graph[1] <= c.graph[0] * INT8_BARS["size_ratio"]],
        ["test accuracy: float32 -> INT8", f"{100 * c.accuracy[0]:.2f}% -> {100 * c.accuracy[1]:.2f}% ({c.accuracy_change_pp:+.2f} pp)", ">= -0.05 pp", c.accuracy_change_pp >= INT8_BARS["accuracy_change_pp"]],
        ["test digits refused: float32 -> INT8", f"{100 * c.refusal[0]:.2f}% -> {100 * c.refusal[1]:.2f}% ({c.refusal_change_pp:+.2f} pp)", "within 0.2 pp", abs(c.refusal_change_pp) <= INT8_BARS["refusal_change_pp"]],
        ["INT8 same top class as float32 (test split)", f"{100 * c.argmax:.2f}%", ">= 99.9%", c.argmax >= INT8_BARS["argmax"]],
        ["batch 1, p50: INT8 / float32 ONNX Runtime", f"{figs['int8_b1_ms']:.3f} ms / {figs['onnxruntime_b1_ms']:.3f} ms", "(beside float32)", None],
        ["batch 256: INT8 / float32 ONNX Runtime throughput", f"{figs['int8_b256_img_s']:,.0f} / {figs['onnxruntime_b256_img_s']:,.0f} images/s", "(beside float32)", None],
        ["validation digits refused: float32 -> INT8", f"{100 * extra['float32_val_refused']:.2f}% -> {100 * extra['int8_val_refused']:.2f}%", "(no target)", None],
        ["Fashion-MNIST vs MNIST test AUROC: float32 -> INT8", f"{extra['float32_fashion_auroc']:.4f} -> {extra['int8_fashion_auroc']:.4f}", "(no target)", None],
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="run name, checkpoint or promoted model (default: the shipped model)")
    ap.add_argument("--reps", type=int, default=2000)
    args = ap.parse_args()
    path = resolve(args.model, RunStore(), Path("models"))
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(path, Path(tmp) / "model.onnx")
        parity = check_parity(onnx_path, path)
        int8_path = export_int8(onnx_path, path, Path(tmp) / "model.int8.onnx")
        int8, extra = check_int8(int8_path, onnx_path, path), rejection_extras(onnx_path, int8_path, path)
        figs = {}
        for name, run in model_engines(path, onnx_path, int8_path).items():
            figs[f"{name}_b1_ms"], figs[f"{name}_b256_img_s"] = model_speed(run, args.reps)
    pngs = mnist_pngs()
    for name, onnx in (("torch", None), ("onnxruntime", cached_export(path))):  # the predictor's engines, as predict runs them
        figs[f"{name}_predict_ms"] = predict_ms(path, onnx, max(args.reps // 4, 100), pngs)
    t1, o1, t256, o256 = figs["torch_b1_ms"], figs["onnxruntime_b1_ms"], figs["torch_b256_img_s"], figs["onnxruntime_b256_img_s"]
    rows = [
        ["batch 1, p50: ONNX Runtime / torch", f"{o1:.3f} ms / {t1:.3f} ms", "<= 0.1 ms", o1 <= 0.1],
        ["batch 1: ONNX Runtime speed-up over torch", f"{t1 / o1:.1f}x", ">= 3x", t1 / o1 >= 3],
        ["batch 256: ONNX Runtime / torch throughput", f"{o256:,.0f} / {t256:,.0f} images/s", ">= 20,000 images/s", o256 >= 20_000],
        ["batch 256: ONNX Runtime speed-up over torch", f"{o256 / t256:.2f}x", ">= 1.5x", o256 / t256 >= 1.5],
        ["parity on the test split: same class / max logit diff / same decision",
         f"{100 * parity.argmax:.2f}% / {parity.max_logit_diff:.1e} / {100 * parity.decision:.2f}%", "100% / <= 1e-4 / >= 99.9%", parity.ok],
    ]  # fmt: skip
    tp, op = figs["torch_predict_ms"], figs["onnxruntime_predict_ms"]
    rows.append(["predict, 28x28 MNIST PNG end to end, p50: ONNX Runtime / torch", f"{op:.2f} ms / {tp:.2f} ms", "<= 1.5 ms", op <= 1.5])
    rows += int8_rows(int8, figs, extra)
    rows = [[a, b, c, "" if d is None else "yes" if d else "NO"] for a, b, c, d in rows]
    payload = {"model": str(path), **figs, "parity": parity.__dict__, "int8": {**int8.__dict__, **extra}}
    write_results("infer", payload, rows, ["figure", "measured", "target", "met"])


if __name__ == "__main__":
    main()
