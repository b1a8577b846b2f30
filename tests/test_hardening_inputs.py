"""Hostile inputs (issue #10, 6.3 and 6.7): each is refused in one sentence, with bounded memory, before anything is recorded.

Config files and overrides (alias bombs, lax types, other encodings, huge files), model arguments (absurd sizes, on
the CLI, in the library and at the web API), run databases (empty, not SQLite), training data (gzip bombs, endless
sources) and pictures (endless sources, stdin over the limit).
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import threading
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import error_line, small
from digitlab.config import MAX_CONFIG_BYTES, load_config, make_config
from digitlab.data.idx import MAX_IDX_BYTES, SLACK, read_idx
from digitlab.errors import ConfigError, DataError, ImageError, ModelError, StoreError
from digitlab.models.registry import check_model_args, get_spec, list_models, register_model
from digitlab.recognize.image_io import MAX_BYTES, load_image, read_limited
from digitlab.store import RunStore

MB = 1024 * 1024


def traced_peak(fn) -> int:
    """Peak bytes Python allocated while ``fn()`` ran (tracemalloc sees every bytes buffer, zlib's output included)."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def refused(exc_type, fn):
    """The sentence of the ``exc_type`` that ``fn()`` raises."""
    with pytest.raises(exc_type) as exc:
        fn()
    return str(exc.value)


def run_folders(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []


# --- config files and overrides ---------------------------------------------------------------------------------


def alias_bomb(levels: int = 5) -> str:
    """A "billion laughs" config: each level nests 9 aliases of the previous one (9**levels strings), under a real argument."""
    rows = ['    - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"    - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "model: cnn\nmodel_kwargs:\n  hidden:\n" + "\n".join(rows) + "\n"


def test_alias_bomb_in_a_config_file_is_refused(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert path.stat().st_size < 600
    msg = refused(ConfigError, lambda: load_config(path))
    assert str(path) in msg and "anchor or alias" in msg and "line 4" in msg


def test_alias_bomb_on_the_cli_records_nothing(cli, lab):
    path = lab / "bomb.yaml"
    path.write_text(alias_bomb())
    res = cli("train", "--config", str(path), *small())
    assert res.code == 2 and "anchor or alias" in error_line(res)
    assert run_folders(lab / "runs") == []
    if (lab / "runs" / "digitlab.db").exists():
        assert RunStore(runs_dir=lab / "runs").list_runs() == []


@pytest.mark.parametrize("value", ["{a: &x [1, 2], b: *x}", "&x 3", "[&x 1, *x]"])
def test_alias_in_an_override_is_refused(value):
    msg = refused(ConfigError, lambda: load_config(None, [f"model_kwargs={value}"]))
    assert "'model_kwargs'" in msg and "anchor or alias" in msg


@pytest.mark.parametrize(
    "text, words",
    [
        ("epochs: true\n", ["epochs=True", "valid integer"]),
        ("lr: '0.01'\n", ["lr='0.01'", "valid number"]),
        ("epochs: 2.0\n", ["epochs=2.0", "valid integer"]),
        ("nesterov: 1\n", ["nesterov=1", "valid boolean"]),
        ("augment: 'yes'\n", ["augment='yes'", "valid boolean"]),
        ("seed: '3'\n", ["seed='3'", "valid integer"]),
    ],
)
def test_file_values_are_strictly_typed(tmp_path, text, words):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    msg = refused(ConfigError, lambda: load_config(path))
    assert all(w in msg for w in words), msg


@pytest.mark.parametrize("item, words", [("epochs=true", ["epochs=True", "integer"]), ("lr='0.01'", ["lr='0.01'", "number"])])
def test_override_values_are_strictly_typed(item, words):
    msg = refused(ConfigError, lambda: load_config(None, [item]))
    assert all(w in msg for w in words), msg


def test_an_int_is_still_a_float(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("lr: 1\nweight_decay: 0\n")
    cfg = load_config(path, ["rotate=5"])
    assert (cfg.lr, cfg.weight_decay, cfg.rotate) == (1.0, 0.0, 5.0)
    path.write_text("lr: 1e-3\nweight_decay: 5E-4\n")  # YAML 1.1 reads these as text; they are numbers here
    assert load_config(path, ["momentum=9e-1"]).model_dump(include={"lr", "weight_decay", "momentum"}) == {
        "lr": 0.001,
        "weight_decay": 0.0005,
        "momentum": 0.9,
    }
    assert make_config({"epochs": 2.0}).epochs == 2  # JSON from the API stays lax: 2.0 is an int there


def test_non_utf8_config_is_a_sentence(tmp_path, cli):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\nepochs: 2\n".encode("latin-1"))
    msg = refused(ConfigError, lambda: load_config(path))
    assert "not UTF-8" in msg and str(path) in msg
    res = cli("train", "--config", str(path))
    assert res.code == 2 and "not UTF-8" in error_line(res)


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfepochs: 3\n")
    assert load_config(path).epochs == 3


def test_huge_config_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("w") as f:
        f.write("epochs: 2\n")
        f.write(("#" * 1023 + "\n") * (MAX_CONFIG_BYTES // 1024 + 1))
    msg = refused(ConfigError, lambda: load_config(path))
    assert "larger than" in msg and str(path) in msg


# --- model arguments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, kwargs, words",
    [
        ("cnn", {"width": 10**9}, ["model_kwargs.width=1000000000", "out of range", "from 1 to 512"]),
        ("mlp", {"depth": 10**6}, ["model_kwargs.depth=1000000", "out of range"]),
        ("cnn", {"width": 10**5000}, ["1e12 or more"]),  # str() of it would raise; the message stays short
        ("cnn", {"dropout": float("nan")}, ["dropout=nan", "out of range"]),
        ("vit", {"heads": -1}, ["heads=-1", "out of range"]),
        ("cnn", {"hidden": [[0] * 1000] * 1000}, ["model_kwargs.hidden", "list of 1,000 items"]),
        ("cnn", {"hidden": list(range(10**6))}, ["list of 1,000,000 items"]),
        ("cnn", {"hidden": {"a": 1}}, ["model_kwargs.hidden holds a dict"]),
        ("lenet5", {"variant": "x" * 10**6}, ["text of 1,000,000 characters"]),
    ],
)
def test_absurd_model_kwargs_are_refused(model, kwargs, words):
    msg = refused(ModelError, lambda: check_model_args(model, kwargs))
    assert all(w in msg for w in words), msg
    assert len(msg) < 300


def test_absurd_model_kwargs_on_the_cli_leave_no_run(cli, lab):
    res = cli("train", *small("model=mlp", "model_kwargs.width=1000000000"))
    assert res.code == 2 and "model_kwargs.width=1000000000 is out of range" in error_line(res)
    assert run_folders(lab / "runs") == []


@pytest.mark.parametrize("name", list_models())
def test_every_numeric_argument_has_bounds_around_its_default(name):
    spec = get_spec(name)
    for key, default in spec.kwargs.items():
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            lo, hi = spec.bounds[key]
            assert lo <= default <= hi, (name, key)
    check_model_args(name, {k: v for k, v in spec.kwargs.items() if v is not None})  # the defaults pass


def test_a_family_without_bounds_cannot_register():
    def nobounds(size: int = 3, num_classes: int = 10):
        """A family that forgot its bounds."""

    with pytest.raises(ValueError, match=r"no bounds .*\['size'\]"):
        register_model("no-bounds-family", paper="-", summary_zh="忘了声明取值范围的模型家族")(nobounds)
    assert "no-bounds-family" not in list_models()


@pytest.mark.parametrize(
    "job, words",
    [
        ({"model": "cnn", "model_kwargs": {"dropout": 5}}, ["model_kwargs.dropout=5", "out of range"]),
        ({"model": "fast", "model_kwargs": {"hidden": [[0] * 10] * 1000}}, ["list of 1,000 items"]),
        ({"model": "fast", "model_kwargs": {"no_such_argument": 1}}, ["no_such_argument"]),
    ],
)
def test_web_job_with_bad_model_kwargs_is_refused_at_submission(tmp_path, job, words):
    from fastapi.testclient import TestClient

    from digitlab.serve import Settings, create_app

    app = create_app(Settings(runs_dir=tmp_path / "runs", models_dir=tmp_path / "models"))
    c = TestClient(app, base_url="http://localhost")  # a Host the server answers
    r = c.post("/api/jobs", json={**job, "epochs": 1, "train_subset": 500, "val_size": 500, "threads": 1})
    assert r.status_code == 422, r.text
    assert all(w in r.text for w in words), r.text
    assert c.get("/api/jobs").json() == [] and run_folders(tmp_path / "runs") == []


# --- the run database ------------------------------------------------------------------------------------------


def test_empty_database_file_is_refused(tmp_path):
    path = tmp_path / "runs" / "digitlab.db"
    path.parent.mkdir()
    path.write_bytes(b"")
    os.utime(path, (1_000_000_000, 1_000_000_000))  # left empty long ago (not being created right now)
    msg = refused(StoreError, lambda: RunStore(runs_dir=tmp_path / "runs"))
    assert "empty file (0 bytes)" in msg and str(path) in msg and "backup" in msg
    assert path.stat().st_size == 0  # left as it was


def test_database_file_being_created_is_not_refused(tmp_path):
    path = tmp_path / "new.db"
    path.write_bytes(b"")  # as another process's sqlite3.connect leaves it for a moment
    assert RunStore(f"sqlite:///{path}").list_runs() == []
    assert path.read_bytes()[:16] == b"SQLite format 3\0"  # it became the new database


def test_garbage_database_file_is_a_sentence(tmp_path, cli, lab):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not SQLite\n" * 300)
    msg = refused(StoreError, lambda: RunStore(f"sqlite:///{path}"))
    assert "is not a SQLite database" in msg and str(path) in msg
    (lab / "runs").mkdir()
    (lab / "runs" / "digitlab.db").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5000))
    res = cli("runs")
    assert res.code == 2 and "is not a SQLite database" in error_line(res)


# --- training data ---------------------------------------------------------------------------------------------


def idx_header(*shape: int) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def gzip_bomb(path: Path, head: bytes, zeros: int) -> Path:
    """``head`` then ``zeros`` zero bytes, gzipped in 1 MiB steps (never held whole): ~1 kB per MiB on disk."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    with path.open("wb") as f:
        f.write(comp.compress(head))
        chunk = bytes(MB)
        for _ in range(zeros // MB):
            f.write(comp.compress(chunk))
        f.write(comp.flush())
    return path


def test_gzip_bomb_is_refused_after_reading_about_its_header_size(tmp_path):
    path = gzip_bomb(tmp_path / "train-labels-idx1-ubyte.gz", idx_header(60000), 64 * MB)
    assert path.stat().st_size < 60_008 + SLACK  # passes the compressed-size check: the decompression cap must stop it
    msgs = []
    peak = traced_peak(lambda: msgs.append(refused(DataError, lambda: read_idx(path, md5="0" * 32))))
    assert "has more than" in msgs[0] and "needs 60,008" in msgs[0] and "decompression bomb" in msgs[0]
    assert peak < 60_008 + SLACK + 2 * MB, peak  # about the announced size, not the 64 MiB inside


def test_big_gzip_bomb_is_refused_by_its_compressed_size(tmp_path):
    path = gzip_bomb(tmp_path / "train-labels-idx1-ubyte.gz", idx_header(60000), 512 * MB)
    msgs = []
    peak = traced_peak(lambda: msgs.append(refused(DataError, lambda: read_idx(path))))
    assert "larger compressed than its header (60000,) allows (60,008 bytes)" in msgs[0]
    assert peak < 2 * MB, peak


def test_header_claiming_a_huge_size_is_refused_before_reading_on(tmp_path):
    path = gzip_bomb(tmp_path / "x.gz", idx_header(2**32 - 1, 28, 28), 8 * MB)
    peak = traced_peak(lambda: refused(DataError, lambda: read_idx(path)))
    msg = refused(DataError, lambda: read_idx(path))
    assert "claims a shape (4294967295, 28, 28)" in msg and f"limit of {MAX_IDX_BYTES:,}" in msg
    assert peak < 2 * MB, peak


def test_compressed_file_larger_than_its_header_allows_is_refused(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_header(10) + np.random.default_rng(0).bytes(4 * MB), compresslevel=1))
    msg = refused(DataError, lambda: read_idx(path))
    assert "larger compressed than its header (10,) allows" in msg


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_data_file_linked_to_dev_zero_is_a_sentence(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    path.symlink_to("/dev/zero")
    msg = refused(DataError, lambda: read_idx(path))
    assert "does not exist" not in msg
    assert ("starts with zero bytes" if not suffix else "corrupt") in msg


def endless_fifo(path: Path, head: bytes) -> threading.Thread:
    """A named pipe that yields ``head`` then zero bytes until its reader closes it."""
    os.mkfifo(path)

    def feed():
        try:
            with path.open("wb") as f:
                f.write(head)
                while True:
                    f.write(bytes(64 * 1024))
        except (BrokenPipeError, OSError):
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    return t


def test_endless_data_stream_is_refused(tmp_path):
    path = tmp_path / "labels.idx"
    feeder = endless_fifo(path, idx_header(100))
    msg = refused(DataError, lambda: read_idx(path))
    assert "has more than 65,644 bytes" in msg and "needs 108" in msg and "endless source" in msg
    feeder.join(timeout=10)


# --- pictures ----------------------------------------------------------------------------------------------------


def test_dev_zero_picture_is_too_large_not_empty():
    msg = refused(ImageError, lambda: load_image("/dev/zero"))
    assert "more than the limit" in msg and "empty" not in msg
    assert "empty (0 bytes)" in refused(ImageError, lambda: load_image("/dev/null"))


def test_endless_picture_pipe_is_refused(tmp_path):
    path = tmp_path / "picture.png"
    feeder = endless_fifo(path, b"\x89PNG\r\n\x1a\n")
    msg = refused(ImageError, lambda: load_image(path, max_bytes=MB))
    assert "more than the limit of 1,048,576 bytes" in msg
    feeder.join(timeout=10)


class Endless(io.RawIOBase):
    """A stream of zero bytes that never ends, counting what was read."""

    def __init__(self):
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        b[:] = bytes(len(b))
        self.given += len(b)
        return len(b)


def test_read_limited_stops_after_the_limit():
    raw = Endless()
    msg = refused(ImageError, lambda: read_limited(io.BufferedReader(raw), 1000, "The picture on stdin"))
    assert msg == "The picture on stdin is more than the limit of 1,000 bytes."
    assert raw.given < 1000 + 2 * io.DEFAULT_BUFFER_SIZE
    assert read_limited(io.BytesIO(b"x" * 1000), 1000) == b"x" * 1000


def test_predict_from_stdin_over_the_limit_is_a_sentence(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(bytes(MAX_BYTES + 1))))
    res = cli("predict", "-")
    assert res.code == 2 and f"more than the limit of {MAX_BYTES:,} bytes" in error_line(res)
