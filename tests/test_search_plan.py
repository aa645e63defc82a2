"""Search planning (our own logic, no Ray): points, per-trial configs, resources, refusals."""

from __future__ import annotations

import pytest

from mgsearch.config import load_config
from mgsearch.contract import SearchPoint
from mgsearch.errors import ConfigError
from mgsearch.search import check_points, max_concurrency, search_points, trial_resources

from .conftest import ROOT, make_config

BASE = {"solver": {"steps": [0, 8, 12], "max_epoch": 16}}


def test_points_cross_every_value_and_add_the_baseline_per_seed():
    cfg = make_config({**BASE, "search": {"grid_sets": ["wu2020", "long_only"], "repeats": 3,
                                          "epoch_factors": [1.5, 2.0]}})
    points = search_points(cfg)
    base = [p for p in points if p.is_baseline]
    assert [p.seed for p in base] == [0, 1, 2]
    assert len(points) == 3 + 2 * 2 * 3
    assert {(p.grid_set, p.epoch_factor) for p in points if not p.is_baseline} == {
        ("wu2020", 1.5), ("wu2020", 2.0), ("long_only", 1.5), ("long_only", 2.0)}


def test_the_quickstart_plans_6_trials_run_one_at_a_time():
    # experiments/quickstart.yaml's search: section (its header: "the search (6 trials)").
    cfg = load_config(ROOT / "experiments" / "quickstart.yaml")
    points = search_points(cfg)
    assert [(p.grid_set, p.seed) for p in points] == [
        (g, s) for g in ("baseline", "wu2020") for s in (0, 1, 2)]
    # One trial at a time even where more would fit: every clock measured under the same load.
    assert max_concurrency(cfg, {"CPU": 16.0}) == 1


def test_a_point_applies_grid_set_lr_seed_and_custom_sets():
    cfg = make_config({**BASE, "search": {
        "grid_sets": ["mine"], "custom": [{"name": "mine", "long_cycle_factors": [[0.5, 0.5], [1, 1]]}]}})
    point = SearchPoint("mine", epoch_factor=2.0, lr_multiplier=0.5, bn_base_size=4, seed=7)
    trial_cfg = point.apply(cfg)
    assert not point.is_baseline
    assert trial_cfg.multigrid.grid_set == "custom"
    assert trial_cfg.multigrid.long_cycle_factors == ((0.5, 0.5), (1, 1))
    assert trial_cfg.multigrid.epoch_factor == 2.0 and trial_cfg.multigrid.bn_base_size == 4
    assert trial_cfg.solver.base_lr == pytest.approx(cfg.solver.base_lr * 0.5)
    assert trial_cfg.train.seed == 7
    assert cfg.train.seed == 0  # the base config is untouched
    baseline = SearchPoint("baseline", seed=7).apply(trial_cfg)  # from a custom set's config
    assert baseline.multigrid.grid_set == "baseline"
    assert baseline.multigrid.long_cycle_factors is None


def test_every_point_is_checked_and_annotated_before_trials():
    cfg = make_config({**BASE, "search": {"grid_sets": ["wu2020"], "repeats": 1}})
    points = check_points(cfg, search_points(cfg), clips=1000)
    wu = next(p for p in points if p["grid_set"] == "wu2020")
    assert wu["predicted_speedup"] > 2 and wu["predicted_iterations"] > 0
    base = next(p for p in points if p["grid_set"] == "baseline")
    assert base["predicted_speedup"] == pytest.approx(1.0)
    # A custom set whose short-cycle crop exceeds a long-cycle crop fails at planning time.
    bad = make_config({**BASE, "search": {"grid_sets": ["odd"], "custom": [
        {"name": "odd", "long_cycle_factors": [[0.5, 0.25], [1, 1]], "short_cycle_factors": [0.5, 0.9]}]}})
    with pytest.raises(ConfigError, match="search point .*odd.*short_cycle_factors"):
        check_points(bad, search_points(bad), clips=100)


@pytest.mark.parametrize("search, needle", [
    ({"grid_sets": ["wu2021"]}, "neither a named set"),
    ({"multi_objective": True}, "needs algorithm: optuna"),
    ({"multi_objective": True, "algorithm": "optuna", "scheduler": "asha"}, "ASHA ranks trials by one metric"),
    ({"repeats": 0}, "search.repeats = 0"),
    ({"custom": [{"name": "x", "long_cycle_factors": [[2, 1]]}]}, "must lie in (0, 1]"),
])
def test_invalid_searches_fail_at_load(search, needle):
    with pytest.raises(ConfigError) as err:
        make_config({**BASE, "search": search})
    assert needle in str(err.value)


