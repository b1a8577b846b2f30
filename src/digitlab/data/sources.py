"""Where the data files come from, in order: explicit dir / $DIGITLAB_DATA, the repo's data/, the user cache, a download.

Downloads use pooch from the standard public mirrors; the mirror list can be
replaced with ``$DIGITLAB_MIRRORS`` (space-separated base URLs), which the tests
use to serve the files from a local HTTP server.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import DataError
from ..evidence import REPO

# MD5 of the *uncompressed* content (see data/README.md for provenance).
FILES: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}
MIRRORS: dict[str, list[str]] = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
log = logging.getLogger("digitlab")
REPO_DATA = REPO / "data" if REPO else None  # only a source checkout has the repository's data/


def cache_dir() -> Path:
    """The user cache: ``$DIGITLAB_CACHE`` or ``~/.cache/digitlab``."""
    return Path(os.environ.get("DIGITLAB_CACHE", Path.home() / ".cache" / "digitlab"))


def candidate_dirs(dataset: str, data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for ``dataset``'s files, in priority order."""
    explicit = data_dir or os.environ.get("DIGITLAB_DATA")
    if explicit:
        return [Path(explicit) / dataset, Path(explicit)]
    return [*([REPO_DATA / dataset] if REPO_DATA else []), cache_dir() / "data" / dataset]


POINT = (
    "point `digitlab --data-dir DIR` or $DIGITLAB_DATA at a folder DIR holding the four official .gz files, directly or in DIR/{dataset}/"
)
_announced: set[tuple[str, str]] = set()  # (dataset, folders): the download notice is said once, not once per file


def locate(dataset: str, filename: str, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """Path of ``filename`` of ``dataset``, downloading into the cache when nowhere else."""
    if dataset not in FILES or filename not in FILES[dataset]:
        raise DataError(f"Unknown data file {dataset}/{filename}.")
    dirs = candidate_dirs(dataset, data_dir)
    for d in dirs:
        if (d / filename).is_file():
            return d / filename
    where, point = ", then ".join(map(str, dirs)), POINT.format(dataset=dataset)
    if data_dir or os.environ.get("DIGITLAB_DATA"):
        given = "--data-dir" if data_dir else "$DIGITLAB_DATA"
        raise DataError(
            f"{filename} of {dataset} is not in {where} (from {given}); copy the official files there, or unset both to download them."
        )
    if not download:
        raise DataError(f"{filename} of {dataset} is not in {where}; {point}.")
    if (dataset, where) not in _announced:
        _announced.add((dataset, where))
        log.warning("%s files not found in %s: downloading them into the cache (to use local files, %s).", dataset, where, point)
    try:
        return fetch(dataset, filename, cache_dir() / "data" / dataset)
    except DataError as err:
        raise DataError(f"{err} after looking in {where}; {point}.") from err


def fetch(dataset: str, filename: str, dest: Path) -> Path:
    """Download ``filename`` into ``dest`` from the first mirror that answers."""
    import pooch  # only needed on a machine without local copies of the files

    mirrors = os.environ.get("DIGITLAB_MIRRORS", "").split() or MIRRORS[dataset]
    errors = []
    for base in mirrors:
        try:
            path = pooch.retrieve(base.rstrip("/") + "/" + filename, known_hash=None, fname=filename, path=dest, progressbar=False)
            return Path(path)
        except Exception as err:
            errors.append(f"{base}: {err}")
    raise DataError(f"Could not download {filename} from any mirror ({'; '.join(errors)})")
