"""Printed and handwriting-font letters, symbols and digits, photographed like the lab's digit photos.

Each glyph is rendered with Pillow from a Debian font package, slightly rotated, and written as dark ink on paper by
``photo.photo_jpeg`` (tinted paper, lighting gradient, pen colour, noise, JPEG 70-90), so letters differ from the
digit photos only in what was written. The split is by package (packages.FONT_PACKAGES): eval faces are never seen
by training or validation.
"""

from __future__ import annotations

import string
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .packages import FONT_PACKAGES, check_split, package_file, require
from .photo import photo_jpeg
from .sample import Sample

LETTERS = string.ascii_lowercase + string.ascii_uppercase
# Letters people write the way they write a digit (issue 11): reading them as that digit is fair, refusing them too.
AMBIGUOUS = {"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "Z": "2", "B": "8", "g": "9", "q": "9", "b": "6"}
SYMBOLS = "+-*/=#@&%$?!<>()[]{}~^×÷→←↑↓§|"
SYMBOL_LIKE_DIGIT = {"/": "1", "|": "1"}  # a slanted or upright bar is how many people write a 1
GLYPH_PX = 160  # font size the glyphs are rendered at, before photo_jpeg rescales them to 20-60 % of the page
PAGE = (240, 320)  # photo size (H, W); the digit photos (digits.py) are the same size
ROTATE = 4.0  # degrees: the paper is never quite square to the camera


@dataclass(frozen=True)
class Face:
    """One typeface: the package it comes from, the file, and whether it imitates handwriting."""

    package: str
    path: str
    name: str
    hand: bool = False


def _faces(package: str, folder: str, files: str, hand: bool = False) -> list[Face]:
    return [Face(package, f"{folder}/{f}", f.rsplit(".", 1)[0], hand) for f in files.split()]


FACES: list[Face] = [
    # eval: 21 printed faces + 10 handwriting faces
    *_faces(
        "fonts-urw-base35",
        "/usr/share/fonts/opentype/urw-base35",
        "NimbusSans-Regular.otf NimbusSansNarrow-Regular.otf NimbusRoman-Regular.otf NimbusMonoPS-Regular.otf "
        "URWBookman-Light.otf URWGothic-Book.otf P052-Roman.otf C059-Roman.otf Z003-MediumItalic.otf",
    ),
    *_faces("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont", "FreeSans.ttf FreeSerif.ttf FreeMono.ttf"),
    *_faces("fonts-linuxlibertine", "/usr/share/fonts/opentype/linux-libertine", "LinLibertine_R.otf LinBiolinum_R.otf"),
    *_faces("fonts-go", "/usr/share/fonts/fonts-go", "Go-Regular.ttf Go-Mono.ttf"),
    *_faces("fonts-crosextra-caladea", "/usr/share/fonts/truetype/crosextra", "Caladea-Regular.ttf"),
    *_faces("fonts-crosextra-carlito", "/usr/share/fonts/truetype/crosextra", "Carlito-Regular.ttf"),
    *_faces("fonts-lato", "/usr/share/fonts/truetype/lato", "Lato-Regular.ttf"),
    *_faces("fonts-ebgaramond", "/usr/share/fonts/opentype/ebgaramond", "EBGaramond12-Regular.otf"),
    *_faces("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue", "ComicNeue-Regular.otf"),
    *_faces(
        "fonts-bwht",
        "/usr/share/fonts/opentype/bwht",
        "BecauseWeBuild-Regular.otf BecauseWeConnect-Regular.otf BecauseWeCreate-Regular.otf "
        "BecauseWeLearn-Regular.otf BecauseWeMentor-Regular.otf BecauseWeOrganize-Regular.otf",
        hand=True,
    ),
    *_faces("fonts-humor-sans", "/usr/share/fonts/truetype/humor-sans", "Humor-Sans.ttf", hand=True),
    *_faces("fonts-kristi", "/usr/share/fonts/truetype/kristi", "Kristi.ttf", hand=True),
    *_faces("fonts-femkeklaver", "/usr/share/fonts/truetype/femkeklaver", "femkeklaver.ttf", hand=True),
    *_faces("fonts-dancingscript", "/usr/share/fonts/opentype/dancingscript", "DancingScript-Regular.otf", hand=True),
    # val: 5 printed + 2 handwriting
    *_faces("fonts-cantarell", "/usr/share/fonts/opentype/cantarell", "Cantarell-Regular.otf"),
    *_faces("fonts-quicksand", "/usr/share/fonts/truetype/quicksand", "Quicksand-Regular.ttf"),
    *_faces(
        "fonts-lmodern", "/usr/share/texmf/fonts/opentype/public/lm", "lmroman10-regular.otf lmsans10-regular.otf lmmono10-regular.otf"
    ),
    *_faces("fonts-breip", "/usr/share/fonts/truetype/breip", "Breip.ttf", hand=True),
    *_faces("fonts-tomsontalks", "/usr/share/fonts/truetype/tomsontalks", "TomsonTalks.ttf", hand=True),
    # train: 19 printed (with some bold and italic styles) + 3 handwriting
    *_faces(
        "fonts-dejavu-core",
        "/usr/share/fonts/truetype/dejavu",
        "DejaVuSans.ttf DejaVuSerif.ttf DejaVuSansMono.ttf DejaVuSans-Bold.ttf DejaVuSerif-Bold.ttf",
    ),
    *_faces(
        "fonts-liberation",
        "/usr/share/fonts/truetype/liberation",
        "LiberationSans-Regular.ttf LiberationSansNarrow-Regular.ttf LiberationSerif-Regular.ttf LiberationMono-Regular.ttf "
        "LiberationSans-Bold.ttf LiberationSerif-Italic.ttf",
    ),
    *_faces("fonts-open-sans", "/usr/share/fonts/truetype/open-sans", "OpenSans-Regular.ttf"),
    *_faces("fonts-hack", "/usr/share/fonts/truetype/hack", "Hack-Regular.ttf"),
    *_faces("fonts-inconsolata", "/usr/share/fonts/truetype/inconsolata", "Inconsolata.otf"),
    *_faces("fonts-jetbrains-mono", "/usr/share/fonts/truetype/jetbrains-mono", "JetBrainsMono-Regular.ttf"),
    *_faces("fonts-league-spartan", "/usr/share/fonts/opentype/league-spartan", "LeagueSpartan-Regular.otf"),
    *_faces("fonts-adf-accanthis", "/usr/share/fonts/truetype/adf", "AccanthisADFStd-Regular.otf"),
    *_faces("fonts-noto-mono", "/usr/share/fonts/truetype/noto", "NotoSansMono-Regular.ttf"),
    *_faces("fonts-firacode", "/usr/share/fonts/truetype/firacode", "FiraCode-Regular.ttf"),
    *_faces("fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman", "dkg.ttf", hand=True),
    *_faces("fonts-rufscript", "/usr/share/fonts/truetype/rufscript", "Rufscript010.ttf", hand=True),
    *_faces("fonts-kaushanscript", "/usr/share/fonts/opentype/kaushanscript", "KaushanScript-Regular.otf", hand=True),
]


def faces(split: str) -> list[Face]:
    """The faces of ``split``; a DataError naming the install command when a package is missing."""
    chosen = [f for f in FACES if FONT_PACKAGES[f.package] == check_split(split)]
    files: dict[str, list[str]] = {}
    for f in chosen:
        files.setdefault(f.package, []).append(f.path)
    require(files)
    return chosen


@lru_cache(maxsize=64)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # a matplotlib dependency: always there with the lab

    return frozenset(TTFont(path, lazy=True)["cmap"].getBestCmap())


def has_glyph(face: Face, char: str) -> bool:
    """True when the face draws ``char`` (it is in the font's character map)."""
    return ord(char) in _cmap(str(package_file(face.package, face.path)))


@lru_cache(maxsize=64)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, GLYPH_PX)


