"""Student-t table and mean/CI arithmetic."""

import math

import numpy as np
import pytest

from mgsearch.analysis.stats import T975, Z975, mean_ci, t_quantile_95


def _t_mass(q: float, df: int) -> float:
    """P(|T| <= q) for Student's t with df degrees of freedom, by numerical integration."""
    x = np.linspace(-q, q, 400_001)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    pdf = np.exp(log_c - (df + 1) / 2 * np.log1p(x * x / df))
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz
    return float(trapezoid(pdf, x))


@pytest.mark.parametrize("df", sorted(T975))
def test_table_quantiles_hold_95_percent(df):
    # Each tabulated quantile, rounded to 4 decimals, leaves 2.5% in each tail.
    assert _t_mass(T975[df], df) == pytest.approx(0.95, abs=2e-4)


def test_quantile_between_rows_is_the_wider_one_and_large_df_is_normal():
    assert t_quantile_95(35) == T975[30]  # never narrower than the exact t(35)
    assert t_quantile_95(35) > t_quantile_95(40)
    assert t_quantile_95(10_000) == Z975
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile_95(0)


def test_mean_ci_of_three_values():
    ci = mean_ci([1.0, 2.0, 3.0])  # mean 2, sample sd 1
    assert (ci.mean, ci.std, ci.n) == (2.0, 1.0, 3)
    assert ci.half_width == pytest.approx(T975[2] / math.sqrt(3))
    assert (ci.low, ci.high) == pytest.approx((2 - ci.half_width, 2 + ci.half_width))


def test_one_value_gives_no_interval_and_nan_is_skipped():
    ci = mean_ci([56.25, float("nan"), None])
    assert ci.mean == 56.25 and ci.n == 1 and math.isnan(ci.half_width)
    empty = mean_ci([])
    assert empty.n == 0 and math.isnan(empty.mean)
