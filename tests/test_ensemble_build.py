"""``ensemble build``'s pool (ensemble_build.py): members trained round after round within a time budget, resumed
where a stopped build left off, and the pool file's bad entries refused in one sentence."""

from __future__ import annotations

import pytest

from digitlab.ensemble_build import TAG, build_pool, pool_members, read_pool
from digitlab.errors import ConfigError
from digitlab.store import RunStore

TINY = ["train_subset=300", "val_size=200", "epochs=1", "batch_size=64"]


@pytest.fixture
def pool_file(tmp_path):
    path = tmp_path / "pool.yaml"
    lines = ["members:", f"  - {{config: fast, overrides: [{', '.join(TINY)}]}}", f"  - {{zoo: lenet5, overrides: [{', '.join(TINY)}]}}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_shipped_pool_reads(tmp_path):
    recipes = read_pool()
    assert len(recipes) >= 4 and {r.kind for r in recipes} == {"config", "zoo"}
    cfg = recipes[0].config("x-m1", seed=7, threads=1)
    assert cfg.seed == 7 and cfg.name == "x-m1" and cfg.calibrate is False  # members are not calibrated: the ensemble is


def test_a_build_trains_within_its_budget_and_resumes(tmp_path, pool_file):
    store, runs = RunStore(runs_dir=tmp_path / "runs"), tmp_path / "runs"
    seen = []
    first = build_pool("b", 0.01, store=store, runs_dir=runs, pool=read_pool(pool_file), threads=1, on_member=seen.append)
    assert len(first) == 1 and seen[-1].members == 1 and seen[-1].left_s == 0.0  # one member overruns a 10 ms budget, then it stops
    spent = first[0].extra[TAG]["seconds"]
    again = build_pool("b", spent, store=store, runs_dir=runs, pool=read_pool(pool_file), threads=1)
    assert [r.name for r in again] == [r.name for r in first]  # already spent: nothing trained again
    budget = 2.5 * spent + 2
    more = build_pool("b", budget, store=store, runs_dir=runs, pool=read_pool(pool_file), threads=1)
    assert len(more) >= 2 and [r.extra[TAG]["recipe"] for r in more[:2]] == [0, 1] and more[1].seed == 1  # next recipe, next seed
    assert sum(r.extra[TAG]["seconds"] for r in more[:-1]) <= budget  # only the last member may run past the budget
    assert pool_members(store, "other") == []


def test_bad_pool_files_are_one_sentence(tmp_path):
    for text, words in [
        ("members: []\n", "has no members"),
        ("members:\n  - {config: fast, zoo: lenet5}\n", "exactly one of"),
        ("members:\n  - {config: fast, overrides: lr=1}\n", "overrides must be a list"),
    ]:
        path = tmp_path / "p.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=words):
            read_pool(path)
    with pytest.raises(ConfigError, match="Ensemble pool"):
        read_pool("no-such-pool")


def test_cli_build_trains_the_pool_then_chooses_on_validation(cli, lab, pool_file):
    res = cli("ensemble", "build", "tiny", "--budget", "1s", "--pool", str(pool_file), "--method", "mean", "--tta", "off", "--threads", "1")
    assert res.code == 0, res.text
    assert "member 1: tiny-m1" in res.out and "pool mean val" in res.out and "left" in res.out
    assert "Ensemble tiny: mean" in res.out
    again = cli("ensemble", "build", "tiny", "--budget", "1s", "--pool", str(pool_file))
    assert again.code != 0 and "already exists" in again.err  # the pool is spent and the ensemble made: nothing is redone
    bad = cli("ensemble", "build", "x", "--budget", "soon")
    assert bad.code != 0 and "Duration 'soon'" in bad.err


def test_the_runs_table_says_an_ensembles_method_and_members(lab):
    from pathlib import Path

    from digitlab.config import make_config
    from digitlab.records import RunRecord

    members = [{"run": "a", "weight": 0.5}, {"run": "b", "weight": 0.5}, {"run": "c", "weight": 0.0}]
    rec = RunRecord(
        id=1, name="e", status="completed", model="ensemble", dataset="mnist", config=make_config({"model": "cnn"}), run_dir=Path("e"),
        extra={"ensemble": {"method": "greedy", "tta": True, "members": members}},
    )  # fmt: skip
    assert rec.key_params == "greedy, 2 of 3 members, tta"
