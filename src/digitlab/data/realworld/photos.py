"""Real photos without digits: wallpapers, photo templates, planet maps and textures from Debian packages.

Every file below was looked at and chosen by its content (no digits, no writing anywhere in the picture); files that
show writing or number-like shapes were left out (a clock face, a bottle label, a book shelf, a "20.04" logo). No
model takes part in the choice. Each photo gives one full view and ``crops`` crops at random scales and places, each
resized to a phone-photo size and finished like a phone picture (noise, JPEG 70-90).
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from .fonts import rng_for
from .packages import PHOTO_PACKAGES, check_split, package_file, require
from .photo import finish_jpeg
from .sample import Sample

LOMIRI16 = "/usr/share/backgrounds/"
TUX = "/usr/share/tuxpaint/templates/"
MATE = "/usr/share/backgrounds/mate/nature/"
GIMP = "/usr/share/gimp/2.0/patterns/"
MYPAINT = "/usr/share/mypaint/backgrounds/"
PHOTOS: dict[str, list[str]] = {
    # eval: scenes, landscapes, animals, plants, objects, sky, earth from space
    "lomiri-wallpapers-16.04": [
        LOMIRI16 + f + ".jpg"
        for f in "Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Picture_0B_by_freespace Picture_1A_by_freespace "
        "aitzgorri_by_Aitzol_Berasategi analogpattern_by_Peter_Nerlich free_by_Peter_Nerlich friends_by_Aitzol_Berasategi "
        "life_by_Aitzol_Berasategi picosdeeuropa_by_Aitzol_Berasategi seeding_by_Clements_Engelhardt "
        "sunset_by_Aitzol_Berasategi umang_by_Abhishek_Mudgal".split()
    ],
    "tuxpaint-data": [
        TUX + f + ".jpg"
        for f in "burnt_bark cliff corn_maze jellyfish lighthouse mossy_bark mossy_log mudstone ocean_splash ocean_waves "
        "redwoods_above rocks sheep spiders_web sun_behind_clouds sun_behind_leaves trees_above trees_at_dusk".split()
    ],
    "xplanet-images": ["/usr/share/xplanet/images/earth.jpg", "/usr/share/xplanet/images/night.jpg"],
    # val
    "lomiri-wallpapers-20.04": [
        "/usr/share/backgrounds/" + f
        for f in "Kleiber_by_Lukas_Baubkus.jpg Infinite-Sea_by_Aury88.jpg Fossa_by_Jasper_Roks.jpg Painting-Colors_by__herobrine7gamer.jpg".split()
    ],
    "xfdesktop4-data": [
        "/usr/share/backgrounds/xfce/" + f for f in "xfce-blue.jpg xfce-teal.jpg xfce-stripes.png xfce-verticals.png".split()
    ],
    "matplotlib": ["sample_data/grace_hopper.jpg", "sample_data/Minduka_Present_Blue_Pack.png"],
    # train: nature photos, photographed textures (GIMP patterns, tiled), papers
    "mate-backgrounds": [
        MATE + f + ".jpg"
        for f in "Aqua Blinds Dune FreshFlower Garden GreenMeadow LadyBird RainDrops Storm TwoWings Wood YellowFlower".split()
    ]
    + ["/usr/share/backgrounds/mate/abstract/Elephants.jpg"],
    "gimp-data": ["/usr/share/gimp/2.0/scripts/images/" + f for f in "texture.jpg texture1.jpg texture2.jpg texture3.jpg".split()]
    + [
        GIMP + f + ".pat"
        for f in "Animal/leather Animal/leopard Fabric/burlap Food/choc_swirl Food/java Paper/crinklepaper Paper/paper Plant/leaves "
        "Sky/lightning Sky/sky Sky/starfield Stone/Craters Stone/Moonfoot Stone/amethyst Stone/brick Stone/cracked Stone/granite1 "
        "Stone/ground1 Stone/marble1 Stone/marble2 Stone/marble3 Stone/pink_marble Stone/rock Stone/slate Stone/stone33 Stone/terra "
        "Water/ice Water/pool Water/rain Wood/bark Wood/burlwood Wood/corkboard Wood/parque1 Wood/parque2 Wood/parque3 Wood/pine "
        "Wood/walnut Wood/wood1 Wood/wood2 Wood/wood3 Wood/wood4 Wood/wood5 Legacy/fibers Legacy/pastel Legacy/blueweb".split()
    ],
    "mypaint-data-extras": [
        MYPAINT + f + ".png"
        for f in "mrmamurk/mamurk_a_1 mrmamurk/mamurk_b_1 mrmamurk/mamurk_c_3 mrmamurk/mamurk_e_2 mrmamurk/mamurk_f_1 "
        "ramon/HR_Cork ramon/HR_DecoPaper ramon/HR_RoughPaper ramon/HR_SketchPaper ramon/HR_WaterColor".split()
    ],
}
CROPS = {"eval": 9, "val": 9, "train": 12}  # crops per photo, beside its full view (eval: 33 photos x 10 = 330)
SOURCE_SIDE = 2048  # px: sources are decoded at most this big (JPEG draft); crops never need more
SIDES = (400, 800)  # px: the longer side of a delivered photo, drawn in this range
TILE = (480, 640)  # px: GIMP patterns are small tiles; they are tiled to this size (H, W) as a texture photo


def sources(split: str) -> dict[str, list[str]]:
    """Package -> photo files of ``split``; a DataError naming the install command when a package is missing."""
    chosen = {p: files for p, files in PHOTOS.items() if PHOTO_PACKAGES[p] == check_split(split)}
    require(chosen)
    return chosen


def read_pat(data: bytes) -> np.ndarray:
    """A GIMP pattern file (.pat: big-endian header, 'GPAT', name, raw pixels) -> (H, W, 3) uint8 RGB."""
    size, _, w, h, channels = struct.unpack(">5I", data[:20])
    px = np.frombuffer(data, np.uint8, w * h * channels, size).reshape(h, w, channels)
    return np.ascontiguousarray(px[..., :3] if channels >= 3 else np.repeat(px[..., :1], 3, axis=2))  # grey (+alpha) -> RGB


def load_rgb(package: str, path: str) -> np.ndarray:
    """A source picture as (H, W, 3) uint8 RGB: transparency flattened on white, at most SOURCE_SIDE, patterns tiled."""
    raw = package_file(package, path).read_bytes()
    if path.endswith(".pat"):
        tile = read_pat(raw)
        reps = (-(-TILE[0] // tile.shape[0]), -(-TILE[1] // tile.shape[1]), 1)
        return np.tile(tile, reps)[: TILE[0], : TILE[1]]
    opened = Image.open(io.BytesIO(raw))
    opened.draft("RGB", (SOURCE_SIDE, SOURCE_SIDE))  # JPEG: decode at a reduced scale, much faster for wallpapers
    im: Image.Image = opened
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        im = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im)
    im = im.convert("RGB")
    im.thumbnail((SOURCE_SIDE, SOURCE_SIDE), Image.Resampling.BOX)
    return np.asarray(im)


def crop_box(shape: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A random crop (x0, y0, x1, y1): 20-90 % of the shorter side, aspect 3:4 or 4:3 (or square), anywhere."""
    h, w = shape
    side = rng.uniform(0.2, 0.9) * min(h, w)
    aspect = float(rng.choice([0.75, 1.0, 4 / 3]))
    ch, cw = int(min(h, side * aspect)), int(min(w, side / aspect))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return x, y, x + cw, y + ch


def phone_view(rgb: np.ndarray, rng: np.random.Generator) -> bytes:
    """A picture resized so its longer side is in SIDES, then noise and JPEG as a phone camera -> JPEG bytes."""
    long_side = int(rng.integers(SIDES[0], SIDES[1] + 1))
    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    im = Image.fromarray(rgb).resize(
        (max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BICUBIC if s > 1 else Image.Resampling.BOX
    )
    page = np.asarray(im, np.float32) / 255
    return finish_jpeg(page.copy(), rng)


def photos(split: str, seed: int = 0, limit: int | None = None) -> list[Sample]:
    """Full views and crops of every photo of ``split`` (the first ``limit`` photos of each package when given)."""
    out = []
    for package, files in sources(split).items():
        for path in files[:limit]:
            rgb = load_rgb(package, path)
            item = path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]
            rng = rng_for(seed, package, path)
            out.append(Sample(phone_view(rgb, rng), None, package, package, "photo", item))
            for _ in range(CROPS[split]):
                x0, y0, x1, y1 = crop_box(rgb.shape[:2], rng)
                out.append(Sample(phone_view(rgb[y0:y1, x0:x1], rng), None, package, package, "crop", item))
    return out
