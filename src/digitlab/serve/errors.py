"""HTTP side of the lab's errors: every failure is JSON ``{"detail": one sentence}`` with a fitting status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DigitlabError,
    ImageError,
    ModelError,
    RunError,
    RunFailed,
    StoreError,
    TrainingError,
)

log = logging.getLogger("digitlab")


class Forbidden(DigitlabError):
    """The server's settings do not allow this request."""

    http_status = 403


class NotFound(DigitlabError):
    """No such run, file, job or model."""

    http_status = 404


class Conflict(DigitlabError):
    """The request does not fit the current state (e.g. cancelling a finished job)."""

    http_status = 409


class TooLarge(DigitlabError):
    """An upload is over the size limit."""

    http_status = 413


class BadInput(DigitlabError):
    """A request is well-formed JSON but its content cannot be used."""

    http_status = 422


class Busy(DigitlabError):
    """Too many training jobs are waiting."""

    http_status = 429


class NoModel(DigitlabError):
    """No model is loaded for recognition."""

    http_status = 503


def detail(status: int, sentence: str) -> JSONResponse:
    """The one shape of every error response."""
    return JSONResponse({"detail": sentence}, status_code=status)


def validation_sentence(errors: list[dict[str, Any]]) -> str:
    """The first of FastAPI's validation errors as one sentence."""
    if not errors:
        return "The request is invalid."
    e = errors[0]
    if e.get("type") == "json_invalid":
        return f"The request body is not valid JSON ({e.get('ctx', {}).get('error', 'syntax error')})."
    where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "request body"
    msg = str(e.get("msg", "is invalid"))
    return f"{where}: {msg[:1].lower() + msg[1:]}."


# The library's errors and their HTTP statuses (the server's own errors above carry theirs).
STATUS: dict[type[DigitlabError], int] = {
    ConfigError: 422,
    DataError: 400,
    ModelError: 404,
    CheckpointError: 422,
    RunError: 409,
    StoreError: 503,
    TrainingError: 422,  # e.g. the loss became NaN: the config asked for too high a learning rate
    ImageError: 422,
}


def status_of(err: BaseException) -> int:
    """The HTTP status of a lab error: its own, its class's, a failed run's cause's, else 400."""
    if isinstance(err, RunFailed):
        return status_of(err.cause) if isinstance(err.cause, DigitlabError) else 500
    own = getattr(err, "http_status", None)
    if isinstance(own, int):
        return own
    return next((STATUS[c] for c in type(err).__mro__ if c in STATUS), 400)


async def _lab_error(request: Request, err: Exception) -> JSONResponse:
    return detail(status_of(err), str(err))


async def _invalid(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    return detail(422, validation_sentence(list(err.errors())))


async def _http(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, HTTPException)
    sentence = str(err.detail)
    if err.status_code == 404 and sentence == "Not Found":
        sentence = f"There is no page or API route at {request.url.path}."
    elif err.status_code == 405:
        sentence = f"{request.method} is not allowed on {request.url.path}."
    return JSONResponse({"detail": sentence}, status_code=err.status_code, headers=getattr(err, "headers", None))


async def _internal(request: Request, err: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return detail(500, f"Internal error: {type(err).__name__}; the server log has the details.")


def install_handlers(app: FastAPI) -> None:
    """Map lab errors, validation errors, HTTP errors and anything else to ``{"detail": sentence}``."""
    app.add_exception_handler(DigitlabError, _lab_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _internal)
