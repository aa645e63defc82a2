"""Per-trial and per-configuration tables, and the Pareto front (hand-built scenario)."""

import math

import pandas as pd
import pytest

from mgsearch.analysis import (config_labels, config_summary, load_experiment, pareto_front,
                               trial_summary)
from mgsearch.analysis.stats import T975

from .builders import point, write_trial
from .scenario import CURVES, final, write_search


@pytest.fixture
def exp(tmp_path):
    return load_experiment(write_search(tmp_path))


def test_trial_summary_final_values_and_finished(exp):
    trials = trial_summary(exp.reports, exp.trials).set_index(["grid_set", "seed"])
    for key, curve in CURVES.items():
        row = trials.loc[key]
        assert (row["wallclock_s"], row["final_top1"]) == final(*key)
        assert row["epochs_done"] == len(curve)
        assert row["finished"] == (len(curve) == 3)


def test_final_accuracy_is_the_last_evaluated_one(tmp_path):
    """Hand-built: epoch 3 is not an evaluation epoch."""
    write_trial(tmp_path, "ddddd_00000", point("wu2020", max_epoch=3),
                [(1.0, 40.0), (2.0, 55.0), (3.0, None)])
    exp = load_experiment(tmp_path)
    row = trial_summary(exp.reports, exp.trials).iloc[0]
    assert (row["final_top1"], row["eval_epoch"], row["wallclock_s"]) == (55.0, 2, 3.0)


def test_config_summary_mean_and_ci_over_seeds(exp):
    configs = config_summary(trial_summary(exp.reports, exp.trials)).set_index("grid_set")
    accs = [final("baseline", s)[1] for s in (0, 1)]
    mean = sum(accs) / 2
    sd = math.sqrt(sum((a - mean) ** 2 for a in accs))  # n-1 = 1
    base = configs.loc["baseline"]
    assert base["seeds"] == 2 and base["top1_mean"] == pytest.approx(mean)
    assert base["top1_ci"] == pytest.approx(T975[1] * sd / math.sqrt(2))
    assert math.isnan(configs.loc["long_only", "top1_ci"])  # one seed: no interval
    assert configs.loc["short_only", "finished"] == 0


def test_pareto_front_dominance_ties_and_missing():
    df = pd.DataFrame({"top1_mean": [70.0, 72.0, 69.0, 72.0, 75.0, float("nan")],
                       "wallclock_mean": [10.0, 20.0, 15.0, 20.0, float("nan"), 1.0]})
    # 0: fastest; 1 and 3: equal, most accurate; 2: dominated by 0; 4, 5: a value missing
    assert list(pareto_front(df)) == [True, True, False, True, False, False]


def test_labels_name_only_what_varies():
    df = pd.DataFrame({"grid_set": ["baseline", "wu2020", "wu2020", "long_only"],
                       "epoch_factor": [1.0, 1.5, 2.0, 1.5], "lr_multiplier": [1.0] * 4,
                       "bn_base_size": [8] * 4})
    assert list(config_labels(df)) == ["baseline", "wu2020 ef=1.5", "wu2020 ef=2",
                                       "long_only ef=1.5"]


def test_labels_of_schedule_points_say_which_linear():
    """A schedule search's labels name the varied schedule keys; `linear` spacing and `linear`
    LR scaling read differently; the baseline stays `baseline`."""
    df = pd.DataFrame({"grid_set": ["baseline", "wu2020", "wu2020"],
                       "long_shapes": [None, 3, 4], "long_spacing": [None, "linear", "geometric"],
                       "short_cycle": [None, False, True], "lr_scaling": [None, "linear", "sqrt"],
                       "epoch_factor": [1.0, 1.25, 1.25]})
    assert list(config_labels(df)) == ["baseline", "wu2020 L3 lin no-short linear-lr",
                                       "wu2020 L4 geo short sqrt-lr"]


def test_a_found_schedule_alone_is_not_labelled_as_its_grid_set():
    """One schedule-search point beside the baseline (a found schedule replayed): nothing varies
    among the multigrid rows, but the schedule keys it sets still name it; a named set is plain."""
    df = pd.DataFrame({"grid_set": ["baseline", "wu2020", "wu2020"],
                       "long_shapes": [None, 3, None], "long_t": [None, 0.5, None],
                       "short_cycle": [None, 0.0, None], "lr_scaling": [None, "sqrt", None],
                       "epoch_factor": [1.0, 1.01, 1.01]})
    assert list(config_labels(df)) == ["baseline", "wu2020 L3 t=0.5 no-short sqrt-lr", "wu2020"]
