"""The learner's lab (issue 17): does the lab answer its questions right? Each figure beside its target, one run.

Parts (``--parts``, all by default), every training a recorded run in ``--lab`` (resumable: finished experiments and
cases are read back, not trained again):
  * doctor: a set of deliberately broken runs (benchmarks/doctor_cases.py), each with its known cause: the doctor names
    the right cause first on >= 9 of 10, and raises nothing on 5 healthy zoo runs;
  * lrfind: lr-find's suggestion on the default config against the best lr (validation) of a 7-point grid trained with
    the same config and budget: within a factor of 3;
  * ablate: ``normalize`` and ``augment`` on the default config, 3 seeds (0-2), and a re-run with 5 fresh seeds
    (100-104): the verdict's sign agrees (+, - or none: an interval that includes zero has no sign);
  * stats: McNemar's exact p-value and the Wilson intervals equal scipy's on the same counts (also tests/test_stats.py);
  * zh: the share of parameters with a Chinese meaning (100 %; tests/test_config.py fails on a missing one).
Usage: python benchmarks/teacher.py --lab DIR [--parts doctor,lrfind,ablate,stats,zh]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results
from digitlab import ablate as A
from digitlab import ablate_report as R
from digitlab.config import FIELDS, GenConfig, load_config, schema_extra
from digitlab.data import data_for
from digitlab.lr_find import lr_find
from digitlab.store import RunStore
from digitlab.tune_storage import default_storage, open_storage

GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)  # half-decade steps around the usual Adam range


class Lab:
    """The benchmark's runs folder, run database and experiment storage."""

    def __init__(self, root: Path):
        self.runs = root / "runs"
        self.store = RunStore(runs_dir=self.runs)
        self.storage = open_storage(default_storage(self.runs), heartbeat=None)
        self.cache: dict[tuple[Any, ...], Any] = {}

    def experiment(self, name: str, items: list[str], seeds: int, first_seed: int = 0) -> list[R.Effect]:
        """Run (or finish) one experiment on the default config; its effects."""
        grid = A.parse_grid(items, "default", seeds, first_seed)
        study, grid = A.open_experiment(name, grid, self.storage, self.store)
        objective = A.CellRun(grid, self.store, self.runs, cache=self.cache)
        t0 = time.perf_counter()
        A.run_experiment(
            study, grid, objective, on_trial=lambda s, t: print(f"  {name} trial {t.number}: {t.state.name} {t.value}", flush=True)
        )
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        self.last = (study, grid)
        return R.effects(grid, R.outcomes(study))


def part_lrfind(lab: Lab) -> tuple[list[list[Any]], dict[str, Any]]:
    """lr-find on the default config vs the best validation lr of the 7-point grid: seed 0 (the target's figure), and the
    mean of seeds 0-2 (one seed's differences between neighbouring rates are within its noise, ~0.1 pp)."""
    done = grid_accuracies(lab, "lr-grid", 1, 0)
    more = grid_accuracies(lab, "lr-grid-s12", 2, 1)
    mean = {lr: (done[lr] + sum(more[lr])) / (1 + len(more[lr])) for lr in done if lr in more}
    best, best3 = max(done, key=done.__getitem__), max(mean, key=mean.__getitem__)
    cfg = load_config("default")
    res = lr_find(cfg, data_for(cfg.model_dump()))
    ratio, ratio3 = (max(res.suggestion / b, b / res.suggestion) for b in (best, best3))
    rows = [
        ["lr-find suggestion (default config, 200 steps)", f"{res.suggestion:.3g} ({res.rule}; {res.seconds:.0f} s)", "", ""],
        ["best lr of the 7-point grid, seed 0 (validation)", f"{best:g} ({_grid_text(done)})", "", ""],
        ["suggestion vs grid best (seed 0)", f"factor {ratio:.2f}", "within 3x", "met" if ratio <= 3 else "missed"],
        ["best lr of the grid, mean of seeds 0-2", f"{best3:g} ({_grid_text(mean)})", "", ""],
        ["suggestion vs grid best (3 seeds)", f"factor {ratio3:.2f}", "within 3x", "met" if ratio3 <= 3 else "missed"],
    ]
    out = {"suggestion": res.suggestion, "lr_at_min": res.lr_at_min, "steepest": res.steepest, "grid": done, "grid_mean3": mean}
    return rows, out | {"best": best, "ratio": ratio, "best3": best3, "ratio3": ratio3}


def grid_accuracies(lab: Lab, name: str, seeds: int, first_seed: int) -> dict[float, Any]:
    """lr -> validation accuracy (one seed) or list of them (several), of the grid experiment ``name``."""
    lab.experiment(name, [f"lr={','.join(str(x) for x in GRID)}"], seeds=seeds, first_seed=first_seed)
    study, grid = lab.last
    found: dict[float, list[float]] = {}
    for o in R.outcomes(study):
        found.setdefault(grid.cells[o.cell]["lr"], []).append(o.val_acc)
    return {lr: accs[0] for lr, accs in found.items()} if seeds == 1 else found