def test_resources_fit_the_cluster():
    two_workers = make_config({**BASE, "train": {"workers": 2}})
    assert trial_resources(two_workers)["cpu"] == 0  # the driver must not hold worker CPUs
    assert max_concurrency(two_workers, {"CPU": 2.0}) == 1
    assert max_concurrency(two_workers, {"CPU": 16.0}) == 8
    in_process = make_config({**BASE, "train": {"workers": 0}})
    assert trial_resources(in_process)["cpu"] == 1
    assert max_concurrency(in_process, {"CPU": 2.0}) == 2
    capped = make_config({**BASE, "train": {"workers": 0}, "search": {"max_concurrent_trials": 1}})
    assert max_concurrency(capped, {"CPU": 2.0}) == 1
    gpu = make_config({**BASE, "train": {"workers": 2, "use_gpu": True}})
    assert max_concurrency(gpu, {"CPU": 32.0, "GPU": 4.0}) == 2
    with pytest.raises(ConfigError, match="one trial needs 4 worker"):
        max_concurrency(make_config({**BASE, "train": {"workers": 4}}), {"CPU": 2.0})


def test_optuna_runs_the_baseline_first_and_outside_its_space(tmp_path):
    """The baseline's seeds come first; TPE neither samples the baseline nor hears of its
    results (pre-set inside TPE, Optuna refused it: "'baseline' not in ('long_only', 'wu2020')",
    and every Optuna search with baseline: true failed at its first trial); the searcher's state
    survives save/restore (a resumed search). The searcher alone, no Ray."""
    from mgsearch.search import _search_alg
    from mgsearch.searchers import ReferenceFirst

    def build():
        cfg = make_config({**BASE, "search": {"algorithm": "optuna", "repeats": 2,
                                              "num_samples": 4,
                                              "grid_sets": ["wu2020", "long_only"],
                                              "epoch_factors": [1.5, 2.0],
                                              "lr_multipliers": [0.5, 2.0]}})
        alg, space, n = _search_alg(cfg, check_points(cfg, search_points(cfg), 1000))
        alg.set_search_properties(None, None, space)
        return alg, space, n

    alg, space, n = build()
    assert isinstance(alg, ReferenceFirst) and n == 2 + 4
    assert alg.searcher.metric == "val_top1"  # single objective: Optuna reads every result
    assert space["grid_set"].categories == ["long_only", "wu2020"]  # no baseline in TPE
    got = [alg.suggest(f"t{i}") for i in range(3)]
    assert [(p["grid_set"], p["seed"], p["lr_multiplier"]) for p in got[:2]] == [
        ("baseline", 0, 1.0), ("baseline", 1, 1.0)]  # the baseline keeps the user's LR
    assert got[2]["grid_set"] in ("wu2020", "long_only")
    assert got[2]["epoch_factor"] in (1.5, 2.0) and got[2]["lr_multiplier"] in (0.5, 2.0)
    for i in range(3):  # Optuna would raise KeyError on a trial id it never suggested
        alg.on_trial_result(f"t{i}", {"val_top1": 50.0, "time_total_s": 1.0,
                                      "training_iteration": 1})
        # a report between evaluations (no val_top1): Optuna raised KeyError and the search died
        alg.on_trial_result(f"t{i}", {"time_total_s": 2.0, "training_iteration": 2})
        alg.on_trial_complete(f"t{i}", {"val_top1": 50.0 + i, "time_total_s": 1.0})
    assert len(alg.searcher._ot_study.trials) == 1  # only its own trial reached TPE
    alg.save(str(tmp_path / "state.pkl"))

    again, _, _ = build()
    again.restore(str(tmp_path / "state.pkl"))
    assert again.given == {"t0": 0, "t1": 1} and len(again.searcher._ot_study.trials) == 1
    assert again.suggest("t3")["grid_set"] in ("wu2020", "long_only")  # no baseline again


def test_trial_states_and_completeness():
    """What the summary calls each trial, and when a search is complete (Tune's Result objects
    stand-ins: only .metrics, .error and .config are read)."""
    from types import SimpleNamespace as R

    from mgsearch.search import early_stopping, search_complete, summarize, trial_state

    done = R(metrics={"point": 4, "points": 4, "epoch": 5, "max_epoch": 5}, error=None, config={})
    cut = R(metrics={"point": 2, "points": 4, "epoch": 2.5, "max_epoch": 5}, error=None, config={})
    assert trial_state(done) == "ok" and trial_state(R(metrics={}, error=None)) == "not started"
    assert trial_state(R(metrics={}, error=RuntimeError())) == "error"
    assert trial_state(cut) == "interrupted at epoch 2.5/5"
    assert trial_state(cut, True) == "stopped early by ASHA at epoch 2.5/5"
    assert not search_complete([done, cut]) and search_complete([done, cut], True)
    assert summarize([done, cut], True).endswith("search complete")
    asha = make_config({**BASE, "search": {"scheduler": "asha", "time_budget_s": 100}})
    assert early_stopping(asha, 50.0) and not early_stopping(asha, 100.0)  # the budget cut it
    assert not early_stopping(make_config(BASE), 50.0)  # FIFO stops nothing
