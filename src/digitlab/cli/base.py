"""What every command shares: the Typer app, the global options (``Ctx``), config loading, and small printers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from ..console import console, err_console, pct, secs, setup_logging, table

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
        from ..store import RunStore

        return RunStore(cls.db, runs_dir=cls.runs_dir)

    @classmethod
    def lab(cls) -> Any:
        """The same folders as a :class:`digitlab.api.Lab`, for the Python API the commands call."""
        from ..api import Lab

        return Lab(cls.runs_dir, cls.db, cls.models_dir, cls.data_dir)


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug log lines."),
    runs_dir: Path = typer.Option(Path(os.environ.get("DIGITLAB_RUNS", "runs")), "--runs-dir", help="Folder of run folders."),
    db: str | None = typer.Option(None, "--db", help="Run database URL (default $DIGITLAB_DB or sqlite in the runs folder)."),
    data_dir: str | None = typer.Option(
        None,
        "--data-dir",
        help="Folder with the data files (default $DIGITLAB_DATA, then the checkout's data/, then the cache, then a download).",
    ),
    models_dir: Path = typer.Option(Path(os.environ.get("DIGITLAB_MODELS", "models")), "--models-dir", help="Folder of promoted models."),
) -> None:
    Ctx.debug, Ctx.runs_dir, Ctx.db, Ctx.data_dir, Ctx.models_dir = debug, runs_dir, db, data_dir, models_dir
    setup_logging(debug)


def load_cli_config(config: str | None, overrides: list[str]) -> Any:
    """The config of a command: preset name or file, then ``key=value``; model arguments checked; advice printed."""
    from ..config import load_config
    from ..models.registry import check_model_args

    cfg = load_config(config, overrides)
    check_model_args(cfg.model, cfg.model_kwargs)
    for w in cfg.warnings():
        err_console.print(f"[yellow]warning:[/] {w}")
    return cfg


def raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: stop like Ctrl-C, so the run saves and is recorded as interrupted."""
    raise KeyboardInterrupt


def fmt(v: Any, col: str) -> str:
    """A figure as shown in tables: accuracies in %, seconds readable, blanks for missing."""
    if v is None:
        return ""
    if col.endswith("_acc"):
        return pct(v)
    if col.endswith("seconds"):
        return secs(v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def print_summary(rec: Any, status: str | None = None) -> None:
    """The summary table of one run record."""
    rows = [
        ["run", rec.name],
        ["status", status or rec.shown_status],
        ["model", rec.model],
        ["epochs", rec.epochs_done],
        ["best val acc", f"{pct(rec.best_val_acc)} (epoch {rec.best_epoch})"],
        ["test acc at best", pct(rec.test_acc)],
        ["training time", secs(rec.train_seconds)],
        ["evaluation time", secs(rec.eval_seconds)],
        ["folder", str(rec.run_dir)],
        ["weights", f"{rec.folder.best}, last.pt"],
    ]
    console.print(table("Run summary", ["", ""], rows))
