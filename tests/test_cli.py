"""The command line, in-process through ``digitlab.cli.main`` and as a real ``python -m digitlab.cli`` process.

One module-wide lab trains two tiny runs (``fast`` with plots, ``fast-2`` of
generation 1); the other commands are checked against them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import call_main, error_line, run_subprocess, small
from digitlab.catalog import promote
from digitlab.checkpoint import load_checkpoint, model_from_checkpoint
from digitlab.config import FIELDS, make_config
from digitlab.errors import RunError
from digitlab.records import EPOCH_METRICS
from digitlab.store import RunStore

PNG = b"\x89PNG\r\n\x1a\n"


def tree_digest(folder: Path) -> dict[str, str]:
    """{relative path: sha1 of content} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A lab folder with two finished runs: ``fast`` (plots) and ``fast-2`` (generation 1, no plots)."""
    root = tmp_path_factory.mktemp("lab")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("DIGITLAB_CACHE", str(root / "cache"))
        for var in ("DIGITLAB_DB", "DIGITLAB_DATA", "DIGITLAB_RUNS", "DIGITLAB_MODELS"):
            mp.delenv(var, raising=False)
        g = ["--runs-dir", str(root / "runs"), "--models-dir", str(root / "models")]
        first = call_main([*g, "train", *small()])
        second = call_main([*g, "train", *small("generation=1"), "--no-plots"])
    assert first.code == 0, first.text
    assert second.code == 0, second.text
    return SimpleNamespace(
        root=root, runs=root / "runs", models=root / "models", first=first, second=second, store=RunStore(runs_dir=root / "runs")
    )


@pytest.fixture
def lab_cli(trained, monkeypatch, capsys):
    """``lab_cli(...)``: the in-process CLI on the trained lab."""
    from conftest import Result
    from digitlab.cli import main

    monkeypatch.chdir(trained.root)

    def run(*args: str):
        capsys.readouterr()
        code = main(["--runs-dir", str(trained.runs), "--models-dir", str(trained.models), *args])
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


# --- params ------------------------------------------------------------------------------------------------


def test_params_lists_every_field(cli):
    res = cli("params")
    assert res.code == 0
    for name in FIELDS:
        assert f" {name} " in res.out, name
    assert "Peak learning rate" in res.out and "sgd | adam | adamw" in res.out


def test_params_markdown(cli):
    from digitlab.config_docs import params_markdown

    res = cli("params", "--markdown")
    assert res.code == 0 and res.out == params_markdown()


def test_params_in_chinese(cli):
    res = cli("params", "--lang", "zh")
    assert res.code == 0, res.text
    assert "峰值学习率" in res.out and "名称" in res.out and "Peak learning rate" not in res.out
    gen = cli("params", "--lang", "zh", "--task", "generate")
    assert gen.code == 0 and "判别器" in gen.out and "digitlab gan train 的参数" in gen.out


def test_params_markdown_in_chinese(cli):
    from digitlab.config_docs import params_markdown

    res = cli("params", "--markdown", "--lang", "zh")
    assert res.code == 0 and res.out == params_markdown("zh") != params_markdown("en")
    assert res.out.startswith("# 参数") and "| 名称 | 类型 | 默认值 |" in res.out


def test_params_in_an_unknown_language_is_one_sentence(cli):
    res = cli("params", "--lang", "fr")
    assert res.code != 0 and "Traceback" not in res.text
    assert "'fr' is not one the parameters are described in; use en or zh." in res.err


def test_params_in_a_real_process(tmp_path):
    res = run_subprocess(["params", "--markdown"], cwd=tmp_path, timeout=120)
    assert res.code == 0, res.err
    assert res.out.startswith("# Parameters") and "| lr | float |" in res.out and "Traceback" not in res.err


def test_summary_cnn_has_576_features(cli):
    res = cli("summary", "model=cnn")
    assert res.code == 0, res.text
    assert "[N,576]" in res.out and "[N,32,13,13]" in res.out and "parameters:" in res.out


# --- a trained run -------------------------------------------------------------------------------------------


def test_run_folder_contents(trained):
    folder = trained.runs / "fast"
    for f in ("config.yaml", "train.log", "metrics.csv", "run.json", "weights/best.pt", "weights/last.pt"):
        assert (folder / f).is_file(), f
    for png in ("curves.png", "confusion.png", "misclassified.png"):
        data = (folder / "plots" / png).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000, png
    assert not [p for p in folder.rglob("*") if ".tmp" in p.name]  # atomic writes left no temporary files
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    assert cfg["name"] == "fast" and cfg["epochs"] == 1 and cfg["train_subset"] == 1000 and "versions" in cfg["_evidence"]
    with open(folder / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["epoch"] == "1"
    summary = json.loads((folder / "run.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_done"] == 1 and summary["best"]["epoch"] == 1
    log = (folder / "train.log").read_text()
    assert "epoch 1: train loss" in log and "run fast completed" in log and "1000 train / 500 val / 10000 test" in log


def test_train_prints_the_doctors_findings(trained):
    """Issue 17: after the summary, the doctor's findings in brief; 1,000 images at batch 64 are 16 steps an epoch."""
    out = trained.first.out
    assert out.index("Run summary") < out.index("doctor: too_few_steps")
    assert "16 optimiser steps per epoch" in out and "digitlab doctor fast for the details" in out


