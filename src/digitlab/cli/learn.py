"""The learner's experiments: ``ablate`` (one-factor experiments with a verdict), ``experiments``, ``lr-find``."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

from ..console import console, err_console, pct, secs, table
from .base import Ctx, app, load_cli_config, raise_interrupt


@app.command(context_settings={"allow_extra_args": True})
def ablate(
    items: list[str] = typer.Argument(
        None, help="KEY=V1,V2,... factors (their product is the grid), KEY=VALUE fixed overrides, and lr=scaled (lr follows batch_size)."
    ),
    config: str | None = typer.Option(None, "--config", "-c", help="Base config: a YAML file or a shipped preset (default, fast, ...)."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per cell (3 or more give a 95 % interval)."),
    first_seed: int = typer.Option(0, "--first-seed", help="The first seed (a re-run with fresh seeds: e.g. --first-seed 100)."),
    experiment: str | None = typer.Option(
        None, "--experiment", "-e", help="Name: a new experiment, or one to continue (default ablate-N)."
    ),
    storage: str | None = typer.Option(
        None, "--storage", help="Optuna storage URL (default sqlite:///<runs>/optuna.db; postgresql://... for several workers)."
    ),
    max_runs: int | None = typer.Option(None, "--max-runs", help="Train at most this many cells in this process, then report."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write <runs>/experiments/<name>/ablation.png."),
) -> None:
    """One-factor experiment: every value x every seed as recorded runs, mean ± spread, a plot and a verdict (validation)."""
    from .. import ablate as A
    from ..tune import mark_lost, quiet_runs
    from ..tune_storage import default_storage, open_storage, shown_url

    signal.signal(signal.SIGTERM, raise_interrupt)
    store = Ctx.store()
    url = storage or default_storage(Ctx.runs_dir)
    grid = A.parse_grid(items, config, seeds, first_seed) if items else None
    study, grid = A.open_experiment(experiment, grid, open_storage(url, 30, mark_lost(store)), store)
    total = len(grid.pairs())
    console.print(
        f"experiment {study.study_name} in {shown_url(url)}: {len(grid.cells)} cell(s) x {len(grid.seeds)} seed(s) = {total} runs"
    )
    objective = A.CellRun(grid, store, Ctx.runs_dir, Ctx.data_dir)
    try:
        with quiet_runs(Ctx.debug):
            A.run_experiment(study, grid, objective, max_runs, lambda s, t: console.print(_trial_line(grid, t, total)))
    except KeyboardInterrupt:
        flag = f" --storage {storage}" if storage else ""
        err_console.print(f"[yellow]Interrupted;[/] continue with: digitlab ablate --experiment {study.study_name}{flag}")
        raise typer.Exit(130) from None
    _report(study, grid, plots)


def _trial_line(grid: Any, t: Any, total: int) -> str:
    from ..ablate import cell_label

    cell, seed = t.params.get("cell"), t.params.get("seed")
    where = f"{cell_label(grid.cells[cell])} seed {seed}" if cell is not None else "?"
    if t.state.name != "COMPLETE":
        return f"[{t.number + 1}/{total}] {where}: {t.state.name.lower()} {t.user_attrs.get('error', '')}"
    secs_ = t.user_attrs.get("train_seconds")
    return f"[{t.number + 1}/{total}] {where}: val {pct(t.value)}, test {pct(t.user_attrs.get('test_acc'))}, {secs(secs_)}"


def _report(study: Any, grid: Any, plots: bool) -> None:
    """Per value: mean ± sd of validation and test; per factor: the verdicts; the plot."""
    from .. import ablate_report as R
    from ..ablate import value_text

    done = R.outcomes(study)
    rows = []
    for key, values in R.per_value(grid, done).items():
        for v, val, test in values:
            shown = f"{pct(test.mean)} ± {100 * test.sd:.2f}" if test else ""
            rows.append([f"{key}={value_text(v)}", val.n, f"{pct(val.mean)} ± {100 * val.sd:.2f}", shown])
    console.print(
        table(
            f"{study.study_name}: {len(done)} of {len(grid.pairs())} runs done",
            ["value", "runs", "val acc (mean ± sd)", "test acc (shown apart)"],
            rows,
        )
    )
    if grid.lr_scaled:
        console.print(
            f"lr scaled with batch size (linear rule, Goyal et al. 2017): lr = {grid.base['lr']:g} x batch_size / {grid.base['batch_size']}"
        )
    for e in R.effects(grid, done):
        aside = f" (test: {e.test_diff_pp:+.2f} pp, not used)" if e.test_diff_pp is not None else ""
        console.print(f"[bold]verdict:[/] {R.verdict(e)}{aside}")
    if plots and done:
        from ..learn_plots import plot_ablation

        console.print(f"plot: {plot_ablation(grid, done, Ctx.runs_dir / 'experiments' / study.study_name / 'ablation.png')}")


@app.command()
def experiments(
    storage: str | None = typer.Option(None, "--storage", help="Optuna storage URL (default sqlite:///<runs>/optuna.db)."),
) -> None:
    """Table of the ablation experiments: factors, runs done."""
    from .. import ablate as A
    from ..ablate_report import outcomes
    from ..tune_storage import default_storage, open_storage, shown_url

    url = storage or default_storage(Ctx.runs_dir)
    st = open_storage(url, None)
    rows = []
    for name in A.experiment_names(st):
        study, grid = A.open_experiment(name, None, st, Ctx.store())
        factors = " ".join(f"{f.key}={','.join(A.value_text(v) for v in f.values)}" for f in grid.factors)
        rows.append(
            [name, factors + (" lr=scaled" if grid.lr_scaled else ""), len(grid.seeds), f"{len(outcomes(study))}/{len(grid.pairs())}"]
        )
    console.print(table(f"experiments in {shown_url(url)}", ["experiment", "factors", "seeds", "runs done"], rows))


@app.command("lr-find", context_settings={"allow_extra_args": True})
def lr_find_cmd(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. model=cnn batch_size=800"),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML config file, or a shipped preset by name."),
    steps: int = typer.Option(200, "--steps", help="Training steps (one learning rate each)."),
    lr_min: float = typer.Option(1e-6, "--lr-min", help="First learning rate."),
    lr_max: float = typer.Option(1.0, "--lr-max", help="Last learning rate."),
    out: Path | None = typer.Option(None, "--out", help="Curve PNG (default <runs>/lr-find/<model>-<batch>.png, never overwritten)."),
) -> None:
    """Learning-rate range test (Smith 2017): loss against an exponentially rising lr, and a suggested lr with its rule."""
    from ..data import data_for
    from ..learn_plots import plot_lr_find
    from ..lr_find import lr_find

    cfg = load_cli_config(config, overrides or [])
    res = lr_find(cfg, data_for(cfg.model_dump(), Ctx.data_dir), steps, lr_min, lr_max)
    path = out or _fresh(Ctx.runs_dir / "lr-find" / f"{cfg.model}-b{cfg.batch_size}.png")
    console.print(f"{len(res.lrs)} steps of {cfg.model}, batch {cfg.batch_size}, {cfg.optimizer}, {secs(res.seconds)}")
    console.print(f"lowest smoothed loss {min(res.smoothed):.3f} at lr {res.lr_at_min:.3g}; steepest descent at lr {res.steepest:.3g}")
    console.print(f"[bold]suggested lr {res.suggestion:.3g}[/] ({res.rule}); try: digitlab train lr={res.suggestion:.2g}")
    console.print(f"curve: {plot_lr_find(res, path)}")


def _fresh(path: Path) -> Path:
    """``path``, or ``name-2.png``, ``name-3.png``, ... when it exists: an earlier curve is never overwritten."""
    from ..fsio import numbered

    return next(p for n in numbered(path.stem, path.suffix) if not (p := path.with_name(n)).exists())
