"""The config schema: defaults, documentation of every field, YAML + overrides, and one-sentence errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from conftest import REPO
from digitlab.config import (
    FIELDS,
    GenConfig,
    P,
    TrainConfig,
    load_config,
    load_gen_config,
    parse_overrides,
    schema_extra,
)
from digitlab.config_docs import param_rows, params_markdown
from digitlab.errors import ConfigError
from digitlab.generators import list_generators
from digitlab.presets import list_presets, preset_dir, resolve_preset


def test_defaults_are_valid():
    cfg = load_config()
    assert cfg == TrainConfig()
    assert cfg.model == "cnn" and cfg.dataset == "mnist" and cfg.epochs >= 1 and cfg.name is None
    assert cfg.warnings() == []


def test_every_parameter_is_documented():
    rows = param_rows()
    assert [r["name"] for r in rows] == list(FIELDS)
    for r in rows:
        assert r["meaning"].strip(), f"{r['name']} has no meaning"
        assert r["type"].strip() and r["range"].strip(), r
        assert r["tunable"] in ("yes", "no")
    by = {r["name"]: r for r in rows}
    assert by["lr"]["range"] == "> 0, <= 10" and by["lr"]["type"] == "float"
    assert by["epochs"]["unit"] == "epochs" and by["optimizer"]["range"] == "sgd | adam | adamw"


def test_params_markdown_matches_docs():
    doc = REPO / "docs" / "params.md"
    assert doc.is_file(), "docs/params.md is missing: run `make docs`"
    assert doc.read_text() == params_markdown(), "docs/params.md is stale: run `make docs` (digitlab params --markdown > docs/params.md)"


def test_params_markdown_has_a_row_per_field():
    md = params_markdown()
    for name in FIELDS:
        assert f"\n| {name} | " in md
    assert "str \\| None" in md  # pipes inside cells are escaped


CJK = re.compile(r"[\u4e00-\u9fff]")


def untranslated(schema: type[BaseModel]) -> list[str]:
    """Every field of ``schema`` without a Chinese meaning, and every unit without a Chinese word."""
    out = []
    for name, f in schema.model_fields.items():
        extra = schema_extra(f)
        if not CJK.search(str(extra.get("meaning_zh", ""))):
            out.append(f"{name}: no Chinese meaning")
        if extra.get("unit") and not CJK.search(str(extra.get("unit_zh", ""))):
            out.append(f"{name}: unit {extra['unit']!r} has no Chinese word")
    return out


@pytest.mark.parametrize("schema", [TrainConfig, GenConfig], ids=lambda s: s.__name__)
def test_every_parameter_has_its_meaning_in_chinese(schema):
    assert untranslated(schema) == []


def test_a_missing_chinese_meaning_or_unit_is_caught():
    class Throwaway(BaseModel):
        translated: int = P(1, "Passes", zh="遍历的轮数", unit="epochs")
        empty: int = P(1, "Passes", zh="")
        english_only: int = P(1, "Passes", zh="passes over the data")
        odd_unit: float = P(1.0, "Distance", zh="距离", unit="furlongs")

    assert untranslated(Throwaway) == [
        "empty: no Chinese meaning",
        "english_only: no Chinese meaning",
        "odd_unit: unit 'furlongs' has no Chinese word",
    ]


def test_chinese_rows_say_units_ranges_and_tunable_in_chinese():
    by = {r["name"]: r for r in param_rows(lang="zh")}
    assert by["lr"]["meaning"] == "峰值学习率" and by["lr"]["range"] == "> 0, <= 10" and by["lr"]["tunable"] == "是"
    assert by["epochs"]["unit"] == "轮" and by["rotate"]["unit"] == "度" and by["batch_size"]["unit"] == "张"
    assert by["parent"]["range"] == "任意" and "格式" in by["name"]["range"] and by["seed"]["tunable"] == "否"
    assert [r["name"] for r in param_rows(GenConfig, "zh")] == list(GenConfig.model_fields)
    with pytest.raises(ConfigError, match="use en or zh"):
        param_rows(lang="fr")


def test_chinese_params_markdown_matches_docs():
    doc = REPO / "docs" / "params.zh.md"
    assert doc.is_file(), "docs/params.zh.md is missing: run `make docs`"
    assert doc.read_text(encoding="utf-8") == params_markdown("zh"), (
        "docs/params.zh.md is stale: run `make docs` (digitlab params --markdown --lang zh > docs/params.zh.md)"
    )
    assert "\n| lr | float | 0.004 | > 0, <= 10 |  | 是 | 峰值学习率 |\n" in params_markdown("zh")


# search/ holds tuning spaces, ensemble/ the pools of `ensemble build` (tests/test_ensemble_build.py reads them) and
# nas/ the structure spaces (tests/test_nas.py)
TRAIN_CONFIGS = sorted(p for p in preset_dir("config").rglob("*.yaml") if not {"search", "ensemble", "gan", "nas"} & set(p.parts))
GAN_CONFIGS = sorted(preset_dir("gan").glob("*.yaml"))


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: str(p.relative_to(preset_dir("config"))))
def test_committed_configs_load(path):
    cfg = load_config(path)
    assert isinstance(cfg, TrainConfig)


@pytest.mark.parametrize("path", GAN_CONFIGS, ids=lambda p: p.stem)
def test_committed_gan_configs_load_and_name_their_family(path):
    cfg = load_gen_config(path.stem)
    assert isinstance(cfg, GenConfig) and cfg.model == path.stem and cfg.model in list_generators()


def test_gan_config_is_strict_and_says_what_a_parameter_means():
    with pytest.raises(ConfigError, match="Did you mean lr_d"):
        load_gen_config(None, ["lrd=0.001"])
    with pytest.raises(ConfigError, match="discriminator"):
        load_gen_config("cdcgan", ["lr_d=-1"])
    assert {r["name"] for r in param_rows(GenConfig)} >= {"judge", "eval_samples", "lr_d", "seed", "val_size"}


def test_configs_folder_is_not_empty():
    assert {"default", "fast"} <= set(list_presets("config"))


def test_fast_config_values():
    cfg = load_config("fast")
    assert cfg.model == "fast" and cfg.epochs == 1 and cfg.optimizer == "adam" and cfg.model_kwargs["c1"] == 24


# --- precedence ----------------------------------------------------------------------------------------------


def yaml_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.yaml"
    p.write_text(text)
    return p


def test_file_beats_defaults_and_override_beats_file(tmp_path):
    p = yaml_file(tmp_path, "epochs: 5\nlr: 0.01\nmodel: fast\nmodel_kwargs: {c1: 16, hidden: 64}\n")
    cfg = load_config(p, ["lr=0.02", "model_kwargs.hidden=32", "augment=false"])
    assert cfg.epochs == 5  # file over default
    assert cfg.lr == 0.02  # override over file
    assert cfg.model == "fast" and cfg.augment is False
    assert cfg.model_kwargs == {"c1": 16, "hidden": 32}  # nested override merges into the file's mapping
    assert cfg.batch_size == TrainConfig().batch_size  # untouched default


def test_nested_override_without_file():
    cfg = load_config(None, ["model_kwargs.width=64", "model_kwargs.dropout=0.1"])
    assert cfg.model_kwargs == {"width": 64, "dropout": 0.1}


def test_override_values_are_yaml_typed():
    cfg = load_config(None, ["lr=1e-3", "epochs=3", "nesterov=no", "name=", "generation=2"])
    assert cfg.lr == 0.001 and cfg.epochs == 3 and cfg.nesterov is False and cfg.name is None and cfg.generation == 2


def test_parse_overrides_builds_nested_dicts():
    assert parse_overrides(["a.b.c=1", "a.b.d=x", "e=[1, 2]"]) == {"a": {"b": {"c": 1, "d": "x"}}, "e": [1, 2]}


@pytest.mark.parametrize("item", ["lr", "=3", ""])
def test_malformed_override(item):
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides([item])


def test_override_with_invalid_yaml_value():
    with pytest.raises(ConfigError, match="'model_kwargs' is not valid YAML"):
        parse_overrides(["model_kwargs={a: [1"])


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key, close", [("lrr", "lr"), ("epoch", "epochs"), ("batchsize", "batch_size"), ("optimiser", "optimizer")])
def test_unknown_key_suggests_the_closest(key, close):
    with pytest.raises(ConfigError) as exc:
        load_config(None, [f"{key}=1"])
    msg = str(exc.value)
    assert f"Unknown parameter {key!r}" in msg
    assert f"Did you mean {close}" in msg


def test_unknown_key_without_close_match_points_to_params():
    with pytest.raises(ConfigError, match="digitlab params"):
        load_config(None, ["zzzqqqxx=1"])


def test_unknown_key_in_file(tmp_path):
    with pytest.raises(ConfigError, match="Unknown parameter 'learning_rate'"):
        load_config(yaml_file(tmp_path, "learning_rate: 0.1\n"))


@pytest.mark.parametrize(
    "item, words",
    [
        ("lr=-1", ["lr=-1", "greater than 0", "Peak learning rate"]),
        ("lr=11", ["lr=11", "less than or equal to 10"]),
        ("epochs=0", ["epochs=0", "greater than or equal to 1", "Passes over the training split"]),
        ("optimizer=rmsprop", ["optimizer='rmsprop'", "'sgd', 'adam' or 'adamw'"]),
        ("momentum=1", ["momentum=1", "less than 1"]),
        ("epochs=abc", ["epochs='abc'", "valid integer"]),
        ("augment=maybe", ["augment='maybe'", "valid boolean"]),
        ("name=has space", ["name='has space'", "pattern"]),
    ],
)
def test_invalid_values_name_the_range(item, words):
    with pytest.raises(ConfigError) as exc:
        load_config(None, [item])
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg  # one sentence


def test_bad_yaml_names_the_line(tmp_path):
    p = yaml_file(tmp_path, "epochs: 2\nlr: 0.1\nmodel: [cnn\nseed: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert str(p) in msg and "not valid YAML" in msg
    assert "at line 4" in msg or "at line 3" in msg  # the unclosed '[' opened on line 3, detected on line 4


def test_yaml_list_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="must hold a mapping.*not a list"):
        load_config(yaml_file(tmp_path, "- epochs: 2\n- lr: 0.1\n"))


def test_empty_yaml_is_the_defaults(tmp_path):
    assert load_config(yaml_file(tmp_path, "# nothing\n")) == TrainConfig()


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_batch_size_not_multiple_of_8_warns():
    cfg = load_config(None, ["batch_size=100"])
    assert cfg.batch_size == 100
    (w,) = cfg.warnings()
    assert "batch_size=100" in w and "multiple of 8" in w
    assert load_config(None, ["batch_size=96"]).warnings() == []


# --- presets shipped in the package, found by name (issue 10) ------------------------------------------------


def test_preset_by_name_with_or_without_suffix():
    assert resolve_preset("fast") == resolve_preset("fast.yaml") == preset_dir("config") / "fast.yaml"
    assert resolve_preset("cnn", "search") == preset_dir("search") / "cnn.yaml"
    assert resolve_preset("lenet5", "zoo").is_file()
    assert load_config("fast") == load_config(preset_dir("config") / "fast.yaml")


def test_an_existing_file_wins_over_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fast.yaml").write_text("epochs: 7\n")
    assert resolve_preset("fast.yaml") == Path("fast.yaml") and load_config("fast.yaml").epochs == 7
    assert load_config("fast").epochs == 1  # no file named "fast": the preset


def test_unknown_preset_lists_the_names_and_the_closest():
    with pytest.raises(ConfigError) as exc:
        load_config("fsat")
    msg = str(exc.value)
    assert msg.count(".") == 1 and "'fsat' is neither a file nor a shipped preset" in msg
    assert "default, fast, ship" in msg and "(closest: fast)" in msg


@pytest.mark.parametrize("name", ["../fast", "../presets/fast.yaml", "zoo/cnn", "..", "/no/such/fast", "%2e%2e", "fast\0"])
def test_a_name_never_leaves_the_presets_folder(name):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_preset(name)


def test_an_old_repository_path_points_at_the_name():
    with pytest.raises(ConfigError, match="configs/fast.yaml does not exist; for the shipped preset write just 'fast'"):
        load_config("configs/fast.yaml")


def test_presets_by_name_from_a_folder_outside_the_repository(cli, lab):
    assert not (lab / "fast").exists() and REPO not in lab.parents
    res = cli("summary", "--config", "fast")
    assert res.code == 0 and res.out.startswith("fast:"), res.text
    res = cli("train", "--config", "fast", "epochs=1", "train_subset=1000", "val_size=500", "threads=1", "calibrate=false", "--no-plots")
    assert res.code == 0, res.text
    res = cli("train", "--config", "fsat")
    assert res.code == 2 and "closest: fast" in res.err
