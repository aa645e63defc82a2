"""The yardstick: non-inferiority verdicts, the bootstrap speed-up interval, validation size,
clock fairness and figures that claim no interval they do not have.

Our own logic, so the inputs are synthetic frames (`tidy_reports` rows built here, or
hand-written trial tables), every number chosen so the expected result can be worked by hand.
"""

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from mgsearch.analysis import (DiffCI, clock_line, config_summary, curves_info, matched_accuracy,
                               pareto_info, reference_clock, render_curves, render_pareto,
                               tidy_reports, trial_summary, validation_size, verdict, verdicts,
                               welch_ci)
from mgsearch.analysis.figures import SEED_BAND, T_BAND
from mgsearch.analysis.stats import T975
from mgsearch.contract import SearchPoint

BASE = [80.0, 80.2, 80.4]  # mean 80.2, sample variance 0.04


def _trials(finals: dict) -> pd.DataFrame:
    """A hand-written trial table: grid_set -> final top-1 of each seed, all finished."""
    rows = []
    for grid_set, values in finals.items():
        for seed, top1 in enumerate(values):
            rows.append({**SearchPoint(grid_set, seed=seed).as_dict(),
                         "trial_id": f"{grid_set}-{seed}", "kind": "baseline" if grid_set == "baseline" else
                         "multigrid", "label": grid_set, "final_top1": top1, "finished": True})
    return pd.DataFrame(rows)


# -- Welch interval and verdicts -------------------------------------------------------------------


def test_welch_interval_by_hand():
    # a = [78, 80, 82]: mean 80, s² 4;  b = BASE: mean 80.2, s² 0.04
    # se² = 4/3 + 0.04/3 = 1.346667, se = 1.160460
    # df = se⁴ / ((4/3)²/2 + (0.04/3)²/2) = 1.813511 / 0.888978 = 2.0400 -> row 2: t = 4.3027
    # half-width = 4.3027 * 1.160460 = 4.99312; interval -0.2 ± 4.99312
    ci = welch_ci([78.0, 80.0, 82.0], BASE)
    assert ci.diff == pytest.approx(-0.2)
    assert ci.df == pytest.approx(2.0400, abs=1e-4)
    assert ci.half_width == pytest.approx(T975[2] * 1.160460, abs=1e-5)
    assert (ci.n_a, ci.n_b) == (3, 3)
    one = welch_ci([80.0], BASE)
    assert math.isnan(one.half_width) and one.diff == pytest.approx(-0.2)


@pytest.mark.parametrize("config, expected", [
    # each vs BASE, equal variances 0.04 and n 3: se = sqrt(2 * 0.04/3) = 0.163299, df = 4,
    # t(4) = 2.7764, half-width 0.45338; δ = 1
    ([80.1, 80.3, 80.5], "matches"),  # Δ +0.1: [-0.353, +0.553], low >= -1
    ([77.0, 77.2, 77.4], "worse"),  # Δ -3.0: [-3.453, -2.547], high < -1
    ([79.0, 79.2, 79.4], "undecided"),  # Δ -1.0: [-1.453, -0.547] straddles -1
    ([80.2, 80.4], "too few seeds"),  # 2 seeds: no interval claimed
])
def test_four_verdicts(config, expected):
    ci = welch_ci(config, BASE)
    assert verdict(ci, delta=1.0) == expected
    if expected != "too few seeds":
        assert ci.df == pytest.approx(4.0)
        assert ci.half_width == pytest.approx(2.7764 * math.sqrt(2 * 0.04 / 3))
    table = verdicts(_trials({"baseline": BASE, "wu2020": config}), 1.0).set_index("grid_set")
    row = table.loc["wu2020"]
    assert row["verdict"] == expected and row["delta"] == 1.0
    assert row["top1_diff"] == pytest.approx(sum(config) / len(config) - 80.2)
    assert math.isnan(row["top1_diff_low"]) == (expected == "too few seeds")
    assert table.loc["baseline", "verdict"] == "baseline"


