"""Tuning commands: ``tune``, ``studies``, ``study`` (the logic lives in tune.py, tune_report.py and tune_plots.py)."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from ..console import TrainProgress, console, err_console, pct
from .base import Ctx, app, raise_interrupt


@app.command(context_settings={"allow_extra_args": True})
def tune(
    overrides: list[str] = typer.Argument(None, help="key=value overrides of the space's base, e.g. threads=1 epochs=2"),
    space: str | None = typer.Option(
        None, "--space", "-s", help="Search-space YAML, or a shipped one by name (cnn, fast); leave out to continue --study as it was."
    ),
    study: str | None = typer.Option(
        None, "--study", help="Study name: a new one, or an existing one to continue or join (default <space>-N)."
    ),
    trials: int | None = typer.Option(None, "--trials", "-n", help="Trials this process runs (default 20 unless a budget is given)."),
    budget: str | None = typer.Option(
        None, "--budget", help="Wall-clock time for this process's trials, e.g. 2m, 30m, 2h: no trial starts after it (then the final run)."
    ),
    train_budget: str | None = typer.Option(
        None, "--train-budget", help="Stop once the study's trials have trained this long in all (training seconds only), e.g. 20m."
    ),
    objectives: str | None = typer.Option(
        None, "--objectives", help="val_acc (default), or val_acc,train_seconds / val_acc,params for a Pareto front."
    ),
    sampler: str | None = typer.Option(
        None, "--sampler", help="tpe (default), random, cmaes or nsga2 (the default for several objectives)."
    ),
    pruner: str = typer.Option("median", "--pruner", help="median, hyperband or none; on each epoch's val acc (one objective only)."),
    seed: int = typer.Option(0, "--seed", help="Sampler seed; give workers that start together different seeds."),
    storage: str | None = typer.Option(
        None, "--storage", help="Optuna storage URL (default sqlite:///<runs>/optuna.db, one machine; postgresql://... for several)."
    ),
    heartbeat: int = typer.Option(
        30, "--heartbeat", help="Seconds between a trial's heartbeats; a trial silent twice as long is failed by the next worker."
    ),
    final: bool = typer.Option(True, "--final/--no-final", help="Retrain the chosen config once at the end and report its test accuracy."),
    pick: int | None = typer.Option(None, "--pick", help="Trial to retrain and export instead of the best (e.g. another Pareto point)."),
    export: Path | None = typer.Option(
        None, "--export", help="Write the chosen config as a normal config file (with only --study: export and stop)."
    ),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write the study's plots to <runs>/studies/<name>/ at the end."),
) -> None:
    """Tune hyper-parameters: an Optuna study whose trials are recorded runs; resumable and shareable between machines."""
    from .. import tune as T
    from ..steps import after_steps
    from ..tune_plots import write_plots
    from ..tune_report import render_report, study_report, trial_line

    signal.signal(signal.SIGTERM, raise_interrupt)  # SIGTERM stops like Ctrl-C
    store = Ctx.store()
    url = storage or T.default_storage(Ctx.runs_dir)
    st_storage = T.open_storage(url, heartbeat, T.mark_lost(store))
    if export is not None and space is None and trials is None and budget is None and train_budget is None:
        if study is None:
            from ..errors import ConfigError

            raise ConfigError("--export needs --study NAME (or a --space to tune first).")
        console.print(f"exported: {T.export_config(T.load_study(study, st_storage), export, pick)}")
        return
    sp = T.load_space(space, overrides or [], objectives) if space else None
    st, sp = T.open_study(
        study, sp, st_storage, store, sampler, pruner, seed, overrides or [], objectives, Path(space).stem if space else "study"
    )
    prune = pruner if len(sp.objectives) == 1 else "none (Optuna prunes one objective only)"
    console.print(
        f"study {st.study_name} in {T.shown_url(url)}: {len(st.trials)} trial(s) so far; objectives {', '.join(sp.objectives)}; "
        f"sampler {type(st.sampler).__name__}, pruner {prune}"
    )
    try:
        with T.quiet_runs(Ctx.debug):
            T.optimize(
                st,
                sp,
                store,
                Ctx.runs_dir,
                trials=trials if trials or budget or train_budget else 20,
                timeout=T.parse_duration(budget),
                train_budget=T.parse_duration(train_budget),
                data_dir=Ctx.data_dir,
                callbacks=[lambda s, t: console.print(trial_line(s, t))],
            )
    except KeyboardInterrupt:
        flag = f" --storage {storage}" if storage else ""
        err_console.print(
            f"[yellow]Interrupted;[/] the running trial is marked failed. Continue with: digitlab tune --study {st.study_name}{flag}"
        )
        raise typer.Exit(130) from None
    for part in render_report(study_report(st), trials=False):
        console.print(part)
    if plots:
        console.print(f"plots: {', '.join(str(p) for p in write_plots(st, Ctx.runs_dir / 'studies' / st.study_name)) or 'none yet'}")
    if final:
        with TrainProgress(T.chosen_trial(st, pick).user_attrs["config"]["epochs"]) as bar:
            name, _ = T.final_run(
                st, store, Ctx.runs_dir, pick=pick, data_dir=Ctx.data_dir, progress=bar, hooks=[bar.on_epoch], after=after_steps(plots)
            )
        rec = store.get_run(name)
        console.print(f"final run {name}: val acc {pct(rec.best_val_acc)}, test acc {pct(rec.test_acc)} (test never used to choose)")
    if export is not None:
        console.print(f"exported: {T.export_config(st, export, pick)}")


@app.command()
def studies(
    storage: str | None = typer.Option(None, "--storage", help="Optuna storage URL (default sqlite:///<runs>/optuna.db)."),
) -> None:
    """Table of the tuning studies: trials by state, best validation accuracy."""
    from .. import tune as T
    from ..tune_report import render_list, study_list

    url = storage or T.default_storage(Ctx.runs_dir)
    console.print(render_list(study_list(T.open_storage(url, None)), T.shown_url(url)))


@app.command("study")
def study_cmd(
    name: str = typer.Argument(..., help="Study name."),
    storage: str | None = typer.Option(None, "--storage", help="Optuna storage URL (default sqlite:///<runs>/optuna.db)."),
    plots: bool = typer.Option(
        False, "--plots", help="Write history, importance, parallel-coordinates and Pareto PNGs to <runs>/studies/<name>/."
    ),
) -> None:
    """One study: trials, best params, trials and time to come within 0.1 pp of the best, importances, Pareto front."""
    from .. import tune as T
    from ..tune_plots import write_plots
    from ..tune_report import render_report, study_report

    st = T.load_study(name, T.open_storage(storage or T.default_storage(Ctx.runs_dir), None))
    for part in render_report(study_report(st)):
        console.print(part)
    if plots:
        console.print(f"plots: {', '.join(str(p) for p in write_plots(st, Ctx.runs_dir / 'studies' / name)) or 'none yet'}")
