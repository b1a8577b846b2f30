"""Open any picture Pillow understands as one float32 grey array in [0, 1].

``load_image`` is the single door for user pictures: it checks the source
(exists, not empty, not too many bytes or pixels) before anything is decoded,
applies the EXIF orientation, and reduces every mode to ITU-R 601 luma.
The small array helpers below it (``luma``, ``flatten_alpha``,
``scale_to_unit``) are shared with ``preprocess`` so that arrays and files
follow the same rules.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError

#: ITU-R BT.601 luma weights for (R, G, B); Pillow's "L" conversion and the
#: Y plane of a JPEG use the same ones.
LUMA = (0.299, 0.587, 0.114)

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


def load_image(
    source: str | os.PathLike[str] | bytes,
    max_pixels: int = 40_000_000,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Read a picture file (path or its bytes) as an (H, W) float32 array in [0, 1].

    0 is black, 1 is white, whatever the file's mode; transparent areas are
    filled as described in :func:`flatten_alpha`.  The pixel limit is checked
    from the header, before any pixel is decoded, so a decompression bomb
    costs nothing; no global state is changed for it (Pillow's own guard,
    ``Image.MAX_IMAGE_PIXELS``, is left alone and still refuses anything over
    twice its value, ~179 M pixels).  Every problem raises :class:`ImageError`.
    """
    src, label = _checked_source(source, max_bytes)
    try:
        im = Image.open(src)
    except UnidentifiedImageError as exc:
        raise ImageError(f"{label} is not a picture in a format Pillow can read.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{label} has too many pixels to open safely ({exc}).") from exc
    except OSError as exc:
        raise ImageError(f"{label} cannot be read ({exc}).") from exc
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise ImageError(f"{label} is {width}x{height} = {width * height:,} pixels, more than the limit of {max_pixels:,}.")
        if width * height == 0:
            raise ImageError(f"{label} has no pixels ({width}x{height}).")
        _decode(im, label)
        im = _oriented(im)
        return _to_gray(im, label)


def _checked_source(source: object, max_bytes: int | None) -> tuple[str | BinaryIO, str]:
    """Validate a path or bytes source; return what Image.open takes and a label."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = len(source)
        if size == 0:
            raise ImageError("The picture is empty (0 bytes).")
        _check_bytes(size, max_bytes, "The picture")
        return io.BytesIO(bytes(source)), "The picture"
    if not isinstance(source, (str, os.PathLike)):
        raise ImageError(f"Cannot read a picture from a {type(source).__name__}; give a file path or the file's bytes.")
    path = Path(source)
    label = f"The picture {str(path)!r}"
    if not path.exists():
        raise ImageError(f"{label} does not exist.")
    if path.is_dir():
        raise ImageError(f"{label} is a directory, not a picture file.")
    size = path.stat().st_size
    if size == 0:
        raise ImageError(f"{label} is empty (0 bytes).")
    _check_bytes(size, max_bytes, label)
    return str(path), label


def _check_bytes(size: int, max_bytes: int | None, label: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise ImageError(f"{label} is {size:,} bytes, more than the limit of {max_bytes:,}.")


def _decode(im: Image.Image, label: str) -> None:
    """Decode the first frame's pixels, turning every decoder failure into ImageError."""
    if im.format == "JPEG" and im.mode == "RGB":
        # Decode only the JPEG's Y plane: it *is* 601 luma, and skipping the
        # colour planes and YCbCr->RGB saves ~30 % on a 12-megapixel photo.
        im.draft("L", im.size)
    try:
        im.seek(0)  # GIF / TIFF / WebP: first frame
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{label} has too many pixels to decode safely ({exc}).") from exc
    except MemoryError as exc:
        raise ImageError(f"{label} is too large to decode in memory.") from exc
    except Exception as exc:
        raise ImageError(f"{label} is truncated or corrupt ({exc}).") from exc


def _oriented(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        return im


def _to_gray(im: Image.Image, label: str) -> np.ndarray:
    """Reduce any Pillow mode to (H, W) float32 luma in [0, 1]."""
    mode = im.mode
    if mode.startswith("I;16"):  # 16-bit grey: scale by the dtype's range
        return np.asarray(im).astype(np.float32) / np.float32(65535)
    if mode in ("I", "F"):
        arr = np.asarray(im)
        if not np.isfinite(arr).all():
            raise ImageError(f"{label} contains NaN or infinite pixel values.")
        return scale_to_unit(arr)
    if mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / np.float32(255)
        return flatten_alpha(luma(rgba[..., :3]), rgba[..., 3])
    if mode not in ("1", "L", "P", "RGB"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    if mode != "L":
        im = im.convert("L")  # Pillow's L = 601 luma (299/587/114 per mille)
    return np.asarray(im, dtype=np.float32) / np.float32(255)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] -> (...) float32 ITU-R 601 luma."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    return (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).astype(np.float32)


def flatten_alpha(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite (H, W) grey with (H, W) alpha (both in [0, 1]) over a backdrop.

    Transparent areas are background, so the backdrop must look like paper:

    * if the opaque part covers less than half the picture it is the ink (a
      drawing on a transparent sheet): the backdrop is white when that ink is
      mostly dark, black when it is mostly light, so the ink stays visible;
    * otherwise the opaque part is mostly paper, and the holes are filled with
      that paper's median grey.
    """
    alpha = np.clip(alpha.astype(np.float32), 0, 1)
    opaque = alpha > 0.5
    if opaque.all():
        return gray.astype(np.float32)
    if not opaque.any():
        backdrop = 1.0  # nothing visible: a white (blank) page
    elif opaque.mean() < 0.5:
        backdrop = 1.0 if np.median(gray[opaque]) < 0.5 else 0.0
    else:
        backdrop = float(np.median(gray[opaque]))
    return (gray * alpha + np.float32(backdrop) * (1 - alpha)).astype(np.float32)


def scale_to_unit(arr: np.ndarray, bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Any finite numeric array -> float32 in [0, 1], same shape.

    Values already in [0, 1] are kept; non-negative values up to 255 or 65535
    are divided by that (8- and 16-bit pixels); anything else (negative or
    larger values) is stretched so its minimum is 0 and maximum is 1.  A
    constant array outside [0, 1] becomes all zeros.  ``bounds`` = (min, max)
    of ``arr`` when the caller already has them (saves two passes).
    """
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    lo, hi = (float(v) for v in (bounds if bounds is not None else (arr.min(), arr.max())))
    if lo >= 0 and hi <= 1:
        return arr.astype(np.float32, copy=False)
    if lo >= 0 and hi <= 65535:
        return (arr.astype(np.float32) / np.float32(255 if hi <= 255 else 65535)).astype(np.float32)
    if hi == lo:
        return np.zeros(arr.shape, np.float32)
    # Halve first so hi - lo cannot overflow float64 for values near 1e308.
    x = arr.astype(np.float64) * 0.5
    out = (x - lo * 0.5) / (hi * 0.5 - lo * 0.5)
    return np.clip(out, 0, 1).astype(np.float32)
