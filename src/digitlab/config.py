"""The one config schema: every tunable parameter with type, default, range, unit and meaning.

Config is plain data: YAML files (a path, or a preset shipped in ``digitlab/presets/``
by name: ``fast``) plus ``key=value`` overrides, strict about unknown keys, saved into
every run directory and checkpoint.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .presets import resolve_preset


def P(default: Any, meaning: str, *, unit: str = "", tunable: bool = True, **rng: Any) -> Any:
    """A documented parameter: ``rng`` holds pydantic bounds (ge, gt, le, lt)."""
    return Field(default, description=meaning, json_schema_extra={"unit": unit, "tunable": tunable}, **rng)


class RunBase(BaseModel):
    """What every recorded run has, classifier or generator: its identity and its data (these fields come first)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- run identity ---
    name: str | None = P(
        None,
        "Run name; a fresh name is picked (model, model-2, ...) when empty",
        tunable=False,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    )
    generation: int | None = P(None, "Model generation this run belongs to (for lineage and promotion)", tunable=False, ge=0)
    parent: str | None = P(None, "Name of the run this one derives from (lineage)", tunable=False)
    seed: int = P(0, "Random seed for init, shuffling, augmentation and dropout", tunable=False, ge=0)
    # --- data ---
    dataset: Literal["mnist", "fashion-mnist"] = P("mnist", "Training data set", tunable=False)
    val_size: int = P(
        5000,
        "Images carved (stratified, seeded by split_seed) from the 60k training set for validation",
        unit="images",
        ge=0,
        le=30000,
        tunable=False,
    )
    split_seed: int = P(0, "Seed of the train/validation split (keep fixed to compare runs)", tunable=False, ge=0)
    train_subset: int = P(0, "Use only this many training images (0 = all); for quick experiments", unit="images", ge=0, tunable=False)


