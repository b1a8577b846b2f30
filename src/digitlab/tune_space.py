"""Search spaces for tuning: YAML files whose ``params`` name config parameters, checked against the schema.

A space (a file, or a preset shipped in ``digitlab/presets/search/`` by name: ``cnn``) fixes a ``base`` config and lists the
parameters to search (float, log-float, int, categorical; ``when`` makes one
conditional on another), each validated against config.py's types and ranges
with one clear sentence per mistake. ``suggest`` turns an Optuna trial into a
TrainConfig.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_origin

import optuna

from .config import FIELDS, TrainConfig, config_identity, load_config, make_config, merge_config, range_text, read_yaml, schema_extra
from .errors import ConfigError, DigitlabError
from .models import get_spec
from .presets import resolve_preset

log = logging.getLogger("digitlab")
TYPES = ("float", "logfloat", "int", "categorical")
OBJECTIVES = {"val_acc": "maximize", "train_seconds": "minimize", "params": "minimize"}


@dataclass(frozen=True)
class Param:
    """One searched parameter; ``when`` maps another parameter to the values that switch this one on."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "name": self.name,
            "type": self.type,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "choices": list(self.choices),
            "when": {k: list(v) for k, v in self.when.items()},
        }
        return {k: v for k, v in d.items() if v not in (None, [], {})}


@dataclass
class Space:
    """A validated search space: the full base config, the searched parameters, the objectives (val_acc first)."""

    base: dict[str, Any]
    params: list[Param]
    objectives: list[str] = field(default_factory=lambda: ["val_acc"])

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "params": [p.to_dict() for p in self.params], "objectives": self.objectives}

    def hash(self) -> str:
        """Hash of the canonical JSON, machine settings (threads, ...) and schema defaults left out."""
        d = self.to_json()
        d["base"] = config_identity(d["base"])
        return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVES[o] for o in self.objectives]

    def with_overrides(self, overrides: list[str] | None) -> Space:
        base = load_config(None, overrides, base=self.base).model_dump()
        return Space(base, self.params, self.objectives)


def load_space(path: str | Path, overrides: list[str] | None = None, objectives: str | list[str] | None = None) -> Space:
    """Read and validate a search-space YAML file (a path or a preset name); ``overrides`` change its base, ``objectives`` its goals."""
    path = resolve_preset(path, "search")
    return parse_space(read_yaml(path), str(path), path.parent, overrides, objectives)


def parse_space(
    data: dict[str, Any],
    where: str = "search space",
    root: Path = Path("."),
    overrides: list[str] | None = None,
    objectives: str | list[str] | None = None,
) -> Space:
    """Validate a search space given as a mapping with ``base``, ``params`` and optionally ``objectives``."""
    unknown = set(data) - {"base", "params", "objectives"}
    if unknown:
        raise ConfigError(f"Search space {where} has an unknown section {sorted(unknown)[0]!r}; it may hold base, params and objectives.")
    cfg = load_config(None, overrides, base=resolve_base(data.get("base") or {}, root, where))
    if cfg.val_size <= 0:
        raise ConfigError(f"Search space {where}: tuning selects on validation accuracy, so the base needs val_size > 0.")
    base = cfg.model_dump()
    params = data.get("params")
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"Search space {where} needs a non-empty 'params' mapping of parameter: {{type, low, high | choices}}.")
    parsed: dict[str, Param] = {}
    for name, spec in params.items():
        parsed[str(name)] = _parse_param(str(name), spec, base, parsed, set(map(str, params)))
    return Space(base, list(parsed.values()), parse_objectives(objectives or data.get("objectives") or ["val_acc"]))


def parse_objectives(objectives: str | list[str]) -> list[str]:
    """``"val_acc,train_seconds"`` -> ["val_acc", "train_seconds"]; val_acc must be one of them and comes first."""
    items = [o.strip() for o in objectives.split(",")] if isinstance(objectives, str) else [str(o) for o in objectives]
    for o in items:
        if o not in OBJECTIVES:
            raise ConfigError(f"Unknown objective {o!r}; choose from {', '.join(OBJECTIVES)} (val_acc is always one).")
    if "val_acc" not in items or len(set(items)) != len(items):
        raise ConfigError(f"Objectives {','.join(items)} must include val_acc once and name each objective once.")
    return ["val_acc"] + [o for o in items if o != "val_acc"]


