"""Terminal rendering with rich: live progress, log lines, tables. No logic lives here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=False, highlight=False)
if not console.is_terminal:  # pipes and files get whole lines, not an 80-column wrap
    console = Console(stderr=False, highlight=False, width=200)
err_console = Console(stderr=True, highlight=False)
if not err_console.is_terminal:
    err_console = Console(stderr=True, highlight=False, width=200)


def setup_logging(debug: bool = False) -> None:
    """``digitlab`` log lines to the terminal (INFO, or DEBUG with --debug); run folders add a file handler."""
    log = logging.getLogger("digitlab")
    if not any(isinstance(h, RichHandler) for h in log.handlers):
        h = RichHandler(console=console, show_path=False, show_level=False, markup=False, log_time_format="[%X]")
        h.setLevel(logging.DEBUG if debug else logging.INFO)
        log.addHandler(h)
    log.setLevel(logging.DEBUG)
    log.propagate = False


class TrainProgress:
    """A live bar per epoch (batches, loss, accuracy, ETA) plus an overall bar; implements ``BatchProgress``."""

    def __init__(self, epochs: int, start_epoch: int = 0):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2%}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self.total = self.progress.add_task("run", total=epochs, completed=start_epoch, loss=float("nan"), acc=0.0)
        self.epoch_task: Any = None
        self.epoch = -1

    def __enter__(self) -> TrainProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def batch(self, epoch: int, done: int, total: int, loss: float, acc: float) -> None:
        if epoch != self.epoch:
            if self.epoch_task is not None:
                self.progress.remove_task(self.epoch_task)
            self.epoch_task = self.progress.add_task(f"epoch {epoch}", total=total, loss=loss, acc=acc)
            self.epoch = epoch
        self.progress.update(self.epoch_task, completed=done, loss=loss, acc=acc)

    def on_epoch(self, m: dict[str, Any]) -> None:
        self.progress.update(self.total, completed=m["epoch"], loss=m["val_loss"], acc=m["val_acc"])


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table with numbers right-aligned."""
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c, justify="left")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


def pct(v: float | None) -> str:
    return "" if v is None or v != v else f"{100 * v:.2f}%"


def secs(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}s"
