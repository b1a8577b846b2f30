"""Structure search spaces: YAML files listing the choices a searcher makes, and the short training that judges them.

A space (a file, or a preset of ``presets/nas/`` by name: ``cnn``) gives the number of blocks, the operations, widths,
skip and pool choices of each block (``models/nas.py`` builds what they spell), the ``proxy`` config every child trains
with (a base config like tuning's, ``model`` fixed to ``nas``), the ``final`` recipe the best structures are retrained
with, and the ``reward``: validation accuracy after the proxy training, optionally scaled down when the network is
over a parameter or latency target, as ``acc * (m / target) ** exponent`` (MnasNet's soft constraint, Tan et al. 2019).

A structure is drawn as a sequence of **decisions** (depth first, then per block: operation, width, skip, pool) where
later ones depend on earlier ones: an identity block has no width or skip, and no pool is offered once the picture is
pooled ``max_pools`` times. Every searcher walks the same sequence through ``Space.decode(choose)``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import config_identity, load_config, read_yaml
from .errors import ConfigError
from .models.nas import MAX_BLOCKS, MAX_POOLS, MAX_WIDTH, OPS, Block, structure_text
from .presets import resolve_preset
from .tune_space import resolve_base

SECTIONS = ("blocks", "ops", "widths", "skip", "pool", "max_pools", "proxy", "final", "reward")
REWARD_KEYS = ("params_target", "latency_target_ms", "exponent")
ALIASES = {"conv3": "c3", "conv5": "c5", "sep3": "s3", "sep5": "s5", "identity": "id", "skip": "id", "none": "id"}


@dataclass(frozen=True)
class Decision:
    """One choice on the way to a structure: ``name`` (``depth``, ``b2.op``, ``b2.width``, ...) and its options."""

    name: str
    choices: tuple[Any, ...]


@dataclass(frozen=True)
class Reward:
    """Accuracy scaled by ``(m / target) ** exponent`` for each measure ``m`` over its target (MnasNet, Tan et al. 2019)."""

    params_target: int | None = None
    latency_target_ms: float | None = None
    exponent: float = -0.07

    def __call__(self, val_acc: float, params: int, latency_ms: float | None = None) -> float:
        r = val_acc
        if self.params_target and params > self.params_target:
            r *= (params / self.params_target) ** self.exponent
        if self.latency_target_ms and latency_ms is not None and latency_ms > self.latency_target_ms:
            r *= (latency_ms / self.latency_target_ms) ** self.exponent
        return r


@dataclass(frozen=True)
class Space:
    """A validated structure space; ``proxy`` and ``final`` are full training configs (plain data)."""

    min_blocks: int
    max_blocks: int
    ops: tuple[str, ...]
    widths: tuple[int, ...]
    skip: tuple[bool, ...]
    pool: tuple[bool, ...]
    max_pools: int
    proxy: dict[str, Any] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)
    reward: Reward = Reward()

    def decisions(self) -> list[Decision]:
        """Every decision that can be asked, in the order they are asked (the controller has one output per decision)."""
        out = [Decision("depth", tuple(range(self.min_blocks, self.max_blocks + 1)))]
        for i in range(self.max_blocks):
            out += [Decision(f"b{i}.op", self.ops), Decision(f"b{i}.width", self.widths)]
            out += [Decision(f"b{i}.skip", self.skip), Decision(f"b{i}.pool", self.pool)]
        return out

    def decode(self, choose: Callable[[Decision], Any]) -> tuple[str, dict[str, Any]]:
        """Walk the decisions, asking ``choose`` for each active one with more than one option: (structure, choices made)."""
        made: dict[str, Any] = {}

        def ask(d: Decision) -> Any:
            if len(d.choices) == 1:
                return d.choices[0]
            value = choose(d)
            if value not in d.choices:
                raise ValueError(f"decision {d.name} got {value!r}, not one of {d.choices}")
            made[d.name] = value
            return value

        by_name = {d.name: d for d in self.decisions()}
        blocks: list[Block] = []
        for i in range(ask(by_name["depth"])):
            op = ask(by_name[f"b{i}.op"])
            width = None if op == "id" else int(ask(by_name[f"b{i}.width"]))
            skip = False if op == "id" else bool(ask(by_name[f"b{i}.skip"]))
            pooled = sum(b.pool for b in blocks)
            pool = bool(ask(by_name[f"b{i}.pool"])) if pooled < self.max_pools else False
            blocks.append(Block(op, width, skip, pool))
        return structure_text(blocks), made

    def structure(self, choices: dict[str, Any]) -> str:
        """The structure that ``choices`` spell (a missing or no longer valid choice: the first option)."""
        return self.decode(lambda d: choices[d.name] if choices.get(d.name) in d.choices else d.choices[0])[0]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(ops=list(self.ops), widths=list(self.widths), skip=list(self.skip), pool=list(self.pool))
        return d

    def hash(self) -> str:
        """Hash of the canonical JSON without machine settings and schema defaults: a search refuses to continue under
        another space."""
        d = self.to_json()
        d["proxy"], d["final"] = config_identity(d["proxy"]), config_identity(d["final"])
        return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def load_space(path: str | Path, overrides: list[str] | None = None) -> Space:
    """Read and validate a structure space (a path or the name of a shipped one); ``overrides`` change its proxy config."""
    path = resolve_preset(path, "nas")
    return parse_space(read_yaml(path), str(path), path.parent, overrides)


def parse_space(data: dict[str, Any], where: str = "(inline)", root: Path = Path("."), overrides: list[str] | None = None) -> Space:
    """Validate a structure space given as a mapping (see the module's docstring); one sentence per mistake."""
    for key in data:
        if key not in SECTIONS:
            close = difflib.get_close_matches(str(key), SECTIONS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ConfigError(f"Structure space {where} has an unknown section {key!r}.{hint} It may hold {', '.join(SECTIONS)}.")
    lo, hi = _blocks(data.get("blocks", {"min": 2, "max": 6}), where)
    ops = tuple(_choices(data, "ops", where, OPS, str))
    for op in ops:
        if op not in OPS:
            close = [ALIASES[op]] if op in ALIASES else difflib.get_close_matches(str(op), OPS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ConfigError(f"Structure space {where}: unknown operation {op!r} in ops.{hint} Operations: {', '.join(OPS)}.")
    widths = tuple(_choices(data, "widths", where, (16, 32, 64), int))
    if any(not 1 <= w <= MAX_WIDTH for w in widths):
        raise ConfigError(f"Structure space {where}: every width must be from 1 to {MAX_WIDTH} (got {list(widths)}).")
    max_pools = data.get("max_pools", 2)
    if not isinstance(max_pools, int) or isinstance(max_pools, bool) or not 0 <= max_pools <= MAX_POOLS:
        raise ConfigError(f"Structure space {where}: max_pools must be a whole number from 0 to {MAX_POOLS} (got {max_pools!r}).")
    proxy = _config(data.get("proxy", "default"), root, f"{where} proxy", overrides)
    final = _config(data["final"] if "final" in data else _zoo_recipe(), root, f"{where} final", None)
    return Space(
        lo, hi, ops, widths, tuple(_choices(data, "skip", where, (False, True), bool)),
        tuple(_choices(data, "pool", where, (False, True), bool)), max_pools, proxy, final, _reward(data.get("reward") or {}, where),
    )  # fmt: skip


def _blocks(spec: Any, where: str) -> tuple[int, int]:
    ok = isinstance(spec, dict) and set(spec) <= {"min", "max"} and all(isinstance(spec.get(k), int) for k in ("min", "max"))
    if not ok or not 1 <= spec["min"] <= spec["max"] <= MAX_BLOCKS:
        raise ConfigError(f"Structure space {where}: blocks must be {{min: M, max: N}} with 1 <= M <= N <= {MAX_BLOCKS} (got {spec!r}).")
    return spec["min"], spec["max"]


def _choices(data: dict[str, Any], key: str, where: str, default: tuple[Any, ...], kind: type) -> list[Any]:
    values = data.get(key, list(default))
    if not isinstance(values, list) or not values or len(set(values)) != len(values):
        raise ConfigError(f"Structure space {where}: {key} must be a non-empty list of different values (got {values!r}).")
    if any(type(v) is not kind for v in values):  # type(): True is not a width
        raise ConfigError(f"Structure space {where}: every choice of {key} must be a {kind.__name__} (got {values!r}).")
    return values


def _config(spec: Any, root: Path, where: str, overrides: list[str] | None) -> dict[str, Any]:
    """A full training config for ``model: nas``: a config file or preset name, or a mapping of keys over one."""
    if isinstance(spec, str):
        spec = {"config": spec}
    if isinstance(spec, dict) and ({"model", "model_kwargs"} & set(spec)):
        raise ConfigError(f"Structure space {where} cannot set model or model_kwargs: the searched structure is the model.")
    cfg = load_config(None, overrides, base={**resolve_base(spec, root, where), "model": "nas", "model_kwargs": {}})
    if cfg.val_size <= 0:
        raise ConfigError(f"Structure space {where}: the search chooses on validation accuracy, so it needs val_size > 0.")
    return cfg.model_dump()


def _zoo_recipe() -> dict[str, Any]:
    """The zoo's recipe for ``nas`` without its model: the default full recipe of a found structure."""
    return {k: v for k, v in read_yaml(resolve_preset("nas", "zoo")).items() if k not in ("model", "model_kwargs")}


def _reward(spec: Any, where: str) -> Reward:
    if not isinstance(spec, dict):
        raise ConfigError(f"Structure space {where}: reward must be a mapping of {', '.join(REWARD_KEYS)}.")
    for key in spec:
        if key not in REWARD_KEYS:
            close = difflib.get_close_matches(str(key), REWARD_KEYS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ConfigError(f"Structure space {where}: reward has no {key!r}.{hint} It takes {', '.join(REWARD_KEYS)}.")
    targets = {k: spec.get(k) for k in REWARD_KEYS[:2]}
    for key, v in targets.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
            raise ConfigError(f"Structure space {where}: reward.{key} must be a positive number or left out (got {v!r}).")
    exponent = spec.get("exponent", -0.07)
    if isinstance(exponent, bool) or not isinstance(exponent, (int, float)) or not -2 <= exponent <= 0:
        raise ConfigError(f"Structure space {where}: reward.exponent must be from -2 to 0 (got {exponent!r}); -0.07 is MnasNet's.")
    return Reward(targets["params_target"], targets["latency_target_ms"], float(exponent))


def decisions_hint(space: Space) -> str:
    """A one-line description of the space, for logs and the show command."""
    return (
        f"{space.min_blocks}-{space.max_blocks} blocks of {'/'.join(space.ops)}, widths {list(space.widths)}, "
        f"skip {list(space.skip)}, pool {list(space.pool)} (at most {space.max_pools})"
    )
