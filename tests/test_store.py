"""The run database: records, resume semantics, two writing processes, a locked file and unusable URLs."""

from __future__ import annotations

import math
import multiprocessing as mp
import sqlite3
import time
from pathlib import Path

import pytest

from digitlab import store as store_mod
from digitlab.config import make_config
from digitlab.errors import RunError, StoreError
from digitlab.records import EPOCH_METRICS
from digitlab.store import RunStore

CFG = {"model": "fast", "dataset": "mnist", "seed": 0, "generation": None, "parent": None}
EV = {"git_commit": "abc123", "host": "testhost", "versions": {"torch": "x"}}


def cfg(**kw):
    return make_config({**CFG, **kw})


def metrics(epoch: int, scale: float = 1.0) -> dict:
    return {"epoch": epoch, **{c: scale * (epoch + i / 10) for i, c in enumerate(EPOCH_METRICS)}}


@pytest.fixture
def db(tmp_path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'runs' / 'lab.db'}")


def test_default_url_is_sqlite_in_the_runs_folder(tmp_path, monkeypatch):
    s = RunStore(runs_dir=tmp_path / "r")
    assert s.url == f"sqlite:///{tmp_path / 'r' / 'digitlab.db'}" and (tmp_path / "r" / "digitlab.db").is_file()
    monkeypatch.setenv("DIGITLAB_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert RunStore(runs_dir=tmp_path / "r").url.endswith("env.db")


def test_create_get_update(db):
    rid = db.create_run("a", cfg(seed=4, generation=2, parent="p"), "/runs/a", EV)
    r = db.get_run("a")
    assert r.id == rid and r.status == "running" and r.model == "fast" and r.dataset == "mnist"
    assert (r.seed, r.generation, r.parent, r.run_dir) == (4, 2, "p", Path("/runs/a"))
    assert r.config.seed == 4 and r.git_commit == "abc123" and r.versions == {"torch": "x"}
    assert r.created_at is not None and r.finished_at is None and r.epochs_done == 0

    db.update_run(rid, extra={"study": "s1"})
    db.update_run(rid, extra={"trial": 3})  # merged, not replaced
    db.update_run(rid, status="completed", best_val_acc=0.99, test_acc=0.98)
    r = db.get_run("a")
    assert r.extra == {"study": "s1", "trial": 3}
    assert r.status == "completed" and r.best_val_acc == 0.99 and r.finished_at is not None


def test_epochs_and_resume_semantics(db):
    rid = db.create_run("a", cfg(), "/a", EV)
    for e in (1, 2, 3):
        db.add_epoch(rid, metrics(e))
    assert [e["epoch"] for e in db.epochs(rid)] == [1, 2, 3] and db.get_run("a").epochs_done == 3
    assert db.epochs(rid)[1]["val_acc"] == pytest.approx(2.3)
    # a resumed run rewrites epoch 2: epochs 2 and 3 of the first attempt are gone
    db.add_epoch(rid, metrics(2, scale=10))
    rows = db.epochs(rid)
    assert [e["epoch"] for e in rows] == [1, 2] and rows[1]["val_acc"] == pytest.approx(23) and rows[0]["val_acc"] == pytest.approx(1.3)
    assert db.get_run("a").epochs_done == 2


def test_epochs_belong_to_their_run(db):
    a = db.create_run("a", cfg(), "/a", EV)
    b = db.create_run("b", cfg(), "/b", EV)
    db.add_epoch(a, metrics(1))
    db.add_epoch(b, metrics(1, 2))
    db.add_epoch(b, metrics(2, 2))
    assert len(db.epochs(a)) == 1 and len(db.epochs(b)) == 2


def test_nan_is_stored_as_null(db):
    rid = db.create_run("a", cfg(), "/a", EV)
    db.add_epoch(rid, {**metrics(1), "val_loss": float("nan"), "val_acc": None, "test_acc": 0.5})
    (row,) = db.epochs(rid)
    assert row["val_loss"] is None and row["val_acc"] is None and row["test_acc"] == 0.5
    raw = sqlite3.connect(db.url.removeprefix("sqlite:///")).execute("SELECT val_loss FROM epochs").fetchone()
    assert raw == (None,)


def test_unknown_name_suggests_close_names(db):
    for n in ("cnn-1", "cnn-2", "fast"):
        db.create_run(n, cfg(), "/x", EV)
    with pytest.raises(RunError, match=r"No run named 'cnn-3'; did you mean") as exc:
        db.get_run("cnn-3")
    assert "cnn-1" in str(exc.value) and "cnn-2" in str(exc.value) and "fast" not in str(exc.value)
    with pytest.raises(RunError, match="`digitlab runs` lists them"):
        db.get_run("zzzzzz")


def test_duplicate_name(db):
    db.create_run("a", cfg(), "/a", EV)
    with pytest.raises(RunError, match="'a' is already recorded"):
        db.create_run("a", cfg(), "/a2", EV)
    assert len(db.list_runs()) == 1


def test_filters(db):
    db.create_run("g1-fast", cfg(generation=1), "/1", EV)
    db.create_run("g1-cnn", cfg(generation=1, model="cnn"), "/2", EV)
    rid = db.create_run("g2-cnn", cfg(generation=2, model="cnn"), "/3", EV)
    db.create_run("none", cfg(), "/4", EV)
    db.update_run(rid, status="failed", message="boom")
    names = lambda **kw: [r.name for r in db.list_runs(**kw)]  # noqa: E731
    assert names() == ["g1-fast", "g1-cnn", "g2-cnn", "none"]  # oldest first
    assert names(generation=1) == ["g1-fast", "g1-cnn"]
    assert names(model="cnn") == ["g1-cnn", "g2-cnn"]
    assert names(status="failed") == ["g2-cnn"]
    assert names(generation=1, model="cnn") == ["g1-cnn"]
    assert names(status="running", generation=2) == []
    assert db.get_run("g2-cnn").message == "boom"


def test_promoted(db):
    rid = db.create_run("a", cfg(), "/a", EV)
    db.add_promoted("gen1", 1, rid, "/models/gen1/v1.pt")
    db.add_promoted("gen1", 2, rid, "/models/gen1/v2.pt")
    with pytest.raises(RunError, match="'gen1' version 2 is already promoted"):
        db.add_promoted("gen1", 2, rid, "/elsewhere.pt")
    rows = db.list_promoted()
    assert [(p.name, p.version, p.run, str(p.path)) for p in rows] == [
        ("gen1", 1, "a", "/models/gen1/v1.pt"),
        ("gen1", 2, "a", "/models/gen1/v2.pt"),
    ]


def test_reopening_keeps_records(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    RunStore(url).create_run("a", cfg(), "/a", EV)
    assert [r.name for r in RunStore(url).list_runs()] == ["a"]


# --- two processes at once ---------------------------------------------------------------------------------

N_RUNS, N_EPOCHS = 20, 5


def _writer(url: str, tag: str, barrier) -> None:
    """One process: open the (fresh) database right when the other one does, then write runs and epochs."""
    barrier.wait(timeout=60)
    s = RunStore(url)
    for i in range(N_RUNS):
        rid = s.create_run(f"{tag}-{i}", cfg(seed=i), f"/{tag}/{i}", EV)
        for e in range(1, N_EPOCHS + 1):
            s.add_epoch(rid, metrics(e))
        s.update_run(rid, status="completed")


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(url, tag, barrier)) for tag in ("p", "q")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (2 * N_RUNS,)
    assert con.execute("SELECT count(*) FROM epochs").fetchone() == (2 * N_RUNS * N_EPOCHS,)
    assert con.execute("SELECT count(*) FROM runs WHERE status='completed' AND epochs_done=?", (N_EPOCHS,)).fetchone() == (2 * N_RUNS,)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()


# --- a locked database and unusable URLs --------------------------------------------------------------------


def test_locked_database(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 0.3)  # wait 0.3 s instead of 30 s for the lock
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    s = RunStore(url)
    s.create_run("before", cfg(), "/b", EV)
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError) as exc:
            RunStore(url).create_run("during", cfg(), "/d", EV)
        waited = time.monotonic() - t0
        assert "locked" in str(exc.value) and str(path) in str(exc.value)
        assert 0.25 <= waited < 10, waited  # it did wait for the lock, for about the configured time
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    s.create_run("after", cfg(), "/a", EV)  # the lock is gone: writing works again
    assert [r.name for r in s.list_runs()] == ["before", "after"]


@pytest.mark.parametrize("url", ["nosuchdialect://x", "not a url at all", "postgresql+nosuchdriver://u@h/db"])
def test_unusable_url(url):
    with pytest.raises(StoreError, match="is not usable"):
        RunStore(url)


def test_database_path_is_a_folder(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="Cannot use the run database"):
        RunStore(f"sqlite:///{tmp_path / 'dir.db'}")


def test_database_folder_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="Cannot create the run database folder"):
        RunStore(runs_dir=tmp_path / "file" / "runs")


def test_nan_helper():
    assert store_mod._num(float("nan")) is None and store_mod._num(3) == 3.0 and math.isinf(store_mod._num(float("inf")))
