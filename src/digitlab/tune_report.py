"""Study reports: trials table, "fewest trainings", parameter importances, Pareto front, PNGs.

"Fewest trainings" measures a tuner (Optuna, Akiba et al. 2019; TPE, Bergstra et
al. 2011; Hyperband, Li et al. 2018) by the trials, in trial-number order, and
the training seconds they took (pruned and failed trials included) until a
completed trial first came within 0.1 percentage point of the study's best
validation accuracy. The PNG plots are in tune_plots.py.
"""

from __future__ import annotations

import warnings
from typing import Any

import optuna

from .console import pct, secs, table
from .tune_storage import TOLERANCE, study_names

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One dict per trial, by number: state, val_acc (a pruned trial's best so far), seconds, parameter count, run."""
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        val = t.values[0] if t.values else t.user_attrs.get("val_acc", max(t.intermediate_values.values(), default=None))
        rows.append(
            {
                "number": t.number,
                "state": STATES.get(t.state.name, t.state.name.lower()),
                "val_acc": val,
                "values": list(t.values or []),
                "train_seconds": t.user_attrs.get("train_seconds"),
                "n_params": t.user_attrs.get("n_params"),
                "epochs_done": t.user_attrs.get("epochs_done"),
                "run": t.user_attrs.get("run"),
                "params": dict(t.params),
                "error": t.user_attrs.get("error"),
            }
        )
    return rows


def reach(rows: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """Trials and training seconds (in trial order) until a completed trial first reached ``target`` val_acc."""
    seconds = 0.0
    for i, r in enumerate(sorted(rows, key=lambda r: r["number"]), 1):
        seconds += r.get("train_seconds") or 0.0
        if r["state"] == "complete" and r["val_acc"] is not None and r["val_acc"] >= target - 1e-12:
            return {"trials": i, "seconds": seconds, "trial": r["number"], "val_acc": r["val_acc"]}
    return None


def fewest_trainings(rows: list[dict[str, Any]], tol: float = TOLERANCE) -> dict[str, Any] | None:
    """How soon the study came within ``tol`` (0.1 pp) of its best validation accuracy; None without completed trials."""
    done = [r["val_acc"] for r in rows if r["state"] == "complete" and r["val_acc"] is not None]
    if not done:
        return None
    best = max(done)
    hit = reach(rows, best - tol) or {}  # the best trial itself always reaches it
    total = sum(r.get("train_seconds") or 0.0 for r in rows)
    return {**hit, "best": best, "threshold": best - tol, "of_trials": len(rows), "total_seconds": total}


def importances(study: optuna.Study) -> dict[str, float]:
    """Importances of the parameters for val_acc: fANOVA (needs scikit-learn), else PED-ANOVA (Watanabe et al. 2023).

    Empty below 2 completed trials or when undefined (e.g. every parameter conditional).
    """
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < 2:
        return {}
    for make in (lambda: optuna.importance.FanovaImportanceEvaluator(seed=0), optuna.importance.PedAnovaImportanceEvaluator):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imp = optuna.importance.get_param_importances(study, evaluator=make(), target=lambda t: t.values[0])
            return {k: float(v) for k, v in imp.items()}
        except ImportError:
            continue
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
            return {}
    return {}


def pareto(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The Pareto-optimal trials of a multi-objective study, best val_acc first (empty for one objective)."""
    if len(study.directions) == 1:
        return []
    return sorted(study.best_trials, key=lambda t: (-t.values[0], t.number))


def study_report(study: optuna.Study) -> dict[str, Any]:
    """Everything ``digitlab study NAME`` shows, as plain data."""
    rows = trial_rows(study)
    objectives = study.user_attrs.get("space", {}).get("objectives", ["val_acc"])
    done = [r for r in rows if r["state"] == "complete"]
    best = max(done, key=lambda r: (r["val_acc"], -r["number"])) if done else None
    return {
        "name": study.study_name,
        "objectives": objectives,
        "trials": rows,
        "best": best,
        "counts": {s: sum(r["state"] == s for r in rows) for s in STATES.values()},
        "fewest": fewest_trainings(rows),
        "importances": importances(study),
        "pareto": [{"number": t.number, "values": list(t.values), "params": dict(t.params)} for t in pareto(study)],
    }


def study_list(storage: optuna.storages.BaseStorage) -> list[dict[str, Any]]:
    """One summary per study in ``storage``: trials by state, best val_acc and its trial, objectives."""
    out = []
    for name in study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        rows = trial_rows(study)
        done = [r for r in rows if r["state"] == "complete"]
        best = max(done, key=lambda r: r["val_acc"]) if done else None
        started = min((t.datetime_start for t in study.get_trials(deepcopy=False) if t.datetime_start), default=None)
        out.append(
            {
                "name": name,
                "objectives": ",".join(study.user_attrs.get("space", {}).get("objectives", ["?"])),
                "trials": len(rows),
                **{s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "failed", "running")},
                "best_val_acc": best["val_acc"] if best else None,
                "best_trial": best["number"] if best else None,
                "started": started.strftime("%Y-%m-%d %H:%M") if started else "",
            }
        )
    return out


# ---------------------------------------------------------------- terminal
def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def trial_line(study: optuna.Study, t: optuna.trial.FrozenTrial) -> str:
    """One line per finished trial (an Optuna callback prints it)."""
    state = STATES.get(t.state.name, t.state.name.lower())
    val = t.values[0] if t.values else t.user_attrs.get("val_acc")
    params = " ".join(f"{k}={_short(v)}" for k, v in t.params.items())
    text = f"trial {t.number} {state}: val acc {pct(val) or '-'}, {secs(t.user_attrs.get('train_seconds')) or '-'} training | {params}"
    if state == "failed":
        text += f" | {t.user_attrs.get('error', 'stopped')}"
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if done:
        best = max(done, key=lambda x: x.values[0])
        text += f" | best {pct(best.values[0])} (trial {best.number})"
    return text


def render_list(items: list[dict[str, Any]], where: str) -> Any:
    cols = ["name", "objectives", "trials", "complete", "pruned", "failed", "running", "best val acc", "best trial", "started"]
    rows = [
        [
            s["name"],
            s["objectives"],
            s["trials"],
            s["complete"],
            s["pruned"],
            s["failed"],
            s["running"],
            pct(s["best_val_acc"]),
            s["best_trial"],
            s["started"],
        ]
        for s in items
    ]
    return table(f"Studies in {where} ({len(items)})", cols, rows)


def render_report(rep: dict[str, Any], trials: bool = True) -> list[Any]:
    """Rich tables and lines for ``digitlab study NAME`` (``trials=False``: the summary only, as after ``tune``)."""
    out: list[Any] = []
    names = sorted({k for r in rep["trials"] for k in r["params"]})
    extra = [o for o in rep["objectives"] if o != "val_acc"]
    if trials:
        cols = ["trial", "state", "val acc", "training", "weights", "run", *extra, *names]
        rows = [
            [
                r["number"],
                r["state"],
                pct(r["val_acc"]),
                secs(r["train_seconds"]),
                f"{r['n_params']:,}" if r["n_params"] else "",
                r["run"] or "",
                *[_short(v) for v in r["values"][1:]],
                *[_short(r["params"].get(n, "")) for n in names],
            ]
            for r in rep["trials"]
        ]
        out.append(table(f"Study {rep['name']}: trials ({', '.join(f'{v} {k}' for k, v in rep['counts'].items() if v)})", cols, rows))
    b = rep["best"]
    if b is None:
        return out + ["No completed trial yet."]
    out.append(f"Best: trial {b['number']}, val acc {pct(b['val_acc'])}, run {b['run']}")
    out.append(table("Best params", ["parameter", "value"], [[k, _short(v)] for k, v in b["params"].items()]))
    f = rep["fewest"]
    out.append(
        f"Fewest trainings: {f['trials']} of {f['of_trials']} trials and {secs(f['seconds'])} of {secs(f['total_seconds'])} "
        f"training to come within 0.1 pp of the best val acc {pct(f['best'])} (trial {f['trial']}: {pct(f['val_acc'])})."
    )
    if rep["importances"]:
        out.append(table("Importances", ["parameter", "importance for val acc"], [[k, f"{v:.3f}"] for k, v in rep["importances"].items()]))
    if rep["pareto"]:
        out.append(
            table(
                f"Pareto front ({', '.join(rep['objectives'])})",
                ["trial", *rep["objectives"], *names],
                [
                    [
                        p["number"],
                        pct(p["values"][0]),
                        *[_short(v) for v in p["values"][1:]],
                        *[_short(p["params"].get(n, "")) for n in names],
                    ]
                    for p in rep["pareto"]
                ],
            )
        )
    return out


# ---------------------------------------------------------------- plots
