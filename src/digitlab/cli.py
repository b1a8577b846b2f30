"""The ``digitlab`` command line: a thin Typer layer over the lab's functions.

Every DigitlabError becomes one red sentence and exit code 2 (``--debug`` shows
the traceback); Ctrl-C exits 130.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click
import typer
from rich.markup import escape

from .console import TrainProgress, console, err_console, pct, secs, setup_logging, table
from .errors import DigitlabError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="digitlab: train, record, compare, tune and ship handwritten-digit recognisers.",
)


class Ctx:
    """Options shared by all commands."""

    debug = False
    runs_dir = Path("runs")
    db: str | None = None
    data_dir: str | None = None
    models_dir = Path("models")

    @classmethod
    def store(cls) -> Any:
        from .store import RunStore

        return RunStore(cls.db, runs_dir=cls.runs_dir)


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug log lines."),
    runs_dir: Path = typer.Option(Path(os.environ.get("DIGITLAB_RUNS", "runs")), "--runs-dir", help="Folder of run folders."),
    db: str | None = typer.Option(None, "--db", help="Run database URL (default $DIGITLAB_DB or sqlite in the runs folder)."),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="Folder with the data files (default $DIGITLAB_DATA, then data/, then the cache)."
    ),
    models_dir: Path = typer.Option(Path(os.environ.get("DIGITLAB_MODELS", "models")), "--models-dir", help="Folder of promoted models."),
) -> None:
    Ctx.debug, Ctx.runs_dir, Ctx.db, Ctx.data_dir, Ctx.models_dir = debug, runs_dir, db, data_dir, models_dir
    setup_logging(debug)


@app.command()
def params(markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown table of docs/params.md.")) -> None:
    """List every parameter: name, type, default, allowed range, unit, meaning."""
    from .config import param_rows, params_markdown

    if markdown:
        sys.stdout.write(params_markdown())
        return
    cols = ["name", "type", "default", "range", "unit", "tunable", "meaning"]
    console.print(table("Parameters (set in a YAML config or as key=value)", cols, [[r[c] for c in cols] for r in param_rows()]))


def _config(config: str | None, overrides: list[str]) -> Any:
    from .config import load_config
    from .models.registry import check_model_args

    cfg = load_config(config, overrides)
    check_model_args(cfg.model, cfg.model_kwargs)
    for w in cfg.warnings():
        err_console.print(f"[yellow]warning:[/] {w}")
    return cfg


@app.command(context_settings={"allow_extra_args": True})
def train(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. epochs=1 lr=0.01"),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML config file, or a shipped preset by name: default, fast, ..."),
    resume: str | None = typer.Option(None, "--resume", help="Continue the interrupted run of this name."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Skip the plots at the end."),
) -> None:
    """Train a model as a recorded run (folder, log, database rows, best.pt/last.pt, plots)."""
    from .runs import resume_training, run_training

    signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM saves like Ctrl-C
    store = Ctx.store()
    if resume:
        rec = store.get_run(resume)
        with TrainProgress(json.loads(rec["config"])["epochs"], rec["epochs_done"] or 0) as bar:
            name, result = resume_training(
                resume, runs_dir=Ctx.runs_dir, store=store, data_dir=Ctx.data_dir, progress=bar, plots=not no_plots
            )
    else:
        cfg = _config(config, overrides or [])
        with TrainProgress(cfg.epochs) as bar:
            name, result = run_training(
                cfg, runs_dir=Ctx.runs_dir, store=store, data_dir=Ctx.data_dir, progress=bar, hooks=[bar.on_epoch], plots=not no_plots
            )
    _print_summary(store.get_run(name))
    if result.status == "interrupted":
        err_console.print(f"[yellow]Interrupted.[/] Continue with: digitlab train --resume {name}")
        raise typer.Exit(130)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _print_summary(rec: dict[str, Any]) -> None:
    folder = Path(rec["run_dir"])
    rows = [
        ["run", rec["name"]],
        ["status", rec["status"]],
        ["model", rec["model"]],
        ["epochs", rec["epochs_done"]],
        ["best val acc", f"{pct(rec['best_val_acc'])} (epoch {rec['best_epoch']})"],
        ["test acc at best", pct(rec["test_acc"])],
        ["training time", secs(rec["train_seconds"])],
        ["evaluation time", secs(rec["eval_seconds"])],
        ["folder", str(folder)],
        ["weights", f"{folder / 'weights' / 'best.pt'}, last.pt"],
    ]
    console.print(table("Run summary", ["", ""], rows))


@app.command(context_settings={"allow_extra_args": True})
def summary(
    overrides: list[str] = typer.Argument(None, help="key=value, e.g. model=cnn model_kwargs.width=64"),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML config file, or a shipped preset by name: default, fast, ..."),
) -> None:
    """Layer-by-layer output shapes and parameter counts of a model."""
    from .models import count_params, create_model, get_spec
    from .models.summary import count_flops, summarize

    cfg = _config(config, overrides or [])
    spec = get_spec(cfg.model)
    model = create_model(cfg.model, **cfg.model_kwargs)
    rows = [[r.name, r.type, "[N," + ",".join(map(str, r.output_shape[1:])) + "]", f"{r.params:,}"] for r in summarize(model)]
    console.print(table(f"{cfg.model}: {spec.summary}", ["layer", "type", "output shape", "params"], rows))
    console.print(f"parameters: {count_params(model):,}   MACs per image: {count_flops(model) / 1e6:.2f} M   paper: {spec.paper}")
    console.print(f"arguments: {json.dumps({**spec.kwargs, **cfg.model_kwargs})}")


@app.command()
def runs(
    generation: int | None = typer.Option(None, "--generation", "-g", help="Only runs of this generation."),
    model: str | None = typer.Option(None, "--model", help="Only runs of this model."),
    status: str | None = typer.Option(None, "--status", help="Only runs with this status."),
) -> None:
    """Table of all recorded runs."""
    recs = Ctx.store().list_runs(generation, model, status)
    rows = []
    for r in recs:
        c = json.loads(r["config"])
        key = f"{c['optimizer']} lr={c['lr']} bs={c['batch_size']} ep={c['epochs']}"
        rows.append(
            [r["name"], r["model"], key, r["generation"], pct(r["best_val_acc"]), pct(r["test_acc"]), secs(r["train_seconds"]), r["status"]]
        )
    console.print(table(f"Runs ({len(recs)})", ["name", "model", "key params", "gen", "best val", "test", "train time", "status"], rows))


@app.command()
def show(run: str = typer.Argument(..., help="Run name.")) -> None:
    """One run: config, per-epoch metrics, time and files."""
    store = Ctx.store()
    rec = store.get_run(run)
    _print_summary(rec)
    cfg = json.loads(rec["config"])
    console.print(table("Config", ["parameter", "value"], [[k, json.dumps(v)] for k, v in cfg.items()]))
    cols = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "train_seconds", "eval_seconds"]
    rows = [[_fmt(e[c], c) for c in cols] for e in store.epochs(rec["id"])]
    console.print(table("Epochs", cols, rows))
    folder = Path(rec["run_dir"])
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    console.print(table("Files in " + str(folder), ["file"], [[f] for f in files]))
    if rec["message"]:
        console.print(f"[red]message:[/] {rec['message']}")
    extra = json.loads(rec["extra"] or "{}")
    ood = extra.pop("ood", None)
    if ood:  # written by `digitlab ood-eval RUN`; the full results are in the run folder's ood.json
        rows = [[name, pct(m["auroc"]), pct(m["fpr95"])] for name, m in ood.items() if isinstance(m, dict)]
        console.print(
            table(
                f"Saying 'not a digit' (combined detector): accuracy on accepted {pct(ood['accepted_acc'])}, "
                f"wrongly rejected {pct(ood['wrongly_rejected'])}",
                ["outlier set", "AUROC", "FPR@95"],
                rows,
            )
        )
    if extra:
        console.print(f"extra: {json.dumps(extra)}")


def _fmt(v: Any, col: str) -> str:
    if v is None:
        return ""
    if col.endswith("_acc"):
        return pct(v)
    if col.endswith("seconds"):
        return secs(v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


@app.command()
def compare(
    names: list[str] = typer.Argument(..., help="Two or more run names."),
    out: Path | None = typer.Option(None, "--out", "-o", help="PNG to write (default runs/compare-<names>.png)."),
) -> None:
    """Side-by-side table of runs and one PNG overlaying their curves."""
    from .plots import plot_curves

    store = Ctx.store()
    recs = [store.get_run(n) for n in names]
    fields = ["model", "status", "epochs_done", "best_val_acc", "test_acc", "train_seconds", "best_epoch", "generation"]
    cfgs = [json.loads(r["config"]) for r in recs]
    differing = [k for k in cfgs[0] if k != "name" and len({json.dumps(c.get(k)) for c in cfgs}) > 1]
    rows = [[f, *[_fmt(r[f], f) for r in recs]] for f in fields] + [[k, *[json.dumps(c.get(k)) for c in cfgs]] for k in differing]
    console.print(table("Comparison", ["", *names], rows))
    out = out or Ctx.runs_dir / f"compare-{'-vs-'.join(names)[:120]}.png"
    plot_curves({r["name"]: store.epochs(r["id"]) for r in recs}, out)
    console.print(f"curves: {out}")


@app.command()
def zoo(
    quick: bool = typer.Option(
        False, "--quick", help="One epoch on 2,000 images per model (CI smoke test); table to <runs-dir>/zoo-quick.md."
    ),
    models: str | None = typer.Option(None, "--models", help="Comma-separated model names (default: every registered model)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Markdown table to write, PNG beside it (default docs/model-zoo.md; quick: <runs-dir>/zoo-quick.md)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads for torch in every run, overriding the recipes (0 = all cores)."
    ),
) -> None:
    """Train every registered model with its recipe (the shipped presets/zoo/) and write the comparison table and plot."""
    from .zoo import COLUMNS, format_row, output_paths, run_zoo, write_zoo_table

    signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM saves like Ctrl-C
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    rows = run_zoo(
        names,
        quick,
        Ctx.runs_dir,
        Ctx.store(),
        Ctx.data_dir,
        progress_factory=lambda cfg: TrainProgress(cfg.epochs),
        overrides=[f"threads={threads}"] if threads is not None else None,
    )
    console.print(table(f"Model zoo ({'quick' if quick else 'full recipes'})", COLUMNS, [format_row(r) for r in rows]))
    if any(r["status"] == "interrupted" for r in rows):  # a partial zoo never replaces the table
        err_console.print("[yellow]Interrupted;[/] the table was not written.")
        raise typer.Exit(130)
    md, png = output_paths(quick, Ctx.runs_dir, out)
    write_zoo_table(rows, md, png, quick)
    console.print(f"table: {md}   plot: {png}")


@app.command("eval")
def eval_cmd(
    ref: str = typer.Argument(..., help="Run name, checkpoint file (.pt/.ckpt) or promoted model name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-evaluate a saved model on the test split: loss, accuracy, per-class accuracy, confusion matrix."""
    from .catalog import evaluate_checkpoint, resolve

    r = evaluate_checkpoint(resolve(ref, Ctx.store(), Ctx.models_dir), Ctx.data_dir)
    if as_json:
        sys.stdout.write(json.dumps(r) + "\n")
        return
    console.print(f"{r['checkpoint']} ({r['model']}): test loss {r['loss']:.4f}, accuracy {pct(r['acc'])} on {r['n']} images")
    console.print(table("Per-class accuracy", ["class", "accuracy"], [[c, pct(a)] for c, a in zip(r["classes"], r["per_class_acc"])]))
    console.print(
        table(
            "Confusion matrix (rows true, columns predicted)",
            ["", *r["classes"]],
            [[c, *row] for c, row in zip(r["classes"], r["confusion"])],
        )
    )


