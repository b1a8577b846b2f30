"""The steps every trained run gets afterwards, given to :func:`digitlab.runner.run_training` by its callers."""

from __future__ import annotations

from .recognize.calibrate import calibrate_run
from .records import AfterRun


def after_steps(plots: bool = True) -> list[AfterRun]:
    """ "Not a digit" calibration (when the run's config says so) and, optionally, the run's plots."""
    steps: list[AfterRun] = [calibrate_run]
    if plots:
        from .plots import plot_run  # matplotlib is imported only when plotting

        steps.append(plot_run)
    return steps
