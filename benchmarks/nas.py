"""Issue 15: structures that are searched, and a network that grows while it trains; each figure beside its target.

In a lab folder (``--lab``; every training is a recorded run there, and searches resume when run again):
  1. every searcher (reinforce, evolution, random, tpe) searches the shipped space ``cnn`` for ``--budget`` child
     trainings, ``--seeds`` times. Each distinct structure is trained once, with the space's fixed proxy training, and
     its result kept in a table that every search reads (NAS-Bench-101's way: the proxy training is seeded, so a
     structure always gets the same accuracy); a searcher's budget counts its own proposals, repeats included.
     Figures: REINFORCE's mean proxy accuracy in the last quarter of its children against the first (>= +1 pp);
     for every searcher, the children it needed to come within 0.1 pp of the best structure any search found
     (median over seeds; REINFORCE and evolution should need fewer than random);
  2. the best structures with <= 100k parameters (on proxy validation accuracy) retrained with the space's full
     recipe; the one with the best validation accuracy is reported on test (>= 99.6 %);
  3. growth: the default config's cnn grown from a quarter of its width (``width=8 grow=2:widen*2,4:widen*2``)
     against the same net at full width from the start, ``--grow-seeds`` seeds each: test accuracy (epoch chosen on
     validation) within 0.05 pp, in <= 80 % of the training time.
Usage: python benchmarks/nas.py --lab DIR [--budget 100] [--seeds 3] [--retrain 3] [--grow-seeds 3] [--threads 2]
       [--no-growth]  (searches and retraining only; a later call replays them from the lab and adds growth)
       [--override key=value ...]  (changes every training: only for a quick check of the script, not for figures)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results
from digitlab import nas as N
from digitlab import nas_records as R
from digitlab.config import load_config
from digitlab.data import data_for
from digitlab.nas_space import load_space
from digitlab.runner import run_training
from digitlab.store import RunStore
from digitlab.tune import quiet_runs
from digitlab.tune_storage import TOLERANCE, open_storage

CONTROLLERS = ("reinforce", "evolution", "random", "tpe")
PARAMS_LIMIT = 100_000
GROW = "2:widen*2,4:widen*2"  # 8 -> 16 -> 32 channels after epochs 2 and 4 of the default config's 8


class Table:
    """Each distinct structure trained once (by the first search that proposes it); later proposals read its row."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, dict] = json.loads(path.read_text()) if path.is_file() else {}
        self.trained = 0

    def trainer(self, train: N.ChildTrainer):
        def call(number: int, p: N.Proposal) -> R.Child:
            row = self.rows.get(p.structure)
            if row is None:
                c = train(number, p)
                row = {k: getattr(c, k) for k in ("run", "reward", "val_acc", "params", "latency_ms", "train_seconds", "error")}
                self.rows[p.structure] = row
                self.trained += 1
                self.path.write_text(json.dumps(self.rows))
            return R.Child(number, row["run"], p.structure, p.choices, row["reward"], row["val_acc"], row["params"],
                           row["latency_ms"], row["train_seconds"], row["error"])  # fmt: skip

        return call


def searches(lab: Path, store: RunStore, args: argparse.Namespace) -> dict[str, list[list[R.Child]]]:
    """controller -> one list of children per seed."""
    space = load_space("cnn", [f"threads={args.threads}", *args.override])
    storage = open_storage(R.default_storage(lab / "runs"), None)
    data = data_for(space.proxy)
    table = Table(lab / "proxy-table.json")
    out: dict[str, list[list[R.Child]]] = {}
    for controller in args.controllers:
        out[controller] = []
        for seed in range(args.seeds):
            study = N.open_search(f"{controller}-s{seed}", space, controller, seed, storage)
            t0 = time.perf_counter()
            with quiet_runs():
                found = N.run_search(
                    study,
                    store,
                    lab / "runs",
                    args.budget,
                    train=table.trainer(N.ChildTrainer(study.study_name, space, store, lab / "runs", data)),
                )[: args.budget]  # a search run before with a larger budget counts its first children only
            print(f"{study.study_name}: {len(found)} children, best {100 * max(c.val_acc for c in found):.2f}%, "
                  f"{table.trained} structures trained so far, {time.perf_counter() - t0:.0f} s")  # fmt: skip
            out[controller].append(found)
    return out


