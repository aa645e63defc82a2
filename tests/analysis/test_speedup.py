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


def test_baseline_target_is_mean_final_minus_tolerance(exp):
    _, trials = exp
    b = baseline_target(trials, tolerance=0.5)
    (t0, a0), (t1, a1) = final("baseline", 0), final("baseline", 1)
    assert (b.top1, b.wallclock_s, b.seeds, b.complete) == ((a0 + a1) / 2, (t0 + t1) / 2, 2, True)
    assert b.target == pytest.approx(b.top1 - 0.5)


def test_reached_time_speedup_and_efficiency(exp):
    reports, trials = exp
    b = baseline_target(trials, 0.5)
    table = matched_accuracy(reports, trials, 0.5).set_index("grid_set")
    times = [_first_time(CURVES[("wu2020", s)], b.target) for s in (0, 1)]
    assert None not in times  # the scenario has both seeds reach it
    row = table.loc["wu2020"]
    assert row["target_status"] == "reached" and row["seeds_reached"] == 2
    assert row["time_to_target_mean"] == pytest.approx(sum(times) / 2)
    assert row["speedup"] == pytest.approx(b.wallclock_s / (sum(times) / 2))
    assert row["efficiency"] == pytest.approx(row["speedup"] / PREDICTED["wu2020"])
    per_trial = time_to_accuracy(reports, b.target)
    assert sorted(per_trial[trials.loc[trials["grid_set"] == "wu2020", "trial_id"]]) == \
        sorted(times)


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


def test_tolerance_decides(exp):
    reports, trials = exp
    best = max(acc for _, acc in CURVES[("long_only", 0)])
    top1 = baseline_target(trials, 0.0).top1
    tol = top1 - best  # exactly enough for long_only's best evaluation
    row = matched_accuracy(reports, trials, tol).set_index("grid_set").loc["long_only"]
    assert row["target_status"] == "reached"
    assert row["time_to_target_mean"] == _first_time(CURVES[("long_only", 0)], best)
    strict = matched_accuracy(reports, trials, tol - 0.01).set_index("grid_set")
    assert strict.loc["long_only", "target_status"] == "not reached"
    with pytest.raises(ValueError, match="tolerance"):
        baseline_target(trials, -1.0)


def test_one_seed_missing_the_target_means_not_reached(exp):
    reports, trials = exp
    # wu2020 seed 1 ends at 70.6: a target above that leaves seed 0 alone reaching it
    top1 = baseline_target(trials, 0.0).top1
    tol = top1 - 70.8
    row = matched_accuracy(reports, trials, tol).set_index("grid_set").loc["wu2020"]
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
