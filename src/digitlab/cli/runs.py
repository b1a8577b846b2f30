"""Commands about training and recorded runs: params, train, distill, summary, runs, show, doctor, compare, eval, promote, models."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from ..console import TrainProgress, console, err_console, pct, secs, table
from ..errors import ConfigError
from ..records import CSV_FIELDS, GEN_CSV_FIELDS
from .base import Ctx, app, fmt, load_cli_config, print_summary, raise_interrupt


@app.command()
def params(
    markdown: bool = typer.Option(
        False, "--markdown", help="Print the Markdown tables of docs/params.md (docs/params.zh.md with --lang zh)."
    ),
    task: str = typer.Option("classify", "--task", help="classify (digitlab train) or generate (digitlab gan train)."),
    lang: str = typer.Option("en", "--lang", help="Language of the meanings, units and headers: en or zh (Simplified Chinese)."),
) -> None:
    """List every parameter: name, type, default, allowed range, unit, meaning."""
    from ..config import GenConfig, TrainConfig
    from ..config_docs import DOC_WORDS, PARAM_COLUMNS, check_lang, param_rows, params_markdown
    from ..records import TASKS

    check_lang(lang)
    if markdown:
        sys.stdout.write(params_markdown(lang))
        return
    if task not in TASKS:
        raise ConfigError(f"--task {task!r} is not a task; use {' or '.join(TASKS)}.")
    rows = param_rows(GenConfig if task == "generate" else TrainConfig, lang)
    words = DOC_WORDS[lang]
    title = words.table_title.format(what="digitlab gan train" if task == "generate" else "digitlab train")
    console.print(table(title, list(words.headers), [[r[c] for c in PARAM_COLUMNS] for r in rows]))


@app.command(context_settings={"allow_extra_args": True})
def train(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. epochs=1 lr=0.01"),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML config file, or a shipped preset by name: default, fast, ..."),
    resume: str | None = typer.Option(None, "--resume", help="Continue the interrupted (or killed) run of this name."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Skip the plots at the end."),
) -> None:
    """Train a model as a recorded run (folder, log, database rows, best.pt/last.pt, plots)."""
    from .. import api

    signal.signal(signal.SIGTERM, raise_interrupt)  # SIGTERM saves like Ctrl-C
    lab = Ctx.lab()
    if resume:
        rec = lab.store().get_run(resume)
        with TrainProgress(rec.config.epochs, rec.epochs_done) as bar:
            run = api.resume(resume, lab=lab, plots=not no_plots, progress=bar)
    else:
        run = _train_new(load_cli_config(config, overrides or []), no_plots)
    _report(run)


@app.command(context_settings={"allow_extra_args": True})
def distill(
    teacher: str = typer.Argument(..., help="Run name, promoted model (name[:vK]), checkpoint file or ensemble that teaches."),
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. epochs=10 distill_temperature=4 distill_alpha=0.9"),
    student: str | None = typer.Option(None, "--student", "-s", help="Registered model to train (default: the config's model)."),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML config file, or a shipped preset by name: default, fast, ..."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Skip the plots at the end."),
) -> None:
    """Train a student on a teacher's softened outputs (Hinton et al. 2015) as a recorded run, like train."""
    from ..config import make_config

    signal.signal(signal.SIGTERM, raise_interrupt)
    cfg = load_cli_config(config, overrides or [])
    cfg = make_config({**cfg.model_dump(), "teacher": teacher, "model": student or cfg.model})  # the argument wins over the config
    run = _train_new(cfg, no_plots)
    taught = run.record.extra.get("teacher", {})
    console.print(f"taught by {teacher} ({taught.get('model')}, val {pct(taught.get('val_acc'))}, sha256 {str(taught.get('sha256'))[:12]})")
    _report(run)


def _train_new(cfg: Any, no_plots: bool) -> Any:
    """A new recorded run of ``cfg`` with a progress bar (train and distill share it)."""
    from .. import api

    with TrainProgress(cfg.epochs) as bar:
        return api.train(cfg, lab=Ctx.lab(), plots=not no_plots, progress=bar, hooks=[bar.on_epoch])


def _report(run: Any) -> None:
    """The run's summary; an interrupted run says how to continue and exits with 130."""
    rec = run.record
    print_summary(rec)
    if rec.status != "interrupted" and rec.task == "classify":
        print_findings(rec.name, brief=True)
    if rec.status == "interrupted":
        err_console.print(f"[yellow]Interrupted.[/] Continue with: digitlab train --resume {rec.name}")
        raise typer.Exit(130)