def resolve_base(base: Any, root: Path, where: str) -> dict[str, Any]:
    """``base: default`` (a config file, beside the space or not, or a preset name), or an inline mapping,
    optionally with ``config: FILE`` under it."""
    if isinstance(base, str):
        base = {"config": base}
    if not isinstance(base, dict):
        raise ConfigError(f"Search space {where}: 'base' must be a config file name or a mapping of fixed parameters.")
    inline = {k: v for k, v in base.items() if k != "config"}
    if "config" not in base:
        return inline
    name = str(base["config"])
    beside = root / name  # a file named relative to the space's folder
    path = beside if beside.is_file() else resolve_preset(name, "config", label=f"Search space {where}: base config")
    return merge_config(read_yaml(path), inline)


def _parse_param(name: str, spec: Any, base: dict[str, Any], earlier: dict[str, Param], names: set[str]) -> Param:
    """One entry of ``params``, checked against the schema's type and range."""
    where = f"params.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping with type and low/high or choices.")
    extra = set(spec) - {"type", "low", "high", "step", "choices", "when"}
    if extra:
        raise ConfigError(f"{where} has an unknown key {sorted(extra)[0]!r}; use type, low, high, step, choices and when.")
    kind = _field_kind(name, base, where)
    typ = spec.get("type", "categorical" if "choices" in spec else None)
    if typ not in TYPES:
        raise ConfigError(f"{where}.type is {typ!r}; use one of {', '.join(TYPES)}.")
    fits = {"float": ("float", "any"), "logfloat": ("float", "any"), "int": ("int", "float", "any")}
    if typ in fits and kind not in fits[typ]:
        raise ConfigError(
            f"{where} has type {typ}, but {name} is a {kind} parameter; use type categorical{' or int' if kind == 'int' else ''}."
        )
    when = _parse_when(where, name, spec.get("when"), base, earlier, names)
    if typ == "categorical":
        return Param(name, typ, choices=_check_choices(where, name, spec.get("choices"), base), when=when)
    low, high, step = _check_range(where, name, typ, spec)
    return Param(name, typ, low, high, step, when=when)


