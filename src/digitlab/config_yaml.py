"""Reading config text: YAML files and ``key=value`` overrides, strict and bounded (no aliases, no endless files).

The half of the config module that reads text; ``digitlab.config`` re-exports it, so callers import from there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a config holds a few dozen parameters (~2 kB); a file past 1 MiB is not one


class _AliasError(yaml.MarkedYAMLError):
    """An anchor (``&a``) or alias (``*a``) was met; ``problem_mark`` says where."""


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases before composing them.

    Nested aliases let a 400-byte file expand to gigabytes ("billion laughs"), and a
    config never needs them, so it is refused instead of capped.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasError(problem="anchor or alias", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


# YAML 1.1 (PyYAML) reads 1e-3 as text, which strict validation would refuse as a number; read it as YAML 1.2 does.
_NoAliasLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load`` without anchors and aliases (raises _AliasError, or YAMLError for bad syntax)."""
    return yaml.load(text, Loader=_NoAliasLoader)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["lr=0.01", "model_kwargs.width=64"]`` -> nested dict with YAML-typed values."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"Override {item!r} is not of the form key=value.")
        try:
            value = _load_yaml(raw) if raw else None
        except _AliasError as err:
            raise ConfigError(f"Value of {key!r} uses a YAML anchor or alias (& or *), which is not allowed: write the value out.") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"Value of {key!r} is not valid YAML: {raw!r}.") from err
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def merge_config(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in top.items():
        merged[k] = merge_config(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``, or a ConfigError saying what is wrong."""
    path = Path(path)
    try:
        data = _load_yaml(_read_text(path)) or {}
    except _AliasError as err:
        raise ConfigError(
            f"Config file {path} uses a YAML anchor or alias (& or *) at line {err.problem_mark.line + 1 if err.problem_mark else '?'}, which is not allowed"
            " (aliases can expand a small file without limit): write the values out."
        ) from err
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"Config file {path} is not valid YAML{line}.") from err
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of parameter: value, not a {type(data).__name__}.")
    return data


def _read_text(path: Path) -> str:
    """The UTF-8 text of a config file of at most MAX_CONFIG_BYTES, or a ConfigError (read with a bound: no endless source)."""
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist.")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"Config file {path} cannot be read ({err.strerror}).") from err
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"Config file {path} is larger than {MAX_CONFIG_BYTES:,} bytes, far more than a config needs; is it the right file?"
        )
    try:
        return raw.decode("utf-8-sig")  # -sig: a leading byte-order mark is dropped, not read as a key
    except UnicodeDecodeError as err:
        raise ConfigError(f"Config file {path} is not UTF-8 text (byte {err.start} is 0x{raw[err.start]:02x}); save it as UTF-8.") from err
