"""mgsearch.analysis.importance on hand-built schedule searches: every trial's record is built
here from a SearchPoint (its real config and prediction), every top-1 and clock is chosen here;
no Ray, no training."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from mgsearch.analysis import (Experiment, ablation, ablation_table, param_effects,
                               param_importances, render_param_effects, schedule_study,
                               search_distributions, trial_schedules)
from mgsearch.analysis.importance import family
from mgsearch.contract import SearchPoint, predict, trial_record

from ..conftest import make_config

pytest.importorskip("optuna")  # the project's `search` extra

SPACE = {"grid_set": {"choice": ["long_only", "wu2020"]}, "long_shapes": {"randint": [2, 3]},
         "long_t": 0.5, "fine_tune_fraction": {"uniform": [0.1, 0.3]},
         "lr_policy": {"choice": ["steps"]}}  # a choice of one: not varied
BASE = {"name": "hand", "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.05, "steps": [0, 2], "max_epoch": 3},
        "multigrid": {"bn_base_size": 2}, "search": {"algorithm": "optuna", "space": SPACE}}
# (grid set, long-cycle shapes, fine-tune fraction, final top-1 %, clock s); the baseline first
SAMPLED = [("long_only", 2, 0.15, 51.0, 90.0), ("wu2020", 3, 0.25, 55.0, 60.0),
           ("long_only", 3, 0.12, 52.0, 85.0), ("wu2020", 2, 0.28, 54.0, 55.0),
           ("short_only", None, None, 53.0, 70.0)]


def hand_search(sampled=SAMPLED, unfinished=()) -> tuple[Experiment, pd.DataFrame]:
    """An Experiment of a baseline (top-1 50, clock 100 s) and `sampled` trials, with the
    trial rows `trial_summary` would give (only the columns importance reads)."""
    base = make_config(BASE)
    points = [(SearchPoint("baseline", bn_base_size=2), 50.0, 100.0)] + [
        (SearchPoint(g, 1.0, 1.0, 2, 0, long_shapes=n, long_t=0.5 if n else None,
                     fine_tune_fraction=f), top1, clock) for g, n, f, top1, clock in sampled]
    records, rows = {}, []
    for i, (p, top1, clock) in enumerate(points):
        cfg = p.apply(base)
        records[f"t{i}"] = json.loads(json.dumps(trial_record(p, cfg, predict(cfg, 2000)[1])))
        rows.append({"trial_id": f"t{i}", "kind": "baseline" if p.is_baseline else "multigrid",
                     **p.as_dict(), "finished": f"t{i}" not in unfinished, "final_top1": top1,
                     "wallclock_s": clock})
    trials = pd.DataFrame(rows)
    return Experiment("hand", pd.DataFrame(), trials, records), trials


def test_the_families_are_read_from_the_factors():
    full, coarse = (1.0, 1.0), (0.5, 0.7)
    assert family(True, None, None) == "baseline"
    assert family(False, (coarse, full), None) == "long cycle only"
    assert family(False, None, (0.5, 0.7)) == "short cycle only"
    assert family(False, (coarse, full), (0.5, 0.7)) == "both"
    assert family(False, (full,), None) == "neither"  # a long cycle of the full shape alone


def test_the_varied_keys_are_the_space_distributions_of_more_than_one_value():
    exp, _ = hand_search()
    dists = search_distributions(exp.records)
    # long_t is a plain value, lr_policy a choice of one; the four list keys have one value
    assert sorted(dists) == ["fine_tune_fraction", "grid_set", "long_shapes"]
    assert (dists["long_shapes"].low, dists["long_shapes"].high) == (2, 3)
    assert search_distributions({"t0": {"config": {"shape": {"batch": -1}}}}) == {}


def test_importances_come_back_for_each_varied_key():
    exp, trials = hand_search(SAMPLED[:4])
    imp = param_importances(exp, trials)
    assert imp.attrs["reason"] == "" and imp.attrs["n_trials"] == 4
    assert imp.attrs["evaluator"] == "PedAnovaImportanceEvaluator"
    assert sorted(imp["param"]) == ["fine_tune_fraction", "grid_set", "long_shapes"]
    for objective in ("top1", "clock"):
        assert imp[objective].between(0, 1).all()
        assert imp[objective].sum() == pytest.approx(1.0)


def test_too_few_trials_give_an_empty_frame_and_the_reason():
    # four sampled trials, but two have not finished: three finished sampled trials
    exp, trials = hand_search(SAMPLED[:4], unfinished=("t1",))
    imp = param_importances(exp, trials)
    assert imp.empty and list(imp.columns) == ["param", "top1", "clock"]
    assert imp.attrs["n_trials"] == 3
    assert "too few trials: 3 finished sampled trials" in imp.attrs["reason"]


def test_the_study_holds_the_finished_sampled_trials_only():
    exp, trials = hand_search(SAMPLED[:4], unfinished=("t2",))
    study = schedule_study(exp, trials)
    done = {t.user_attrs["trial_id"]: t for t in study.get_trials()}
    assert sorted(done) == ["t1", "t3", "t4"]  # no baseline, no unfinished trial
    assert done["t4"].values == [54.0, 55.0] and done["t4"].params["grid_set"] == "wu2020"
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]


def test_a_repaired_value_outside_the_space_is_left_out_of_the_study():
    exp, trials = hand_search(SAMPLED[:2])
    exp.records["t2"]["point"]["fine_tune_fraction"] = 0.4  # repaired past the space's 0.3
    study = schedule_study(exp, trials)
    assert len(study.get_trials()) == 1 and study.user_attrs["outside_space"] == 1


def test_the_ablation_groups_by_family_shapes_and_fine_tune_share():
    exp, trials = hand_search()
    sched = trial_schedules(exp, trials).set_index("trial_id")
    assert list(sched["family"]) == ["baseline", "long cycle only", "both", "long cycle only",
                                     "both", "short cycle only"]
    assert list(sched["long_shapes"]) == [0, 2, 3, 3, 2, 0]
    # the share as built: near what was asked (rounded to whole iterations)
    assert sched.loc["t1", "fine_tune_fraction"] == pytest.approx(0.15, abs=0.01)
    assert math.isnan(sched.loc["t0", "fine_tune_fraction"])
    table = ablation(exp, trials).set_index(["factor", "level"])
    both = table.loc[("family", "both")]
    assert both["n"] == 2 and both["top1_mean"] == 54.5 and both["clock_mean"] == 57.5
    assert both["clock_vs_baseline"] == pytest.approx(0.575)
    assert table.loc[("family", "baseline"), "clock_vs_baseline"] == 1.0
    assert table.loc[("long-cycle shapes", 3), "n"] == 2
    assert table.loc[("long-cycle shapes", 0), "n"] == 1  # short cycle only


def test_fine_tune_shares_fall_in_right_closed_bins():
    sched = pd.DataFrame({"trial_id": ["b", "x", "y", "z"],
                          "family": ["baseline", "both", "both", "long cycle only"],
                          "long_shapes": [0, 4, 4, 2],
                          "fine_tune_fraction": [math.nan, 0.1, 0.1001, 0.3],
                          "top1": [50.0, 51.0, 52.0, 53.0], "clock": [100.0, 50.0, 60.0, 80.0]})
    fine = ablation_table(sched).query("factor == 'fine-tune fraction'").set_index("level")
    assert fine["n"].to_dict() == {"(0, 0.1]": 1, "(0.1, 0.2]": 1, "(0.2, 0.3]": 1}
    no_base = ablation_table(sched[sched["family"] != "baseline"])
    assert no_base["clock_vs_baseline"].isna().all()  # no baseline: no fraction of it


def test_effects_are_tidy_and_render():
    exp, trials = hand_search(SAMPLED[:4])
    effects = param_effects(exp, trials)
    assert len(effects) == 4 * 3 and set(effects["trial_id"]) == {"t1", "t2", "t3", "t4"}
    row = effects[(effects["trial_id"] == "t2") & (effects["param"] == "long_shapes")].iloc[0]
    assert (row["value"], row["top1"], row["clock"]) == (3, 55.0, 60.0)
    fig = render_param_effects(effects)
    assert len(fig.axes) == 2 * 3
    assert render_param_effects(effects.iloc[:0]).axes == []  # a note, no axes


@pytest.mark.slow
def test_the_notebook_shows_importances_of_a_hand_built_search(tmp_path):
    from mgsearch.analysis import IMPORTANCE_NOTEBOOK, execute_notebook

    from .builders import point, write_trial

    exp, trials = hand_search(SAMPLED[:4])
    for (_, t), (trial_id, record) in zip(trials.iterrows(), exp.records.items()):
        p = point(t["grid_set"])
        write_trial(tmp_path, trial_id, p, [(t["wallclock_s"] / 2, None),
                                            (t["wallclock_s"], t["final_top1"])], max_epoch=2)
        (tmp_path / "train_runs" / f"train-{trial_id}" / "trial.json").write_text(
            json.dumps(record))
    nb = execute_notebook(tmp_path, IMPORTANCE_NOTEBOOK, timeout_s=120)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "5 trials, 5 finished, 4 finished sampled trials in the study" in text
    assert "not computed" not in text
    tables = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "fine_tune_fraction" in tables and "long cycle only" in tables
