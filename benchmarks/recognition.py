"""Recognition targets of issue 4, measured on the shipped model (or ``--model``), each beside its target.

* accuracy: test >= 99.5 %, on accepted test digits >= 99.8 %, wrongly rejected <= 1.5 %;
* rejection: Fashion-MNIST AUROC >= 99.5 % and FPR@95 <= 2 % (combined detector); noise and blank sets AUROC >= 99.9 %;
  published MNIST-vs-Fashion references: max softmax ~94.6 %, Mahalanobis ~98.9 %, outlier exposure ~99.9 % AUROC;
* speed: a 4000x3000 JPEG file to an answer <= 150 ms; a 28x28 input <= 5 ms (p50 over repeats);
* the real world (issue 11), on the eval split of ``digitlab.data.realworld`` (never used to train or choose):
  non-digit photos answered with no digit >= 97 %, letters outside the digit-like list refused >= 95 %, digit photos
  read exactly >= 98.5 % with <= 1 % refused, multi-digit strips read exactly >= 95 %; Fashion-MNIST AUROC >= 99.9 %.
Writes results/recognition.{json,md}. Usage: python benchmarks/recognition.py [--model REF]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import times_ms, write_results
from digitlab.catalog import resolve
from digitlab.data.dataset import load_raw
from digitlab.data.realworld import eval_sets
from digitlab.data.realworld.photo import phone_jpeg
from digitlab.recognize.ood_eval import ood_eval
from digitlab.recognize.predictor import DEFAULT_MODEL, Predictor
from digitlab.recognize.realworld_eval import realworld_figures
from digitlab.store import RunStore


def timings(pred: Predictor, x: np.ndarray, reps: int) -> dict[str, float]:
    """p50 milliseconds: a phone JPEG (bytes -> answer) and a 28x28 PNG (bytes -> answer)."""
    big = phone_jpeg(x[0])  # the digit as ink on paper (it was drawn inverted: a dark square the predictor rightly refused)
    buf = io.BytesIO()
    Image.fromarray(x[1]).save(buf, "PNG")
    small = buf.getvalue()
    out = {}
    for name, data, n in (("jpeg_4000x3000_ms", big, reps), ("png_28x28_ms", small, reps * 5)):
        ans = pred.predict(data)  # warm-up, and the answer shown beside the time
        out[name] = statistics.median(times_ms(lambda data=data: pred.predict(data), n, warmup=0))
        out[name.replace("_ms", "_answer")] = ans.text or (ans.digits[0].reason if ans.digits else ans.error)
    out["jpeg_bytes"] = len(big)
    return out


def realworld_rows(w: dict[str, dict]) -> list[list]:
    """The issue-11 rows: each real-world eval set's figure beside its target."""
    p = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    n = lambda k: f" (of {w[k]['n']})"  # noqa: E731
    photos, letters, digits, strips = w["nondigit_photos"], w["letters_refuse"], w["digit_photos"], w["digit_strips"]
    return [
        ["non-digit photos answered with no digit" + n("nondigit_photos"), p(photos["no_digit"]), ">= 97.00%", photos["no_digit"] >= 0.97],
        ["non-digit documents answered with no digit" + n("nondigit_documents"), p(w["nondigit_documents"]["no_digit"]), "(no target)", ""],
        ["letters outside the digit-like list, refused" + n("letters_refuse"), p(letters["no_digit"]), ">= 95.00%", letters["no_digit"] >= 0.95],
        ["digit-like letters read as their digit / refused" + n("letters_ambiguous"),
         f"{p(w['letters_ambiguous']['exact'])} / {p(w['letters_ambiguous']['no_digit'])}", "(either is fair)", ""],
        ["digit photos read exactly" + n("digit_photos"), p(digits["exact"]), ">= 98.50%", digits["exact"] >= 0.985],
        ["digit photos refused (no digit read)", p(digits["no_digit"]), "<= 1.00%", digits["no_digit"] <= 0.01],
        ["multi-digit strips read exactly" + n("digit_strips"), p(strips["exact"]), ">= 95.00%", strips["exact"] >= 0.95],
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="run name, checkpoint or promoted model (default: the shipped model)")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    path = resolve(args.model, RunStore(), Path("models")) if args.model else DEFAULT_MODEL
    r = ood_eval(path)
    x, _ = load_raw("mnist", "t10k")
    t = timings(Predictor(path), x, args.reps)
    fm = r["sets"]["fashion-mnist"]["detectors"]
    world = {k: asdict(v) for k, v in realworld_figures(Predictor(path), eval_sets()).items()}
    noise_sets = ["gaussian-noise", "uniform-noise", "constant", "near-blank"]
    p = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    rows = [
        ["test accuracy", p(r["test_acc"]), ">= 99.50%", r["test_acc"] >= 0.995],
        [
            "accuracy on accepted test digits",
            f"{100 * r['accepted_acc']:.3f}%",
            ">= 99.80%",
            r["accepted_acc"] >= 0.998,
        ],  # 3 decimals: it sits at the target
        ["MNIST test wrongly rejected", p(r["wrongly_rejected"]), "<= 1.50%", r["wrongly_rejected"] <= 0.015],
        ["Fashion-MNIST AUROC, combined", p(fm["combined"]["auroc"]), ">= 99.90% (published: OE ~99.9%)", fm["combined"]["auroc"] >= 0.999],
        ["Fashion-MNIST FPR@95, combined", p(fm["combined"]["fpr95"]), "<= 2.00%", fm["combined"]["fpr95"] <= 0.02],
        ["Fashion-MNIST AUROC, max softmax", p(fm["msp"]["auroc"]), "published ~94.6%", ""],
        ["Fashion-MNIST AUROC, Mahalanobis", p(fm["mahalanobis"]["auroc"]), "published ~98.9%", ""],
        ["Fashion-MNIST AUROC, energy / kNN", f"{p(fm['energy']['auroc'])} / {p(fm['knn']['auroc'])}", "", ""],
    ]
    rows += [
        [
            f"{s} AUROC, combined",
            p(r["sets"][s]["detectors"]["combined"]["auroc"]),
            ">= 99.90%",
            r["sets"][s]["detectors"]["combined"]["auroc"] >= 0.999,
        ]
        for s in noise_sets
    ]
    inv = r["sets"]["inverted-digits"]["detectors"]["combined"]["auroc"]
    rows += [
        ["inverted digits AUROC, combined", p(inv), "(no target)", ""],
        ["4000x3000 JPEG -> answer (p50)", f"{t['jpeg_4000x3000_ms']:.1f} ms", "<= 150 ms", t["jpeg_4000x3000_ms"] <= 150],
        ["28x28 PNG -> answer (p50)", f"{t['png_28x28_ms']:.2f} ms", "<= 5 ms", t["png_28x28_ms"] <= 5],
    ]
    rows += realworld_rows(world)
    rows = [[a, b, c, ("yes" if d else "NO") if isinstance(d, bool) else d] for a, b, c, d in rows]
    payload = {"model": str(path), "ood": r, "timing": t, "realworld": world}
    write_results("recognition", payload, rows, ["figure", "measured", "target / reference", "met"])
    print(r["definition"])


if __name__ == "__main__":
    main()