def test_verdict_boundaries_and_margin():
    at = DiffCI(diff=0.0, half_width=1.0, df=4.0, n_a=3, n_b=3)  # [-1, 1]
    assert verdict(at, 1.0) == "matches"  # the lower bound at exactly -δ matches
    assert verdict(at, 0.5) == "undecided"
    assert verdict(DiffCI(-2.0, 0.5, 4.0, 3, 3), 1.0) == "worse"
    assert verdict(DiffCI(0.0, 0.1, 4.0, 3, 2), 1.0) == "too few seeds"
    with pytest.raises(ValueError, match="delta"):
        verdicts(_trials({"baseline": BASE}), -0.1)


# -- speed-up at matched accuracy ------------------------------------------------------------------


def _rows(trial_id, grid_set, seed, curve, **extra):
    """tidy_reports of one trial: curve = [(time_total_s, val_top1, val_subset, val_clips)]."""
    p = {"grid_set": grid_set, "epoch_factor": 1.0 if grid_set == "baseline" else 1.5,
         "lr_multiplier": 1.0, "bn_base_size": 8, "seed": seed,
         "predicted_speedup": 1.0 if grid_set == "baseline" else 2.0}
    rows = [{"point": i + 1, "points": len(curve), "epoch": i + 1, "max_epoch": len(curve),
             "time_total_s": t, "val_top1": acc, "val_subset": sub, "val_clips": clips,
             "clips_seen": 10 * (i + 1), "iterations": i + 1, "train_gflops": 1.0, **extra}
            for i, (t, acc, sub, clips) in enumerate(curve)]
    return tidy_reports(rows, p, trial_id, "synthetic")


def _search(base_seeds=3, wu_seeds=3, **extra):
    """Baseline: top-1 40, 60, 80 (+seed) at 10, 20, 30 s (+seed); wu2020 gets there sooner."""
    frames = []
    for s in range(base_seeds):
        frames.append(_rows(f"b{s}", "baseline", s, [(10.0 + s, 40.0 + s, False, 600),
                                                     (20.0 + s, 60.0 + s, False, 600),
                                                     (30.0 + s, 80.0 + s, False, 600)], **extra))
    for s in range(wu_seeds):
        frames.append(_rows(f"w{s}", "wu2020", s, [(4.0 + s, 55.0 + 2 * s, False, 600),
                                                   (8.0 + 2 * s, 78.0 + 3 * s, False, 600),
                                                   (12.0 + 2 * s, 84.0 - s, False, 600)], **extra))
    reports = pd.concat(frames, ignore_index=True)
    return reports, trial_summary(reports)


def test_bootstrap_interval_holds_the_estimate_and_is_reproducible():
    reports, trials = _search()
    first = matched_accuracy(reports, trials, 1.0).set_index("grid_set")
    again = matched_accuracy(reports, trials, 1.0).set_index("grid_set")
    wu = first.loc["wu2020"]
    assert wu["target_status"] == "reached"
    assert wu["speedup_low"] <= wu["speedup"] <= wu["speedup_high"]
    assert wu["speedup_low"] < wu["speedup_high"]  # the seeds differ: a real spread
    assert (wu["speedup_low"], wu["speedup_high"]) == (again.loc["wu2020", "speedup_low"],
                                                       again.loc["wu2020", "speedup_high"])


def test_baseline_speedup_over_itself_is_exactly_one():
    reports, trials = _search()
    base = matched_accuracy(reports, trials, 1.0).set_index("grid_set").loc["baseline"]
    # target 81 - 1 = 80 on its mean curve (41, 61, 81 at 11, 21, 31 s): 21 + 19/20 * 10 = 30.5
    assert base["baseline_time_to_target_s"] == pytest.approx(30.5)
    assert (base["speedup"], base["speedup_low"], base["speedup_high"]) == (1.0, 1.0, 1.0)
    assert base["efficiency"] == 1.0