def _field_kind(name: str, base: dict[str, Any], where: str) -> str:
    """float | int | bool | choice | any; unknown or untunable names fail with the closest names."""
    if name.startswith("model_kwargs."):
        key = name.removeprefix("model_kwargs.")
        known = {k: v for k, v in get_spec(base["model"]).kwargs.items() if k != "num_classes"}
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f" Did you mean {', '.join('model_kwargs.' + c for c in close)}?" if close else f" It takes: {', '.join(known)}."
            raise ConfigError(f"Unknown parameter {name!r} in {where}: model {base['model']!r} has no argument {key!r}.{hint}")
        value = known[key]
        return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "float" if isinstance(value, float) else "any"
    if name not in FIELDS:
        tunable = [n for n, f in FIELDS.items() if schema_extra(f).get("tunable")]
        close = difflib.get_close_matches(name, tunable, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else " Run `digitlab params` to list them."
        raise ConfigError(f"Unknown parameter {name!r} in {where}.{hint}")
    f = FIELDS[name]
    if not schema_extra(f).get("tunable"):
        raise ConfigError(f"Parameter {name!r} in {where} is not tunable ({f.description}); fix it in the base instead.")
    if name == "model_kwargs":
        raise ConfigError(f"{where}: search the model's arguments one by one, as model_kwargs.<argument>.")
    ann = f.annotation
    simple: dict[Any, str] = {bool: "bool", int: "int", float: "float"}
    return simple.get(ann, "choice" if get_origin(ann) is Literal or ann is str else "any")


def _bounds(name: str) -> dict[str, Any]:
    f = FIELDS.get(name)
    return {k: getattr(m, k) for m in (f.metadata if f else []) for k in ("gt", "ge", "lt", "le") if hasattr(m, k)}


def _within(v: float, b: dict[str, Any]) -> bool:
    return (
        ("gt" not in b or v > b["gt"])
        and ("ge" not in b or v >= b["ge"])
        and ("lt" not in b or v < b["lt"])
        and ("le" not in b or v <= b["le"])
    )


def _check_range(where: str, name: str, typ: str, spec: dict[str, Any]) -> tuple[float, float, float | None]:
    low, high, step = (_number(spec.get(k)) for k in ("low", "high", "step"))
    number = (int,) if typ == "int" else (int, float)
    if not all(isinstance(v, number) and not isinstance(v, bool) for v in (low, high)):
        raise ConfigError(
            f"{where} needs low and high {'integers' if typ == 'int' else 'numbers'} for type {typ} (got low={low!r}, high={high!r})."
        )
    if low >= high:
        raise ConfigError(f"{where} has low={low} >= high={high}; low must be below high.")
    if typ == "logfloat" and low <= 0:
        raise ConfigError(f"{where} is logfloat, so low must be above 0 (got {low}).")
    b = _bounds(name)
    for key, v in (("low", low), ("high", high)):
        if not _within(v, b):
            raise ConfigError(f"{where}.{key}={v} is outside the allowed range of {name} ({range_text(b, FIELDS[name].annotation)}).")
    if step is not None and (typ == "logfloat" or not isinstance(step, number) or isinstance(step, bool) or not 0 < step <= high - low):
        raise ConfigError(f"{where}.step={step!r} must be a positive number no larger than high - low, and logfloat takes no step.")
    return low, high, step


def _number(v: Any) -> Any:
    """YAML reads ``1e-4`` (no dot) as text: accept numeric text."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def _check_choices(where: str, name: str, choices: Any, base: dict[str, Any]) -> tuple[Any, ...]:
    if not isinstance(choices, list) or not choices:
        raise ConfigError(f"{where} is categorical and needs a non-empty list of choices.")
    for c in choices:
        if not isinstance(c, (str, int, float, bool)) and c is not None:
            raise ConfigError(f"{where}.choices holds {c!r}; choices must be plain numbers, strings or booleans.")
        if not name.startswith("model_kwargs."):
            try:
                make_config(_set(copy.deepcopy(base), name, c))
                if name == "model":
                    get_spec(str(c))
            except DigitlabError as err:
                raise ConfigError(f"{where}.choices: {err}") from None
    return tuple(choices)


def _parse_when(
    where: str, name: str, when: Any, base: dict[str, Any], earlier: dict[str, Param], names: set[str]
) -> dict[str, tuple[Any, ...]]:
    if when is None:
        return {}
    if not isinstance(when, dict) or not when:
        raise ConfigError(f"{where}.when must map a parameter to its value(s), e.g. {{optimizer: sgd}}.")
    for other in when:
        if other not in names and other not in FIELDS and not str(other).startswith("model_kwargs."):
            close = difflib.get_close_matches(str(other), [*FIELDS, *names], n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"{where}.when names an unknown parameter {other!r}.{hint}")
        if other in names and other not in earlier:
            raise ConfigError(f"{where}.when names {other!r}, which must come before {name} in params.")
    return {str(k): tuple(v) if isinstance(v, list) else (v,) for k, v in when.items()}


def _get(d: dict[str, Any], dotted: str) -> Any:
    node: Any = d
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _set(d: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, leaf = dotted.split(".")
    node = d
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return d


def suggest(trial: optuna.Trial, space: Space) -> TrainConfig:
    """The trial's config: the base with each active parameter sampled, in the space's order."""
    data = copy.deepcopy(space.base)
    for p in space.params:
        if all(_get(data, k) in vals for k, vals in p.when.items()):
            if p.type == "categorical":
                value = trial.suggest_categorical(p.name, list(p.choices))
            elif p.type == "int":
                assert p.low is not None and p.high is not None  # parse_space requires bounds for numbers
                value = trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1))
            else:
                value = trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.type == "logfloat")
            _set(data, p.name, value)
    return make_config(data)
