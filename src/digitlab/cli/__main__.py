"""``python -m digitlab.cli``."""

from . import run

run()
