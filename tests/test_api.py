"""The Python API (``import digitlab``), typed run records, the run lock and heartbeat, and the run-failure error."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

import digitlab
from conftest import SMALL, error_line
from digitlab.config import make_config
from digitlab.errors import RunError, RunFailed
from digitlab.records import RunRecord
from digitlab.run_lock import live_status

TINY = {"epochs": 1, "train_subset": 1000, "val_size": 500, "threads": 1, "batch_size": 64}  # as conftest.SMALL


@pytest.fixture
def api_lab(tmp_path) -> digitlab.Lab:
    return digitlab.Lab(runs_dir=tmp_path / "runs", models_dir=tmp_path / "models")


def test_train_returns_a_run_with_its_history_and_figures(api_lab):
    run = digitlab.train("fast", lab=api_lab, plots=False, **TINY, name="a")
    assert isinstance(run.record, RunRecord) and run.record.config.train_subset == 1000
    assert run.status == "completed" and [h["epoch"] for h in run.history] == [1]
    assert run.best == api_lab.runs_dir / "a" / "weights" / "best.pt" and run.best.is_file()
    assert run.test_acc == run.history[0]["test_acc"] and run.val_acc == run.history[0]["val_acc"]
    assert run.plot().is_file()
    assert [r.name for r in digitlab.runs(lab=api_lab)] == ["a"]
    answer = run.load().predict(b"not a picture")
    assert answer.error and not answer.ok


def test_keyword_overrides_are_checked_like_files(api_lab):
    from digitlab.errors import ConfigError

    with pytest.raises(ConfigError, match="epochs"):
        digitlab.train("fast", lab=api_lab, epochs=0)
    with pytest.raises(ConfigError, match="Unknown parameter 'epoch'"):
        digitlab.train("fast", lab=api_lab, epoch=1)
    assert digitlab.runs(lab=api_lab) == []


def test_load_ship_is_the_packaged_model_and_compare_needs_two(api_lab):
    from digitlab.checkpoint import DEFAULT_MODEL

    assert digitlab.load("ship", lab=api_lab).path == DEFAULT_MODEL == digitlab.load(lab=api_lab).path
    with pytest.raises(Exception, match="two or more"):
        digitlab.compare("a", lab=api_lab)


def test_a_failed_run_is_named_by_the_error(api_lab, monkeypatch):
    import digitlab.trainer as train_mod

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(train_mod, "evaluate_epoch", boom)
    with pytest.raises(RunFailed) as err:
        digitlab.train("fast", lab=api_lab, plots=False, **TINY)
    assert err.value.run == "fast" and "disk on fire" in str(err.value)
    rec = api_lab.store().get_run("fast")
    assert rec.status == "failed" and "disk on fire" in rec.message


def test_a_killed_run_shows_as_killed_and_resumes(tmp_path, cli):
    """SIGKILL leaves the run 'running' in the database; the free folder lock tells it was killed; --resume works."""
    runs = tmp_path / "runs"
    args = [sys.executable, "-m", "digitlab.cli", "--runs-dir", str(runs), "train", *SMALL, "epochs=3", "name=k", "--no-plots"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (runs / "k" / "weights" / "last.pt").is_file():
            assert proc.poll() is None and time.monotonic() < deadline, "the run did not reach its first checkpoint"
            time.sleep(0.05)
        # while it trains, a second trainer is refused: the folder lock is held
        res = cli("train", "--resume", "k")
        assert res.code == 2 and "is being trained by another process" in error_line(res)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    lab = digitlab.Lab(runs_dir=runs)
    rec = lab.store().get_run("k")
    assert rec.status == "running" and live_status(rec) == "killed" and rec.pid == proc.pid
    assert "killed" in cli("runs").out
    (runs / "k" / "metrics.csv").unlink()  # lost while the run was dead: rebuilt from the database
    res = cli("train", "--resume", "k", "--no-plots")
    assert res.code == 0, res.text
    rec = lab.store().get_run("k")
    assert rec.status == "completed" and rec.epochs_done == 3
    lines = (runs / "k" / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss") and [ln.split(",")[0] for ln in lines[1:]] == ["1", "2", "3"]


def test_a_stale_heartbeat_from_another_host_reads_as_killed(api_lab):
    from digitlab import store as store_mod

    store = api_lab.store()
    rid = store.create_run("far", make_config({"model": "fast"}), str(api_lab.runs_dir / "far"), {"host": "elsewhere"})
    store.beat(rid, pid=1234)
    assert live_status(store.get_run("far")) == "running"  # fresh heartbeat, another machine: believed
    old = store_mod._now() - dt.timedelta(minutes=5)
    store.update_run(rid, heartbeat_at=old)
    assert live_status(store.get_run("far")) == "killed"


def test_resume_refuses_a_run_with_a_fresh_heartbeat_elsewhere(api_lab):
    store = api_lab.store()
    (api_lab.runs_dir / "far").mkdir(parents=True)
    rid = store.create_run("far", make_config({"model": "fast"}), str(api_lab.runs_dir / "far"), {"host": "elsewhere"})
    store.beat(rid, pid=99)
    with pytest.raises(RunError, match="being trained on elsewhere"):
        digitlab.resume("far", lab=api_lab)
