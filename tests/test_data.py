"""Splits, subsets, normalisation statistics (and their cache), augmentation, and downloading from mirrors."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import logging
import shutil
import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import MNIST, MNIST_FILES
from digitlab.data import load_digits, read_idx, sources
from digitlab.data.augment import augment_batch
from digitlab.data.dataset import stratified_split
from digitlab.errors import DataError


@pytest.fixture(scope="module")
def train_labels() -> np.ndarray:
    return read_idx(MNIST / "train-labels-idx1-ubyte.gz").astype(np.int64)


def assert_proportional(picked: np.ndarray, population: np.ndarray, size: int) -> None:
    """Each class of ``picked`` is within ±1 of its share of ``population`` times ``size``."""
    classes, counts = np.unique(population, return_counts=True)
    for c, n in zip(classes, counts):
        want = n / len(population) * size
        got = int((picked == c).sum())
        assert abs(got - want) <= 1, f"class {c}: {got} picked, {want:.2f} proportional"


# --- stratified split ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("val_size", [5000, 777, 10, 0])
def test_split_sizes_classes_and_disjointness(train_labels, val_size):
    tr, va = stratified_split(train_labels, val_size, seed=0)
    assert len(va) == val_size and len(tr) == len(train_labels) - val_size
    assert len(np.intersect1d(tr, va)) == 0
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(len(train_labels)))
    assert_proportional(train_labels[va], train_labels, val_size)


def test_split_is_reproducible_and_seeded(train_labels):
    a = stratified_split(train_labels, 1000, seed=3)
    b = stratified_split(train_labels, 1000, seed=3)
    c = stratified_split(train_labels, 1000, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert len(np.intersect1d(a[1], c[1])) < 100  # another seed draws (mostly) other images


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=300), st.data())
def test_split_property(labels, data):
    labels = np.array(labels)
    val_size = data.draw(st.integers(0, len(labels)))
    tr, va = stratified_split(labels, val_size, seed=data.draw(st.integers(0, 10)))
    assert len(va) == val_size and len(tr) + len(va) == len(labels)
    assert len(np.intersect1d(tr, va)) == 0
    assert_proportional(labels[va], labels, val_size)


# --- load_digits: subsets and normalisation -----------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_train_subset_is_stratified(cache, train_labels):
    d = load_digits(val_size=1000, train_subset=1234)
    assert d.train_x.shape == (1234, 28, 28) and d.train_x.dtype == torch.uint8 and d.train_y.shape == (1234,)
    assert d.val_x.shape == (1000, 28, 28) and d.test_x.shape == (10000, 28, 28)
    tr, _ = stratified_split(train_labels, 1000, 0)
    assert_proportional(d.train_y.numpy(), train_labels[tr], 1234)
    assert d.classes == [str(i) for i in range(10)]
    # the training subset never contains validation images
    val_set = {bytes(x) for x in d.val_x.numpy().reshape(len(d.val_x), -1)}
    assert not any(bytes(x) in val_set for x in d.train_x.numpy().reshape(len(d.train_x), -1))


def test_normalisation_from_training_split_and_cached(cache):
    d = load_digits(val_size=500, train_subset=700)
    x = d.train_x.numpy().astype(np.float64) / 255
    assert d.mean == pytest.approx(x.mean(), abs=1e-9) and d.std == pytest.approx(x.std(), abs=1e-9)
    # not the statistics of the test split (they differ in the 4th decimal for this subset)
    assert d.mean != pytest.approx(d.test_x.numpy().mean() / 255, abs=1e-6)
    files = list((cache / "stats").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text()) == {"mean": d.mean, "std": d.std}
    # a second call reads the cache file: prove it by planting other numbers there
    files[0].write_text(json.dumps({"mean": 0.5, "std": 0.25}))
    d2 = load_digits(val_size=500, train_subset=700)
    assert (d2.mean, d2.std) == (0.5, 0.25)
    # another split has another key
    d3 = load_digits(val_size=500, train_subset=600)
    assert len(list((cache / "stats").glob("*.json"))) == 2 and d3.mean != 0.5


def test_unreadable_cache_entry_is_recomputed(cache):
    d = load_digits(val_size=500, train_subset=300)
    (f,) = (cache / "stats").glob("*.json")
    f.write_text("{not json")
    d2 = load_digits(val_size=500, train_subset=300)
    assert d2.mean == d.mean and d2.std == d.std


# --- augmentation --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    x = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")[:32]
    return torch.from_numpy(x.copy()).unsqueeze(1).float().div(255)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_augment_keeps_shape_and_range(batch):
    out = augment_batch(batch.clone(), gen(0), rotate=30, scale=0.2, shear=0.3, translate=0.2, elastic=2.0)
    assert out.shape == batch.shape and out.dtype == torch.float32
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    assert (out - batch).abs().mean() > 0.01  # it did move the pixels
    assert out.sum() > 0.5 * batch.sum()  # ...without wiping the digits out


def test_augment_is_deterministic_per_generator(batch):
    a = augment_batch(batch.clone(), gen(5))
    b = augment_batch(batch.clone(), gen(5))
    c = augment_batch(batch.clone(), gen(6))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_augment_with_zero_magnitudes_is_identity(batch):
    out = augment_batch(batch.clone(), gen(0), rotate=0, scale=0, shear=0, translate=0, elastic=0)
    assert torch.allclose(out, batch, atol=1e-5)


def test_elastic_alone_changes_images(batch):
    out = augment_batch(batch.clone(), gen(0), rotate=0, scale=0, shear=0, translate=0, elastic=3.0)
    per_image = (out - batch).abs().flatten(1).sum(1)
    assert (per_image > 1.0).all()  # every image is distorted
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6


# --- downloading from mirrors (a local HTTP server; never the internet) -------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines in the test output
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local web server whose ``good/`` folder holds the four MNIST files; ``missing/`` is empty (404)."""
    root = tmp_path / "www"
    (root / "good").mkdir(parents=True)
    (root / "missing").mkdir()
    for f in MNIST_FILES:
        shutil.copy(MNIST / f, root / "good" / f)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(sources, "REPO_DATA", tmp_path / "no-repo-data")  # the repo's data/ must not be found
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path / "cache"))
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "cache"
    server.shutdown()
    server.server_close()


