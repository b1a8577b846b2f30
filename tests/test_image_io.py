"""load_image: every format and mode Pillow opens, EXIF orientation, transparency, bad input."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from digitlab.errors import DigitlabError, ImageError
from digitlab.recognize import load_image
from synthetic import load_mnist_test


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    """A synthetic digit: dark MNIST ink on white, 56x84 uint8 (not square, to see rotations)."""
    digit = load_mnist_test(1)[0][0]
    big = np.asarray(Image.fromarray(digit).resize((56, 56), Image.BILINEAR))
    out = np.full((84, 56), 255, np.uint8)
    out[4:60] = 255 - big
    return out


def _save(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def _check(out: np.ndarray, expected: np.ndarray, tol: float) -> None:
    assert out.dtype == np.float32 and out.shape == expected.shape
    assert 0 <= out.min() and out.max() <= 1
    assert np.abs(out - expected).mean() <= tol, np.abs(out - expected).mean()


# ------------------------------------------------------------------ formats
@pytest.mark.parametrize(
    "fmt, options, tol",
    [
        ("PNG", {}, 1e-6),
        ("BMP", {}, 1e-6),
        ("GIF", {}, 1e-6),
        ("TIFF", {}, 1e-6),
        ("JPEG", {"quality": 90}, 0.02),
        ("WEBP", {"quality": 90}, 0.02),
    ],
)
def test_formats_round_trip(page, fmt, options, tol):
    data = _save(Image.fromarray(page), fmt, **options)
    _check(load_image(data), page / 255, tol)


def test_path_source_and_str_path(page, tmp_path):
    path = tmp_path / "digit.png"
    Image.fromarray(page).save(path)
    _check(load_image(path), page / 255, 1e-6)
    _check(load_image(str(path)), page / 255, 1e-6)


# -------------------------------------------------------------------- modes
def test_mode_1(page):
    binary = page > 127
    out = load_image(_save(Image.fromarray(binary), "PNG"))
    _check(out, binary.astype(np.float32), 1e-6)


def test_mode_p(page):
    rgb = np.stack([page, page, np.minimum(page.astype(int) + 10, 255).astype(np.uint8)], -1)
    im = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    assert im.mode == "P"
    _check(load_image(_save(im, "PNG")), page / 255, 0.03)


def test_mode_i16_scaled_by_dtype_range(page):
    wide = page.astype(np.uint16) * 257  # 255 -> 65535
    im = Image.fromarray(wide)
    assert im.mode == "I;16"
    _check(load_image(_save(im, "PNG")), page / 255, 1e-5)
    _check(load_image(_save(im, "TIFF")), page / 255, 1e-5)


def test_mode_rgb_uses_itu_601_luma():
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[0, :, 0] = rgb[1, :, 1] = rgb[2, :, 2] = 255  # pure red, green, blue rows
    out = load_image(_save(Image.fromarray(rgb), "PNG"))
    assert np.allclose(out[:, 0], [0.299, 0.587, 0.114], atol=1 / 255)


def test_mode_rgba_opaque(page):
    rgba = np.stack([page] * 3 + [np.full_like(page, 255)], -1)
    _check(load_image(_save(Image.fromarray(rgba), "PNG")), page / 255, 1e-6)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_mode_cmyk(page, fmt):
    im = Image.fromarray(page).convert("CMYK")
    _check(load_image(_save(im, fmt, **({"quality": 95} if fmt == "JPEG" else {}))), page / 255, 0.02)


def test_mode_la_transparent_paper_becomes_white(page):
    alpha = np.where(page < 128, 255, 0).astype(np.uint8)  # only the ink is opaque
    grey = np.where(alpha > 0, page, 0).astype(np.uint8)  # hidden colour: black
    out = load_image(_save(Image.fromarray(np.stack([grey, alpha], -1), "LA"), "PNG"))
    assert out[alpha == 0].min() == 1.0  # the transparent page is white, not black
    assert out[alpha > 0].max() < 0.5


def test_mode_f_and_i_are_scaled():
    ramp = np.linspace(-3, 7, 40, dtype=np.float32).reshape(5, 8)
    out = load_image(_save(Image.fromarray(ramp), "TIFF"))
    assert out.min() == 0 and out.max() == 1
    eight_bit = Image.fromarray(np.arange(256, dtype=np.int32).reshape(16, 16))
    assert eight_bit.mode == "I"
    assert np.allclose(load_image(_save(eight_bit, "TIFF")).ravel(), np.arange(256) / 255)
    signed = Image.fromarray(np.arange(-50, 50, dtype=np.int32).reshape(10, 10))
    out = load_image(_save(signed, "TIFF"))
    assert out.min() == 0 and out.max() == 1 and out[0, 1] > out[0, 0]


# ------------------------------------------------------------- transparency
def test_rgba_dark_ink_on_transparent_is_composited_over_white(page):
    alpha = np.where(page < 200, 255 - page, 0).astype(np.uint8)
    rgba = np.zeros(page.shape + (4,), np.uint8)  # colour under the transparency: black
    rgba[..., 3] = alpha
    out = load_image(_save(Image.fromarray(rgba), "PNG"))
    assert out[alpha == 0].min() == 1.0
    assert np.allclose(out, 1 - alpha / 255, atol=1e-6)  # black ink at its own opacity, over white


def test_rgba_light_ink_on_transparent_is_composited_over_black(page):
    alpha = np.where(page < 200, 255, 0).astype(np.uint8)
    rgba = np.full(page.shape + (4,), 255, np.uint8)  # white strokes, rest transparent
    rgba[..., 3] = alpha
    out = load_image(_save(Image.fromarray(rgba), "PNG"))
    assert out[alpha == 0].max() == 0.0 and out[alpha == 255].min() == 1.0


def test_rgba_hole_in_paper_takes_the_paper_grey():
    rgba = np.full((40, 40, 4), 200, np.uint8)
    rgba[..., 3] = 255
    rgba[:5, :5, 3] = 0  # a transparent corner
    out = load_image(_save(Image.fromarray(rgba), "PNG"))
    assert np.allclose(out, 200 / 255, atol=1e-6)


def test_gif_uses_first_frame(page):
    frames = [Image.fromarray(page), Image.fromarray(np.full_like(page, 255))]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    _check(load_image(data), page / 255, 1e-6)


# ---------------------------------------------------------------------- EXIF
@pytest.mark.parametrize("orientation, turns", [(6, -1), (8, 1), (3, 2)])
def test_exif_orientation_is_applied(page, orientation, turns):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _save(Image.fromarray(page), "JPEG", quality=95, exif=exif)
    out = load_image(data)
    _check(out, np.rot90(page / 255, turns), 0.02)  # np.rot90: k=-1 is clockwise


# --------------------------------------------------------------- bad input
def _png(width: int, height: int) -> bytes:
    """A valid, all-black 1-bit PNG built without Pillow allocating its pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer, row = zlib.compressobj(9), b"\0" * (1 + (width + 7) // 8)  # filter byte + bits
    idat = b"".join(packer.compress(row * 500) for _ in range(height // 500))
    idat += packer.compress(row * (height % 500)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _raises(source, **kwargs) -> str:
    with pytest.raises(ImageError) as info:
        load_image(source, **kwargs)
    assert isinstance(info.value, DigitlabError)
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message
    return message


def test_missing_path(tmp_path):
    assert "does not exist" in _raises(tmp_path / "nope.png")


def test_directory(tmp_path):
    assert "directory" in _raises(tmp_path)


def test_zero_byte_file_and_empty_bytes(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "empty" in _raises(empty)
    assert "empty" in _raises(b"")


def test_text_file_is_not_an_image(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    assert "not a picture" in _raises(text)
    assert "not a picture" in _raises(b"GIF? no, just text")


def test_truncated_png(page):
    data = _save(Image.fromarray(page), "PNG")
    assert "truncated or corrupt" in _raises(data[: len(data) // 2])


def test_wrong_source_type():
    assert "file path or the file's bytes" in _raises(12345)


def test_too_many_bytes(page, tmp_path):
    data = _save(Image.fromarray(page), "PNG")
    assert "bytes, more than the limit" in _raises(data, max_bytes=len(data) - 1)
    path = tmp_path / "d.png"
    path.write_bytes(data)
    assert "bytes, more than the limit" in _raises(path, max_bytes=100)
    assert load_image(path, max_bytes=len(data)).shape == page.shape


def test_too_many_pixels_small_limit(page):
    data = _save(Image.fromarray(page), "PNG")
    assert "more than the limit of 1,000" in _raises(data, max_pixels=1000)


def test_20000_square_png_is_refused_from_its_header():
    data = _png(20000, 20000)  # 400 megapixels in ~60 KB
    assert len(data) < 200_000
    _raises(data, max_pixels=1_000_000)
    _raises(data)  # default limit (40 M); Pillow's own bomb guard agrees
    _raises(data, max_pixels=10**9)  # Pillow's global bomb limit still protects


def test_decompression_bomb_is_refused_without_decoding(monkeypatch):
    data = _png(8000, 8000)  # 64 megapixels > the 40 M default, ~10 KB of zlib
    loads = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(1) or original(self))
    limit_before = Image.MAX_IMAGE_PIXELS
    start = time.perf_counter()
    message = _raises(data)
    assert "8000x8000 = 64,000,000 pixels" in message
    assert loads == [] and time.perf_counter() - start < 1.0
    assert Image.MAX_IMAGE_PIXELS == limit_before  # no global state changed
    load_image(_png(10, 10))
    assert loads  # the spy does see a real decode


def test_limit_is_per_call():
    data = _png(300, 200)
    assert load_image(data).shape == (200, 300)
    _raises(data, max_pixels=300 * 200 - 1)
    assert load_image(data, max_pixels=300 * 200).shape == (200, 300)
