"""The YAML files shipped inside the package, found by name: training configs, zoo recipes, search spaces, GAN configs.

``--config fast`` means ``presets/fast.yaml``, ``--space cnn`` ``presets/search/cnn.yaml``
and the zoo's recipe of ``lenet5`` ``presets/zoo/lenet5.yaml``, wherever the package is
installed (a wheel has no repository around it). An existing file path always wins.
"""

from __future__ import annotations

import difflib
import re
from importlib import resources
from pathlib import Path

from ..errors import ConfigError

KINDS = {
    "config": ".",
    "zoo": "zoo",
    "search": "search",
    "ensemble": "ensemble",
    "gan": "gan",
    "nas": "nas",
}  # kind -> sub-folder of the presets
LABELS = {
    "config": "Config",
    "zoo": "Zoo recipe",
    "search": "Search space",
    "ensemble": "Ensemble pool",
    "gan": "GAN config",
    "nas": "Structure space",
}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # no dots or slashes: a name never leaves its folder


def preset_dir(kind: str = "config") -> Path:
    """The folder of the shipped presets of ``kind`` (setuptools installs package data as plain files)."""
    if kind not in KINDS:
        raise ValueError(f"unknown preset kind {kind!r}")
    return Path(str(resources.files(__name__))) / KINDS[kind]


def list_presets(kind: str = "config") -> list[str]:
    """Names (file stems, sorted) of the shipped presets of ``kind``."""
    return sorted(p.stem for p in preset_dir(kind).glob("*.yaml"))


def resolve_preset(name_or_path: str | Path, kind: str = "config", label: str | None = None) -> Path:
    """An existing file, else the shipped preset named ``name_or_path`` (``fast`` or ``fast.yaml``), else a ConfigError.

    ``label`` starts the error sentence (default: Config, Zoo recipe or Search space).
    """
    label = label or LABELS[kind]
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = str(name_or_path)
    stem = text.removesuffix(".yaml")
    names = list_presets(kind)
    if not NAME.fullmatch(stem):  # a path (or something odd), not a name: say the file is missing
        hint = f"; for the shipped preset write just {path.stem!r}" if path.stem in names else ""
        raise ConfigError(f"{label} file {text} does not exist{hint}.")
    if stem in names:
        return preset_dir(kind) / f"{stem}.yaml"
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f" (closest: {close[0]})" if close else ""
    raise ConfigError(f"{label} {text!r} is neither a file nor a shipped preset; the presets are {', '.join(names)}{hint}.")
