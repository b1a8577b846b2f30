"""Who is training a run: a folder lock held by the training process, and a heartbeat in the run database.

On one machine the kernel's ``flock`` answers exactly (it is released when the process dies, even by SIGKILL);
across machines sharing a database the heartbeat does: a run still marked ``running`` whose heartbeat is older than
:data:`~digitlab.records.STALE_AFTER_S` was killed and may be resumed.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import IO, Any

from .errors import RunError
from .evidence import host
from .records import RunFolder, RunRecord
from .store import RunStore

HEARTBEAT_S = 15.0  # seconds between heartbeats while a run trains


class RunLock:
    """``with RunLock(folder, store, run_id):`` hold the run for this process and keep its heartbeat fresh."""

    def __init__(self, folder: RunFolder, store: RunStore, run_id: int, resuming: RunRecord | None = None):
        self.folder, self.store, self.run_id, self.resuming = folder, store, run_id, resuming
        self.file: IO[str] | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> RunLock:
        rec = self.resuming
        if rec is not None and rec.status == "running" and not rec.stale and rec.host not in (None, host()):
            raise RunError(f"Run {rec.name!r} is being trained on {rec.host} (pid {rec.pid}); wait for it to finish or stop it first.")
        self.file = open(self.folder.lock, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            who = f" (pid {rec.pid})" if rec is not None and rec.pid else ""
            raise RunError(
                f"Run {self.folder.name!r} is being trained by another process{who}; wait for it to finish or stop it first."
            ) from None
        self.store.beat(self.run_id, os.getpid())
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.folder.name}", daemon=True)
        self.thread.start()
        return self

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            try:
                self.store.beat(self.run_id)
            except Exception:
                pass

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()


def live_status(rec: RunRecord) -> str:
    """The status to show: ``killed`` for a run recorded as running whose trainer is gone.

    On this machine the folder lock tells at once; for a run trained elsewhere, the heartbeat's age.
    """
    if rec.status != "running":
        return rec.status
    if rec.host == host() and rec.folder.lock.is_file():
        return "running" if _held(rec.folder) else "killed"
    return rec.shown_status


def _held(folder: RunFolder) -> bool:
    with open(folder.lock, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False
