"""Several tuning workers on one study: PostgreSQL (several machines), SQLite (one machine), and a killed worker.

The PostgreSQL fixture starts a private server (initdb + pg_ctl on a free port,
trust authentication on 127.0.0.1) and stops it at the end. PostgreSQL refuses to
run as root, so as root the server runs as the unprivileged user ``pgtest``
(created with ``useradd`` when missing). Without the server binaries the test
is skipped with the reason; set DIGITLAB_REQUIRE_POSTGRES=1 (CI) to fail instead.
Workers are real ``python -m digitlab.cli`` processes with tiny trials (fast
model, one thread, 300 training images, one epoch).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa

from conftest import run_subprocess
from digitlab import tune as T
from digitlab.store import RunStore

FAST = "fast"  # the shipped search space
PG_USER = "pgtest"
State = optuna.trial.TrialState


def _tool(name: str) -> str | None:
    """A PostgreSQL server program: $PG_BIN, PATH, /usr/local/bin, then Debian's /usr/lib/postgresql/*/bin."""
    dirs = [
        os.environ.get("PG_BIN", ""),
        *os.environ.get("PATH", "").split(os.pathsep),
        "/usr/local/bin",
        *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
    ]
    return next((str(Path(d) / name) for d in dirs if d and (Path(d) / name).is_file()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str) -> None:
    if os.environ.get("DIGITLAB_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required (DIGITLAB_REQUIRE_POSTGRES) but {reason}")
    pytest.skip(f"PostgreSQL cannot be started here: {reason}")


def _as_server_user(folder: str) -> list[str]:
    """The command prefix that runs the server unprivileged (root: runuser -u pgtest --), owning ``folder``."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        if subprocess.run(["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", PG_USER], capture_output=True).returncode:
            _unavailable(f"running as root and the unprivileged user {PG_USER!r} cannot be created (useradd failed)")
    if not shutil.which("runuser"):
        _unavailable("running as root and runuser (util-linux) is missing")
    u = pwd.getpwnam(PG_USER)
    os.chown(folder, u.pw_uid, u.pw_gid)
    return ["runuser", "-u", PG_USER, "--"]


@pytest.fixture(scope="module")
def postgres():
    """URLs of two fresh databases (``optuna`` for the study, ``lab`` for the runs) on a private server."""
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if not (initdb and pg_ctl):
        _unavailable("initdb/pg_ctl not found (set PG_BIN or install the PostgreSQL server)")
    folder = tempfile.mkdtemp(prefix="digitlab-pg-")  # not under pytest's root-only tmp: the server user must reach it
    os.chmod(folder, 0o755)
    prefix, data, port = _as_server_user(folder), f"{folder}/data", _free_port()
    ctl = [*prefix, pg_ctl, "-D", data, "-l", f"{folder}/server.log", "-w", "-t", "60"]
    try:
        run = subprocess.run(
            [*prefix, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8"], capture_output=True, text=True
        )
        if run.returncode:
            _unavailable(f"initdb failed: {run.stderr.strip()[-300:]}")
        run = subprocess.run([*ctl, "-o", f"-k {folder} -p {port} -h 127.0.0.1 -F", "start"], capture_output=True, text=True)
        if run.returncode:
            _unavailable(f"pg_ctl start failed: {run.stderr.strip()[-300:]} {Path(folder, 'server.log').read_text()[-300:]}")
        base = f"postgresql://postgres@127.0.0.1:{port}"
        _create_databases(base, "optuna", "lab")
        yield f"{base}/optuna", f"{base}/lab"
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _create_databases(base: str, *names: str) -> None:
    """CREATE DATABASE through SQLAlchemy's default PostgreSQL driver (psycopg 3 for SQLAlchemy 2.1, psycopg2 for 2.0)."""
    try:
        engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    except ImportError as err:
        _unavailable(f"the PostgreSQL driver is missing ({err}): pip install 'psycopg[binary]' psycopg2-binary")
    with engine.connect() as c:
        for name in names:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()


def _worker(tmp: Path, *args: str, db: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "digitlab.cli", "--runs-dir", str(tmp / "runs"), *(["--db", db] if db else []), "tune", *args]
    return subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _two_workers(tmp: Path, storage: str | None, db: str | None) -> None:
    """Two workers at once, three trials each, on the study ``s``."""
    flags = ["--space", FAST, "--study", "s", "--trials", "3", "--no-final", "--no-plots", *(["--storage", storage] if storage else [])]
    procs = [_worker(tmp, *flags, "--seed", str(seed), db=db) for seed in (1, 2)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
        assert out.count(" complete: val acc") + out.count(" pruned: val acc") == 3, out


def _check_shared_study(storage: str, store: RunStore) -> None:
    """6 finished trials, none lost, one linked run each, and the study's best is the best linked run."""
    st = T.load_study("s", T.open_storage(storage, heartbeat=None))
    trials = st.get_trials()
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.state in (State.COMPLETE, State.PRUNED) for t in trials), [t.state for t in trials]
    linked = [r for r in store.list_runs() if r.extra.get("study") == "s"]
    assert sorted(r.extra["trial"] for r in linked) == list(range(6))  # exactly one run per trial
    by_trial = {r.extra["trial"]: r for r in linked}
    for t in trials:
        rec = by_trial[t.number]
        assert rec.name == t.user_attrs["run"] == f"s-t{t.number}"
        assert rec.extra["state"] == {State.COMPLETE: "complete", State.PRUNED: "pruned"}[t.state]
    complete = [by_trial[t.number].best_val_acc for t in trials if t.state == State.COMPLETE]
    assert st.best_value == pytest.approx(max(complete))


def test_two_workers_share_a_postgresql_study(postgres, tmp_path):
    storage, lab_db = postgres
    RunStore(lab_db)  # the run tables exist before the workers start (see RunStore._create_tables on PostgreSQL)
    _two_workers(tmp_path, storage, lab_db)
    _check_shared_study(storage, RunStore(lab_db))


def test_two_local_workers_share_a_sqlite_study(tmp_path):
    """SQLite beside the runs (the default) serves several workers on one machine only."""
    _two_workers(tmp_path, None, None)
    _check_shared_study(T.default_storage(tmp_path / "runs"), RunStore(runs_dir=tmp_path / "runs"))


def test_a_killed_workers_trial_is_failed_by_the_next_worker(tmp_path):
    runs = tmp_path / "runs"
    p = _worker(tmp_path, "--space", FAST, "--study", "k", "--trials", "3", "--heartbeat", "1", "--no-final", "--no-plots", "epochs=2")
    deadline = time.monotonic() + 120
    while not (runs / "k-t0" / "config.yaml").is_file():  # trial 0 has started training
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()[0] if p.poll() is not None else "timeout"
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=30)
    storage = T.default_storage(runs)
    assert [t.state for t in T.load_study("k", T.open_storage(storage, heartbeat=None)).get_trials()] == [State.RUNNING]
    time.sleep(2.5)  # no heartbeat for longer than the grace period (2 x 1 s)
    res = run_subprocess(
        ["--runs-dir", str(runs), "tune", "--study", "k", "--trials", "2", "--heartbeat", "1", "--no-final", "--no-plots"],
        tmp_path,
        timeout=240,
    )
    assert res.code == 0, res.text
    trials = T.load_study("k", T.open_storage(storage, heartbeat=None)).get_trials()
    assert [t.state for t in trials] == [State.FAIL, State.COMPLETE, State.COMPLETE]
    rec = RunStore(runs_dir=runs).get_run("k-t0")
    assert rec.status == "failed" and "heartbeats" in rec.message and rec.extra["state"] == "failed"
    assert RunStore(runs_dir=runs).get_run("k-t2").epochs_done == 2  # the stored space (epochs=2) was continued
