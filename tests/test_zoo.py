"""The model zoo: a loadable recipe for every registered model, and the quick zoo end to end.

Every training here is the quick zoo on one thread (2,000 or 500 training
images, one epoch); the test split's 10,000 images are still evaluated per run.
"""

from __future__ import annotations

import time

import pytest

from conftest import error_line
from digitlab.config import load_config
from digitlab.evidence import machine
from digitlab.models import count_params, create_model, list_models
from digitlab.store import RunStore
from digitlab.zoo import COLUMNS, RECIPES, REFERENCES, load_recipe, output_paths, recipe_path, run_zoo, write_zoo_table

MODELS = list_models()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_a_loadable_recipe(name):
    path = recipe_path(name)
    assert path == RECIPES / f"{name}.yaml" and path.is_file()
    assert path.read_text().startswith("# zoo recipe:")  # comments on top: recipe, published reference, expected time
    cfg = load_config(path)
    assert cfg.model == name
    assert cfg.threads == 0  # the full zoo uses every core; `digitlab zoo --threads N` overrides
    create_model(cfg.model, **cfg.model_kwargs)
    assert name in REFERENCES


def test_no_recipe_without_a_model():
    assert sorted(p.stem for p in RECIPES.glob("*.yaml")) == MODELS


def test_quick_mode_shrinks_the_recipe_and_keeps_the_rest():
    full, quick = load_recipe("resnet"), load_recipe("resnet", quick=True, overrides=["threads=1"])
    assert (quick.epochs, quick.train_subset, quick.val_size, quick.threads) == (1, 2000, 1000, 1)
    assert (quick.lr, quick.optimizer, quick.model_kwargs) == (full.lr, full.optimizer, full.model_kwargs)


def _check_rows(rows: list[dict], models: list[str], store: RunStore, runs_dir) -> None:
    """Every row is a completed, recorded zoo run with its measurements."""
    assert [r["model"] for r in rows] == models
    for r in rows:
        assert r["status"] == "completed", r
        assert r["params"] == count_params(create_model(r["model"], **load_recipe(r["model"]).model_kwargs))
        assert r["mmacs"] > 0 and r["epochs"] == 1 and r["sec_per_epoch"] > 0 and r["infer_img_s"] > 0
        assert 0 <= r["val_acc"] <= 1 and 0 <= r["test_acc"] <= 1 and r["threads"] == 1
        rec = store.get_run(r["run"])
        assert rec.status == "completed" and rec.model == r["model"]
        assert rec.test_acc == pytest.approx(r["test_acc"])
        assert {"zoo": True, "quick": True}.items() <= rec.extra.items()
        assert (runs_dir / r["run"] / "weights" / "best.pt").is_file()


def _check_table(rows: list[dict], runs_dir) -> str:
    md, png = output_paths(True, runs_dir)
    assert (md, png) == (runs_dir / "zoo-quick.md", runs_dir / "zoo-quick.png")  # quick never writes docs/
    write_zoo_table(rows, md, png, quick=True)
    text = md.read_text()
    assert "| " + " | ".join(COLUMNS) + " |" in text
    for r in rows:
        assert f"| {r['model']} | {r['run']} | {r['params']:,} |" in text
    assert machine() in text and "quick" in text and "Targets met:" in text and "Total time:" in text
    assert png.read_bytes()[:8] == PNG_MAGIC
    return text


def test_quick_zoo_two_models_are_recorded_and_tabled(tmp_path):
    store, runs_dir = RunStore(f"sqlite:///{tmp_path}/zoo.db"), tmp_path / "runs"
    rows = run_zoo(["fast", "mlp"], True, runs_dir, store, overrides=["threads=1"])
    _check_rows(rows, ["fast", "mlp"], store, runs_dir)
    assert len(store.list_runs()) == 2
    text = _check_table(rows, runs_dir)
    assert "98.4% (1.6% error" in text  # the MLP's published reference


def test_cli_zoo_quick(cli, lab):
    res = cli("zoo", "--quick", "--models", "lenet5", "--threads", "1")
    assert res.code == 0, res.text
    assert "lenet5" in res.out and (lab / "runs" / "zoo-quick.md").is_file() and (lab / "runs" / "zoo-quick.png").is_file()
    assert not (lab / "docs").exists()
    (run,) = RunStore(runs_dir=lab / "runs").list_runs()
    shown = cli("show", run.name)
    assert shown.code == 0 and '"zoo": true' in shown.out


def test_cli_zoo_unknown_model_is_one_sentence(cli):
    res = cli("zoo", "--quick", "--models", "lenet5,resnett")
    assert res.code == 2
    assert "resnet" in error_line(res)


@pytest.mark.slow
def test_quick_zoo_every_model(tmp_path):
    """The whole zoo on 500 images per model, one thread: every model trains, records, measures and tables."""
    store, runs_dir = RunStore(f"sqlite:///{tmp_path}/zoo.db"), tmp_path / "runs"
    t0 = time.perf_counter()
    rows = run_zoo(None, True, runs_dir, store, overrides=["threads=1", "train_subset=500", "val_size=500"])
    seconds = time.perf_counter() - t0
    _check_rows(rows, MODELS, store, runs_dir)
    _check_table(rows, runs_dir)
    print(
        f"quick zoo, all {len(rows)} models: {seconds:.0f}s; "
        + ", ".join(f"{r['model']} {r['wall_seconds']:.1f}s (train {r['train_seconds']:.1f}s)" for r in rows)
    )
