"""Recognise endpoints: uploaded pictures and the drawing canvas, through the one shared predictor."""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from PIL import Image
from pydantic import BaseModel, Field

from ..errors import ImageError
from ..recognize.predictor import Answer
from .errors import TooLarge
from .jsonable import clean
from .lab import Lab, get_lab

router = APIRouter(prefix="/api", tags=["recognise"])
DATA_URL = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,(?P<b64>[A-Za-z0-9+/=\s]*)$")


class DigitOut(BaseModel):
    """One digit box: the verdict, the 10 class probabilities and the 28x28 picture the model saw."""

    label: str = Field(description='"0".."9" or "not a digit"')
    digit: int | None
    confidence: float
    top3: list[tuple[str, float]]
    probs: list[float]
    accepted: bool
    reason: str | None = Field(description="why it is not a digit")
    score: float | None = Field(description="in-distribution score (higher = more digit-like)")
    threshold: float
    box: list[int] | None = Field(description="x0, y0, x1, y1 in the picture")
    image: list[list[float]] | None = Field(description="28x28 grey levels in [0, 1], ink = 1")


class AnswerOut(BaseModel):
    """The digits read in one picture, left to right, top line first."""

    source: str
    text: str
    error: str | None
    ms: float
    digits: list[DigitOut]


class CanvasIn(BaseModel):
    """A drawing: 28 rows of 28 ink levels in [0, 1] (1 = ink), or the canvas as a data: URL (PNG or JPEG)."""

    pixels: list[list[float]] | str = Field(description="28x28 ink levels, or 'data:image/png;base64,...'")


def mb(n: int) -> str:
    """Bytes as megabytes for messages."""
    return f"{n / 1024 / 1024:.1f} MB"


def check_pixels(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse a picture whose header promises more than ``max_pixels`` (before anything is decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Exception:
        return
    if w * h > max_pixels:
        raise ImageError(f"{name} is {w}x{h} = {w * h:,} pixels, more than the limit of {max_pixels:,}.")


def read_one(lab: Lab, data: bytes, name: str) -> dict[str, Any]:
    """The answer for one encoded picture (an unreadable one carries its ``error``)."""
    try:
        check_pixels(data, name, lab.settings.max_pixels)
    except ImageError as err:
        return Answer(name, "", [], str(err)).to_dict()
    return lab.slot.predict(data, name).to_dict(with_image=True)


def respond(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """422 with the first reason when no picture could be read; otherwise every answer (each with its own error)."""
    if all(a["error"] for a in answers):
        a = answers[0]
        raise ImageError(f"{a['source']}: {a['error']}")
    return clean(answers)


@router.post("/predict", response_model=list[AnswerOut], summary="Read the digits in one or many pictures")
async def predict(
    files: list[UploadFile] = File(..., description="pictures (field name 'files'; repeat it for several)"), lab: Lab = Depends(get_lab)
) -> JSONResponse:
    """Each picture's digits with their class probabilities and 28x28 inputs.

    413 when a file is over ``max_upload_bytes``; 422 for too many files, or when
    no picture could be read (not a picture, too many pixels). With several files,
    the ones that cannot be read come back with ``error`` set.
    """
    s = lab.settings
    if len(files) > s.max_files:
        raise ImageError(f"{len(files)} pictures were sent; at most {s.max_files} are read per request.")
    for f in files:
        if (f.size or 0) > s.max_upload_bytes:
            raise TooLarge(f"{f.filename} is {mb(f.size or 0)}, more than the limit of {mb(s.max_upload_bytes)} per picture.")
    pictures = [(await f.read(), f.filename or f"picture {i + 1}") for i, f in enumerate(files)]
    async with lab.predict_gate:
        answers = await run_in_threadpool(lambda: [read_one(lab, data, name) for data, name in pictures])
    return JSONResponse(respond(answers))


def canvas_bytes(pixels: list[list[float]] | str, max_bytes: int) -> bytes:
    """PNG bytes of a drawing given as 28x28 ink levels, or the bytes inside a data: URL."""
    if isinstance(pixels, str):
        m = DATA_URL.match(pixels)
        if m is None:
            raise ImageError("pixels must be 28x28 numbers or a data: URL such as 'data:image/png;base64,...'.")
        if len(m["b64"]) > max_bytes * 4 // 3 + 4:
            raise TooLarge(f"The drawing is more than the limit of {mb(max_bytes)}.")
        try:
            return base64.b64decode(m["b64"], validate=False)
        except (binascii.Error, ValueError) as err:
            raise ImageError(f"The data: URL is not valid base64 ({err}).") from err
    ink = np.asarray(pixels, dtype=np.float64) if all(len(r) == 28 for r in pixels) else np.zeros(0)
    if ink.shape != (28, 28) or not np.isfinite(ink).all() or ink.min() < 0 or ink.max() > 1:
        raise ImageError("pixels must be 28 rows of 28 numbers in [0, 1] (1 = ink).")
    paper = Image.fromarray(np.round((1 - ink) * 255).astype(np.uint8))  # dark ink on white paper
    # Enlarged smoothly: the finder needs grey stroke edges (a purely two-level picture reads as "no ink").
    buf = io.BytesIO()
    paper.resize((4 * 28, 4 * 28), Image.Resampling.BILINEAR).save(buf, "PNG")
    return buf.getvalue()


@router.post("/predict/canvas", response_model=AnswerOut, summary="Read a drawing from the canvas")
async def predict_canvas(body: CanvasIn, lab: Lab = Depends(get_lab)) -> JSONResponse:
    """The drawing goes through the same path as an uploaded picture (find the digits, centre, classify)."""
    data = canvas_bytes(body.pixels, lab.settings.max_upload_bytes)
    async with lab.predict_gate:
        answer = (await run_in_threadpool(lab.slot.predict, data, "canvas")).to_dict(with_image=True)
    if answer["error"]:
        raise ImageError(f"canvas: {answer['error']}")
    return JSONResponse(clean(answer))
