"""Mean and 95% confidence interval over seeds (Student t), and the Welch interval of a
difference of two means, without scipy.

Seeds per configuration are few (1-10), so the interval uses Student's t with n-1 degrees of
freedom, not the normal 1.96. The two-sided 95% quantiles t(0.975, df) are tabulated below
(values to 4 decimals); a df between table rows takes the next smaller row, which gives a
slightly wider, never narrower, interval. Welch's fractional degrees of freedom are rounded
down for the same reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

# df -> t(0.975, df); df beyond the last finite row uses the normal quantile.
T975 = {
    1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.3060,
    9: 2.2622, 10: 2.2281, 11: 2.2010, 12: 2.1788, 13: 2.1604, 14: 2.1448, 15: 2.1314,
    16: 2.1199, 17: 2.1098, 18: 2.1009, 19: 2.0930, 20: 2.0860, 21: 2.0796, 22: 2.0739,
    23: 2.0687, 24: 2.0639, 25: 2.0595, 26: 2.0555, 27: 2.0518, 28: 2.0484, 29: 2.0452,
    30: 2.0423, 40: 2.0211, 60: 2.0003, 120: 1.9799,
}
Z975 = 1.9600


def t_quantile_95(df: int) -> float:
    """Two-sided 95% Student-t quantile for `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"degrees of freedom {df} < 1: an interval needs at least 2 values")
    if df > max(T975):
        return Z975
    return T975[max(k for k in T975 if k <= df)]


@dataclass(frozen=True)
class MeanCI:
    mean: float  # nan when there is no value
    half_width: float  # mean ± half_width is the 95% interval; nan for n < 2
    n: int
    std: float  # sample standard deviation (n-1); nan for n < 2

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_ci(values: Iterable[float]) -> MeanCI:
    """Mean and 95% t-interval of the finite values; one value gives the mean and no interval."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return MeanCI(math.nan, math.nan, 0, math.nan)
    mean = math.fsum(xs) / n
    if n == 1:
        return MeanCI(mean, math.nan, 1, math.nan)
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    return MeanCI(mean, t_quantile_95(n - 1) * std / math.sqrt(n), n, std)


@dataclass(frozen=True)
class DiffCI:
    diff: float  # mean(a) - mean(b); nan when either side is empty
    half_width: float  # diff ± half_width is the 95% Welch interval; nan when n_a or n_b < 2
    df: float  # Welch-Satterthwaite degrees of freedom (fractional); nan without an interval
    n_a: int
    n_b: int

    @property
    def low(self) -> float:
        return self.diff - self.half_width

    @property
    def high(self) -> float:
        return self.diff + self.half_width


def welch_ci(a: Iterable[float], b: Iterable[float]) -> DiffCI:
    """95% interval of mean(a) - mean(b) for unequal variances (Welch two-sample t):
    se² = s_a²/n_a + s_b²/n_b, df = se⁴ / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1)),
    half-width = t(0.975, floor(df)) * se. Non-finite values are skipped."""
    ca, cb = mean_ci(a), mean_ci(b)
    diff = ca.mean - cb.mean
    if ca.n < 2 or cb.n < 2:
        return DiffCI(diff, math.nan, math.nan, ca.n, cb.n)
    va, vb = ca.std**2 / ca.n, cb.std**2 / cb.n  # squared standard errors of each mean
    se2 = va + vb
    if se2 == 0.0:  # every seed equal on both sides: no spread to estimate, a point interval
        return DiffCI(diff, 0.0, float(ca.n + cb.n - 2), ca.n, cb.n)
    df = se2**2 / (va**2 / (ca.n - 1) + vb**2 / (cb.n - 1))
    return DiffCI(diff, t_quantile_95(max(1, math.floor(df + 1e-9))) * math.sqrt(se2), df, ca.n, cb.n)