def summarise(found: dict[str, list[list[R.Child]]]) -> dict:
    best = max(c.val_acc for runs in found.values() for cs in runs for c in cs)
    per = {}
    for controller, runs in found.items():
        reach = [R.trainings_to_reach(cs, best, TOLERANCE) for cs in runs]
        quarters = [R.quarter_means(cs) for cs in runs]
        per[controller] = {
            "reach": reach,
            "median_reach": statistics.median([r if r is not None else float("inf") for r in reach]),
            "first_quarter": statistics.mean(q[0] for q in quarters),
            "last_quarter": statistics.mean(q[-1] for q in quarters),
            "best": [max(c.val_acc for c in cs) for cs in runs],
            "distinct": [len({c.structure for c in cs}) for cs in runs],
        }
    return {"best_val_acc": best, "searchers": per}


def retrain(lab: Path, store: RunStore, found: dict[str, list[list[R.Child]]], args: argparse.Namespace) -> list[dict]:
    """The ``--retrain`` best distinct structures under the parameter limit, with the full recipe; chosen on validation.
    A structure retrained before in this lab (``nas-full-N`` with the same structure) is read back, not retrained."""
    pool = [c for runs in found.values() for cs in runs for c in cs if 0 < c.params <= PARAMS_LIMIT]
    space = load_space("cnn", [f"threads={args.threads}"])
    done = {r.extra.get("structure"): r.name for r in store.list_runs(status="completed") if r.name.startswith("nas-full-")}
    out = []
    for c in R.best_children(pool, args.retrain):
        if c.structure not in done:
            name = done[c.structure] = f"nas-full-{len(done) + 1}"
            base = {**space.final, "model": "nas", "model_kwargs": {"structure": c.structure}}
            cfg = load_config(None, [f"name={name}", *args.override], base=base)
            run_training(cfg, runs_dir=lab / "runs", store=store, extra={"structure": c.structure, "proxy_val_acc": c.val_acc})
        rec = store.get_run(done[c.structure])
        out.append({"run": rec.name, "structure": c.structure, "params": c.params, "proxy_val_acc": c.val_acc,
                    "val_acc": rec.best_val_acc, "test_acc": rec.test_acc, "seconds": rec.train_seconds})  # fmt: skip
    return out


def growth(lab: Path, store: RunStore, args: argparse.Namespace) -> dict:
    """Full width from the start vs grown from a quarter of it, the default recipe otherwise, ``--grow-seeds`` each."""
    arms = {"full": ["model_kwargs.width=32"], "grown": ["model_kwargs.width=8", f"grow={GROW}"]}
    out: dict = {}
    for arm, extra in arms.items():
        rows = []
        for seed in range(args.grow_seeds):
            name = f"grow-{arm}-s{seed}"
            if name not in {r.name for r in store.list_runs(status="completed")}:
                cfg = load_config(
                    None, [f"name={name}", f"seed={seed}", f"threads={args.threads}", "calibrate=false", *extra, *args.override]
                )
                run_training(cfg, runs_dir=lab / "runs", store=store)
            rec = store.get_run(name)
            rows.append({"run": name, "val_acc": rec.best_val_acc, "test_acc": rec.test_acc, "seconds": rec.train_seconds})
        out[arm] = {
            "runs": rows,
            "test_acc": statistics.mean(r["test_acc"] for r in rows),
            "seconds": statistics.mean(r["seconds"] for r in rows),
        }
    return out


