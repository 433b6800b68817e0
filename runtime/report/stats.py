"""Significance tests for reports: small samples (a handful of seeds), so exact where it matters.

* :func:`sign_test` -- how many of n values lie above a known median (the median of every cell
  of a benchmark table, or any fixed reference); exact binomial tail, ties left out.
* :func:`mann_whitney` -- two samples, no distributional assumption; the exact permutation
  distribution of U (midranks, so ties too) up to :data:`EXACT_MAX` values, else scipy's normal
  approximation with the tie correction.
* :func:`welch_t` -- two samples, unequal variances (scipy).
* :func:`bootstrap_mean` -- a percentile-bootstrap 95 % interval of the mean, clipped to the
  metric's range.

Every result carries its sample sizes, so that a report can show n beside each p. No torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["TestResult", "sign_test", "mann_whitney", "welch_t", "bootstrap_mean", "EXACT_MAX", "format_p"]

# total sample size up to which Mann-Whitney's p is computed from the exact permutation distribution
EXACT_MAX = 60
_ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class TestResult:
    """A test's statistic, p-value and sample sizes; ``method`` says how p was computed."""

    __test__ = False           # not a pytest test class, despite the name

    name: str
    statistic: float
    p: float
    n: tuple[int, ...]
    alternative: str
    method: str
    df: float | None = None

    def describe(self) -> str:
        ns = ", ".join(f"n = {k}" for k in self.n)
        df = f", df = {self.df:.1f}" if self.df is not None else ""
        return f"{self.name} = {self.statistic:.4g}{df}, p = {format_p(self.p)} ({self.alternative}, {self.method}; {ns})"


def format_p(p: float) -> str:
    """Four significant digits, or ``< 0.0001``."""
    if math.isnan(p):
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}" if p < 0.1 else f"{p:.3f}"


def _check(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")


def _binom_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), exactly."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def sign_test(values: Sequence[float], median: float, alternative: str = "greater") -> TestResult:
    """Are ``values`` above (``greater``), below (``less``) or away from ``median``?

    Values equal to the median carry no sign and are left out; n is the number kept. The
    statistic is the number above the median.

    Example:
        >>> sign_test([91, 92, 93, 94, 95, 96, 97, 98], 90).p   # 8 of 8 above: 1/256
        0.00390625
    """
    _check(alternative)
    above = sum(v > median for v in values)
    below = sum(v < median for v in values)
    n = above + below
    if n == 0:
        return TestResult("sign test S", 0.0, 1.0, (0,), alternative, "exact binomial")
    greater, less = _binom_tail(above, n), _binom_tail(below, n)
    p = {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[alternative]
    return TestResult("sign test S", float(above), p, (n,), alternative, "exact binomial")


def _midranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _rank_sum_counts(doubled: Sequence[int], k: int) -> dict[int, int]:
    """How many k-subsets of ``doubled`` (twice the midranks: integers) have each sum."""
    table: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(k)]
    for r in doubled:
        for size in range(k, 0, -1):
            into = table[size]
            for total, count in table[size - 1].items():
                into[total + r] = into.get(total + r, 0) + count
    return table[k]


def mann_whitney(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> TestResult:
    """Mann-Whitney U of ``a`` against ``b`` (U counts pairs with a > b, ties as one half).

    ``greater`` tests whether ``a`` tends to exceed ``b``. Exact (every split of the pooled
    midranks equally likely) up to :data:`EXACT_MAX` values; the two-sided p doubles the
    smaller tail.

    Example:
        >>> mann_whitney([4, 5, 6], [1, 2, 3], "greater").p    # 1 of the C(6, 3) = 20 splits
        0.05
    """
    _check(alternative)
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney needs at least one value in each sample")
    ranks = _midranks(np.concatenate([x, y]))
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    if n1 + n2 > EXACT_MAX:
        from scipy.stats import mannwhitneyu

        p = float(mannwhitneyu(x, y, alternative=alternative, method="asymptotic", use_continuity=True).pvalue)
        return TestResult("Mann-Whitney U", u, p, (n1, n2), alternative, "normal approximation")
    counts = _rank_sum_counts([int(round(2 * r)) for r in ranks], n1)
    total = math.comb(n1 + n2, n1)
    observed = int(round(2 * ranks[:n1].sum()))
    greater = sum(c for s, c in counts.items() if s >= observed) / total
    less = sum(c for s, c in counts.items() if s <= observed) / total
    p = {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}[alternative]
    return TestResult("Mann-Whitney U", u, p, (n1, n2), alternative, "exact")


def welch_t(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> TestResult | None:
    """Welch's t of ``a`` against ``b``; None when a sample has fewer than two values or both
    samples are constant (the statistic is undefined).

    Example:
        >>> round(welch_t([1, 2, 3, 4], [2, 4, 6, 8]).p, 4)
        0.1516
    """
    _check(alternative)
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2 or (x.var(ddof=1) == 0 and y.var(ddof=1) == 0):
        return None
    from scipy.stats import ttest_ind

    result = ttest_ind(x, y, equal_var=False, alternative=alternative)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    return TestResult("Welch's t", float(result.statistic), float(result.pvalue), (len(x), len(y)), alternative,
                      "t distribution", df=float(df))


def bootstrap_mean(values: Sequence[float], *, level: float = 0.95, resamples: int = 10_000, seed: int = 0,
                   bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float] | None:
    """The percentile-bootstrap interval of the mean, clipped to ``bounds``; None for n < 2.

    Example:
        >>> bootstrap_mean([90.0, 91.0, 92.0, 93.0], bounds=(0, 100))
        (90.5, 92.5)
    """
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(np.clip(lo, *bounds)), float(np.clip(hi, *bounds))
