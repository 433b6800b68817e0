"""The report's statistics on hand-made data with known p-values, and Mann-Whitney against a
brute-force enumeration written here."""

import itertools
import math

import numpy as np
import pytest

from genolang.runtime.report.stats import EXACT_MAX, bootstrap_mean, format_p, mann_whitney, sign_test, welch_t


def test_sign_test_eight_of_eight_above_is_one_in_256():
    result = sign_test([90.5, 91, 92, 93, 91.2, 90.9, 94, 93.5], median=90.41)
    assert result.p == 1 / 256 and format_p(result.p) == "0.0039" and result.n == (8,) and result.statistic == 8


@pytest.mark.parametrize("above, below, alternative, expected", [
    (7, 1, "greater", 9 / 256),            # P(X >= 7), X ~ B(8, 1/2)
    (7, 1, "two-sided", 18 / 256),
    (7, 1, "less", 255 / 256),             # P(X <= 7)
    (0, 5, "less", 1 / 32),
    (3, 3, "two-sided", 1.0),
])
def test_sign_test_tails(above, below, alternative, expected):
    values = [2.0] * above + [0.0] * below
    assert sign_test(values, 1.0, alternative).p == pytest.approx(expected, abs=1e-15)


def test_sign_test_leaves_ties_out():
    result = sign_test([5, 5, 5, 6, 6, 6], median=5)
    assert result.n == (3,) and result.p == 1 / 8
    assert sign_test([5, 5], median=5).p == 1.0


def _brute_force(a, b, alternative):
    """Every split of the pooled values into |a| and |b|, equally likely: P(U as or more extreme)."""
    def u(x, y):
        return sum(1.0 if xi > yi else 0.5 if xi == yi else 0.0 for xi in x for yi in y)

    pooled = list(a) + list(b)
    observed = u(a, b)
    stats = []
    for chosen in itertools.combinations(range(len(pooled)), len(a)):
        rest = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        stats.append(u([pooled[i] for i in chosen], rest))
    greater = sum(s >= observed - 1e-9 for s in stats) / len(stats)
    less = sum(s <= observed + 1e-9 for s in stats) / len(stats)
    return observed, {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[alternative]


CASES = [
    ([4, 5, 6], [1, 2, 3]),
    ([1.5, 3.2, 0.7, 2.2], [2.0, 4.1, 3.3, 5.0, 0.1]),
    ([93.99, 92.1, 90.4, 91.2, 88.3, 93.5, 92.9, 91.7], [90.41, 89.9, 91.0, 86.5, 60.78, 90.1, 92.0, 85.0]),
    ([1, 2, 2, 3, 3, 3], [2, 3, 4, 4]),           # ties across the samples
    ([5, 5, 5], [5, 5]),                          # all tied
    ([10], [1, 2, 3, 4]),
]


@pytest.mark.parametrize("a, b", CASES)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mann_whitney_equals_the_enumeration(a, b, alternative):
    result = mann_whitney(a, b, alternative)
    u, p = _brute_force(a, b, alternative)
    assert result.statistic == u and result.p == pytest.approx(p, abs=1e-12) and result.method == "exact"
    assert result.n == (len(a), len(b))


def test_mann_whitney_known_small_values():
    assert mann_whitney([4, 5, 6], [1, 2, 3], "greater").p == pytest.approx(1 / 20)
    assert mann_whitney([4, 5, 6], [1, 2, 3]).p == pytest.approx(2 / 20)
    eight = mann_whitney(list(range(9, 17)), list(range(1, 9)), "greater")   # 8 vs 8, no overlap
    assert eight.statistic == 64 and eight.p == pytest.approx(1 / math.comb(16, 8))


def test_mann_whitney_agrees_with_scipy_exact_without_ties():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(size=6), rng.normal(size=7) + 0.5
        for alternative in ("two-sided", "greater", "less"):
            theirs = scipy_stats.mannwhitneyu(a, b, alternative=alternative, method="exact").pvalue
            assert mann_whitney(a, b, alternative).p == pytest.approx(theirs, rel=1e-9)


def test_large_samples_use_the_normal_approximation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=EXACT_MAX), rng.normal(size=10) + 1
    result = mann_whitney(a, b, "less")
    assert result.method == "normal approximation" and 0 < result.p < 0.05


def test_welch_t_matches_the_formula():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 4
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 3)
    result = welch_t(a, b)
    assert result.statistic == pytest.approx(t) and result.df == pytest.approx(df) and result.n == (4, 4)
    assert result.p == pytest.approx(0.15157, abs=1e-4)                      # t = -1.732, df = 4.41
    assert welch_t(a, b, "less").p == pytest.approx(result.p / 2)


def test_welch_t_needs_two_values_and_some_spread():
    assert welch_t([1.0], [1.0, 2.0]) is None
    assert welch_t([1.0, 1.0], [2.0, 2.0]) is None


def test_bootstrap_interval_is_clipped_and_needs_two_values():
    assert bootstrap_mean([93.0]) is None
    lo, hi = bootstrap_mean([99.0, 100.0, 100.0, 100.0], bounds=(0.0, 100.0))
    assert 99.0 <= lo <= hi <= 100.0
    lo, hi = bootstrap_mean([0.0, 0.0, 0.0, 2.0], bounds=(1.0, 100.0))    # the range clips the lower end
    assert lo == 1.0 and hi >= 1.0
    values = [88.0, 90.0, 91.0, 93.0, 94.0]
    lo, hi = bootstrap_mean(values, seed=3)
    assert lo < np.mean(values) < hi and (lo, hi) == bootstrap_mean(values, seed=3)


def test_format_p():
    assert [format_p(p) for p in (0.00001, 1 / 256, 0.05, 0.5)] == ["< 0.0001", "0.0039", "0.0500", "0.500"]
