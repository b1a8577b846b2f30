"""The lab's one error hierarchy: each error is one sentence a user can act on.

The CLI prints ``str(err)`` (no traceback unless ``--debug``); the server maps each class to an HTTP status
(``serve/errors.py``: status codes live only there).
"""

from __future__ import annotations


class DigitlabError(Exception):
    """Base class: a problem the user can fix, described in one sentence."""


class ConfigError(DigitlabError):
    """A config file, override or parameter value is invalid."""


class DataError(DigitlabError):
    """A data file is missing, corrupt or not what it claims to be."""


class ModelError(DigitlabError):
    """An unknown model name or bad model arguments."""


class CheckpointError(DigitlabError):
    """A checkpoint cannot be read, is foreign, truncated or unsafe."""


class RunError(DigitlabError):
    """A run directory or run name problem (exists, unwritable, unknown)."""


class StoreError(DigitlabError):
    """The run database cannot be read or written (locked, bad URL)."""


class TrainingError(DigitlabError):
    """Training cannot go on (e.g. the loss became NaN or infinite)."""


class RunFailed(DigitlabError):
    """A recorded run failed; ``run`` names it (recorded as failed, its last good checkpoint kept), ``cause`` says why."""

    def __init__(self, run: str, reason: str, cause: BaseException | None = None):
        super().__init__(f"Run {run!r} failed: {reason}")
        self.run, self.reason, self.cause = run, reason, cause


class ImageError(DigitlabError):
    """An input picture cannot be opened or turned into a digit."""