def test_download_into_cache(mirror, monkeypatch):
    url, cache = mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", f"{url}/good/")
    fn = "t10k-labels-idx1-ubyte.gz"
    path = sources.locate("mnist", fn)
    assert path == cache / "data" / "mnist" / fn
    labels = read_idx(path, md5=sources.FILES["mnist"][fn])
    assert labels.shape == (10000,)
    # now cached: found without any mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", "http://127.0.0.1:9/nothing-here/")
    assert sources.locate("mnist", fn) == path


def test_first_mirror_404_then_the_next(mirror, monkeypatch):
    url, cache = mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", f"{url}/missing/ {url}/good")
    path = sources.locate("mnist", "train-labels-idx1-ubyte.gz")
    assert path.parent == cache / "data" / "mnist"
    assert read_idx(path, md5=sources.FILES["mnist"]["train-labels-idx1-ubyte.gz"]).shape == (60000,)


def test_all_mirrors_fail(mirror, monkeypatch):
    url, cache = mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", f"{url}/missing/ {url}/also-missing/")
    with pytest.raises(DataError) as exc:
        sources.locate("mnist", "t10k-labels-idx1-ubyte.gz")
    msg = str(exc.value)
    assert "Could not download t10k-labels-idx1-ubyte.gz" in msg and "/missing/" in msg and "/also-missing/" in msg
    assert not (cache / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_no_download_when_data_dir_is_explicit(mirror, monkeypatch, tmp_path):
    url, cache = mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", f"{url}/good/")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is not in"):
        sources.locate("mnist", "t10k-labels-idx1-ubyte.gz", data_dir=tmp_path / "empty")
    assert not (cache / "data").exists()


@contextlib.contextmanager
def said():
    """The messages the ``digitlab`` logger says (warnings and up) inside the block."""
    lines: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("digitlab")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_a_download_is_announced_once_with_the_folders_and_how_to_avoid_it(mirror, monkeypatch, tmp_path):
    url, cache = mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", f"{url}/good/")
    with said() as lines:
        sources.locate("mnist", "t10k-labels-idx1-ubyte.gz")
        sources.locate("mnist", "train-labels-idx1-ubyte.gz")
    assert len(lines) == 1, lines
    looked = f"{tmp_path / 'no-repo-data' / 'mnist'}, then {cache / 'data' / 'mnist'}"
    assert f"mnist files not found in {looked}: downloading them" in lines[0]
    assert "`digitlab --data-dir DIR` or $DIGITLAB_DATA" in lines[0] and lines[0].count(". ") == 0


def test_a_failed_download_says_where_it_looked_and_how_to_use_local_files(mirror, monkeypatch, tmp_path):
    url, cache = mirror
    monkeypatch.setenv("DIGITLAB_MIRRORS", f"{url}/missing/")
    with said() as lines, pytest.raises(DataError) as exc:
        load_digits(val_size=500, train_subset=300)
    msg = str(exc.value)
    looked = f"{tmp_path / 'no-repo-data' / 'mnist'}, then {cache / 'data' / 'mnist'}"
    assert msg.startswith("Could not download train-images-idx3-ubyte.gz") and f"after looking in {looked}; point" in msg
    assert "`digitlab --data-dir DIR` or $DIGITLAB_DATA" in msg and len(lines) == 1  # the notice came first


def test_a_missing_file_in_the_given_folder_names_where_the_folder_came_from(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"is not in .*mnist, then .* \(from \$DIGITLAB_DATA\); copy the official files there"):
        sources.locate("mnist", "t10k-labels-idx1-ubyte.gz")


def test_unknown_data_file():
    with pytest.raises(DataError, match="Unknown data file"):
        sources.locate("mnist", "train-images.npy")