class TrainConfig(RunBase):
    """Everything that decides a training run. Field order is the order of ``digitlab params``."""

    # --- model ---
    model: str = P("cnn", "Registered model name (see `digitlab summary` / `digitlab zoo`)")
    model_kwargs: dict[str, Any] = P({}, "Keyword arguments of the model factory, e.g. {width: 64}")
    # --- optimisation ---
    epochs: int = P(8, "Passes over the training split", unit="epochs", ge=1, le=1000)
    batch_size: int = P(128, "Training images per step (a multiple of 8 is fastest)", unit="images", ge=1, le=65536)
    optimizer: Literal["sgd", "adam", "adamw"] = P("adamw", "Optimiser; sgd uses Nesterov momentum when nesterov is true")
    lr: float = P(0.004, "Peak learning rate", gt=0, le=10)
    momentum: float = P(0.9, "SGD momentum", ge=0, lt=1)
    nesterov: bool = P(True, "Use Nesterov momentum with sgd")
    beta1: float = P(0.9, "Adam/AdamW first-moment decay", ge=0, lt=1)
    beta2: float = P(0.999, "Adam/AdamW second-moment decay", ge=0, lt=1)
    weight_decay: float = P(5e-4, "Weight decay (decoupled for adamw, L2 for sgd/adam)", ge=0, le=1)
    schedule: Literal["onecycle", "cosine", "step", "constant"] = P("onecycle", "Learning-rate schedule over the whole run")
    warmup_epochs: float = P(
        0.0, "Linear warm-up from lr/25 before the schedule (onecycle warms up by itself)", unit="epochs", ge=0, le=100
    )
    onecycle_pct: float = P(0.25, "Share of the run spent rising to the peak lr (onecycle)", gt=0, lt=1)
    step_every: int = P(3, "Epochs between lr drops (step schedule)", unit="epochs", ge=1)
    step_gamma: float = P(0.1, "Factor applied at each lr drop (step schedule)", gt=0, le=1)
    label_smoothing: float = P(0.1, "Label smoothing of the cross-entropy loss", ge=0, lt=1)
    grad_clip: float = P(0.0, "Clip the gradient norm to this value (0 = off)", ge=0)
    early_stop: int = P(0, "Stop after this many epochs without a better validation accuracy (0 = off)", unit="epochs", ge=0)
    ema: float = P(0.0, "Decay of the exponential moving average of weights used for evaluation (0 = off; e.g. 0.999)", ge=0, lt=1)
    outlier_exposure: float = P(
        0.0,
        "Weight of the outlier-exposure loss on non-digits (0 = off; Hendrycks et al. 2019 use 0.5); use a model without BatchNorm, whose batch statistics let it spot outliers by batch rather than by content",
        ge=0,
        le=10,
    )
    real_outliers: float = P(
        0.0,
        "Share of the outlier-exposure images drawn from real non-digit shapes (letters and symbols in many typefaces, marks, edges and views of photos: the train split of the real-world sets) instead of synthetic ones (needs outlier_exposure > 0)",
        ge=0,
        le=1,
    )
    calibrate: bool = P(
        True, "After training, fit the 'not a digit' detectors and calibrate their threshold (a few seconds)", tunable=False
    )
    reject_tpr: float = P(
        0.99, "Share of real validation digits the 'not a digit' threshold accepts (calibrated after training)", gt=0.5, lt=1, tunable=False
    )
    # --- distillation (Hinton, Vinyals & Dean 2015) ---
    teacher: str | None = P(
        None,
        "Run name, promoted model (name[:vK]), checkpoint file or ensemble whose softened outputs the student learns (None = ordinary training)",
        tunable=False,
    )
    distill_temperature: float = P(
        4.0, "Softmax temperature T of the teacher's and the student's outputs in the soft-target loss (with a teacher)", ge=1, le=20
    )
    distill_alpha: float = P(
        0.9,
        "Weight of the soft-target loss KL(teacher_T || student_T) * T^2; 1 - alpha goes to the hard labels (with a teacher)",
        ge=0,
        le=1,
    )
    distill_online: bool = P(
        False,
        "Run the teacher on every augmented batch, so teacher and student see the same picture (costs a teacher forward pass per batch), instead of once on the unaugmented training images",
    )
    # --- adversarial training (Madry et al. 2018) and generated digits as extra data (issue 14) ---
    adv_train: Literal["off", "fgsm", "pgd"] = P(
        "off",
        "Train on adversarial versions of a share of each batch (after augmentation): fgsm (one gradient step, Goodfellow et al. 2015) or pgd (adv_steps projected steps from a random start, Madry et al. 2018)",
        tunable=False,
    )
    adv_eps: float = P(0.1, "L-inf budget of the adversarial training pictures, in pixel intensity (0.1 = a tenth of full ink)", ge=0, le=1)
    adv_steps: int = P(
        7, "PGD steps per adversarial batch (adv_train=pgd; each costs one more forward and backward pass)", unit="steps", ge=1, le=100
    )
    adv_share: float = P(0.5, "Share of each training batch replaced by its adversarial version (with adv_train)", gt=0, le=1)
    gen_source: str | None = P(
        None, "Generative run (or its checkpoint) whose new digits join every training batch (None = real digits only)", tunable=False
    )
    gen_share: float = P(0.0, "Share of each training batch drawn fresh from gen_source, digits of every class alike (0 = off)", ge=0, lt=1)
    # --- a structure that changes while it learns (issue 15) ---
    grow: str = P(
        "",
        "Growth schedule 'E:op,...': after epoch E the network grows without changing its function (Net2Net, Chen et al. 2016): widen*F makes every layer F times wider, deepen adds a layer; empty = a fixed structure (cnn can grow)",
        tunable=False,
        pattern=r"^$|^\d{1,4}:(widen\*\d|deepen)(,\d{1,4}:(widen\*\d|deepen)){0,15}$",
    )
    # --- input preparation ---
    normalize: bool = P(
        True,
        "Standardise the pixels with the mean and standard deviation of the training split (false: the network sees raw "
        "intensities in [0, 1]); the statistics are saved with the weights and used again at inference",
    )
    # --- augmentation (batched, on the fly) ---
    augment: bool = P(True, "Random affine augmentation of every training batch")
    rotate: float = P(10.0, "Maximum rotation", unit="degrees", ge=0, le=180)
    scale: float = P(0.1, "Maximum relative zoom in or out", ge=0, lt=1)
    shear: float = P(0.1, "Maximum shear factor", ge=0, le=1)
    translate: float = P(0.1, "Maximum shift as a fraction of the image side", ge=0, le=0.5)
    elastic: float = P(0.0, "Elastic distortion strength (0 = off; Simard et al. 2003)", unit="pixels", ge=0, le=10)
    # --- machine ---
    threads: int = P(0, "CPU threads for torch (0 = all cores)", tunable=False, ge=0)
    precision: Literal["float32", "bfloat16", "auto"] = P(
        "float32",
        "Number format of the training step's convolutions and matrix products: bfloat16 runs them about 1.6x faster on "
        "CPUs with AVX-512 BF16 or AMX (weights, optimiser and every evaluation stay float32); auto: bfloat16 where the CPU "
        "has it natively",
        tunable=False,
    )
    compile: bool = P(
        False,
        "Compile the model with torch.compile for training (Inductor: needs a C++ compiler, else training stays eager and "
        "says so once); the compilation, tens of seconds on a CPU, counts in the first epoch's time",
        tunable=False,
    )
    eval_batch_size: int = P(
        200,
        "Images per evaluation step (200: about twice as fast as 1000 on a CPU, whose caches keep a smaller batch's activations)",
        unit="images",
        ge=1,
        tunable=False,
    )
    test_every_epoch: bool = P(
        True,
        "Evaluate the test split after every epoch (the test curve of the runs page); false: once, on the best epoch's weights, "
        "when the run ends (tuning trials and structure-search children, which never choose on it, save that time)",
        tunable=False,
    )

    def warnings(self) -> list[str]:
        """Advice that is not an error."""
        out = []
        if self.batch_size % 8:
            out.append(f"batch_size={self.batch_size} is not a multiple of 8; multiples of 8 run faster.")
        return out


