"""An :class:`Inside` record as pictures, with Pillow and numpy only (no plotting library): PNGs for the CLI's
folder and small images for the web app's "why?" panel.

Colours: activations grey (black = 0, white = the map's largest value); signed weights and attributions on white,
red > 0, blue < 0, scaled by the largest magnitude; Grad-CAM's heat in orange over the digit.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import RunError
from ..fsio import numbered, write_atomic
from .probe import Inside

ZOOM = 8  # file pictures: each pixel of a 28x28 map becomes 8x8
GAP = 1  # pixels between the tiles of a grid (native size)
POSITIVE, NEGATIVE, HEAT = np.array([220, 30, 30]), np.array([30, 80, 220]), np.array([255, 140, 0])


def png(rgb: np.ndarray, zoom: int = 1) -> bytes:
    """PNG bytes of an (H, W) grey or (H, W, 3) uint8 picture, enlarged ``zoom`` times without smoothing."""
    im = Image.fromarray(rgb)
    if zoom > 1:
        im = im.resize((im.width * zoom, im.height * zoom), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def grey(maps: np.ndarray) -> np.ndarray:
    """(k, H, W) activations -> uint8, each map scaled from 0 (or its minimum when negative) to its own maximum."""
    lo = np.minimum(maps.min(axis=(1, 2), keepdims=True), 0)
    span = maps.max(axis=(1, 2), keepdims=True) - lo
    return np.round(255 * (maps - lo) / np.where(span > 0, span, 1)).astype(np.uint8)


def signed(a: np.ndarray) -> np.ndarray:
    """(..., H, W) signed values -> (..., H, W, 3) uint8: white at 0, red for positive, blue for negative."""
    top = float(np.abs(a).max()) or 1.0
    t = (np.abs(a) / top)[..., None]
    colour = np.where(a[..., None] >= 0, POSITIVE, NEGATIVE)
    return np.round(255 * (1 - t) + colour * t).astype(np.uint8)


def tiles(images: np.ndarray, cols: int, background: int = 255) -> np.ndarray:
    """(k, H, W[, 3]) uint8 tiles -> one grid picture, ``cols`` tiles a row, GAP pixels apart."""
    k, h, w = images.shape[:3]
    rows = -(-k // cols)
    out = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP, *images.shape[3:]), background, np.uint8)
    for i, tile in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + GAP) : r * (h + GAP) + h, c * (w + GAP) : c * (w + GAP) + w] = tile
    return out


def paper(digit: np.ndarray) -> np.ndarray:
    """The 28x28 digit as shown in the app, dark ink on white paper: (28, 28, 3) float in [0, 1]."""
    return np.repeat((1 - np.clip(digit, 0, 1))[..., None], 3, axis=2)


def saliency_overlay(inside: Inside) -> np.ndarray:
    """Integrated gradients over a faint digit: red pixels pushed towards the answer, blue ones away. (28, 28, 3) uint8.

    Scaled to the 99th percentile of the magnitudes, so one extreme pixel does not leave the others invisible."""
    a = inside.integrated.map
    top = float(np.percentile(np.abs(a), 99)) or float(np.abs(a).max()) or 1.0
    t = np.clip(np.abs(a) / top, 0, 1)[..., None]  # how strongly each pixel counted, [0, 1]
    colour = np.where(a[..., None] >= 0, POSITIVE, NEGATIVE) / 255
    faint = 0.7 + 0.3 * paper(inside.digit)  # ink light grey, so the colours stand out
    return np.round(255 * ((1 - t) * faint + t * colour)).astype(np.uint8)


def gradcam_overlay(inside: Inside) -> np.ndarray | None:
    """Grad-CAM's heat in orange over the digit, (28, 28, 3) uint8; None without Grad-CAM."""
    if inside.gradcam is None:
        return None
    t = 0.75 * inside.gradcam.map[..., None]
    return np.round(255 * ((1 - t) * paper(inside.digit) + t * HEAT / 255)).astype(np.uint8)


def filter_grid(inside: Inside) -> np.ndarray | None:
    """The first layer's filters side by side (signed colours), 8 a row; None without such filters."""
    return None if inside.filters is None else tiles(signed(inside.filters.images), cols=8)


def layer_strips(inside: Inside) -> list[np.ndarray | None]:
    """Per layer (in ``inside.layers``' order): its most active channel maps in a row (grey); None for a flat output."""
    return [None if v.maps is None else tiles(grey(v.maps), cols=len(v.maps), background=128) for v in inside.layers]


def summary(inside: Inside) -> dict[str, Any]:
    """The numbers of the record, JSON-ready: answer, probabilities, layers and shapes, filters, saliency checks."""
    ig, cam, f = inside.integrated, inside.gradcam, inside.filters
    return {
        "label": inside.label,
        "predicted": inside.predicted,
        "confidence": round(float(inside.probs[inside.predicted]), 5),
        "probs": [round(float(p), 5) for p in inside.probs],
        "layers": [{"name": v.name, "type": v.type, "shape": list(v.shape), "channels": list(v.channels)} for v in inside.layers],
        "filters": None if f is None else {"layer": f.layer, "type": f.type, "shape": list(f.shape), "shown": len(f.images)},
        "integrated_gradients": {
            "steps": ig.steps,
            "sum": round(ig.total, 5),
            "logit": round(ig.logit, 5),
            "baseline_logit": round(ig.baseline_logit, 5),
        },
        "gradcam": None if cam is None else {"layer": cam.layer, "entering": cam.entering, "side": list(cam.side)},
    }


def free_folder(stem: str, parent: Path = Path(".")) -> Path:
    """``parent/inside-<stem>``, or ``-2``, ``-3``, ... after it: the first name not taken (nothing is overwritten)."""
    for name in itertools.islice(numbered(f"inside-{stem}"), 999):
        if not (path := parent / name).exists():
            return path
    raise RunError(f"{parent / f'inside-{stem}'} and 998 numbered folders after it exist; give a folder with --out.")


def write_pngs(inside: Inside, folder: Path) -> list[Path]:
    """The record as files in ``folder`` (made; refused when it exists and is not empty): PNGs and ``inside.json``."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RunError(f"{folder} exists and is not an empty folder; choose another with --out (nothing is overwritten).")
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {"digit": np.round(255 * paper(inside.digit)).astype(np.uint8), "saliency": saliency_overlay(inside)}
    pictures |= {k: v for k, v in {"gradcam": gradcam_overlay(inside), "filters": filter_grid(inside)}.items() if v is not None}
    strips = zip(inside.layers, layer_strips(inside))
    pictures |= {f"layer-{i:02d}-{v.name}": strip for i, (v, strip) in enumerate(strips, 1) if strip is not None}
    written = [write_atomic(folder / f"{name}.png", png(rgb, ZOOM)) for name, rgb in pictures.items()]
    written.append(write_atomic(folder / "inside.json", json.dumps(summary(inside), indent=2)))
    return written
