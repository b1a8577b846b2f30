"""The training job queue (serve/jobs.py) with a fake training function: order, cancel, failure, a full queue, shutdown.

Jobs live on the queue's board (a database), so a test reads a job's state with ``q.get(job.id)``.

``FakeTraining.run_job`` does what the server's job function does, without training: it reports batches to the
job's ``JobProgress`` (which raises KeyboardInterrupt once the job is cancelled, as in the real loop), records its
run's status the way the training loop does (``interrupted`` when stopped) and finishes the job.
"""

from __future__ import annotations

import threading
import time

import pytest

from digitlab.errors import TrainingError
from digitlab.serve.errors import Busy, Conflict
from digitlab.serve.jobs import Job, JobProgress, JobQueue


def wait_for(cond, timeout: float = 10.0):
    """Poll ``cond`` until it returns something true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if value := cond():
            return value
        time.sleep(0.005)
    raise AssertionError("timed out waiting for a job")


class FakeTraining:
    """A job function: runs in ``hold`` take batches until released; runs named ``boom`` or ``crash`` fail."""

    def __init__(self):
        self.runs: dict[str, str] = {}  # run name -> status, as the run database would hold it
        self.started: list[str] = []
        self.release = threading.Event()
        self.hold: set[str] = set()  # runs that wait for ``release``
        self.running = 0
        self.most_at_once = 0

    def run_job(self, job: Job) -> None:
        name = job.config["name"]
        self.started.append(name)
        status = self.train(name, JobProgress(job, epochs=1))
        cancelled = job.cancel.is_set() and status == "interrupted"
        job.update(status="cancelled" if cancelled else status, run=name)

    def train(self, name: str, progress: JobProgress) -> str:
        """The training loop's contract: batches, an epoch record, KeyboardInterrupt -> run ``interrupted``."""
        self.runs[name] = "running"
        if name in ("boom", "crash"):
            self.runs[name] = "failed"
            raise TrainingError("The loss became nan at epoch 1, step 3; lower lr.") if name == "boom" else RuntimeError("out of memory")
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        status = "completed"
        try:
            b = 0
            while (name in self.hold and not self.release.is_set()) or b < 3:
                b += 1
                progress.batch(1, b, 1000, 0.5, 0.9)
                time.sleep(0.002)
            progress.on_epoch({"epoch": 1, "val_acc": 0.9, "test_acc": 0.9})
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            self.running -= 1
        self.runs[name] = status
        return status


@pytest.fixture
def fake() -> FakeTraining:
    return FakeTraining()


def job_config(name: str) -> dict:
    return {"name": name, "epochs": 1}


def test_jobs_run_one_at_a_time_in_submission_order(fake):
    fake.hold = {"a"}
    q = JobQueue(fake.run_job)
    a = q.submit(job_config("a"))
    wait_for(lambda: q.get(a.id).status == "running")
    b, c = q.submit(job_config("b")), q.submit(job_config("c"))
    assert (q.get(b.id).status, q.get(c.id).status) == ("queued", "queued")
    assert [q.position(j) for j in (a, b, c)] == [0, 1, 2]
    assert [j["id"] for j in q.listing()] == [c.id, b.id, a.id]  # newest first
    fake.release.set()
    wait_for(lambda: q.get(c.id).done)
    assert fake.started == ["a", "b", "c"] and fake.most_at_once == 1
    assert [q.get(j.id).status for j in (a, b, c)] == ["completed"] * 3
    assert [q.get(j.id).run for j in (a, b, c)] == ["a", "b", "c"] and q.position(a) is None
    assert q.get(a.id).history[0]["epoch"] == 1 and q.get(a.id).history[0]["val_acc"] == 0.9
    q.close()


def test_cancelling_a_waiting_job_takes_it_out_of_the_queue(fake):
    fake.hold = {"a"}
    q = JobQueue(fake.run_job)
    a = q.submit(job_config("a"))
    wait_for(lambda: q.get(a.id).status == "running")
    b, c = q.submit(job_config("b")), q.submit(job_config("c"))
    assert q.cancel(b.id).status == "cancelled"
    assert q.get(b.id).done and q.get(b.id).finished is not None and q.position(b) is None and q.position(c) == 1
    fake.release.set()
    wait_for(lambda: q.get(c.id).done)
    assert fake.started == ["a", "c"]  # b never ran
    assert q.get(b.id).status == "cancelled" and q.get(b.id).run is None
    with pytest.raises(Conflict):
        q.cancel(b.id)
    q.close()


def test_cancelling_the_running_job_stops_it_and_records_its_run_as_interrupted(fake):
    fake.hold = {"a"}
    q = JobQueue(fake.run_job)
    a, b = q.submit(job_config("a")), q.submit(job_config("b"))
    wait_for(lambda: q.get(a.id).progress.get("batch", 0) > 3)  # well into its batches
    assert q.cancel(a.id).message == "stopping after the current batch"
    wait_for(lambda: q.get(b.id).done)
    assert q.get(a.id).status == "cancelled" and q.get(a.id).run == "a" and fake.runs["a"] == "interrupted"
    assert q.get(b.id).status == "completed" and fake.runs["b"] == "completed"  # the queue went on
    with pytest.raises(Conflict):
        q.cancel(a.id)
    q.close()