@app.command()
def promote(
    run: str = typer.Argument(..., help="Run name."),
    as_name: str = typer.Option(..., "--as", help="Name of the promoted model, e.g. gen1."),
    new_version: bool = typer.Option(False, "--new-version", help="Add a new version when the name exists."),
) -> None:
    """Store a run's best weights as a named, never-overwritten model under models/."""
    from .catalog import promote as do_promote

    dest = do_promote(Ctx.store(), run, as_name, new_version, Ctx.models_dir)
    console.print(f"promoted {run} -> {dest}")


@app.command("models")
def models_cmd() -> None:
    """Promoted models and their versions."""
    rows = [[p["name"], f"v{p['version']}", p["run"], p["path"], p["created_at"]] for p in Ctx.store().list_promoted()]
    console.print(table("Promoted models", ["name", "version", "run", "path", "created"], rows))


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens the lab to the network (a warning is printed)."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Run name, checkpoint or promoted model for Recognise (default: the shipped model, else the newest completed run).",
    ),
    allow_train: bool = typer.Option(
        False, "--allow-train", help="Beyond localhost, allow training and model changes behind a token printed at start-up."
    ),
    studies: str | None = typer.Option(
        None, "--studies", help="Optuna storage URL of the tuning studies to show (default sqlite:///<runs>/optuna.db)."
    ),
) -> None:
    """Open the lab in a browser: recognise pictures and drawings, compare runs, train and choose models."""
    from .serve.main import make_settings
    from .serve.main import serve as run_server

    run_server(host, port, make_settings(host, model, allow_train, Ctx.runs_dir, Ctx.db, Ctx.models_dir, Ctx.data_dir, studies))


