"""``POST /api/inside``: look inside the Recognise model on one digit of an uploaded picture (the web app's "why?").

The upload is checked as ``/api/predict`` checks its pictures (bytes and pixels, from the header, before decoding),
and the picture goes through the same predict gate and digit finder, so digit ``k`` here is digit ``k`` of its answer.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..inside import Inside
from ..inside.render import filter_grid, gradcam_overlay, layer_strips, png, saliency_overlay, summary
from ..recognize.image_io import picture_size
from .lab import Lab, get_lab
from .predict_api import check_request

router = APIRouter(prefix="/api", tags=["recognise"])


class LayerOut(BaseModel):
    """One layer, in the order the forward pass calls it."""

    name: str = Field(description='the module\'s dotted name, e.g. "features.3"')
    type: str = Field(description='its class, e.g. "Flatten"')
    shape: list[int] = Field(description="its output's shape for one picture, e.g. [1, 576]")
    channels: list[int] = Field(description="the most active channels shown in ``maps`` (spatial outputs only)")
    maps: str | None = Field(description="those channels' maps side by side: a PNG data: URL at their own size, or None")


class InsideOut(BaseModel):
    """What the Recognise model did with one digit."""

    label: str
    predicted: int
    confidence: float
    probs: list[float]
    layers: list[LayerOut]
    filters: dict[str, Any] | None = Field(description="the first layer that reads the picture: layer, type, weight shape, filters shown")
    integrated_gradients: dict[str, float] = Field(description="steps, the attributions' sum, the logit on the picture and on a blank one")
    gradcam: dict[str, Any] | None = Field(description="the layer whose map it used (entering it or out of it) and the map's side")
    images: dict[str, str | None] = Field(description="saliency, gradcam (None without a convolution), filters: PNG data: URLs")


def data_url(rgb: np.ndarray | None) -> str | None:
    """A picture as a PNG data: URL (at its own size: the browser enlarges it without smoothing)."""
    return None if rgb is None else "data:image/png;base64," + base64.b64encode(png(rgb)).decode()


def inside_json(seen: Inside) -> dict[str, Any]:
    """``render.summary`` with the pictures: saliency, Grad-CAM, filters and each spatial layer's channel maps."""
    out = summary(seen)
    out["images"] = {
        "saliency": data_url(saliency_overlay(seen)),
        "gradcam": data_url(gradcam_overlay(seen)),
        "filters": data_url(filter_grid(seen)),
    }
    for layer, strip in zip(out["layers"], layer_strips(seen)):
        layer["maps"] = data_url(strip)
    return out


@router.post("/inside", response_model=InsideOut, summary="Look inside the network on one digit of a picture")
async def look_inside(
    file: UploadFile = File(..., description="the picture (field name 'file'), as sent to /api/predict"),
    digit: int = Form(0, ge=0, le=999, description="which digit of the picture's answer: 0 = the first, in reading order"),
    lab: Lab = Depends(get_lab),
) -> JSONResponse:
    """The answer, every layer's name, type and output shape (with its most active channel maps as PNG data: URLs),
    the first layer's filters, and the saliency maps: integrated gradients, and Grad-CAM where there is a convolution.

    413 over the byte or pixel limits of ``/api/predict``; 422 when the picture cannot be read, holds no digit, or
    holds fewer digits than ``digit`` + 1.
    """
    size = await run_in_threadpool(picture_size, file.file)  # the header only
    check_request([file], [size], lab.settings)
    async with lab.predict_gate:
        data = await file.read()
        seen = await run_in_threadpool(lab.slot.look_inside, data, digit + 1, lab.settings.max_pixels)
    return JSONResponse(inside_json(seen))