def test_a_failing_job_is_failed_with_its_reason_and_the_queue_goes_on(fake):
    q = JobQueue(fake.run_job)
    boom, crash, ok = (q.submit(job_config(n)) for n in ("boom", "crash", "ok"))
    wait_for(lambda: q.get(ok.id).done)
    assert (
        q.get(boom.id).status == "failed" and q.get(boom.id).message == "The loss became nan at epoch 1, step 3; lower lr."
    )  # its sentence
    assert q.get(crash.id).status == "failed" and q.get(crash.id).message == "out of memory"  # not a lab error: the queue survives it too
    assert q.get(boom.id).finished is not None and q.get(crash.id).finished is not None
    assert q.get(ok.id).status == "completed" and fake.started == ["boom", "crash", "ok"]
    q.close()


def test_a_job_function_that_ends_without_a_status_leaves_no_job_running():
    q = JobQueue(lambda job: None)
    job = q.submit({})
    wait_for(lambda: q.get(job.id).done)
    assert q.get(job.id).status == "failed" and q.get(job.id).message == "the job ended without a result"
    q.close()


def test_a_full_queue_refuses_more_jobs_until_one_leaves(fake):
    fake.hold = {"a"}
    q = JobQueue(fake.run_job, max_queued=2)
    a = q.submit(job_config("a"))
    wait_for(lambda: q.get(a.id).status == "running")  # the running job does not count
    q.submit(job_config("b"))
    c = q.submit(job_config("c"))
    with pytest.raises(Busy, match="2 training jobs are already waiting") as err:
        q.submit(job_config("d"))
    assert err.value.http_status == 429 and len(q.listing()) == 3
    q.cancel(c.id)
    d = q.submit(job_config("d"))
    fake.release.set()
    wait_for(lambda: q.get(d.id).done)
    assert fake.started == ["a", "b", "d"]
    q.close()


def test_stopping_the_server_interrupts_the_running_job_and_cancels_the_waiting_ones(fake):
    fake.hold = {"a"}  # never released: only the shutdown stops it
    q = JobQueue(fake.run_job)
    a, b = q.submit(job_config("a")), q.submit(job_config("b"))
    wait_for(lambda: q.get(a.id).progress.get("batch", 0) > 3)
    t0 = time.monotonic()
    q.close(timeout=10)
    assert time.monotonic() - t0 < 5 and not q.worker.is_alive()
    assert q.get(a.id).status == "cancelled" and q.get(a.id).finished is not None  # not left running
    assert fake.runs["a"] == "interrupted"  # its run is recorded as interrupted (resumable), not left running
    assert q.get(b.id).status == "cancelled" and q.get(b.id).message == "the server stopped" and fake.started == ["a"]
    # a restarted server starts with an empty queue; the interrupted run stays as it was recorded
    q2 = JobQueue(fake.run_job)
    assert q2.listing() == []
    c = q2.submit(job_config("c"))
    wait_for(lambda: q2.get(c.id).done)
    assert q2.get(c.id).status == "completed" and fake.runs == {"a": "interrupted", "c": "completed"}
    q2.close()


def test_after_close_no_job_is_taken_and_none_is_left_running():
    """A job submitted during shutdown is refused; one that ignores cancellation past the timeout is not left running."""
    stuck = threading.Event()

    def ignores_cancel(job: Job) -> None:
        stuck.set()
        time.sleep(1.0)  # longer than close's timeout below; never looks at job.cancel

    q = JobQueue(ignores_cancel)
    a = q.submit(job_config("a"))
    stuck.wait(5)
    q.close(timeout=0.1)
    assert q.get(a.id).status == "cancelled" and "before the job ended" in q.get(a.id).message
    with pytest.raises(Conflict, match="shutting down"):
        q.submit(job_config("b"))


def test_two_workers_share_one_queue_through_the_database(fake, tmp_path):
    """Two queues on one board (two worker processes of one server): one job trains at a time across both, any worker
    lists it, and a cancel sent to either stops it."""
    from digitlab.serve.board import Board
    from digitlab.store import RunStore

    store = RunStore(runs_dir=tmp_path)
    one = Board.of(store)
    q1, q2 = JobQueue(fake.run_job, board=one), JobQueue(fake.run_job, board=Board.of(RunStore(runs_dir=tmp_path), one.instance))
    fake.hold = {"a", "b"}
    a = q1.submit(job_config("a"))
    b = q2.submit(job_config("b"))  # both workers now look for work
    wait_for(lambda: q2.get(a.id).status == "running")
    time.sleep(1.2)  # more than two polls: the second worker must not start b while a trains
    assert q1.get(b.id).status == "queued" and q2.position(b) == 1 and fake.most_at_once == 1
    assert [j["id"] for j in q2.listing()] == [b.id, a.id]
    assert q2.cancel(a.id).message == "stopping after the current batch"  # sent to the worker that does not train it
    wait_for(lambda: q1.get(a.id).done)
    assert q2.get(a.id).status == "cancelled" and fake.runs["a"] == "interrupted"
    wait_for(lambda: q1.get(b.id).status == "running")
    fake.release.set()
    wait_for(lambda: q1.get(b.id).done and q2.get(b.id).done)  # the worker training it knows a moment before the board
    assert q1.get(b.id).status == q2.get(b.id).status == "completed" and fake.started == ["a", "b"]
    q1.close()
    q2.close()
    assert Board.of(store).listing(10) == []  # a new server instance starts with its own, empty queue
