"""The lab's one error hierarchy: each error is one sentence a user can act on.

The CLI prints ``str(err)`` (no traceback unless ``--debug``); the API maps
each class to a 4xx status through ``http_status``.
"""

from __future__ import annotations


class DigitlabError(Exception):
    """Base class: a problem the user can fix, described in one sentence."""

    http_status = 400


class ConfigError(DigitlabError):
    """A config file, override or parameter value is invalid."""

    http_status = 422


class DataError(DigitlabError):
    """A data file is missing, corrupt or not what it claims to be."""


class ModelError(DigitlabError):
    """An unknown model name or bad model arguments."""

    http_status = 404


class CheckpointError(DigitlabError):
    """A checkpoint cannot be read, is foreign, truncated or unsafe."""

    http_status = 422


class RunError(DigitlabError):
    """A run directory or run name problem (exists, unwritable, unknown)."""

    http_status = 409


class StoreError(DigitlabError):
    """The run database cannot be read or written (locked, bad URL)."""

    http_status = 503


class TrainingError(DigitlabError):
    """Training cannot go on (e.g. the loss became NaN or infinite)."""

    http_status = 500


class ImageError(DigitlabError):
    """An input picture cannot be opened or turned into a digit."""

    http_status = 422
