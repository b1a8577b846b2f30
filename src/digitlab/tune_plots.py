"""Study reports and plots: trials table, "fewest trainings", parameter importances, Pareto front, PNGs.

"Fewest trainings" measures a tuner (Optuna, Akiba et al. 2019; TPE, Bergstra et
al. 2011; Hyperband, Li et al. 2018) by the trials, in trial-number order, and
the training seconds they took (pruned and failed trials included) until a
completed trial first came within 0.1 percentage point of the study's best
validation accuracy. Plots go to ``<runs>/studies/<name>/``: optimisation
history, parameter importances, parallel coordinates and, for several
objectives, the Pareto front.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import optuna

from .console import pct, secs, table
from .tune import TOLERANCE, stored_space, study_names

ZOOM_PP = 3.0  # history plots show the best 3 percentage points; lower trials sit on the bottom edge
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
    hit = reach(rows, best - tol)
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
def write_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """History, importances, parallel coordinates and (several objectives) Pareto front as PNGs in ``folder``."""
    rows = trial_rows(study)
    if not any(r["state"] == "complete" for r in rows):
        return []
    paths = [plot_history(rows, folder / "history.png"), plot_parallel(study, rows, folder / "parallel.png")]
    imp = importances(study)
    if imp:
        paths.append(plot_importances(imp, folder / "importance.png"))
    if len(study.directions) > 1:
        paths.append(plot_pareto(study, folder / "pareto.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    from .plots import _save as save  # matplotlib (Agg) only when plotting

    return save(fig, path)


def plot_history(rows: list[dict[str, Any]], path: Path) -> Path:
    """Validation accuracy of each trial and the best so far, against trial number and cumulative training time."""
    from .plots import plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    cum, seconds, best, bests = [], 0.0, -math.inf, []
    for r in rows:
        seconds += r.get("train_seconds") or 0.0
        cum.append(seconds)
        if r["state"] == "complete" and r["val_acc"] is not None:
            best = max(best, r["val_acc"])
        bests.append(100 * best if best > -math.inf else math.nan)
    final = next((b for b in reversed(bests) if b == b), None)  # best val acc (%) of the study; None before a completed trial
    floor, below = _zoom(rows, final)
    for ax, xs, label in ((axes[0], [r["number"] for r in rows], "trial number"), (axes[1], cum, "cumulative training seconds")):
        for state, style in (
            ("complete", dict(color="C0", marker="o")),
            ("pruned", dict(color="0.6", marker="v")),
            ("failed", dict(color="C3", marker="x")),
        ):
            pts = [(x, max(100 * r["val_acc"], floor)) for x, r in zip(xs, rows) if r["state"] == state and r["val_acc"] is not None]
            if pts:
                ax.scatter(*zip(*pts), label=state, s=25, zorder=3, clip_on=False, **style)
        ax.step(xs, bests, where="post", color="C1", label="best so far")
        ax.set(xlabel=label, ylabel="validation accuracy (%)" + (f" ({below} below {floor:.1f} % drawn at the bottom)" if below else ""))
        ax.set_ylim(bottom=floor)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Optimisation history")
    if final is not None:
        axes[1].axhline(final - 100 * TOLERANCE, color="C2", ls="--", lw=0.8)
        axes[1].set_title("Best - 0.1 pp (dashed): 'fewest trainings' threshold")
    return _save(fig, path)


def _zoom(rows: list[dict[str, Any]], final: float | None) -> tuple[float, int]:
    """Lower y limit (%) showing the last ``ZOOM_PP`` points under the best (``final``, %), so one diverged trial
    cannot flatten the rest; and how many trials fall below it."""
    vals = [100 * r["val_acc"] for r in rows if r["val_acc"] is not None]
    if not vals or final is None:
        return 0.0, 0
    floor = max(min(vals), final - ZOOM_PP)
    return floor, sum(v < floor for v in vals)


def plot_importances(imp: dict[str, float], path: Path) -> Path:
    """Horizontal bars of fANOVA importance, most important on top."""
    from .plots import plt

    names = list(imp)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    ax.barh(names, [imp[n] for n in names], color="C0")
    ax.set(xlabel="importance for validation accuracy (fANOVA or PED-ANOVA)", title="Parameter importances")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def plot_parallel(study: optuna.Study, rows: list[dict[str, Any]], path: Path) -> Path:
    """Parallel coordinates: one axis per parameter (scaled to [0, 1], log where searched on a log scale),
    one line per completed trial coloured by validation accuracy."""
    from .plots import plt

    try:
        params = stored_space(study).params
    except Exception:
        params = []
    kinds = {p.name: p for p in params}
    names = [p.name for p in params] or sorted({k for r in rows for k in r["params"]})
    done = [r for r in rows if r["state"] == "complete"]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(names) + 2), 4.5))
    scale = {n: _axis(n, kinds.get(n), [r["params"].get(n) for r in done]) for n in names}
    accs = [r["val_acc"] for r in done]
    lo, hi = min(accs), max(accs)
    cmap = plt.get_cmap("viridis")
    for r in sorted(done, key=lambda r: r["val_acc"]):
        ys = [scale[n][0](r["params"][n]) if n in r["params"] else math.nan for n in names]
        ax.plot(range(len(names)), ys, color=cmap((r["val_acc"] - lo) / (hi - lo) if hi > lo else 1.0), alpha=0.8, lw=1.2)
    for i, n in enumerate(names):
        ax.axvline(i, color="0.3", lw=0.6)
        for y, text in scale[n][1]:
            ax.annotate(text, (i, y), fontsize=7, xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    ax.set(yticks=[], ylim=(-0.05, 1.05), title=f"Parallel coordinates (colour: val acc {100 * lo:.2f}% .. {100 * hi:.2f}%)")
    return _save(fig, path)


def _axis(name: str, p: Any, values: list[Any]) -> tuple[Any, list[tuple[float, str]]]:
    """(value -> [0, 1], [(position, label)]) for one parallel-coordinates axis."""
    if p is not None and p.type == "categorical" or any(isinstance(v, (str, bool)) for v in values if v is not None):
        choices = list(p.choices) if p is not None and p.choices else sorted({v for v in values if v is not None}, key=str)
        pos = {c: i / max(len(choices) - 1, 1) for i, c in enumerate(choices)}
        return (lambda v: pos.get(v, math.nan)), [(pos[c], str(c)) for c in choices]
    nums = [v for v in values if v is not None]
    lo, hi = (p.low, p.high) if p is not None else (min(nums, default=0), max(nums, default=1))
    log = p is not None and p.type == "logfloat"
    f = (lambda v: math.log(v)) if log else (lambda v: float(v))
    span = (f(hi) - f(lo)) or 1.0
    return (lambda v: (f(v) - f(lo)) / span), [(0.0, f"{lo:.3g}"), (1.0, f"{hi:.3g}")]


def plot_pareto(study: optuna.Study, path: Path) -> Path:
    """Validation accuracy against each other objective; Pareto-optimal trials joined in red."""
    from .plots import plt

    objectives = study.user_attrs.get("space", {}).get(
        "objectives", ["val_acc"] + [f"objective {i}" for i in range(1, len(study.directions))]
    )
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    front = {t.number for t in study.best_trials}
    fig, axes = plt.subplots(1, len(objectives) - 1, figsize=(6 * (len(objectives) - 1), 4.5), squeeze=False)
    for j, ax in enumerate(axes[0], 1):
        pts = sorted((t.values[j], 100 * t.values[0], t.number in front) for t in done)
        ax.scatter([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], color="0.6", s=20, label="trials")
        best = [p for p in pts if p[2]]
        ax.plot([p[0] for p in best], [p[1] for p in best], "o-", color="C3", label="Pareto front")
        ax.set(xlabel=objectives[j], ylabel="validation accuracy (%)", title=f"Pareto front: val_acc vs {objectives[j]}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)
