"""``digitlab ensemble``: combine recorded runs into one model, chosen on validation, recorded as a run."""

from __future__ import annotations

from typing import Any

import typer

from ..console import console, pct, secs, table
from .base import Ctx, app

ensemble_app = typer.Typer(no_args_is_help=True, help="Ensembles of runs: create one on validation, show what each member adds.")
app.add_typer(ensemble_app, name="ensemble")


@ensemble_app.command("create", context_settings={"allow_extra_args": True})
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the new ensemble (a run name: letters, digits, '.', '_', '-')."),
    members: list[str] = typer.Option(..., "--members", "-m", help="Runs, promoted models or checkpoint files: --members a b c."),
    method: str = typer.Option(
        "mean",
        "--method",
        help="mean | vote | weights (fit on validation) | greedy (Caruana et al. 2004) | auto (best held out on validation).",
    ),
    tta: str = typer.Option("auto", "--tta", help="auto: small shifts and rotations, kept only if they win on validation; off."),
) -> None:
    """Combine runs into one model; every choice is made on their shared validation split, the test split is only reported."""
    from ..ensemble import create_ensemble

    rec = create_ensemble(
        name, [*members, *ctx.args], method, tta, store=Ctx.store(), runs_dir=Ctx.runs_dir, models_dir=Ctx.models_dir, data_dir=Ctx.data_dir
    )
    _show(rec)


@ensemble_app.command("build")
def build(
    name: str = typer.Argument(..., help="Name of the ensemble; its members are the runs NAME-m1, NAME-m2, ..."),
    budget: str = typer.Option("30m", "--budget", help="Wall-clock time for training the pool, e.g. 30m or 1h (a stopped build resumes)."),
    pool: str = typer.Option("pool", "--pool", help="The pool's recipes: a shipped pool (presets/ensemble/) or a YAML file."),
    method: str = typer.Option("auto", "--method", help="How the ensemble is chosen from the pool on validation (see create)."),
    tta: str = typer.Option("auto", "--tta", help="auto: test-time shifts and rotations if they win on validation; off."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first member (each next member: +1); another seed, another build."),
    threads: int = typer.Option(2, "--threads", min=1, max=256, help="CPU threads per member's training."),
) -> None:
    """Train a diverse pool within a time budget, then choose the ensemble from it on validation."""
    from ..ensemble import create_ensemble
    from ..ensemble_build import PoolScore, build_pool, read_pool
    from ..tune import parse_duration

    budget_s = parse_duration(budget) or 0.0  # a bad duration is refused there, in one sentence
    score = PoolScore(Ctx.store(), Ctx.models_dir, Ctx.data_dir)

    def said(p: Any) -> None:
        pool_acc = score.add(p.last)
        console.print(
            f"member {p.members}: {p.last} (val {pct(p.last_val_acc)}); pool mean val {pct(pool_acc)};"
            f" {secs(p.spent_s)} spent, {secs(p.left_s)} left"
        )

    members = build_pool(name, budget_s, store=Ctx.store(), runs_dir=Ctx.runs_dir, pool=read_pool(pool), seed=seed, threads=threads,
                         data_dir=Ctx.data_dir, on_member=said)  # fmt: skip
    console.print(f"pool: {len(members)} members; choosing the ensemble on validation ({method})")
    rec = create_ensemble(
        name,
        [m.name for m in members],
        method,
        tta,
        store=Ctx.store(),
        runs_dir=Ctx.runs_dir,
        models_dir=Ctx.models_dir,
        data_dir=Ctx.data_dir,
    )
    _show(rec)


@ensemble_app.command("show")
def show(name: str = typer.Argument(..., help="Ensemble (run) name.")) -> None:
    """Members, weights, validation and test accuracy, and what each member adds."""
    from ..errors import RunError

    rec = Ctx.store().get_run(name)
    if rec.model != "ensemble" or "ensemble" not in rec.extra:
        raise RunError(f"Run {name!r} is a {rec.model} run, not an ensemble; `digitlab runs --model ensemble` lists the ensembles.")
    _show(rec)


def _show(rec: Any) -> None:
    e = rec.extra["ensemble"]
    rows = [
        [m["run"], m["model"], f"{m['weight']:.3f}", pct(m["val_acc"]), _adds(rec.best_val_acc, m["val_acc_without"])] for m in e["members"]
    ]
    tta = "on (won on validation)" if e["tta"] else "off"
    title = (
        f"Ensemble {rec.name}: {e['method']}, test-time views {tta}; validation {pct(rec.best_val_acc)}, test {pct(rec.test_acc)}"
        f" ({secs(rec.train_seconds)})"
    )
    console.print(table(title, ["member", "model", "weight", "val acc alone", "adds (val acc without it)"], rows))
    if e.get("held_out"):
        held = ", ".join(f"{m} {pct(a)}" for m, a in e["held_out"].items())
        console.print(f"method chosen by accuracy held out on validation (fit on one half, scored on the other): {held}")
    views = e["tta_val_acc"]
    if views.get("on") is not None:
        console.print(f"test-time views on validation: {pct(views['off'])} without, {pct(views['on'])} with")
    per_class = e.get("test_per_class_acc") or []
    console.print("test accuracy per class: " + ", ".join(f"{c} {pct(a)}" for c, a in enumerate(per_class)))
    console.print(f"weights: {rec.folder.best}")


def _adds(acc: float | None, without: float | None) -> str:
    """How much the ensemble's validation accuracy drops without the member ('-' when unused or alone)."""
    if without is None or acc is None:
        return "-"
    return f"{100 * (acc - without):+.2f} pp ({pct(without)})"
