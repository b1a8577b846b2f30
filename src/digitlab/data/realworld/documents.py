"""Printed text pages without digits: licence texts shipped by Debian's base-files, set in the split's printed faces.

A page is a few lines of words (digits and the punctuation around them removed from the text first, by content) printed
in one face, photographed like the letters (paper, lighting, ink, noise, JPEG). Each split takes a different licence
text and its own faces, so no page or face crosses splits.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import faces, rng_for
from .packages import check_split, package_file, require
from .photo import finish_jpeg, ink, paper
from .sample import Sample

TEXTS = {"eval": "GPL-3", "val": "Apache-2.0", "train": "MPL-2.0"}  # /usr/share/common-licenses/<name> (base-files)
PAGE = (480, 640)  # px (H, W): text needs more pixels than one letter
SOURCE = "base-files"


def words(split: str) -> list[str]:
    """The words of the split's licence text, with every digit (and what is left of section numbers) removed."""
    path = f"/usr/share/common-licenses/{TEXTS[check_split(split)]}"
    require({SOURCE: [path]})
    text = re.sub(r"[0-9]+", " ", package_file(SOURCE, path).read_text(errors="replace"))
    return [w for w in text.split() if re.search(r"[A-Za-z]", w)]


def page_jpeg(face_path: str, text: list[str], rng: np.random.Generator) -> bytes:
    """``text`` wrapped into 3-12 lines of one face, printed on paper and photographed -> JPEG bytes."""
    h, w = PAGE
    lines = int(rng.integers(3, 13))
    size = int(h * rng.uniform(0.45, 0.7) / lines)  # font size in px: the block fills about half to two thirds of the height
    font = ImageFont.truetype(face_path, size)
    per_line = max(8, int(w * 0.85 / (0.5 * size)))  # characters per line at ~0.5 em per character
    body = "\n".join(textwrap.wrap(" ".join(text), per_line)[:lines])
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = (int(v) for v in draw.multiline_textbbox((0, 0), body, font=font, spacing=size // 3))
    ox, oy = int(rng.integers(0, max(1, w - (x1 - x0)))) - x0, int(rng.integers(0, max(1, h - (y1 - y0)))) - y0
    draw.multiline_text((ox, oy), body, font=font, fill=255, spacing=size // 3)
    page = paper(PAGE, rng)
    ink(page, np.asarray(canvas, np.float32) / 255, 0, 0, rng)
    return finish_jpeg(page, rng)


def documents(split: str, n: int = 40, seed: int = 0) -> list[Sample]:
    """``n`` photographed text pages of ``split``, each in one of its printed (not handwriting) faces."""
    text = words(split)
    printed = [f for f in faces(split) if not f.hand]
    out = []
    for k in range(n):
        rng = rng_for(seed, "document", split, str(k))
        face = printed[int(rng.integers(len(printed)))]
        start = int(rng.integers(0, len(text) - 200))
        data = page_jpeg(str(package_file(face.package, face.path)), text[start : start + 200], rng)
        out.append(Sample(data, None, SOURCE, face.package, "document", face.name))
    return out
