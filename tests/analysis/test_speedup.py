"""Speed-up at matched accuracy on the hand-built scenario (numbers from scenario.CURVES)."""

import json
import math

import pytest

from mgsearch.analysis import (baseline_target, load_experiment, matched_accuracy,
                               time_to_accuracy, trial_summary)

from .builders import point, write_trial
from .scenario import CURVES, PREDICTED, final, write_search


@pytest.fixture
def exp(tmp_path):
    e = load_experiment(write_search(tmp_path))
    return e.reports, trial_summary(e.reports, e.trials)


def _first_time(curve, target):
    return next((t for t, acc in curve if acc >= target), None)


def _mean_curve(*curves):
    """(mean clock, mean top-1) per evaluation point of equally long seed curves."""
    return [(sum(c[i][0] for c in curves) / len(curves), sum(c[i][1] for c in curves) / len(curves))
            for i in range(len(curves[0]))]


def _interpolated(curve, target):
    """Clock where the piecewise-linear curve first reaches target (the module's rule 3)."""
    prev = None
    for t, acc in curve:
        if acc >= target:
            if prev is None:
                return t
            (t0, a0) = prev
            return t0 + (target - a0) / (acc - a0) * (t - t0)
        prev = (t, acc)
    return None


def test_baseline_target_is_mean_final_minus_delta(exp):
    _, trials = exp
    b = baseline_target(trials, delta=0.5)
    (t0, a0), (t1, a1) = final("baseline", 0), final("baseline", 1)
    assert (b.top1, b.wallclock_s, b.seeds, b.complete) == ((a0 + a1) / 2, (t0 + t1) / 2, 2, True)
    assert b.target == pytest.approx(b.top1 - 0.5)
    assert baseline_target(trials).delta == 1.0  # the config's default search.delta


def test_speedup_is_on_seed_mean_curves_against_the_baselines_own_time(exp):
    reports, trials = exp
    b = baseline_target(trials, 1.0)  # target 71 - 1 = 70
    table = matched_accuracy(reports, trials, 1.0).set_index("grid_set")
    base_curve = _mean_curve(CURVES[("baseline", 0)], CURVES[("baseline", 1)])
    wu_curve = _mean_curve(CURVES[("wu2020", 0)], CURVES[("wu2020", 1)])
    t_base = _interpolated(base_curve, b.target)  # 21 + (70 - 61)/10 * 10 = 30
    t_wu = _interpolated(wu_curve, b.target)  # 8.5 + (70 - 69.75)/1.05 * 4
    assert t_base == pytest.approx(30.0)
    row = table.loc["wu2020"]
    assert row["target_status"] == "reached" and row["seeds_reached"] == 2
    assert row["time_to_target_s"] == pytest.approx(t_wu)
    assert row["baseline_time_to_target_s"] == pytest.approx(t_base)
    assert row["speedup"] == pytest.approx(t_base / t_wu)
    assert row["efficiency"] == pytest.approx(row["speedup"] / PREDICTED["wu2020"])
    assert table.loc["baseline", "speedup"] == 1.0  # its own time over its own time
    # two seeds each side: no bootstrap interval is claimed
    assert math.isnan(row["speedup_low"]) and math.isnan(row["speedup_high"])
    per_trial = time_to_accuracy(reports, b.target)
    assert sorted(per_trial[trials.loc[trials["grid_set"] == "wu2020", "trial_id"]]) == \
        sorted(_first_time(CURVES[("wu2020", s)], b.target) for s in (0, 1))


def test_not_reached_and_not_yet_are_results(exp):
    reports, trials = exp
    table = matched_accuracy(reports, trials, 0.5).set_index("grid_set")
    target = baseline_target(trials, 0.5).target
    assert max(acc for _, acc in CURVES[("long_only", 0)]) < target  # finished, never got there
    assert table.loc["long_only", "target_status"] == "not reached"
    assert table.loc["short_only", "target_status"] == "not yet"  # still running
    for g in ("long_only", "short_only"):
        assert table.loc[g, "seeds_reached"] == 0
        assert math.isnan(table.loc[g, "speedup"]) and math.isnan(table.loc[g, "efficiency"])


def test_delta_decides(exp):
    reports, trials = exp
    best = max(acc for _, acc in CURVES[("long_only", 0)])
    top1 = baseline_target(trials, 0.0).top1
    delta = top1 - best  # exactly enough for long_only's best evaluation
    row = matched_accuracy(reports, trials, delta).set_index("grid_set").loc["long_only"]
    assert row["target_status"] == "reached"
    assert row["time_to_target_s"] == pytest.approx(
        _interpolated(CURVES[("long_only", 0)], best))
    strict = matched_accuracy(reports, trials, delta - 0.01).set_index("grid_set")
    assert strict.loc["long_only", "target_status"] == "not reached"
    with pytest.raises(ValueError, match="delta"):
        baseline_target(trials, -1.0)


def test_mean_curve_decides_not_each_seed(exp):
    reports, trials = exp
    # wu2020's seeds end at 71.0 and 70.6 (mean 70.8): a target of 70.9 is reached by seed 0
    # alone, and the mean curve never gets there
    delta = baseline_target(trials, 0.0).top1 - 70.9
    row = matched_accuracy(reports, trials, delta).set_index("grid_set").loc["wu2020"]
    assert (row["target_status"], row["seeds_reached"]) == ("not reached", 1)
    assert math.isnan(row["speedup"])


def test_without_baseline_nothing_is_compared(tmp_path):
    """Hand-built: a search with its baseline switched off."""
    write_trial(tmp_path, "eeeee_00000", point("wu2020", max_epoch=2), [(1.0, 40.0), (2.0, 50.0)])
    e = load_experiment(tmp_path)
    trials = trial_summary(e.reports, e.trials)
    assert baseline_target(trials) is None
    table = matched_accuracy(e.reports, trials)
    assert list(table["target_status"]) == ["no baseline"]
    assert math.isnan(table["speedup"].iloc[0])


def test_trial_stopped_early_is_over_not_pending(tmp_path):
    """Hand-built: Tune's state file says short_only (1 of 3 epochs) was stopped (ASHA)."""
    root = write_search(tmp_path)
    before = load_experiment(root)
    short = before.trials.loc[before.trials["grid_set"] == "short_only", "trial_id"].iloc[0]
    entry = {"trial_id": short, "status": "TERMINATED", "relative_logdir": "x"}
    (root / "experiment_state-2026-01-01_00-00-00.json").write_text(
        json.dumps({"trial_data": [[json.dumps(entry), json.dumps({})]]}))
    e = load_experiment(root)
    trials = trial_summary(e.reports, e.trials)
    row = trials.set_index("trial_id").loc[short]
    assert (row["finished"], row["active"], row["status"]) == (False, False, "TERMINATED")
    table = matched_accuracy(e.reports, trials).set_index("grid_set")
    assert table.loc["short_only", "target_status"] == "not reached"
