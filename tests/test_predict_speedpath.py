"""The fast path of ``predict`` (issue 12: a 28x28 PNG end to end) gives the reference's answers, number for number.

The predictor scores marks with ``rejection.fast.FastCombined``; ``Rejector.combined`` (torch, used by training and
calibration) is the reference. Preprocessing's and the verdict's speed refactors (cached surface terms, min / max
filters as shifted copies, ``order_stats`` for numpy's medians and quantiles) must keep every number, since the
browser port copies them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

import scenes
from digitlab.errors import DataError
from digitlab.inference import model_view
from digitlab.recognize import order_stats, preprocess
from digitlab.recognize.predictor import Answer, Predictor
from digitlab.recognize.rejection.fast import FastCombined
from synthetic import encode, load_mnist_test, make_blank, make_photo, make_strip


def _realworld() -> list[bytes]:
    """A few of the real-world evaluation pictures, where their packages are installed."""
    try:
        from digitlab.data.realworld import letters, photos
        from digitlab.data.realworld.digits import digit_strips

        return [s.image for s in letters("eval", seed=0, limit_faces=1)[::7] + photos("eval", limit=2) + digit_strips("eval", 3)]
    except DataError:
        return []


@pytest.fixture(scope="module")
def pictures() -> list[bytes]:
    x, _ = load_mnist_test(80)
    rng = np.random.default_rng(12)
    pics = [encode(d) for d in x[:40]] + [encode(255 - d) for d in x[40:50]]  # 28x28 PNGs, both polarities
    pics += [encode(make_photo(x[i], rng), "JPEG", quality=90) for i in range(50, 60)]
    pics += [encode(make_strip(list(x[60:66]), rng), "JPEG", quality=90), encode(make_blank(rng))]
    pics += [encode(scenes.rectangle_and_pole(np.random.default_rng(5)), "JPEG", quality=85)]
    pics += [encode(scenes.sheet_on_desk(list(x[66:72]), np.random.default_rng(6)), "JPEG", quality=85)]
    pics += [encode(scenes.digit_and_blob(x[72], np.random.default_rng(7)), "JPEG", quality=85)]
    pics += [encode((rng.random((28, 28)) * 255).astype(np.uint8)), encode(np.full((28, 28), 255, np.uint8))]
    return pics + _realworld()


def _same(a: Answer, b: Answer) -> None:
    assert (a.text, a.error, a.verdict and a.verdict.to_dict()) == (b.text, b.error, b.verdict and b.verdict.to_dict())
    assert len(a.digits) == len(b.digits)
    for da, db in zip(a.digits, b.digits):
        assert (da.label, da.accepted, da.in_context, da.box, da.top3, da.probs) == (
            db.label,
            db.accepted,
            db.in_context,
            db.box,
            db.top3,
            db.probs,
        )
        assert (da.why and da.why.code) == (db.why and db.why.code) and da.threshold == db.threshold
        assert da.score == pytest.approx(db.score, abs=1e-5) or da.score == db.score == float("-inf")


def test_fast_path_answers_like_the_torch_rejector(pictures):
    fast, ref = Predictor(), Predictor()
    ref.combined = ref.rejector.combined  # type: ignore[assignment,union-attr]  # the reference path, per call
    assert isinstance(fast.combined, FastCombined)
    for pic in pictures:
        _same(fast.predict(pic), ref.predict(pic))


def test_probabilities_and_top3_are_the_tensors_numbers(pictures):
    p = Predictor()
    for pic in pictures[:20]:  # one mark each: the predictor's batch is that mark alone
        (d,) = p.predict(pic).digits
        probs = p.engine.view(d.image[None]).logits.softmax(1)[0]
        top = probs.topk(3)
        assert d.probs == [round(float(v), 5) for v in probs] and d.confidence == float(top.values[0])
        assert d.top3 == [(p.classes[int(j)], float(v)) for v, j in zip(top.values, top.indices)]


def test_fast_combined_equals_rejector_combined_on_batches():
    p = Predictor()
    assert p.rejector is not None and p.combined is not None
    g = torch.Generator().manual_seed(0)
    x, _ = load_mnist_test(24)
    batches = [x[:1] / 255, x / 255, torch.rand(24, 28, 28, generator=g).numpy(), np.zeros((3, 28, 28))]
    for images in batches:
        view = p.engine.view(np.asarray(images, np.float32))
        view.features[0] *= 50  # far outside: the lower tail of every detector
        got, want = p.combined(view), p.rejector.combined(view)
        assert got.dtype == want.dtype and torch.allclose(got, want, atol=1e-5, rtol=0)


def test_torch_engine_gives_model_views_numbers():
    p = Predictor()
    x, _ = load_mnist_test(24)
    for images in (x[:1] / 255, x / 255, np.random.default_rng(0).random((3, 28, 28))):
        images = np.asarray(images, np.float32)
        got, want = p.engine.view(images), model_view(p.model, torch.from_numpy(images), p.mean, p.std)
        assert torch.equal(got.features, want.features) and torch.equal(got.logits, want.logits)


@pytest.mark.parametrize("reduce", [np.min, np.max, np.mean])
def test_window_filters_keep_every_number(reduce):
    rng = np.random.default_rng(1)
    for shape, k in [((28, 28), 7), ((64, 48), 13), ((5, 9), 3), ((3, 40), 9), ((64, 64), 13)]:
        a = rng.standard_normal(shape).astype(np.float32)
        want = a
        for axis in (0, 1):
            pad = [(0, 0), (0, 0)]
            pad[axis] = (k // 2, k // 2)
            want = reduce(sliding_window_view(np.pad(want, pad, mode="edge"), k, axis=axis), axis=-1)
        got = preprocess._filter2d(a, k, reduce)
        assert got.dtype == want.dtype and got.flags.c_contiguous and np.array_equal(got, want)


def _same_number(a: object, b: object) -> bool:
    return type(a) is type(b) and (a == b or (np.isnan(a) and np.isnan(b)))  # type: ignore[call-overload]


def test_order_stats_are_numpys_numbers():
    rng = np.random.default_rng(2)
    for trial in range(600):
        n, dtype = int(rng.integers(1, 900)), (np.float32, np.float64)[trial % 2]
        x = rng.standard_normal((n, 1 + trial % 3)).astype(dtype)
        if trial % 3 == 1:
            x = np.round(x * 3)  # many ties
        if trial % 97 == 5:
            x.flat[0] = np.nan
        assert _same_number(order_stats.median(x), np.median(x))
        for q in (0.0, 0.05, 0.25, 0.6, 0.75, 1.0, float(rng.random())):
            assert _same_number(order_stats.quantile(x, q), np.quantile(x, q))
        p = int(rng.integers(0, 101))
        assert _same_number(order_stats.quantile(x, p / 100), np.percentile(x, p))
        pair = zip(order_stats.quantiles(x.astype(np.float64), [0.25, 0.75]), np.quantile(x.astype(np.float64), [0.25, 0.75]))
        assert all(_same_number(a, b) for a, b in pair)
    assert order_stats.median(np.array([3, 1, 2])) == np.median([3, 1, 2])  # integers: numpy itself
