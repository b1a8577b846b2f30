"""Issue 11, part 2: which "not a digit" recipe to ship, chosen on validation data only.

Each candidate is the shipped recipe (``presets/ship.yaml``) with overrides, trained as a recorded run (the
``current`` candidate is the shipped model itself, trained from that recipe). Side by side, on validation data only:
MNIST validation (accuracy, wrongly refused, accuracy on accepted digits) and the val split of the real-world sets
(non-digit photos and documents answered "not digits", letters outside the digit-like list refused, digit photos
and strips read exactly). The eval split and the test split are not read here.

The rule, fixed before any candidate was trained: among the candidates whose MNIST validation wrongly-refused share
is <= 1.5 % and whose digit photos are read exactly >= 98.5 %, the highest mean of (non-digit photos answered
"not digits", letters refused); a tie keeps the current model. Writes results/rejection_candidates.{json,md}.
Usage: python benchmarks/rejection_candidates.py [--runs-dir DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results
from digitlab import api
from digitlab.checkpoint import DEFAULT_MODEL
from digitlab.config import load_config
from digitlab.data import DigitData, load_digits
from digitlab.data.realworld import sets
from digitlab.inference import model_view
from digitlab.recognize.predictor import Predictor
from digitlab.recognize.realworld_eval import realworld_figures

# name -> overrides of the ship recipe (None: the shipped model as it is)
CANDIDATES: dict[str, dict | None] = {
    "current": None,  # synthetic non-digits only (noise, blobs, strokes, shuffled pieces)
    "real50": {"real_outliers": 0.5},  # half the outlier images real: letters, symbols, photo marks/edges/views
    "real80": {"real_outliers": 0.8},
}
VAL_SETS = ["nondigit_photos", "nondigit_documents", "letters_refuse", "letters_ambiguous", "digit_photos", "digit_strips"]


@torch.no_grad()
def mnist_val(pred: Predictor, data: DigitData) -> dict[str, float]:
    """Accuracy, wrongly refused and accuracy on accepted digits on the MNIST validation split (as the runs carve it)."""
    view = model_view(pred.model, data.val_x, pred.mean, pred.std)
    assert pred.rejector is not None
    accepted = pred.rejector.combined(view) >= pred.rejector.threshold
    right = view.logits.argmax(1) == data.val_y
    return {
        "val_acc": right.float().mean().item(),
        "wrongly_refused": 1 - accepted.float().mean().item(),
        "accepted_acc": right[accepted].float().mean().item(),
    }


def checkpoint(name: str, overrides: dict | None, lab: api.Lab) -> Path:
    """The candidate's weights: the shipped file, an earlier run of the same name, or a new recorded run."""
    if overrides is None:
        return DEFAULT_MODEL
    run_name = f"cand-{name}"
    folder = lab.runs_dir / run_name
    if (folder / "weights" / "best.pt").is_file():
        return folder / "weights" / "best.pt"
    return api.train("ship", lab=lab, plots=False, name=run_name, **overrides).best


def score(row: dict) -> float | None:
    """The rule's score, or None when a candidate fails a guard."""
    if row["wrongly_refused"] > 0.015 or row["digit_photos_exact"] < 0.985:
        return None
    return (row["nondigit_photos_not_digits"] + row["letters_refuse_no_digit"]) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs-dir", type=Path, default=Path("runs-candidates"), help="where the candidates' runs go")
    ap.add_argument("--only", nargs="*", help="candidate names (default: all)")
    args = ap.parse_args()
    lab = api.Lab(runs_dir=args.runs_dir)
    val_sets = sets("val", names=VAL_SETS)
    cfg = load_config("ship")
    data = load_digits(cfg.dataset, cfg.val_size, cfg.split_seed)  # loaded once for every candidate
    rows = []
    for name, overrides in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        path = checkpoint(name, overrides, lab)
        pred = Predictor(path)
        row = {"candidate": name, "overrides": overrides or "shipped model", **mnist_val(pred, data)}
        for set_name, f in realworld_figures(pred, val_sets).items():
            row |= {f"{set_name}_{k}": v for k, v in asdict(f).items() if k != "n"}
        row["score"] = score(row)
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    scored = [r for r in rows if r["score"] is not None]
    best = max(scored, key=lambda r: (r["score"], r["candidate"] == "current"))["candidate"] if scored else "current"
    pct = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    cols = ["candidate", "val acc", "wrongly refused", "acc on accepted", "photos: not digits", "documents: not digits",
            "letters refused", "digit photos exact", "strips exact", "score", "chosen"]  # fmt: skip
    table = [
        [r["candidate"], pct(r["val_acc"]), pct(r["wrongly_refused"]), pct(r["accepted_acc"]), pct(r["nondigit_photos_not_digits"]),
         pct(r["nondigit_documents_not_digits"]), pct(r["letters_refuse_no_digit"]), pct(r["digit_photos_exact"]),
         pct(r["digit_strips_exact"]), "guard failed" if r["score"] is None else f"{100 * r['score']:.2f}", "yes" if r["candidate"] == best else ""]
        for r in rows
    ]  # fmt: skip
    write_results(
        "rejection_candidates",
        {"rule": __doc__.split("The rule, ")[1].split("Writes")[0].strip(), "rows": rows, "chosen": best},
        table,
        cols,
    )


if __name__ == "__main__":
    main()
