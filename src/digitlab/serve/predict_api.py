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
from ..recognize.image_io import picture_size
from .errors import TooLarge
from .jsonable import clean
from .lab import Lab, get_lab
from .settings import Settings

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
    reason: str | None = Field(description="why it is not a digit (English)")
    why: dict[str, Any] | None = Field(
        description='the reason as a stable code and its numbers, e.g. {"code": "unlike_digits", "score": -5.1, "threshold": -4.46}'
    )
    score: float | None = Field(description="in-distribution score (higher = more digit-like)")
    threshold: float
    box: list[int] | None = Field(description="x0, y0, x1, y1 in the picture")
    image: list[list[float]] | None = Field(description="28x28 grey levels in [0, 1], ink = 1")


class VerdictOut(BaseModel):
    """The whole picture: a number, partly one (some marks refused), or no number at all."""

    kind: str = Field(description='"digits", "partly" or "not digits"')
    text: str = Field(description='the number read; a refused mark reads "?"; "" for not digits')
    refused: list[int] = Field(description="indices of the refused marks in ``digits``")
    reason: str | None = Field(description="why not (all) digits, in English")
    why: list[dict[str, Any]] = Field(description='the reasons as codes and numbers; for "partly" each names its ``mark``')
    evidence: dict[str, Any] = Field(description="the figures the verdict rests on")


class AnswerOut(BaseModel):
    """The digits read in one picture, left to right, top line first, and the verdict on the whole picture."""

    source: str
    text: str
    error: str | None
    ms: float
    verdict: VerdictOut | None = Field(description="None when the picture could not be read")
    digits: list[DigitOut]


class CanvasIn(BaseModel):
    """A drawing: 28 rows of 28 ink levels in [0, 1] (1 = ink), or the canvas as a data: URL (PNG or JPEG)."""

    pixels: list[list[float]] | str = Field(description="28x28 ink levels, or 'data:image/png;base64,...'")


def mb(n: int) -> str:
    """Bytes as megabytes for messages."""
    return f"{n / 1024 / 1024:.1f} MB"


def read_one(lab: Lab, data: bytes, name: str) -> dict[str, Any]:
    """The answer for one encoded picture (an unreadable one, e.g. over the pixel limit, carries its ``error``), JSON-ready.

    The 28x28 pictures join after the rest is cleaned: grey levels in [0, 1] are finite by construction, and walking
    their 784 numbers each took longer than the JSON encoding of the whole answer.
    """
    answer = lab.slot.predict(data, name, lab.settings.max_pixels)
    out = clean(answer.to_dict())
    for d, digit in zip(out["digits"], answer.digits):
        d["image"] = digit.image.round(3).tolist() if digit.image is not None else None
    return out


def check_request(files: list[UploadFile], sizes: list[tuple[int, int] | None], s: Settings) -> None:
    """Refuse a request over the per-request limits: files, bytes per picture and together, pixels together."""
    if len(files) > s.max_files:
        raise ImageError(f"{len(files)} pictures were sent; at most {s.max_files} are read per request.")
    for f in files:
        if (f.size or 0) > s.max_upload_bytes:
            raise TooLarge(f"{f.filename} is {mb(f.size or 0)}, more than the limit of {mb(s.max_upload_bytes)} per picture.")
    total = sum(f.size or 0 for f in files)
    if total > s.max_request_bytes:
        raise TooLarge(f"The pictures are {mb(total)} together, more than the limit of {mb(s.max_request_bytes)} per request.")
    # A picture over the per-picture limit is refused on its own when it is loaded (nothing decoded): not counted here.
    pixels = sum(w * h for w, h in filter(None, sizes) if w * h <= s.max_pixels)
    if pixels > s.max_request_pixels:
        raise TooLarge(
            f"The {len(files)} pictures hold {pixels:,} pixels together, more than the limit of {s.max_request_pixels:,} "
            "per request; send them in several requests."
        )


def respond(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """422 with the first reason when no picture could be read; otherwise every answer (each with its own error)."""
    if all(a["error"] for a in answers):
        a = answers[0]
        raise ImageError(f"{a['source']}: {a['error']}")
    return answers


@router.post("/predict", response_model=list[AnswerOut], summary="Read the digits in one or many pictures")
async def predict(
    files: list[UploadFile] = File(..., description="pictures (field name 'files'; repeat it for several)"), lab: Lab = Depends(get_lab)
) -> JSONResponse:
    """Each picture's digits with their class probabilities and 28x28 inputs.

    413 when a file, or all of them together, is over the byte limits or they
    hold more pixels together than ``max_request_pixels``; 422 for too many
    files, or when no picture could be read (not a picture, too many pixels).
    With several files, the ones that cannot be read come back with ``error`` set.
    """
    sizes = await run_in_threadpool(lambda: [picture_size(f.file) for f in files[: lab.settings.max_files]])  # headers only
    check_request(files, sizes, lab.settings)
    answers = []
    for i, f in enumerate(files):
        # One picture at a time through the gate, read from the spooled upload only then: a request
        # of many big pictures lets other requests in between them and holds one picture in memory.
        async with lab.predict_gate:
            data = await f.read()
            answers.append(await run_in_threadpool(read_one, lab, data, f.filename or f"picture {i + 1}"))
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
        answer = await run_in_threadpool(read_one, lab, data, "canvas")
    if answer["error"]:
        raise ImageError(f"canvas: {answer['error']}")
    return JSONResponse(answer)
