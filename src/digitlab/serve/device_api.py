"""The current model as files for recognition on the device: the ONNX graph and its metadata (``model.json``).

The web app fetches them when it first needs to recognise in the browser; the service worker keeps them, so
recognition works with the network cut. ``digitlab export --web`` writes the same two files beside a static copy of
the app. Both need the export extra (onnx, onnxscript, onnxruntime) on the server; without it, 503 says so.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from ..export import device_model, export_installed
from .errors import NoModel
from .lab import Lab, get_lab

router = APIRouter(prefix="/api/models/current", tags=["models"])
REVALIDATE = {"Cache-Control": "no-cache"}  # a switched model is picked up at once; the ETag spares the bytes
_lock = threading.Lock()  # one export at a time (the first request of a new model makes it)


def _files(lab: Lab) -> tuple[Path, dict[str, Any]]:
    if not export_installed():
        raise NoModel("Recognition on the device needs the export extra on the server: pip install 'digitlab[export]'.")
    with _lock:
        return device_model(lab.slot.current().path)


@router.get("/model.json", summary="The current model's metadata for recognition on the device")
async def model_json(lab: Lab = Depends(get_lab)) -> JSONResponse:
    """Normalisation, classes, the rejection detectors' statistics and threshold (tensors as base64) and the export's id."""
    _, meta = await run_in_threadpool(_files, lab)
    return JSONResponse(meta, headers={**REVALIDATE, "ETag": f'"{meta["id"]}"'})


@router.get("/model.onnx", summary="The current model as an ONNX file")
async def model_onnx(lab: Lab = Depends(get_lab)) -> FileResponse:
    """Input ``images`` (N, 1, 28, 28) in [0, 1]; outputs ``logits`` and ``features``."""
    path, _ = await run_in_threadpool(_files, lab)
    return FileResponse(path, media_type="application/octet-stream", headers=REVALIDATE)
