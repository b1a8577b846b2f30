"""``digitlab zoo``: every registered model trained with its recipe, and the comparison table."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from ..console import TrainProgress, console, err_console, table
from .base import Ctx, app, raise_interrupt


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
    from ..zoo import COLUMNS, format_row, output_paths, run_zoo, write_zoo_table

    signal.signal(signal.SIGTERM, raise_interrupt)  # SIGTERM saves like Ctrl-C
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