def test_final_top1_and_validation_size_come_from_the_full_set():
    rows = _rows("b0", "baseline", 0, [(1.0, 30.0, True, 200), (2.0, 50.0, True, 200),
                                       (3.0, 64.0, False, 600)])
    trials = trial_summary(rows)
    assert (trials["final_top1"].iloc[0], trials["val_clips"].iloc[0]) == (64.0, 600)
    v = validation_size(rows, trials, baseline_top1=64.0)
    assert v.clips == 600 and v.subset_points == (1, 2) and v.subset_clips == 200
    assert v.binomial_se == pytest.approx(100 * math.sqrt(0.64 * 0.36 / 600))  # 1.96 pt
    # a later subset evaluation (a run still going) is never a final top-1
    later = pd.concat([rows, _rows("b0", "baseline", 0, [(0, 0, False, 0)] * 3 +
                                   [(4.0, 99.0, True, 200)]).iloc[3:]], ignore_index=True)
    assert trial_summary(later)["final_top1"].iloc[0] == 64.0


# -- clock fairness --------------------------------------------------------------------------------


def test_reference_time_outlier_is_flagged_and_five_percent_is_not():
    trials = _trials({"baseline": [80.0, 80.0], "wu2020": [80.0, 80.0, 80.0]})
    trials["ref_step_start_s"] = [1.00, 1.00, 1.05, 1.00, np.nan]
    trials["ref_step_end_s"] = [1.00, 1.00, 1.00, 1.25, np.nan]
    out = reference_clock(trials).set_index("trial_id")  # median of the 8 times: 1.00
    assert out.loc["wu2020-0", "ref_start_ratio"] == pytest.approx(1.05)
    assert not out.loc["wu2020-0", "clock_flag"]  # 5%: within 10%
    assert out.loc["wu2020-1", "clock_flag"]  # end 25% slower
    assert out.loc["wu2020-1", "ref_end_ratio"] == pytest.approx(1.25)
    assert not out.loc["wu2020-2", "clock_flag"]  # not recorded: not flagged
    assert out["clock_flag"].sum() == 1
    line = clock_line(out.reset_index())
    assert "1 flagged" in line and "wu2020 seed 1" in line and "wu2020 seed 0" not in line
    old = trials.assign(ref_step_start_s=np.nan, ref_step_end_s=np.nan)
    assert "no trial recorded" in clock_line(reference_clock(old))


# -- figures ---------------------------------------------------------------------------------------


def test_two_seeds_draw_no_band_and_accuracy_axes_stay_in_0_100():
    reports, trials = _search(base_seeds=2, wu_seeds=3, num_classes=12)
    info = curves_info(reports, trials, target=80.0)
    by = {s.label: s for s in info.series}
    assert by["baseline"].band == SEED_BAND and all(math.isnan(h) for h in by["baseline"].top1_ci)
    assert by["baseline"].seed_top1[0] == (40.0, 41.0)
    assert by["wu2020"].band == T_BAND and all(h > 0 for h in by["wu2020"].top1_ci)
    assert info.chance == pytest.approx(100 / 12)
    assert 0.0 <= info.ylim[0] < info.ylim[1] <= 100.0
    fig = render_curves(info)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]  # fill_between
    assert len(bands) == 1  # wu2020's t band only, none for the 2-seed baseline
    assert 0.0 <= ax.get_ylim()[0] < ax.get_ylim()[1] <= 100.0
    assert any(line.get_label().startswith("chance") for line in ax.get_lines())

    configs = config_summary(trials)
    pinfo = pareto_info(configs, num_classes=None)
    base = next(p for p in pinfo.points if p.is_baseline)
    assert math.isnan(base.top1_ci) and (base.top1_low, base.top1_high) == (80.0, 81.0)
    assert 0.0 <= pinfo.ylim[0] < pinfo.ylim[1] <= 100.0 and pinfo.chance is None
    pax = render_pareto(pinfo).axes[0]
    assert 0.0 <= pax.get_ylim()[0] < pax.get_ylim()[1] <= 100.0
    assert "chance level unknown" in " ".join(t.get_text() for t in pax.get_legend().get_texts())


def test_two_seeds_near_the_top_are_clipped_at_100():
    frames = [_rows(f"b{s}", "baseline", s, [(1.0, 99.0 + s, False, 16)]) for s in range(2)]
    reports = pd.concat(frames, ignore_index=True)
    trials = trial_summary(reports)
    assert curves_info(reports, trials).ylim[1] == 100.0
    assert pareto_info(config_summary(trials)).ylim[1] == 100.0
