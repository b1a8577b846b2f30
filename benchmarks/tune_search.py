"""Tuning efficiency (issue 6): TPE with median pruning against random search without pruning, at equal training budget.

Each method runs one Optuna study per seed on the search space (default
the shipped space ``cnn``), stopping when its trials' training time reaches the
budget (default 20 minutes per study). Reported, median over seeds:
  * the best validation accuracy of each method;
  * the training seconds TPE+pruning needed to come within 0.1 percentage point of
    its own final best, and the training seconds random search needed to reach that
    same accuracy (or "never"). Target: TPE <= half of random's.
  * whether the tuned config (TPE's best) beats the hand-written default config's
    validation accuracy (``--baseline``, trained once).
TPE: Bergstra et al. 2011; Optuna: Akiba et al. 2019. The full benchmark takes hours.
``--parallel`` runs the two methods at the same time, each in its own process pinned to its own core with
``threads=1``: both see the same machine at the same moment, and the wall time halves (about 70 minutes on a
2-core machine for the default 3 x 20 minutes per method).
Usage: python benchmarks/tune_search.py [--space FILE] [--budget-min 20] [--seeds 3] [--max-trials N] [--baseline FILE]
       [--parallel] [--name tune_search] [key=value ...]
Smoke run (a minute or two): python benchmarks/tune_search.py --space fast --budget-min 0.5 --seeds 1
       --max-trials 12 --baseline fast --name tune_search_smoke threads=1 train_subset=1000 val_size=500 epochs=2
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrent.futures import ProcessPoolExecutor

from common import write_results
from digitlab import tune as T
from digitlab.config import load_config
from digitlab.runner import run_training
from digitlab.store import RunStore
from digitlab.tune_report import fewest_trainings, reach, trial_rows

METHODS = {"tpe": ("tpe", "median"), "random": ("random", "none")}


def run_study(
    method: str, seed: int, space: T.Space, data: Any, budget_s: float, root: Path, max_trials: int | None = None
) -> list[dict[str, Any]]:
    """One study in its own lab folder until ``budget_s`` training seconds (or ``max_trials``); its trial rows."""
    sampler, pruner = METHODS[method]
    runs = root / f"{method}-{seed}"
    store = RunStore(runs_dir=runs)
    storage = T.open_storage(T.default_storage(runs), heartbeat=None)
    study, space = T.open_study(f"{method}-s{seed}", space, storage, store, sampler=sampler, pruner=pruner, seed=seed)
    with T.quiet_runs():
        T.optimize(study, space, store, runs, trials=max_trials, train_budget=budget_s, data=data)
    rows = trial_rows(study)
    f = fewest_trainings(rows)
    print(
        f"{method} seed {seed}: {len(rows)} trials ({sum(r['state'] == 'pruned' for r in rows)} pruned), "
        f"best val acc {_pct(f['best'] if f else None)}, {sum(r['train_seconds'] or 0 for r in rows):.1f}s training",
        flush=True,
    )
    return rows


def run_method(method: str, args: argparse.Namespace, root: Path, core: int | None = None, data: Any = None) -> list[list[dict[str, Any]]]:
    """All seeds of one method (in a child process under ``--parallel``, pinned to ``core``, loading its own data):
    trial rows per seed."""
    if core is not None:
        os.sched_setaffinity(0, {core})
    space = T.load_space(args.space, args.overrides)
    data = data if data is not None else T.study_data(space)
    return [run_study(method, s, space, data, 60 * args.budget_min, root, args.max_trials) for s in range(args.seeds)]


def run_methods(args: argparse.Namespace, root: Path, data: Any) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """TPE's and random's trial rows per seed: one method after the other on ``data``, or both at once on two cores."""
    if not args.parallel:
        return run_method("tpe", args, root, data=data), run_method("random", args, root, data=data)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--parallel needs two cores")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [pool.submit(run_method, m, args, root, c) for m, c in zip(("tpe", "random"), cores)]
        return jobs[0].result(), jobs[1].result()


def baseline_val_acc(path: Path, overrides: list[str], data: Any, root: Path) -> float:
    """The hand-written config, trained once as a recorded run: its best validation accuracy."""
    cfg = load_config(path, overrides)
    _, result = run_training(cfg, runs_dir=root / "baseline", store=RunStore(runs_dir=root / "baseline"), data=data)
    return result.best["val_acc"]


def compare(tpe: list[dict[str, Any]], rnd: list[dict[str, Any]]) -> dict[str, Any]:
    """One seed: TPE's seconds to within 0.1 pp of its best, and random's seconds to that same accuracy."""
    f = fewest_trainings(tpe)
    fr = fewest_trainings(rnd)
    hit = reach(rnd, f["threshold"]) if f else None
    return {
        "tpe_best": f["best"] if f else None,
        "tpe_trials": len(tpe),
        "tpe_trials_needed": f["trials"] if f else None,
        "tpe_seconds": f["seconds"] if f else None,
        "random_best": fr["best"] if fr else None,
        "random_trials": len(rnd),
        "random_trials_needed": hit["trials"] if hit else None,
        "random_seconds": hit["seconds"] if hit else None,
    }


def _median(xs: list[float | None]) -> float | None:
    """Median with "never" (None) counted as infinitely late; None when the median itself is never."""
    vals = sorted(math.inf if x is None else x for x in xs)
    m = statistics.median(vals) if vals else math.inf
    return None if math.isinf(m) else m


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _s(v: float | None) -> str:
    return "never" if v is None else f"{v:.1f}s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--space", default="cnn", help="Search space: a file or a shipped one by name.")
    ap.add_argument("--budget-min", type=float, default=20.0, help="Training minutes per study.")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--max-trials", type=int, default=None, help="Also stop a study after this many trials (smoke runs).")
    ap.add_argument("--baseline", default="default", help="Hand-written config to beat (a file or a preset name).")
    ap.add_argument("--parallel", action="store_true", help="Both methods at once, one pinned core and threads=1 each.")
    ap.add_argument("--keep", default=None, help="Keep the studies' lab folders here (default: a deleted temporary folder).")
    ap.add_argument("--name", default="tune_search", help="Result files: results/<name>.{json,md}.")
    ap.add_argument("overrides", nargs="*", help="key=value overrides of the space's base and the baseline, e.g. threads=1")
    args = ap.parse_args()
    if args.parallel:
        args.overrides = [*args.overrides, "threads=1"]
    data = T.study_data(T.load_space(args.space, args.overrides))  # the studies' split, also the baseline's
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tune-bench-") as tmp:
        root = Path(args.keep or tmp)
        tpe, rnd = run_methods(args, root, data)
        per_seed = [compare(t, r) for t, r in zip(tpe, rnd)]
        with T.quiet_runs():
            base_acc = baseline_val_acc(Path(args.baseline), args.overrides, data, root)
    report(args, per_seed, base_acc, time.perf_counter() - t0)


def report(args: argparse.Namespace, per_seed: list[dict[str, Any]], base_acc: float, wall: float) -> None:
    """Print figures beside targets; write results/<name>.{json,md}."""
    med = {k: _median([r[k] for r in per_seed]) for k in ("tpe_best", "random_best", "tpe_seconds", "random_seconds")}
    tpe_s, rnd_s = med["tpe_seconds"], med["random_seconds"]
    ratio = tpe_s / rnd_s if tpe_s is not None and rnd_s else None
    faster = tpe_s is not None and (rnd_s is None or tpe_s <= 0.5 * rnd_s)
    beats = med["tpe_best"] is not None and med["tpe_best"] > base_acc
    header = [
        "seed",
        "TPE+median trials",
        "TPE best val",
        "TPE s to within 0.1 pp",
        "random trials",
        "random best val",
        "random s to TPE's level",
        "TPE / random",
    ]
    rows = [
        [
            i,
            r["tpe_trials"],
            _pct(r["tpe_best"]),
            _s(r["tpe_seconds"]),
            r["random_trials"],
            _pct(r["random_best"]),
            _s(r["random_seconds"]),
            _ratio(r),
        ]
        for i, r in enumerate(per_seed)
    ]
    rows.append(
        [
            "median",
            "",
            _pct(med["tpe_best"]),
            _s(med["tpe_seconds"]),
            "",
            _pct(med["random_best"]),
            _s(med["random_seconds"]),
            f"{ratio:.2f}" if ratio is not None else ("0 (random never)" if faster else "—"),
        ]
    )
    print(
        f"\nspace {args.space}, budget {args.budget_min} min training per study (max trials {args.max_trials}), {args.seeds} seed(s), "
        f"overrides {args.overrides}; {wall / 60:.1f} min wall"
    )
    print(
        f"TPE+pruning seconds to within 0.1 pp of its best: {_s(med['tpe_seconds'])}; random to the same accuracy: "
        f"{_s(med['random_seconds'])}; target TPE <= 0.5 x random: {'met' if faster else 'missed'}"
    )
    print(
        f"tuned (TPE best, median) val acc {_pct(med['tpe_best'])} vs hand-written {args.baseline}: {_pct(base_acc)}; "
        f"target tuned > hand-written: {'met' if beats else 'missed'}\n"
    )
    payload = {
        "space": args.space,
        "budget_min": args.budget_min,
        "max_trials": args.max_trials,
        "seeds": args.seeds,
        "parallel": args.parallel,
        "overrides": args.overrides,
        "baseline": args.baseline,
        "baseline_val_acc": base_acc,
        "per_seed": per_seed,
        "median": med,
        "ratio": ratio,
        "targets": {"tpe_at_most_half_of_random": faster, "tuned_beats_baseline": beats},
        "wall_seconds": wall,
    }
    write_results(args.name, payload, rows, header)


def _ratio(r: dict[str, Any]) -> str:
    if r["tpe_seconds"] is None:
        return "—"
    return "0 (random never)" if r["random_seconds"] is None else f"{r['tpe_seconds'] / max(r['random_seconds'], 1e-9):.2f}"


if __name__ == "__main__":
    main()