def test_run_is_recorded(trained):
    rec = trained.store.get_run("fast")
    assert rec.status == "completed" and rec.epochs_done == 1 and rec.best_epoch == 1
    assert rec.run_dir == (trained.runs / "fast").resolve() and rec.finished_at is not None
    (ep,) = trained.store.epochs(rec.id)
    assert all(ep[c] is not None for c in EPOCH_METRICS), ep
    assert 0.5 < ep["val_acc"] <= 1 and 0.5 < ep["test_acc"] <= 1  # 1000 images, one epoch: well above chance
    assert rec.test_acc == ep["test_acc"] and rec.best_val_acc == ep["val_acc"]
    with open(trained.runs / "fast" / "metrics.csv", newline="") as f:
        (row,) = csv.DictReader(f)
    for c in ("train_loss", "val_acc", "test_acc", "lr"):
        assert float(row[c]) == pytest.approx(ep[c], rel=1e-12)
    # the run's summary was printed
    assert "Run summary" in trained.first.out and "completed" in trained.first.out


def test_checkpoints_load(trained):
    best = load_checkpoint(trained.runs / "fast" / "weights" / "best.pt")
    last = load_checkpoint(trained.runs / "fast" / "weights" / "last.pt")
    assert best["model"] == "fast" and best["metrics"]["epoch"] == 1 and "train_state" not in best
    assert last["train_state"]["epoch"] == 1 and last["config"]["name"] == "fast"
    model_from_checkpoint(best)


def test_second_run_gets_a_fresh_folder(trained):
    assert (trained.runs / "fast-2" / "weights" / "best.pt").is_file()
    assert not (trained.runs / "fast-2" / "plots").exists()  # --no-plots
    assert trained.store.get_run("fast-2").generation == 1


def test_runs_lists_and_filters(lab_cli):
    res = lab_cli("runs")
    assert res.code == 0 and "Runs (2)" in res.out and "fast-2" in res.out and "completed" in res.out
    res = lab_cli("runs", "--generation", "1")
    assert res.code == 0 and "Runs (1)" in res.out and "fast-2" in res.out
    res = lab_cli("runs", "--generation", "7")
    assert res.code == 0 and "Runs (0)" in res.out


def test_show(lab_cli, trained):
    res = lab_cli("show", "fast")
    assert res.code == 0, res.text
    ep = trained.store.epochs(trained.store.get_run("fast").id)[0]
    assert "Epochs" in res.out and f"{100 * ep['val_acc']:.2f}%" in res.out and f"{ep['train_loss']:.4g}" in res.out
    assert "weights/best.pt" in res.out and "plots/curves.png" in res.out


def test_show_unknown_run(lab_cli):
    res = lab_cli("show", "fast-3")
    assert res.code == 2
    assert "No run named 'fast-3'; did you mean" in error_line(res)


def test_eval_matches_recorded_test_accuracy(lab_cli, trained):
    res = lab_cli("eval", "fast", "--json")
    assert res.code == 0, res.text
    r = json.loads(res.out)
    assert abs(r["acc"] - trained.store.get_run("fast").test_acc) <= 1e-6
    assert r["n"] == 10000 and len(r["per_class_acc"]) == 10 and sum(map(sum, r["confusion"])) == 10000


def test_existing_name_is_refused_and_untouched(lab_cli, trained):
    before = tree_digest(trained.runs / "fast")
    n_runs = len(trained.store.list_runs())
    res = lab_cli("train", *small("name=fast"))
    assert res.code == 2
    line = error_line(res)
    assert "Run 'fast' already exists" in line and "choose another name" in line
    assert tree_digest(trained.runs / "fast") == before
    assert len(trained.store.list_runs()) == n_runs


def test_compare_writes_png(lab_cli, trained):
    res = lab_cli("compare", "fast", "fast-2")
    assert res.code == 0, res.text
    png = trained.runs / "compare-fast-vs-fast-2.png"
    assert png.read_bytes().startswith(PNG)
    assert "Comparison" in res.out and "generation" in res.out  # a parameter that differs is listed


