"""``python -m digitlab`` = the ``digitlab`` command."""

from .cli import run

run()
