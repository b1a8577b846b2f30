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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ImageError

#: ITU-R BT.601 luma weights for (R, G, B); Pillow's "L" conversion and the
#: Y plane of a JPEG use the same ones.
LUMA = (0.299, 0.587, 0.114)
MAX_PIXELS = 40_000_000  # default limit per picture, from its header, before decoding

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}

#: Most bytes read from a source whose size is unknown until read (stdin, a pipe, a device such as
#: /dev/zero); the same as the server's default upload limit per picture.
MAX_BYTES = 10 * 1024 * 1024


def read_limited(stream: BinaryIO, max_bytes: int = MAX_BYTES, label: str = "The picture") -> bytes:
    """All bytes of ``stream``, reading at most ``max_bytes`` + 1 (to see it is longer); ImageError when it is."""
    data = stream.read(max_bytes + 1)  # a buffered stream returns that many, or fewer only at the end
    if len(data) > max_bytes:
        raise ImageError(f"{label} is more than the limit of {max_bytes:,} bytes.")
    return data


T = Image.Transpose
#: EXIF orientation tag value -> the transposition that shows the picture upright (as ImageOps.exif_transpose).
_TURNS = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE, 6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}
_SWAPS_SIDES = {T.TRANSPOSE, T.ROTATE_270, T.TRANSVERSE, T.ROTATE_90}


def load_image(
    source: str | os.PathLike[str] | bytes,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int | None = None,
    max_side: int | None = None,
) -> np.ndarray:
    """Read a picture file (path or its bytes) as an (H, W) float32 array in [0, 1].

    0 is black, 1 is white, whatever the file's mode; transparent areas are
    filled as described in :func:`flatten_alpha`.  The pixel limit is checked
    from the header, before any pixel is decoded, so a decompression bomb
    costs nothing; no global state is changed for it (Pillow's own guard,
    ``Image.MAX_IMAGE_PIXELS``, is left alone and still refuses anything over
    twice its value, ~179 M pixels).  With ``max_side`` the picture is reduced
    while it is decoded (see :func:`read_picture`).  Every problem raises
    :class:`ImageError`.
    """
    return read_picture(source, max_pixels, max_bytes, max_side).gray


@dataclass(frozen=True)
class Picture:
    """A decoded picture: its grey levels, possibly reduced, and the size of the full picture."""

    gray: np.ndarray  # (h, w) float32 in [0, 1], 0 = black
    size: tuple[int, int]  # (W, H) of the full picture, upright (EXIF orientation applied); w <= W, h <= H

    def to_input(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box (x0, y0, x1, y1) in ``gray``'s pixels -> the same box in the full picture's pixels."""
        (w_full, h_full), (h, w) = self.size, self.gray.shape
        x0, y0, x1, y1 = box
        return round(x0 * w_full / w), round(y0 * h_full / h), round(x1 * w_full / w), round(y1 * h_full / h)


def read_picture(
    source: str | os.PathLike[str] | bytes,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int | None = None,
    max_side: int | None = None,
) -> Picture:
    """:func:`load_image` plus the full size; a picture over ``max_side`` is reduced while it is decoded.

    Such a picture is decoded at 1/2, 1/4 or 1/8 scale where the format allows
    it (JPEG's DCT scaling) and box-averaged by an integer factor in its 8-bit
    mode, so the float array (4 bytes per pixel, several copies during
    preprocessing) is at most ``max_side`` on its longer side, however large
    the file's picture.
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
        _decode(im, label, max_side)
        turn = _orientation(im)
        small = _reduced(im, max_side) if max_side else im
        if turn is not None:
            small = small.transpose(turn)
            width, height = (height, width) if turn in _SWAPS_SIDES else (width, height)
        return Picture(_to_gray(small, label), (width, height))


def picture_size(fp: BinaryIO) -> tuple[int, int] | None:
    """(W, H) from a picture file's header, nothing decoded; None when it is not a picture. ``fp`` is rewound."""
    try:
        with Image.open(fp) as im:
            return im.size
    except Exception:
        return None
    finally:
        fp.seek(0)


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
    if not path.is_file():  # a pipe or device: stat() says 0 bytes whatever it holds, so read it, with a bound
        try:
            with path.open("rb") as f:
                data = read_limited(f, max_bytes or MAX_BYTES, label)
        except OSError as exc:
            raise ImageError(f"{label} cannot be read ({exc.strerror}).") from exc
        if not data:
            raise ImageError(f"{label} is empty (0 bytes).")
        return io.BytesIO(data), label
    size = path.stat().st_size
    if size == 0:
        raise ImageError(f"{label} is empty (0 bytes).")
    _check_bytes(size, max_bytes, label)
    return str(path), label


def _check_bytes(size: int, max_bytes: int | None, label: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise ImageError(f"{label} is {size:,} bytes, more than the limit of {max_bytes:,}.")


def _decode(im: Image.Image, label: str, max_side: int | None = None) -> None:
    """Decode the first frame's pixels, turning every decoder failure into ImageError."""
    if im.format == "JPEG":
        # A colour JPEG decodes only its Y plane: it *is* 601 luma, and skipping the
        # colour planes and YCbCr->RGB saves ~30 % on a 12-megapixel photo. A big
        # one is also DCT-scaled (1/2 .. 1/8) to no less than max_side.
        w, h = im.size
        side = min(max(w, h), max_side or max(w, h))
        im.draft("L" if im.mode == "RGB" else im.mode, (w * side // max(w, h), h * side // max(w, h)))
    try:
        im.seek(0)  # GIF / TIFF / WebP: first frame
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{label} has too many pixels to decode safely ({exc}).") from exc
    except MemoryError as exc:
        raise ImageError(f"{label} is too large to decode in memory.") from exc
    except Exception as exc:
        raise ImageError(f"{label} is truncated or corrupt ({exc}).") from exc


def _orientation(im: Image.Image) -> Image.Transpose | None:
    """The transposition the EXIF orientation tag asks for; a broken EXIF block is ignored, not fatal."""
    try:
        tag = im.getexif().get(0x0112)
        return _TURNS.get(tag) if isinstance(tag, int) else None
    except Exception:
        return None


def _reduced(im: Image.Image, max_side: int) -> Image.Image:
    """``im`` box-averaged by the smallest integer factor that brings its longer side to <= max_side."""
    factor = -(-max(im.size) // max_side)
    if factor <= 1:
        return im
    if im.mode in ("1", "P", "PA"):  # averaging bits or palette indices means nothing: to grey or colour first
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "L" if im.mode == "1" else "RGB")
    elif im.mode.startswith("I;16"):  # no 16-bit reduce: float in [0, 1], as _to_gray scales 16-bit grey
        im = im.convert("I").point(lambda v: v * (1 / 65535), "F")
    if im.mode in ("RGBA", "LA"):  # average premultiplied, so the colour under transparent pixels does not bleed in
        return im.convert(im.mode[:-1] + "a").reduce(factor).convert(im.mode)
    return im.reduce(factor)


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
