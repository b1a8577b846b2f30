"""The ``digitlab`` command line: a thin Typer layer over the lab's functions, one module per command group.

``base`` holds the app and the global options; ``runs`` (train and recorded runs), ``zoo``, ``recognize``, ``tune``
and ``serve`` register their commands on it. Every DigitlabError becomes one red sentence and exit code 2
(``--debug`` shows the traceback); Ctrl-C exits 130.
"""

from __future__ import annotations

import sys
from typing import cast

import click
import typer
from rich.markup import escape

from ..console import err_console
from ..errors import DigitlabError

# Each module registers its commands on ``app``, in this order in `digitlab --help`.
from . import runs  # noqa: F401  # isort: skip
from . import zoo  # noqa: F401  # isort: skip
from . import recognize  # noqa: F401  # isort: skip
from . import tune  # noqa: F401  # isort: skip
from . import serve  # noqa: F401  # isort: skip
from . import export  # noqa: F401  # isort: skip
from . import ensemble  # noqa: F401  # isort: skip
from . import attack  # noqa: F401  # isort: skip
from . import gan  # noqa: F401  # isort: skip
from . import nas  # noqa: F401  # isort: skip
from . import learn  # noqa: F401  # isort: skip
from . import inside  # noqa: F401  # isort: skip
from .base import Ctx, app

__all__ = ["app", "main", "run"]
# Typer >= 0.2x carries its own copy of click: its usage errors, exits and aborts are other classes than click's (same API)
_CLICK_ERRORS = cast(
    tuple[type[click.ClickException], ...],
    tuple({click.ClickException, *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")}),
)
_EXITS = cast(tuple[type[click.exceptions.Exit], ...], tuple({click.exceptions.Exit, typer.Exit}))
_STOPS = cast(tuple[type[BaseException], ...], tuple({KeyboardInterrupt, click.exceptions.Abort, typer.Abort}))


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
    except _EXITS as e:
        return e.exit_code
    except _CLICK_ERRORS as e:
        e.show()
        return e.exit_code
    except _STOPS:
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
