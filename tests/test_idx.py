"""The IDX reader: the real MNIST files, hand-made small files, and every kind of damage (each a DataError)."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest

from conftest import MNIST, MNIST_FILES
from digitlab.data import load_digits, read_idx
from digitlab.data.idx import parse_idx
from digitlab.data.sources import FILES
from digitlab.errors import DataError


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file: magic 00 00 <code> <ndim>, big-endian uint32 sizes, big-endian data."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(big).tobytes()


def write(path, raw: bytes):
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


# --- the real files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, shape",
    [
        ("train-images-idx3-ubyte.gz", (60000, 28, 28)),
        ("train-labels-idx1-ubyte.gz", (60000,)),
        ("t10k-images-idx3-ubyte.gz", (10000, 28, 28)),
        ("t10k-labels-idx1-ubyte.gz", (10000,)),
    ],
)
def test_real_mnist_files_parse_with_their_checksums(fn, shape):
    arr = read_idx(MNIST / fn, md5=FILES["mnist"][fn])
    assert arr.shape == shape and arr.dtype == np.uint8
    # the recorded MD5 is the one of the uncompressed content, computed independently here
    assert hashlib.md5(gzip.decompress((MNIST / fn).read_bytes())).hexdigest() == FILES["mnist"][fn]
    if "labels" in fn:
        assert set(np.unique(arr)) == set(range(10))
    else:
        assert arr.max() == 255 and arr.min() == 0 and 0.1 < arr.mean() / 255 < 0.15  # MNIST: ~13% ink
        assert (arr[:, 0, :] == 0).mean() > 0.99  # the top row is background


def test_first_training_labels_are_the_known_ones():
    assert read_idx(MNIST / "train-labels-idx1-ubyte.gz")[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


# --- small hand-made files -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_small_1d_and_3d_files(tmp_path, suffix):
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.uint8)
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    got1 = read_idx(write(tmp_path / f"l{suffix}", idx_bytes(labels)))
    got3 = read_idx(write(tmp_path / f"i{suffix}", idx_bytes(images)))
    assert got1.shape == (8,) and got1.tolist() == labels.tolist()
    assert got3.shape == (2, 3, 4) and np.array_equal(got3, images)


def test_multibyte_types_are_big_endian(tmp_path):
    a = np.array([[1, -2], [70000, -70000]], np.int32)
    got = read_idx(write(tmp_path / "i32", idx_bytes(a, 0x0C)))
    assert got.tolist() == a.tolist()
    f = np.array([0.5, -1.25], np.float64)
    assert read_idx(write(tmp_path / "f64.gz", idx_bytes(f, 0x0E))).tolist() == [0.5, -1.25]


def test_checksum_is_of_uncompressed_content(tmp_path):
    raw = idx_bytes(np.arange(10, dtype=np.uint8))
    path = write(tmp_path / "x.gz", raw)
    assert read_idx(path, md5=hashlib.md5(raw).hexdigest()).tolist() == list(range(10))


# --- damage: each a DataError with a useful sentence ------------------------------------------------------

GOOD = idx_bytes(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"\x01\x02\x08\x03" + GOOD[4:], ["not an IDX file", "bad magic", "01020803"]),
        (b"\x00\x00\x07\x03" + GOOD[4:], ["not an IDX file", "bad magic"]),  # unknown type code
        (b"\x00\x00\x08\x00" + GOOD[4:], ["bad magic"]),  # zero dimensions
        (b"", ["bad magic", "empty"]),
        (GOOD[:10], ["truncated inside its header"]),  # 3 dims need 16 header bytes
        (GOOD[:-5], ["truncated", "(2, 3, 4)", "needs 40", "has 35 bytes"]),
        (GOOD + b"\x00\x00\x00", ["has 43 bytes", "needs 40", "foreign"]),
    ],
    ids=["bad-magic", "bad-type", "zero-dims", "empty", "truncated-header", "truncated-data", "extra-bytes"],
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_damaged_files(tmp_path, raw, words, suffix):
    path = write(tmp_path / f"bad{suffix}", raw)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    msg = str(exc.value)
    assert str(path) in msg
    for w in words:
        assert w in msg


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD)[:-12])
    with pytest.raises(DataError, match=r"corrupt or truncated.*fetch it again"):
        read_idx(path)


def test_corrupt_gzip_payload(tmp_path):
    comp = bytearray(gzip.compress(bytes(range(256)) * 50))  # real, compressible data
    for i in range(20, len(comp) - 10, 7):  # damage the deflate stream (not only the CRC)
        comp[i] ^= 0xFF
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(comp))
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(path)


def test_not_gzip_at_all(tmp_path):
    path = write(tmp_path / "plain.idx", GOOD)
    path.rename(tmp_path / "plain.gz")
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(tmp_path / "plain.gz")


def test_wrong_checksum(tmp_path):
    path = write(tmp_path / "x.gz", GOOD)
    want = "0" * 32
    with pytest.raises(DataError) as exc:
        read_idx(path, md5=want)
    msg = str(exc.value)
    assert "checksum" in msg and want in msg and hashlib.md5(GOOD).hexdigest() in msg


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.gz does not exist"):
        read_idx(tmp_path / "nope.gz")


def test_parse_idx_names_its_source():
    with pytest.raises(DataError, match="^labels.bin is not an IDX file"):
        parse_idx(b"garbage", "labels.bin")


# --- whole data sets in a data folder -----------------------------------------------------------------------


def linked_data_dir(tmp_path, files: dict[str, str]):
    """``tmp/mnist/<name>`` symlinks to the real files (``{name: real_name}``)."""
    d = tmp_path / "data" / "mnist"
    d.mkdir(parents=True)
    for name, real in files.items():
        (d / name).symlink_to(MNIST / real)
    return tmp_path / "data"


def test_data_dir_missing_a_file(tmp_path):
    data = linked_data_dir(tmp_path, {f: f for f in MNIST_FILES if f != "t10k-labels-idx1-ubyte.gz"})
    with pytest.raises(DataError) as exc:
        load_digits(val_size=500, train_subset=500, data_dir=data)
    assert "t10k-labels-idx1-ubyte.gz" in str(exc.value) and str(data) in str(exc.value)


def test_data_dir_is_used(tmp_path):
    data = linked_data_dir(tmp_path, {f: f for f in MNIST_FILES})
    d = load_digits(val_size=500, train_subset=500, data_dir=data)
    assert len(d.train_y) == 500 and len(d.val_y) == 500 and len(d.test_y) == 10000


def test_foreign_file_fails_its_checksum(tmp_path):
    files = {f: f for f in MNIST_FILES}
    files["train-images-idx3-ubyte.gz"] = "train-labels-idx1-ubyte.gz"  # labels where images belong
    with pytest.raises(DataError, match="checksum"):
        load_digits(val_size=500, data_dir=linked_data_dir(tmp_path, files))


def test_foreign_file_fails_the_shape_check(tmp_path, monkeypatch):
    """Without a known checksum, the shape check is what catches a labels file in the images' place."""
    monkeypatch.setitem(FILES["mnist"], "train-images-idx3-ubyte.gz", None)
    files = {f: f for f in MNIST_FILES}
    files["train-images-idx3-ubyte.gz"] = "train-labels-idx1-ubyte.gz"
    with pytest.raises(DataError, match=r"shapes \(60000,\) and \(60000,\); expected \(N, 28, 28\) images"):
        load_digits(val_size=500, data_dir=linked_data_dir(tmp_path, files))