# --- tuning (issue 6): `tune`, `studies`, `study`; the logic lives in tune.py and tune_plots.py
@app.command(context_settings={"allow_extra_args": True})
def tune(
    overrides: list[str] = typer.Argument(None, help="key=value overrides of the space's base, e.g. threads=1 epochs=2"),
    space: str | None = typer.Option(
        None, "--space", "-s", help="Search-space YAML, or a shipped one by name (cnn, fast); leave out to continue --study as it was."
    ),
    study: str | None = typer.Option(
        None, "--study", help="Study name: a new one, or an existing one to continue or join (default <space>-N)."
    ),
    trials: int | None = typer.Option(None, "--trials", "-n", help="Trials this process runs (default 20 unless --timeout or --budget)."),
    timeout: str | None = typer.Option(None, "--timeout", help="Start no trial after this long, e.g. 30m, 2h, 90s."),
    budget: str | None = typer.Option(None, "--budget", help="Stop once the study's trials have trained this long in all, e.g. 20m."),
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
    from . import tune as T
    from .tune_plots import render_report, study_report, trial_line, write_plots

    signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM stops like Ctrl-C
    store = Ctx.store()
    url = storage or T.default_storage(Ctx.runs_dir)
    st_storage = T.open_storage(url, heartbeat, T.mark_lost(store))
    if export is not None and space is None and trials is None and timeout is None and budget is None:
        if study is None:
            from .errors import ConfigError

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
                trials=trials if trials or timeout or budget else 20,
                timeout=T.parse_duration(timeout),
                budget=T.parse_duration(budget),
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
            name, _ = T.final_run(st, store, Ctx.runs_dir, pick=pick, data_dir=Ctx.data_dir, progress=bar, hooks=[bar.on_epoch])
        rec = store.get_run(name)
        console.print(f"final run {name}: val acc {pct(rec['best_val_acc'])}, test acc {pct(rec['test_acc'])} (test never used to choose)")
    if export is not None:
        console.print(f"exported: {T.export_config(st, export, pick)}")


@app.command()
def studies(
    storage: str | None = typer.Option(None, "--storage", help="Optuna storage URL (default sqlite:///<runs>/optuna.db)."),
) -> None:
    """Table of the tuning studies: trials by state, best validation accuracy."""
    from . import tune as T
    from .tune_plots import render_list, study_list

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
    from . import tune as T
    from .tune_plots import render_report, study_report, write_plots

    st = T.load_study(name, T.open_storage(storage or T.default_storage(Ctx.runs_dir), None))
    for part in render_report(study_report(st)):
        console.print(part)
    if plots:
        console.print(f"plots: {', '.join(str(p) for p in write_plots(st, Ctx.runs_dir / 'studies' / name)) or 'none yet'}")


from . import cli_recognize  # noqa: E402,F401  (registers predict and ood-eval on ``app``)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning errors into one sentence and an exit code."""
    try:
        rc = app(args=argv, standalone_mode=False)  # typer.Exit(code) / Ctrl-C come back as a return value here
        return rc if isinstance(rc, int) else 0
    except DigitlabError as err:
        if Ctx.debug:
            err_console.print_exception()
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)  # one line, even in a pipe; '[' in paths is text
        return 2
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        err_console.print("[yellow]interrupted[/]")
        return 130
    except Exception as err:
        if Ctx.debug or "--debug" in (argv or sys.argv):
            err_console.print_exception()
        err_console.print(
            f"[bold red]internal error:[/] {type(err).__name__}: {escape(str(err))} (run with --debug for the traceback)", soft_wrap=True
        )
        return 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # `python -m digitlab.cli`: run the imported module, whose app has every command registered
    from digitlab import cli as _cli

    _cli.run()