def _grid_text(acc: dict[float, float]) -> str:
    return ", ".join(f"{lr:g}: {100 * acc[lr]:.2f} %" if lr in acc else f"{lr:g}: failed" for lr in GRID)


WORDS = {1: "better (clear)", -1: "worse (clear)", 0: "no clear difference"}


def verdict_sign(e: R.Effect) -> int:
    """+1 or -1 for a clear verdict, 0 when its 95 % interval includes zero (a verdict without a sign)."""
    return (1 if e.diff_pp > 0 else -1) if e.clear else 0


def part_ablate(lab: Lab) -> tuple[list[list[Any]], dict[str, Any]]:
    """normalize and augment: 3 seeds, then 5 fresh seeds; the verdicts' signs agree."""
    rows, out = [], {}
    for key in ("normalize", "augment"):
        (e3,) = lab.experiment(f"{key}-3", [f"{key}=true,false"], seeds=3)
        (e5,) = lab.experiment(f"{key}-5", [f"{key}=true,false"], seeds=5, first_seed=100)
        agree = verdict_sign(e3) == verdict_sign(e5)
        raw = "same" if math.copysign(1, e3.diff_pp) == math.copysign(1, e5.diff_pp) else "opposite"
        rows.append([f"{key}: 3 seeds", R.verdict(e3), "", ""])
        rows.append([f"{key}: 5 fresh seeds", R.verdict(e5), "", ""])
        words = f"{WORDS[verdict_sign(e3)]} / {WORDS[verdict_sign(e5)]} (the mean differences alone: {raw} sign)"
        rows.append([f"{key}: sign of the verdict (3 / 5 seeds)", words, "agrees", "met" if agree else "missed"])
        out[key] = {"three": vars(e3), "five": vars(e5), "agree": agree}
    return rows, out


def part_stats() -> tuple[list[list[Any]], dict[str, Any]]:
    """McNemar's exact test and the Wilson interval against scipy on a few count tables."""
    import torch
    from scipy import stats

    from digitlab.metrics import mcnemar, wilson_interval

    worst_p, worst_ci = 0.0, 0.0
    for b, c in ((0, 0), (3, 9), (12, 4), (40, 61), (150, 120)):  # images right only by A, only by B (of 10,000)
        a = torch.tensor([True] * b + [False] * c + [True] * (10_000 - b - c))
        bb = torch.tensor([False] * b + [True] * c + [True] * (10_000 - b - c))
        worst_p = max(worst_p, abs(mcnemar(a, bb).p_value - (stats.binomtest(b, b + c, 0.5).pvalue if b + c else 1.0)))
    for k, n in ((9960, 10000), (9955, 10000), (50, 100), (0, 30)):
        ref = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        worst_ci = max(worst_ci, *(abs(a - b) for a, b in zip(wilson_interval(k, n), (ref.low, ref.high))))
    ok = worst_p < 1e-12 and worst_ci < 1e-12
    return [
        [
            "McNemar p and Wilson intervals vs scipy (largest difference)",
            f"{worst_p:.1e} / {worst_ci:.1e}",
            "equal",
            "met" if ok else "missed",
        ]
    ], {
        "p": worst_p,
        "ci": worst_ci,
    }


def part_zh() -> tuple[list[list[Any]], dict[str, Any]]:
    """Share of parameters (training and generative schemas) whose meaning has Chinese text."""
    fields = [*FIELDS.values(), *GenConfig.model_fields.values()]
    cjk = sum(bool(re.search(r"[\u4e00-\u9fff]", str(schema_extra(f).get("meaning_zh", "")))) for f in fields)
    share = cjk / len(fields)
    return [
        ["parameters with a Chinese meaning", f"{cjk} of {len(fields)} ({100 * share:.0f} %)", "100 %", "met" if share == 1 else "missed"]
    ], {"share": share}


def part_doctor(lab: Lab) -> tuple[list[list[Any]], dict[str, Any]]:
    """The doctor on the broken-run set and on healthy zoo runs (benchmarks/doctor_cases.py)."""
    import doctor_cases

    return doctor_cases.figures(lab.runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab", type=Path, required=True, help="folder for the runs (resumable)")
    ap.add_argument("--parts", default="doctor,lrfind,ablate,stats,zh")
    args = ap.parse_args()
    lab, rows, payload, t0 = Lab(args.lab), [], {}, time.perf_counter()
    for part in args.parts.split(","):
        r, p = {
            "doctor": lambda: part_doctor(lab),
            "lrfind": lambda: part_lrfind(lab),
            "ablate": lambda: part_ablate(lab),
            "stats": part_stats,
            "zh": part_zh,
        }[part]()
        rows += r
        payload[part] = p
    payload["seconds"] = time.perf_counter() - t0
    write_results("teacher", payload, rows, ["figure", "measured", "target", "met"])


if __name__ == "__main__":
    main()
