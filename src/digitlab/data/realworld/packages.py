"""The Debian packages the real-world sets are made from, which split each one feeds, and where their files are.

A split is decided per package, so training and validation never see a font, a photo or a package that the
evaluation uses. Most packages are installed with ``apt-get install``; ``tuxpaint-data`` would pull 160 MB of stamps
with it, so it is fetched with ``apt-get download`` and unpacked (``dpkg-deb -x``) under ``DEB_ROOT`` instead.
``scripts/realworld-packages.sh`` does both (``.ci/run`` calls it); data/README.md lists versions, sizes and licences.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ...errors import DataError

SPLITS = ("train", "val", "eval")
INSTALL = "sudo scripts/realworld-packages.sh"
DEB_ROOT = Path("/usr/local/share/digitlab/debs")  # unpacked, not installed, packages: DEB_ROOT/<package>/usr/...
UNPACKED = frozenset({"tuxpaint-data"})

# package -> split. Photos: eval holds real photos of scenes, animals, objects and sky; train holds other photos and
# photographed textures; val a few of each kind. Fonts: see fonts.py for the faces each package gives.
PHOTO_PACKAGES = {
    "lomiri-wallpapers-16.04": "eval",
    "tuxpaint-data": "eval",
    "xplanet-images": "eval",
    "lomiri-wallpapers-20.04": "val",
    "xfdesktop4-data": "val",
    "matplotlib": "val",  # PyPI: the sample photos in mpl-data (already a dependency of the lab)
    "mate-backgrounds": "train",
    "gimp-data": "train",
    "mypaint-data-extras": "train",
}
FONT_PACKAGES = {
    "fonts-urw-base35": "eval",
    "fonts-freefont-ttf": "eval",
    "fonts-linuxlibertine": "eval",
    "fonts-go": "eval",
    "fonts-crosextra-caladea": "eval",
    "fonts-crosextra-carlito": "eval",
    "fonts-lato": "eval",
    "fonts-ebgaramond": "eval",
    "fonts-comic-neue": "eval",
    "fonts-bwht": "eval",
    "fonts-humor-sans": "eval",
    "fonts-kristi": "eval",
    "fonts-femkeklaver": "eval",
    "fonts-dancingscript": "eval",
    "fonts-cantarell": "val",
    "fonts-quicksand": "val",
    "fonts-lmodern": "val",
    "fonts-breip": "val",
    "fonts-tomsontalks": "val",
    "fonts-dejavu-core": "train",
    "fonts-liberation": "train",
    "fonts-open-sans": "train",
    "fonts-hack": "train",
    "fonts-inconsolata": "train",
    "fonts-jetbrains-mono": "train",
    "fonts-league-spartan": "train",
    "fonts-adf-accanthis": "train",
    "fonts-noto-mono": "train",
    "fonts-firacode": "train",
    "fonts-dkg-handwriting": "train",
    "fonts-rufscript": "train",
    "fonts-kaushanscript": "train",
}
DEBIAN = sorted(p for p in {**PHOTO_PACKAGES, **FONT_PACKAGES} if p != "matplotlib")


def check_split(split: str) -> str:
    """``split`` itself, or a DataError naming the three splits."""
    if split not in SPLITS:
        raise DataError(f"Unknown real-world split {split!r}; use one of {', '.join(SPLITS)}.")
    return split


def root() -> Path:
    """Where installed packages' files are: ``/``, or ``$DIGITLAB_REALWORLD_ROOT`` (tests point it at an empty folder)."""
    return Path(os.environ.get("DIGITLAB_REALWORLD_ROOT", "/"))


def package_file(package: str, path: str) -> Path:
    """The file ``path`` (absolute, as the package installs it) of ``package``, installed or unpacked."""
    if package == "matplotlib":  # found without importing it: the predictor's layers never load matplotlib
        spec = importlib.util.find_spec("matplotlib")
        return Path(spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else "/nonexistent") / "mpl-data" / path
    base = root() / DEB_ROOT.relative_to("/") / package if package in UNPACKED else root()
    return base / path.lstrip("/")


def require(files: dict[str, list[str]]) -> None:
    """Raise one DataError sentence naming the packages whose files (package -> paths) are missing, and the install command."""
    missing = sorted(pkg for pkg, paths in files.items() if not all(package_file(pkg, p).is_file() for p in paths))
    if missing:
        apt, unpack = [m for m in missing if m not in UNPACKED], [m for m in missing if m in UNPACKED]
        how = "; ".join(
            [
                *([f"apt-get install {' '.join(apt)}"] if apt else []),
                *([f"apt-get download + dpkg-deb -x {' '.join(unpack)}"] if unpack else []),
            ]
        )
        raise DataError(
            f"The real-world data sets need Debian packages that are not installed ({' '.join(missing)}); run `{INSTALL}` ({how})."
        )
