"""Honest comparisons (issue 17, part 5): each run's test accuracy with a 95 % interval, and McNemar's paired test on
the same test images, equal to scipy's on the same counts."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from conftest import small
from digitlab.metrics import mcnemar, wilson_interval


@pytest.mark.parametrize("b, c", [(0, 0), (10, 2), (2, 10), (7, 7), (40, 25), (1, 0), (300, 260)])
def test_mcnemar_equals_scipys_exact_binomial_test_of_the_discordant_pairs(b, c):
    both, neither = 9000, 30  # concordant pairs do not enter the test
    a_ok = torch.tensor([True] * both + [True] * b + [False] * c + [False] * neither)
    b_ok = torch.tensor([True] * both + [False] * b + [True] * c + [False] * neither)
    m = mcnemar(a_ok, b_ok)
    assert (m.only_a, m.only_b) == (b, c)
    expected = 1.0 if b + c == 0 else stats.binomtest(min(b, c), b + c, 0.5).pvalue
    assert m.p_value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("k, n", [(9960, 10000), (9958, 10000), (10000, 10000), (0, 50), (37, 50)])
def test_wilson_interval_equals_scipys(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_compare_stats_labels_a_tiny_difference_as_no_real_difference(cli):
    for name, seed in (("a", 0), ("b", 1)):
        assert cli("train", *small(f"name={name}", f"seed={seed}", "calibrate=false"), "--no-plots").code == 0
    res = cli("compare", "a", "b", "--stats")
    assert res.code == 0, res.text
    assert "95 % interval" in res.out and "McNemar (paired, exact)" in res.out
    assert "no real difference" in res.out or "a real difference" in res.out
    assert cli("compare", "a", "b", "a", "--stats").code == 2  # exactly two runs