def test_promote_versions(lab_cli, trained):
    res = lab_cli("promote", "fast", "--as", "gen1")
    assert res.code == 0, res.text
    v1 = trained.models / "gen1" / "v1.pt"
    assert v1.read_bytes() == (trained.runs / "fast" / "weights" / "best.pt").read_bytes()
    assert json.loads(v1.with_suffix(".json").read_text())["run"] == "fast"
    digest = hashlib.sha1(v1.read_bytes()).hexdigest()

    res = lab_cli("promote", "fast-2", "--as", "gen1")
    assert res.code == 2 and "--new-version" in error_line(res)
    assert hashlib.sha1(v1.read_bytes()).hexdigest() == digest and not (trained.models / "gen1" / "v2.pt").exists()

    res = lab_cli("promote", "fast-2", "--as", "gen1", "--new-version")
    assert res.code == 0, res.text
    assert (trained.models / "gen1" / "v2.pt").read_bytes() == (trained.runs / "fast-2" / "weights" / "best.pt").read_bytes()
    assert hashlib.sha1(v1.read_bytes()).hexdigest() == digest

    res = lab_cli("models")
    assert res.code == 0 and "v1" in res.out and "v2" in res.out
    # a promoted name resolves to its newest version; gen1:v1 to the first
    r2 = json.loads(lab_cli("eval", "gen1", "--json").out)
    assert abs(r2["acc"] - trained.store.get_run("fast-2").test_acc) <= 1e-6


def test_promote_bad_name(lab_cli):
    res = lab_cli("promote", "fast", "--as", "../evil")
    assert res.code == 2 and "is not allowed" in error_line(res)


def test_promote_run_with_a_dot_in_its_name(trained, tmp_path):
    """Run names may contain dots (``cnn-lr0.01``); promote must still take the run's weights/best.pt."""
    folder = tmp_path / "fast-lr0.01"
    (folder / "weights").mkdir(parents=True)
    src = trained.runs / "fast" / "weights" / "best.pt"
    (folder / "weights" / "best.pt").write_bytes(src.read_bytes())
    store = RunStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.create_run("fast-lr0.01", make_config({"model": "fast"}), str(folder), {})
    dest = promote(store, "fast-lr0.01", "dotted", models_dir=tmp_path / "models")
    assert dest == tmp_path / "models" / "dotted" / "v1.pt" and dest.read_bytes() == src.read_bytes()
    store.create_run("no-weights.1", make_config({"model": "fast"}), str(tmp_path / "nothing"), {})
    with pytest.raises(RunError, match="has no weights/best.pt"):
        promote(store, "no-weights.1", "dotted", new_version=True, models_dir=tmp_path / "models")


# --- bad inputs: exit != 0, one clear line, no traceback ---------------------------------------------------------


def test_unknown_model_suggests(cli):
    res = cli("train", *small("model=lenet", "train_subset=300"))
    assert res.code == 2
    assert "Unknown model 'lenet'. Did you mean lenet5" in error_line(res)


def test_bad_yaml_file(cli, lab):
    (lab / "bad.yaml").write_text("epochs: 1\nmodel: {fast\n")
    res = cli("train", "--config", str(lab / "bad.yaml"))
    assert res.code == 2
    line = error_line(res)
    assert "bad.yaml is not valid YAML at line" in line
    assert not (lab / "runs" / "fast").exists()


def test_unknown_key(cli, lab):
    res = cli("train", *small("lrr=0.1"))
    assert res.code == 2
    assert "Unknown parameter 'lrr'. Did you mean lr?" in error_line(res)


def test_out_of_range_value(cli):
    res = cli("train", *small("epochs=0"))
    assert res.code == 2
    assert "epochs=0 is invalid: input should be greater than or equal to 1" in error_line(res)


def test_unwritable_runs_dir(cli, lab):
    if os.geteuid() == 0:  # root writes anywhere: use a runs folder below a regular file instead
        (lab / "plainfile").write_text("x")
        runs = lab / "plainfile" / "runs"
    else:
        (lab / "ro").mkdir(mode=0o500)
        runs = lab / "ro" / "runs"
    res = cli("train", *small(), runs_dir=runs)
    assert res.code == 2
    line = error_line(res)
    assert str(runs) in line and ("Cannot create" in line or "Cannot write" in line)


def test_data_dir_without_the_files(cli, lab):
    (lab / "empty").mkdir()
    res = cli("--data-dir", str(lab / "empty"), "train", *small())
    assert res.code == 2
    line = error_line(res)
    assert "train-images-idx3-ubyte.gz of mnist is not in" in line and str(lab / "empty") in line
    # nothing is recorded before the data is known to be there: no failed run, no folder
    assert not (lab / "runs" / "fast").exists() and RunStore(runs_dir=lab / "runs").list_runs() == []


def test_markup_like_text_in_an_error_is_printed_verbatim(cli, lab):
    res = cli("train", "--config", "[/x]/a.yaml")
    assert res.code == 2
    assert "Config file [/x]/a.yaml does not exist." in error_line(res)


def test_debug_shows_the_traceback(cli):
    res = cli("--debug", "train", *small("lrr=0.1"))
    assert res.code == 2
    assert "Traceback" in res.err and "ConfigError" in res.err and "Did you mean lr?" in res.err


def test_bad_input_in_a_real_process(tmp_path):
    res = run_subprocess(["--runs-dir", "runs", "train", "epochs=0"], cwd=tmp_path, timeout=120)
    assert res.code == 2
    assert error_line(res).startswith("error: epochs=0 is invalid")