class GenConfig(RunBase):
    """Everything that decides a generative run (``digitlab gan train``): a class-conditional model of digits."""

    # --- model ---
    model: str = P("cdcgan", "Registered generator family (`digitlab gan list`)")
    model_kwargs: dict[str, Any] = P({}, "Keyword arguments of the generator factory, e.g. {latent_dim: 64, width: 64}")
    # --- optimisation (Adam for every part) ---
    epochs: int = P(20, "Passes over the training split", unit="epochs", ge=1, le=1000)
    budget_minutes: float = P(
        0.0,
        "Stop after the epoch that brings training and measuring past this time (0 = no limit); the epochs are a ceiling then",
        unit="minutes",
        ge=0,
        le=10080,
    )
    batch_size: int = P(128, "Real images per step", unit="images", ge=2, le=65536)
    lr: float = P(2e-4, "Learning rate of the generator (of the whole model for non-adversarial families)", gt=0, le=1)
    lr_d: float = P(2e-4, "Learning rate of the discriminator or critic (adversarial families)", gt=0, le=1)
    beta1: float = P(0.5, "Adam first-moment decay (0.5 for DCGAN, Radford et al. 2016; 0 for WGAN-GP)", ge=0, lt=1)
    beta2: float = P(0.999, "Adam second-moment decay (0.9 for WGAN-GP, Gulrajani et al. 2017)", ge=0, lt=1)
    # --- quality, measured in the lab's own feature space ---
    judge: str = P(
        "ship",
        "Frozen lab classifier whose penultimate features and answers measure quality: a run, promoted model, checkpoint, or ship (the packaged model)",
        tunable=False,
    )
    eval_samples: int = P(
        2000,
        "Digits generated after each epoch and compared with the validation split (Fréchet distance, precision/recall, the judge's accuracy); the epoch with the lowest distance is kept as best",
        unit="images",
        ge=100,
        le=60000,
        tunable=False,
    )
    final_samples: int = P(
        10000,
        "Digits generated at the end and compared with the test split (the reported figures)",
        unit="images",
        ge=100,
        le=60000,
        tunable=False,
    )
    grid_columns: int = P(
        8, "Samples per digit in the fixed-noise grid saved after each epoch (one row per digit)", unit="images", ge=1, le=32, tunable=False
    )
    # --- machine ---
    threads: int = P(0, "CPU threads for torch (0 = all cores)", tunable=False, ge=0)


FIELDS = TrainConfig.model_fields
S = TypeVar("S", bound=RunBase)


MACHINE_KEYS = ("name", "threads", "eval_batch_size", "compile")  # how a config runs, not what it trains: may differ per worker


def config_identity(cfg: dict[str, Any]) -> dict[str, Any]:
    """What a resolved config trains, for hashing: machine keys and values equal to the schema's defaults left out, so a
    newer digitlab whose schema gained parameters (with their defaults) continues the studies and searches an older began."""
    defaults = TrainConfig().model_dump()
    return {k: v for k, v in cfg.items() if k not in MACHINE_KEYS and (k not in defaults or defaults[k] != v)}