def lab_minutes(store: RunStore, names: set[str]) -> float:
    """Wall time of the trainings the figures use (children, retrains, growth runs), in minutes, however many
    invocations it took (searches resume, and trained structures are read back); superseded runs in the lab are left out."""
    rows = [r for r in store.list_runs(status="completed") if r.name in names]
    return sum((r.finished_at - r.created_at).total_seconds() for r in rows if r.finished_at and r.created_at) / 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", type=Path, required=True, help="lab folder (runs/, the proxy table): made or reused")
    ap.add_argument("--controllers", nargs="+", default=list(CONTROLLERS))
    ap.add_argument("--budget", type=int, default=100, help="child trainings per search (equal for every searcher)")
    ap.add_argument("--seeds", type=int, default=3, help="searches per searcher")
    ap.add_argument("--retrain", type=int, default=3, help="best structures retrained with the full recipe")
    ap.add_argument("--grow-seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-growth", action="store_true", help="searches and retraining only (growth in a later call)")
    ap.add_argument("--override", action="append", default=[], help="key=value for every training (a quick check: train_subset=500)")
    args = ap.parse_args()
    lab = args.lab.resolve()
    store = RunStore(runs_dir=lab / "runs")
    found = searches(lab, store, args)
    result = {"budget": args.budget, "seeds": args.seeds, **summarise(found)}
    result["retrained"] = retrain(lab, store, found, args)
    if args.no_growth:
        return
    result["growth"] = growth(lab, store, args)
    used = {c.run for runs in found.values() for cs in runs for c in cs} | {r["run"] for r in result["retrained"]}
    used |= {row["run"] for arm in result["growth"].values() for row in arm["runs"]}
    result["lab_minutes"] = lab_minutes(store, used)
    write_results("nas", {"lab": "(outside the repository)", **result}, rows_for(result), ["figure", "measured", "target", "met"])


def rows_for(r: dict) -> list[list]:
    p = lambda v: f"{100 * v:.2f}%" if v is not None else "not measured"  # noqa: E731
    ok = lambda good: "yes" if good else "NO"  # noqa: E731
    s = r["searchers"]
    rows = []
    if "reinforce" in s:
        q = s["reinforce"]
        gain = q["last_quarter"] - q["first_quarter"]
        rows.append([f"REINFORCE: mean proxy val acc, last quarter vs first (mean of {r['seeds']} seeds)",
                     f"{p(q['last_quarter'])} vs {p(q['first_quarter'])}: {100 * gain:+.2f} pp", ">= +1 pp", ok(gain >= 0.01)])  # fmt: skip
    for name, q in s.items():
        rows.append(
            [
                f"{name}: children to come within 0.1 pp of the best found ({p(r['best_val_acc'])}), median (each seed)",
                f"{q['median_reach']} ({', '.join(str(x) for x in q['reach'])}); distinct structures {q['distinct']}",
                "reported; reinforce and evolution < random",
                "",
            ]
        )
        rows.append([f"  {name}: best proxy val acc found per seed", ", ".join(p(b) for b in q["best"]), "", ""])  # fmt: skip
    if {"reinforce", "evolution", "random"} <= set(s):
        fewer = (
            s["reinforce"]["median_reach"] < s["random"]["median_reach"] and s["evolution"]["median_reach"] < s["random"]["median_reach"]
        )
        rows.append(["REINFORCE and evolution need fewer trainings than random", "", "fewer", ok(fewer)])
    if r["retrained"]:
        best = max(r["retrained"], key=lambda x: x["val_acc"])  # chosen on validation
        rows.append([f"best structure, full recipe (chosen on validation of {len(r['retrained'])}): {best['structure']}, {best['params']:,} params",
                     f"test {p(best['test_acc'])} (val {p(best['val_acc'])})", ">= 99.6% with <= 100k params",
                     ok(best["test_acc"] >= 0.996 and best["params"] <= PARAMS_LIMIT)])  # fmt: skip
    g = r["growth"]
    diff = g["grown"]["test_acc"] - g["full"]["test_acc"]
    share = g["grown"]["seconds"] / g["full"]["seconds"]
    rows.append([f"grown from 1/4 width vs full width (default recipe, mean of {len(g['full']['runs'])} seeds): test accuracy",
                 f"{p(g['grown']['test_acc'])} vs {p(g['full']['test_acc'])} ({100 * diff:+.2f} pp)", "within 0.05 pp", ok(abs(diff) <= 0.0005)])  # fmt: skip
    rows.append(
        [
            "  its training time",
            f"{g['grown']['seconds']:.1f} s vs {g['full']['seconds']:.1f} s = {100 * share:.0f}%",
            "<= 80%",
            ok(share <= 0.8),
        ]
    )
    rows.append(
        [
            "whole benchmark",
            f"{r['lab_minutes']:.0f} min (summed wall time of the trainings these figures use)",
            "<= 120 min",
            ok(r["lab_minutes"] <= 120),
        ]
    )
    return rows


if __name__ == "__main__":
    main()