@app.command(context_settings={"allow_extra_args": True})
def summary(
    overrides: list[str] = typer.Argument(None, help="key=value, e.g. model=cnn model_kwargs.width=64"),
    config: str | None = typer.Option(None, "--config", "-c", help="YAML config file, or a shipped preset by name: default, fast, ..."),
) -> None:
    """Layer-by-layer output shapes and parameter counts of a model."""
    from ..models import count_params, create_model, get_spec
    from ..models.summary import count_flops, summarize

    cfg = load_cli_config(config, overrides or [])
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
    task: str | None = typer.Option(None, "--task", help="Only classifiers (classify) or generators (generate), with their own figures."),
) -> None:
    """Table of all recorded runs (a run whose trainer died shows as killed: resume it with train --resume)."""
    from ..records import TASKS
    from ..run_lock import live_status

    if task is not None and task not in TASKS:
        raise ConfigError(f"--task {task!r} is not a task; use {' or '.join(TASKS)}.")
    recs = Ctx.store().list_runs(generation, model, status, task)
    if task == "generate":
        _generative_runs(recs)
        return
    rows = [
        [r.name, r.model, r.key_params, r.generation, pct(r.best_val_acc), pct(r.test_acc), secs(r.train_seconds), live_status(r)]
        for r in recs
    ]
    console.print(table(f"Runs ({len(recs)})", ["name", "model", "key params", "gen", "best val", "test", "train time", "status"], rows))


def _generative_runs(recs: list[Any]) -> None:
    """The generators' table: quality on the test split in the judge's features (see `digitlab gan train`)."""
    from ..run_lock import live_status

    def row(r: Any) -> list[Any]:
        q = r.extra.get("quality") or {}
        fid = f"{q['fid']:.2f} ({q['fid_ratio']:.1f}x floor)" if q else ""
        pr = f"{q['precision']:.2f} / {q['recall']:.2f}" if q else ""
        collapsed = ", ".join(map(str, q.get("collapsed", []))) if q else ""
        return [
            r.name,
            r.model,
            r.key_params,
            r.best_epoch,
            fid,
            pct(q.get("class_acc")),
            pr,
            collapsed,
            secs(r.train_seconds),
            live_status(r),
        ]

    cols = [
        "name",
        "model",
        "key params",
        "best epoch",
        "Fréchet (test)",
        "judge acc",
        "precision / recall",
        "collapsed",
        "train time",
        "status",
    ]
    console.print(table(f"Generative runs ({len(recs)})", cols, [row(r) for r in recs]))


@app.command()
def show(run: str = typer.Argument(..., help="Run name.")) -> None:
    """One run: config, per-epoch metrics, time and files."""
    from ..run_lock import live_status

    store = Ctx.store()
    rec = store.get_run(run)
    print_summary(rec, live_status(rec))
    console.print(table("Config", ["parameter", "value"], [[k, json.dumps(v)] for k, v in rec.config.model_dump().items()]))
    cols = [c for c in (GEN_CSV_FIELDS if rec.task == "generate" else CSV_FIELDS) if c != "images_per_s"]
    console.print(table("Epochs", cols, [[fmt(e.get(c), c) for c in cols] for e in store.epochs(rec.id)]))
    files = rec.folder.files() if rec.run_dir.is_dir() else []
    console.print(table(f"Files in {rec.run_dir}", ["file"], [[f] for f in files]))
    if rec.task == "generate" and rec.extra.get("quality"):
        q = rec.extra["quality"]
        console.print(
            f"test split: Fréchet {q['fid']:.2f} ({q['fid_ratio']:.1f}x the real-vs-real floor {q['fid_floor']:.2f}), judge accuracy"
            f" {pct(q['class_acc'])}, precision {q['precision']:.3f}, recall {q['recall']:.3f}; sample grids per epoch in {rec.folder.samples}"
        )
    if rec.message:
        console.print(f"[red]message:[/] {rec.message}")
    extra = dict(rec.extra)
    ood = extra.pop("ood", None)
    if ood:  # written by `digitlab ood-eval RUN`; the full results are in the run folder's ood.json
        rows = [[name, pct(m["auroc"]), pct(m["fpr95"])] for name, m in ood.items() if isinstance(m, dict)]
        title = (
            f"Saying 'not a digit' (combined detector): accuracy on accepted {pct(ood['accepted_acc'])}, "
            f"wrongly rejected {pct(ood['wrongly_rejected'])}"
        )
        console.print(table(title, ["outlier set", "AUROC", "FPR@95"], rows))
    if extra:
        console.print(f"extra: {json.dumps(extra)}")


@app.command()
def doctor(
    run: str = typer.Argument(..., help="Run name."),
    lang: str = typer.Option("en", "--lang", help="Language of the findings: en or zh."),
) -> None:
    """What the run's curves and config show: each finding with its evidence and a concrete suggestion."""
    print_findings(run, lang)