def schema_extra(f: Any) -> dict[str, Any]:
    """A field's unit and tunable flag (``json_schema_extra`` is always a dict here: see ``P``)."""
    extra = f.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def param_rows(schema: type[RunBase] = TrainConfig) -> list[dict[str, str]]:
    """One row per parameter of ``schema``: name, type, default, range, unit, tunable, meaning."""
    rows = []
    for name, f in schema.model_fields.items():
        extra = schema_extra(f)
        bounds = {k: getattr(m, k) for m in f.metadata for k in ("gt", "ge", "lt", "le", "pattern") if hasattr(m, k)}
        rows.append(
            {
                "name": name,
                "type": _type_name(f.annotation),
                "default": repr(f.default),
                "range": range_text(bounds, f.annotation),
                "unit": str(extra.get("unit", "")),
                "tunable": "yes" if extra.get("tunable") else "no",
                "meaning": f.description or "",
            }
        )
    return rows


def _type_name(ann: Any) -> str:
    text = getattr(ann, "__name__", None) or str(ann)
    return text.replace("typing.", "").replace("NoneType", "None")


def range_text(bounds: dict[str, Any], ann: Any) -> str:
    if "Literal" in str(ann):
        return " | ".join(str(a) for a in ann.__args__)
    lo = f"{'>' if 'gt' in bounds else '>='} {bounds.get('gt', bounds.get('ge'))}" if {"gt", "ge"} & bounds.keys() else ""
    hi = f"{'<' if 'lt' in bounds else '<='} {bounds.get('lt', bounds.get('le'))}" if {"lt", "le"} & bounds.keys() else ""
    return ", ".join(x for x in (lo, hi) if x) or ("pattern" if "pattern" in bounds else "any")


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


def make_config(data: dict[str, Any], strict: bool = False) -> TrainConfig:
    """Validate a plain dict into a TrainConfig, turning pydantic errors into one sentence.

    ``strict``: no type coercion (``true`` is not an int, ``'0.01'`` not a float; an int is still a float), for
    values typed by a person in YAML; JSON from the API and stored configs are validated as before.
    """
    return _validate(TrainConfig, data, strict, "`digitlab params`")


def make_gen_config(data: dict[str, Any], strict: bool = False) -> GenConfig:
    """Validate a plain dict into a GenConfig (as ``make_config`` does for training runs)."""
    return _validate(GenConfig, data, strict, "`digitlab params --task generate`")


def _validate(schema: type[S], data: dict[str, Any], strict: bool, lister: str) -> S:
    fields = schema.model_fields
    unknown = [k for k in data if k not in fields]
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(k, fields, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Run {lister} to list them."
        raise ConfigError(f"Unknown parameter {k!r}.{hint}")
    try:
        return schema.model_validate(data, strict=strict)
    except ValidationError as err:
        e = err.errors()[0]
        key = ".".join(str(x) for x in e["loc"]) or "config"
        meaning = fields[str(e["loc"][0])].description if e["loc"] and e["loc"][0] in fields else ""
        msg = e["msg"][:1].lower() + e["msg"][1:]
        raise ConfigError(f"{key}={e.get('input')!r} is invalid: {msg} ({meaning}).") from err


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults <- ``base`` <- YAML file (a path or a preset name) <- ``key=value`` overrides."""
    data = dict(base or {})
    if path is not None:
        data = merge_config(data, read_yaml(resolve_preset(path, "config")))
    data = merge_config(data, parse_overrides(overrides or []))
    return make_config(data, strict=True)


def load_gen_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GenConfig:
    """Defaults <- YAML file (a path or a shipped preset of ``presets/gan/`` by name) <- ``key=value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        data = read_yaml(resolve_preset(path, "gan", label="GAN config"))
    return make_gen_config(merge_config(data, parse_overrides(overrides or [])), strict=True)


def params_markdown() -> str:
    """``docs/params.md``: the parameter tables (training runs, then generative runs), generated from the schema."""
    cols = ["name", "type", "default", "range", "unit", "tunable", "meaning"]
    lines = [
        "# Parameters",
        "",
        "Generated by `digitlab params --markdown` from `src/digitlab/config.py`. Do not edit by hand.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for title, schema in (("", TrainConfig), ("## Generative runs (`digitlab gan train`, `digitlab params --task generate`)", GenConfig)):
        lines += ["", title, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] if title else []
        lines += ["| " + " | ".join(row[c].replace("|", "\\|") for c in cols) + " |" for row in param_rows(schema)]
    return "\n".join(lines) + "\n"