def glyph_alpha(face: Face, char: str, angle: float = 0.0) -> np.ndarray:
    """``char`` in ``face`` as ink opacity (h, w) float32 in [0, 1], rotated by ``angle`` degrees, cropped to its ink."""
    font = _font(str(package_file(face.package, face.path)))
    x0, y0, x1, y1 = (int(v) for v in font.getbbox(char))
    canvas = Image.new("L", (x1 - x0 + 8, y1 - y0 + 8), 0)
    ImageDraw.Draw(canvas).text((4 - x0, 4 - y0), char, font=font, fill=255)
    if angle:
        canvas = canvas.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    a = np.asarray(canvas, np.float32) / 255
    ys, xs = np.nonzero(a > 0)
    return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] if len(ys) else a[:0, :0]


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on the seed and the names (never on which other samples are made)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def glyph_photo(face: Face, char: str, seed: int) -> bytes | None:
    """``char`` of ``face`` written on paper and photographed -> JPEG bytes; None when the face has no such glyph."""
    if not has_glyph(face, char):
        return None
    rng = rng_for(seed, face.name, char)
    alpha = glyph_alpha(face, char, float(rng.uniform(-ROTATE, ROTATE)))
    if alpha.size == 0 or alpha.max() <= 0:
        return None
    return photo_jpeg(alpha, rng, PAGE)


def glyph_samples(split: str, chars: str, kind: str, seed: int = 0, limit_faces: int | None = None) -> list[Sample]:
    """Every char of ``chars`` in every face of ``split`` (the first ``limit_faces`` faces when given)."""
    out = []
    for face in faces(split)[:limit_faces]:
        for ch in chars:
            data = glyph_photo(face, ch, seed)
            if data is None:
                continue
            accept = AMBIGUOUS.get(ch, "") if kind == "letter" else SYMBOL_LIKE_DIGIT.get(ch, "")
            label = ch if kind == "printed-digit" else None
            out.append(Sample(data, label, face.package, face.package, kind, face.name, ch, accept))
    return out


def letters(split: str, seed: int = 0, limit_faces: int | None = None) -> list[Sample]:
    """a-z and A-Z in every face of ``split``; ``accept`` holds the digit a digit-like letter may be read as."""
    return glyph_samples(split, LETTERS, "letter", seed, limit_faces)


def symbols(split: str, seed: int = 0, limit_faces: int | None = None) -> list[Sample]:
    """Punctuation, operators and arrows (SYMBOLS) in every face of ``split`` that has them."""
    return glyph_samples(split, SYMBOLS, "symbol", seed, limit_faces)


def printed_digits(split: str, seed: int = 0, limit_faces: int | None = None) -> list[Sample]:
    """0-9 in every face of ``split``, labelled."""
    return glyph_samples(split, string.digits, "printed-digit", seed, limit_faces)