def print_findings(run: str, lang: str = "en", brief: bool = False) -> None:
    """The doctor's findings on ``run`` (most likely cause first), or that there is nothing to worry about; ``brief``:
    one line each, under a run's summary after training."""
    from rich.markup import escape

    from ..doctor import NOTHING, SEVERITY_WORDS, check_lang, examine

    check_lang(lang)
    found = examine(Ctx.store(), run)
    if not found:
        console.print(f"doctor: {NOTHING[lang]}" if brief else NOTHING[lang])
        return
    for f in found:
        colour = "red" if f.severity == "problem" else "yellow"
        if brief:
            console.print(f"doctor: [{colour}]{f.code}[/]: {escape(f.evidence(lang))}; {escape(f.suggestion(lang))}")
        else:
            console.print(
                f"[{colour}]{SEVERITY_WORDS[lang][f.severity]}[/] [bold]{f.code}[/]\n  {escape(f.evidence(lang))}\n  -> {escape(f.suggestion(lang))}"
            )
    if brief:
        console.print(f"(digitlab doctor {run} for the details)")


@app.command()
def compare(
    names: list[str] = typer.Argument(..., help="Two or more run names."),
    out: Path | None = typer.Option(None, "--out", "-o", help="PNG to write (default runs/compare-<names>.png)."),
    stats: bool = typer.Option(
        False, "--stats", help="Is the difference real? 95 % intervals and McNemar's paired test on the same test images (two runs)."
    ),
) -> None:
    """Side-by-side table of runs and one PNG overlaying their curves."""
    from .. import api

    if stats and len(names) != 2:
        raise typer.BadParameter("--stats compares exactly two runs.")
    c = api.compare(*names, out=out, lab=Ctx.lab())
    fields = ["model", "status", "epochs_done", "best_val_acc", "test_acc", "train_seconds", "best_epoch", "generation"]
    cfgs = [r.config.model_dump() for r in c.runs]
    rows = [[f, *[fmt(getattr(r, f), f) for r in c.runs]] for f in fields]
    rows += [[k, *[json.dumps(cfg.get(k)) for cfg in cfgs]] for k in c.differing]
    console.print(table("Comparison", ["", *names], rows))
    console.print(f"curves: {c.curves}")
    if stats:
        print_paired(names)


def print_paired(names: list[str]) -> None:
    """Each run's test accuracy with its 95 % Wilson interval, McNemar's exact test, and the verdict in words."""
    from ..catalog import resolve, test_correct
    from ..metrics import mcnemar, wilson_interval

    a, b = (test_correct(resolve(n, Ctx.store(), Ctx.models_dir), Ctx.data_dir) for n in names)
    for name, ok in ((names[0], a), (names[1], b)):
        lo, hi = wilson_interval(int(ok.sum()), len(ok))
        console.print(f"{name}: test accuracy {pct(float(ok.float().mean()))} (95 % interval {pct(lo)} to {pct(hi)}, {len(ok)} images)")
    m = mcnemar(a, b)
    verdict = "a real difference" if m.p_value < 0.05 else "no real difference"
    console.print(
        f"McNemar (paired, exact): {m.only_a} images only {names[0]} gets right, {m.only_b} only {names[1]}; "
        f"p = {m.p_value:.3g}: {verdict} at the 5 % level."
    )


@app.command("eval")
def eval_cmd(
    ref: str = typer.Argument(..., help="Run name, checkpoint file (.pt/.ckpt) or promoted model name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-evaluate a saved model on the test split: loss, accuracy, per-class accuracy, confusion matrix."""
    from ..catalog import evaluate_checkpoint, resolve

    r = evaluate_checkpoint(resolve(ref, Ctx.store(), Ctx.models_dir), Ctx.data_dir)
    if as_json:
        sys.stdout.write(json.dumps(r) + "\n")
        return
    console.print(f"{r['checkpoint']} ({r['model']}): test loss {r['loss']:.4f}, accuracy {pct(r['acc'])} on {r['n']} images")
    console.print(table("Per-class accuracy", ["class", "accuracy"], [[c, pct(a)] for c, a in zip(r["classes"], r["per_class_acc"])]))
    confusion = [[c, *row] for c, row in zip(r["classes"], r["confusion"])]
    console.print(table("Confusion matrix (rows true, columns predicted)", ["", *r["classes"]], confusion))


@app.command()
def promote(
    run: str = typer.Argument(..., help="Run name."),
    as_name: str = typer.Option(..., "--as", help="Name of the promoted model, e.g. gen1."),
    new_version: bool = typer.Option(False, "--new-version", help="Add a new version when the name exists."),
) -> None:
    """Store a run's best weights as a named, never-overwritten model under models/."""
    from ..catalog import promote as do_promote

    dest = do_promote(Ctx.store(), run, as_name, new_version, Ctx.models_dir)
    console.print(f"promoted {run} -> {dest}")


@app.command("models")
def models_cmd() -> None:
    """Promoted models and their versions."""
    from ..catalog import promoted_models

    rows = [
        [p.name, f"v{p.version}", p.run, str(p.path), p.created_at, p.generation, pct(p.test_acc)] for p in promoted_models(Ctx.store())
    ]
    console.print(table("Promoted models", ["name", "version", "run", "path", "created", "gen", "test"], rows))
