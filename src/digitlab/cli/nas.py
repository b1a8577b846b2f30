"""``digitlab nas``: structure search (run, continue, show, export, list); the logic lives in nas.py."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..console import console, err_console, pct, secs, table
from .base import Ctx, app, raise_interrupt

if TYPE_CHECKING:
    from ..nas_records import Child

nas_app = typer.Typer(help="Search network structures: a controller proposes, children train as recorded runs, rewards teach it.")
app.add_typer(nas_app, name="nas")
STORAGE_HELP = "Search storage URL (default sqlite:///<runs>/nas.db, one machine; postgresql://... to share a search)."


@nas_app.callback(invoke_without_command=True)
def search(
    ctx: typer.Context,
    space: str | None = typer.Option(None, "--space", "-s", help="Structure-space YAML, or a shipped one by name (cnn)."),
    controller: str | None = typer.Option(None, "--controller", help="reinforce, evolution, random or tpe (new searches)."),
    budget: int = typer.Option(150, "--budget", "-n", min=1, max=100_000, help="Child trainings the search has in all (it stops there)."),
    name: str | None = typer.Option(None, "--search", help="Search name: a new one, or an existing one to continue or join."),
    seed: int = typer.Option(0, "--seed", help="The searcher's seed (its initial weights and every draw)."),
    proxy: list[str] = typer.Option([], "--proxy", help="key=value change of the proxy training, e.g. --proxy threads=1."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    retrain: int = typer.Option(0, "--retrain", min=0, max=10, help="At the end, retrain this many best structures with the full recipe."),
) -> None:
    """Run (or continue) a structure search: `digitlab nas --space cnn --controller reinforce --budget 150`."""
    if ctx.invoked_subcommand is not None:
        return
    if space is None and name is None:
        console.print(ctx.get_help())
        return
    from .. import nas as N
    from ..nas_records import children, default_storage
    from ..nas_space import load_space
    from ..tune import quiet_runs
    from ..tune_storage import open_storage, shown_url

    signal.signal(signal.SIGTERM, raise_interrupt)
    store, url = Ctx.store(), storage or default_storage(Ctx.runs_dir)
    study = N.open_search(name, load_space(space, proxy) if space else None, controller, seed, open_storage(url, None))
    done = len(children(study))
    console.print(
        f"search {study.study_name} in {shown_url(url)}: {study.user_attrs['controller']} controller, {done} of {budget} children done"
    )
    try:
        with quiet_runs(Ctx.debug):
            found = N.run_search(study, store, Ctx.runs_dir, budget, data_dir=Ctx.data_dir, on_child=_child_line(budget))
    except KeyboardInterrupt:
        flag = f" --storage {storage}" if storage else ""
        err_console.print(f"[yellow]Interrupted;[/] continue with: digitlab nas --search {study.study_name} --budget {budget}{flag}")
        raise typer.Exit(130) from None
    _report(study.study_name, found)
    if retrain:
        from ..steps import after_steps

        for child, run, result in N.retrain(study, store, Ctx.runs_dir, retrain, data_dir=Ctx.data_dir, after=after_steps(True)):
            console.print(
                f"retrained {child.structure} as {run}: val acc {pct(result.best['val_acc'])}, "
                f"test acc {pct(result.best.get('test_acc'))} (test never used to choose)"
            )


def _child_line(budget: int) -> Callable[[Child], None]:
    best = [0.0]

    def line(c: Child) -> None:
        best[0] = max(best[0], c.val_acc)
        note = f" [red]failed: {c.error}[/]" if c.error else ""
        console.print(
            f"child {c.number + 1}/{budget} {c.structure}: val {pct(c.val_acc)} (best {pct(best[0])}), "
            f"{c.params:,} params, {c.latency_ms or 0:.2f} ms, reward {c.reward:.4f}, {secs(c.train_seconds)}{note}"
        )

    return line


def _report(name: str, found: list[Child]) -> None:
    from ..nas_records import best_children

    rows = [
        [k, c.number, c.structure, pct(c.val_acc), f"{c.params:,}", f"{c.latency_ms or 0:.2f}", f"{c.reward:.4f}"]
        for k, c in enumerate(best_children(found, 5), start=1)
    ]
    console.print(
        table(
            f"search {name}: best structures of {len(found)} children",
            ["rank", "child", "structure", "val acc", "params", "ms", "reward"],
            rows,
        )
    )


@nas_app.command("show")
def show(
    name: str = typer.Argument(..., help="Search name."),
    plots: bool = typer.Option(False, "--plots", help="Write learning.png and pareto.png to <runs>/searches/<name>/."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
) -> None:
    """One search: its space, the best structures, the learning curve by quarters, and the plots."""
    from .. import nas_records as R
    from ..tune_storage import open_storage

    study = R.load_search(name, open_storage(storage or R.default_storage(Ctx.runs_dir), None))
    rep, found = R.search_report(study), R.children(study)
    console.print(f"search {name}: {rep['controller']} controller, seed {rep['seed']}; {rep['space']}")
    _report(name, found)
    if rep["quarters"]:
        console.print("mean proxy val acc of the children by quarter: " + " -> ".join(pct(q) for q in rep["quarters"]))
    if rep["trainings_to_best"]:
        console.print(f"trainings to come within 0.1 pp of the best: {rep['trainings_to_best']} of {len(found)}")
    if plots:
        from ..nas_plots import write_plots

        console.print(f"plots: {', '.join(str(p) for p in write_plots(found, Ctx.runs_dir / 'searches' / name)) or 'none yet'}")


@nas_app.command("export")
def export(
    name: str = typer.Argument(..., help="Search name."),
    to: Path = typer.Option(..., "--as", help="Config file to write, e.g. configs/nas-best.yaml."),
    pick: int | None = typer.Option(None, "--pick", help="Child number to export instead of the best."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
) -> None:
    """Write the best structure with the space's full recipe as a config: `digitlab train --config FILE` trains it."""
    from .. import nas as N
    from ..nas_records import default_storage, load_search
    from ..tune_storage import open_storage

    study = load_search(name, open_storage(storage or default_storage(Ctx.runs_dir), None))
    console.print(f"exported: {N.export_config(study, to, pick)}")


@nas_app.command("list")
def list_searches(storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP)) -> None:
    """The structure searches: controller, children, best proxy validation accuracy and its structure."""
    from ..nas_records import default_storage, search_list
    from ..tune_storage import open_storage

    rows = [
        [s["name"], s["controller"], s["children"], pct(s["best_val_acc"]), s["best_structure"] or ""]
        for s in search_list(open_storage(storage or default_storage(Ctx.runs_dir), None))
    ]
    console.print(table("structure searches", ["search", "controller", "children", "best val acc", "structure"], rows))
