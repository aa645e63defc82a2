"""The schedule search space (search.space): YAML syntax, points with schedule parameters, the
before-trials check and repair, and the Tune spaces built from it (no Ray is started)."""

from __future__ import annotations

import json
import math

import pytest
from torch import nn

from mgsearch import contract
from mgsearch.config import load_config
from mgsearch.contract import SearchPoint, config_hash
from mgsearch.errors import ConfigError
from mgsearch.grids import SQRT_HALF, WU2020_LONG, WU2020_SHORT
from mgsearch.schedule import build_schedule
from mgsearch.search import check_points, search_points
from mgsearch.space import Dist, corner_points, space_of

from .conftest import ENGINE_CONFIG, ROOT, make_config

BASE = {"name": "c", "solver": {"steps": [0, 8, 12], "max_epoch": 16}}


def space_config(space: dict, **search):
    return make_config({**BASE, "search": {"space": space, "repeats": 1, **search}})


# -- the YAML syntax ----------------------------------------------------------------------------


def test_a_space_reads_every_distribution_and_plain_values():
    cfg = space_config({"long_shapes": {"randint": [2, 4]}, "long_t": {"loguniform": [0.125, 0.5]},
                        "long_s": {"uniform": [0.5, 1.0]}, "long_spacing": {"choice": ["geometric", "linear"]},
                        "short_cycle": True, "grid_set": "wu2020"}, algorithm="optuna")
    space = space_of(cfg)
    assert space["long_shapes"] == Dist(randint=(2, 4))
    assert space["long_t"] == Dist(loguniform=(0.125, 0.5))
    assert space["short_cycle"] is True and space["grid_set"] == "wu2020"
    # keys the space leaves out: the search lists (one value: plain)
    assert space["epoch_factor"] == 1.5 and space["bn_base_size"] == 8
    # a Config records its space and reads it back (trial.json, resume)
    again = make_config(json.loads(json.dumps(contract.to_dict(cfg))))
    assert again.search.space == cfg.search.space


@pytest.mark.parametrize("space, needle", [
    ({"long_t": {"normal": [0, 1]}}, "unknown key 'search.space.long_t.normal'"),
    ({"long_t": {"uniform": [0.5, 0.25]}}, "search.space.long_t = {uniform: [0.5, 0.25]}: needs lo < hi"),
    ({"long_shapes": {"randint": [4, 2]}}, "lo > hi (4 > 2)"),
    ({"long_t": 1.5}, "search.space.long_t = 1.5: a factor of the default shape must lie in (0, 1]"),
    ({"short_s1": {"choice": [0.5, 0]}}, "(0, 1] (0 does not)"),
    ({"long_s": {"uniform": [0.5, 1.2]}}, "(0, 1] (both ends)"),
    ({"long_shapes": {"uniform": [2, 4]}}, "uniform draws floats but long_shapes takes int values; use randint"),
    ({"long_t": {"loguniform": [0, 0.5]}}, "loguniform needs lo > 0"),
    ({"long_t": {"uniform": [0.1, 0.2], "choice": [0.1]}}, "give exactly one distribution"),
    ({"long_spacing": "log"}, "must be geometric or linear"),
    ({"grid_set": {"choice": ["wu2020", "wu2021"]}}, "search.space.grid_set = 'wu2021': is neither"),
    ({"grid_set": {"choice": [[[0.5, 0.5], [1, 1]]]}}, "explicit factor list as a search.custom grid set"),
    ({"fine_tune_fraction": 1.0}, "must lie in (0, 1)"),
])
def test_bad_specs_are_refused_in_one_line(space, needle):
    with pytest.raises(ConfigError) as err:
        space_config(space, algorithm="random")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_grid_search_refuses_continuous_distributions_at_load():
    with pytest.raises(ConfigError, match=r"search.space.long_t = \{uniform: \[0.1, 0.5\]\}: "
                                          r"algorithm: grid runs every value"):
        space_config({"long_t": {"uniform": [0.1, 0.5]}})


def test_grid_search_runs_every_combination_and_corners_are_capped():
    cfg = space_config({"grid_set": "long_only", "long_shapes": {"randint": [2, 3]},
                        "long_spacing": {"choice": ["geometric", "linear"]}, "long_t": 0.25},
                       repeats=2)
    points = search_points(cfg)
    assert [p.seed for p in points if p.is_baseline] == [0, 1]
    grid = [(p.long_shapes, p.long_spacing, p.seed) for p in points if not p.is_baseline]
    assert grid == [(n, sp, s) for n in (2, 3) for sp in ("geometric", "linear") for s in (0, 1)]
    wide = space_config({k: {"uniform": [0.75, 1.0]} for k in ("long_t", "long_s", "short_s1", "short_s2")}
                        | {"long_shapes": {"randint": [2, 9]}, "long_cycles": {"randint": [1, 4]},
                           "epoch_factor": {"uniform": [1.0, 2.0]},
                           "fine_tune_fraction": {"uniform": [0.1, 0.2]},
                           "long_spacing": {"choice": ["geometric", "linear"]},
                           "short_cycle": {"choice": [True, False]},
                           "grid_set": {"choice": ["wu2020", "long_only", "short_only", "two_stage"]},
                           "bn_base_size": {"choice": [4, 8]}},
                        algorithm="random")
    with pytest.raises(ConfigError, match="search.space has 8192 corners"):
        search_points(wide)


# -- points ---------------------------------------------------------------------------------------


def test_a_point_with_schedule_parameters_round_trips_and_old_records_read():
    p = SearchPoint("wu2020", 2.0, 0.5, 4, 3, long_shapes=3, long_t=0.25, long_s=0.5,
                    long_spacing="linear", short_cycle=False, long_cycles=3,
                    fine_tune_fraction=0.2, lr_policy="cosine", lr_scaling="sqrt")
    assert SearchPoint.from_dict({"point": p.as_dict()}) == p
    assert SearchPoint.from_dict(json.loads(json.dumps(p.as_dict()))) == p
    row = {**p.as_dict(), "long_shapes": 3.0, "long_cycles": 3.0, "short_s1": math.nan}
    assert SearchPoint.from_dict(row) == p  # a pandas row: floats and NaN
    # a trial.json point written before the schedule parameters existed
    old = {"grid_set": "long_only", "epoch_factor": 1.5, "lr_multiplier": 1.0,
           "bn_base_size": 8, "seed": 1}
    q = SearchPoint.from_dict(old)
    assert q == SearchPoint("long_only", 1.5, 1.0, 8, 1) and q.long_shapes is None
    assert SearchPoint.from_dict(old, default=SearchPoint.of(make_config(BASE))) == q
    assert "repair" not in contract.CONFIG_KEYS and "long_t" in contract.CONFIG_KEYS
    assert SearchPoint("baseline", long_shapes=3, lr_policy="cosine").long_shapes is None  # a fixed shape


def flat(pairs) -> list[float]:
    return [f for pair in pairs for f in pair]


def test_apply_builds_the_long_cycle_the_parameters_describe():
    cfg = make_config(BASE)
    geo = SearchPoint("wu2020", 1.5, long_shapes=3, long_t=0.25, long_s=0.5).apply(cfg)
    assert geo.multigrid.grid_set == "custom"
    assert flat(geo.multigrid.long_cycle_factors) == pytest.approx(
        flat(((0.25, 0.5), (0.5, SQRT_HALF), (1.0, 1.0))))
    assert geo.multigrid.short_cycle_factors == WU2020_SHORT  # wu2020's, kept
    lin = SearchPoint("long_only", 1.5, long_shapes=4, long_t=0.25, long_s=0.25,
                      long_spacing="linear").apply(cfg)
    assert flat(lin.multigrid.long_cycle_factors) == pytest.approx(
        flat(((0.25, 0.25), (0.5, 0.5), (0.75, 0.75), (1.0, 1.0))))
    assert lin.multigrid.short_cycle_factors is None  # long_only has none
    off = SearchPoint("wu2020", 1.5, short_cycle=False).apply(cfg)
    assert off.multigrid.long_cycle_factors == WU2020_LONG and off.multigrid.short_cycle_factors is None
    on = SearchPoint("long_only", 1.5, short_cycle=True, short_s2=0.75).apply(cfg)
    assert on.multigrid.short_cycle_factors == (0.5, 0.75)
    # a point that is a named set trains it by name, as before
    named = SearchPoint("wu2020", 1.5, long_cycles=2).apply(cfg)
    assert named.multigrid.grid_set == "wu2020" and named.multigrid.long_cycle_factors is None
    with pytest.raises(ConfigError, match="long_t, long_s and long_spacing need long_shapes"):
        SearchPoint("wu2020", long_t=0.25).apply(cfg)


def test_k_long_cycles_repeat_the_long_cycle_k_times():
    cfg = make_config(BASE)
    for k in (1, 3, 5):
        sched = build_schedule(SearchPoint("long_only", 1.5, long_cycles=k).apply(cfg), clips=2000)
        cycles = [[st.shape[1:] for st in sched.stages if st.phase == "train" and st.lr_step == i]
                  for i in range(k)]
        assert all(c == cycles[0] and len(c) == len(WU2020_LONG) for c in cycles)
        assert {st.lr_step for st in sched.stages if st.phase == "fine_tune"} == {k}
    # the solver's LR recipe kept: steps [0, 8, 12] is n = 2 steps (gamma 0.1) before
    # fine-tuning; cycle i of k runs at step i * 2 // k's relative LR
    sched = build_schedule(SearchPoint("long_only", 1.5, lr_scaling="none", long_cycles=4)
                           .apply(cfg), clips=2000)
    lrs = [next(st.lr_scale for st in sched.stages if st.lr_step == i) for i in range(4)]
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1])
    assert sched.stages[-1].lr_scale == pytest.approx(0.01)  # fine-tuning's second half: step n
    even = make_config({**BASE, "solver": {"steps": [0, 6, 12], "max_epoch": 16}})
    assert build_schedule(SearchPoint("long_only", 1.5, long_cycles=2).apply(even), clips=2000) == (
        build_schedule(SearchPoint("long_only", 1.5).apply(even), clips=2000))  # k = n


def test_the_fine_tuning_fraction_is_its_share_of_the_epochs():
    cfg = make_config(BASE)
    for f in (0.1, 0.4):
        sched = build_schedule(SearchPoint("wu2020", 1.5, fine_tune_fraction=f).apply(cfg), clips=2000)
        ft = sum(st.epochs for st in sched.stages if st.phase == "fine_tune")
        assert ft / sched.max_epoch == pytest.approx(f, abs=0.01)
    # null is the paper's: the same schedule as a config without the key
    assert build_schedule(SearchPoint("wu2020", 1.5).apply(cfg), clips=2000) == build_schedule(
        make_config({**BASE, "multigrid": {"epoch_factor": 1.5}}), clips=2000)


def test_new_defaults_keep_old_hashes():
    """Hashes computed before long_cycles, fine_tune_fraction, search.space and search.repair
    existed (commit 5fe0131): runs started then still resume."""
    assert config_hash(make_config(BASE)) == "54fe85b18815c3f0"
    assert config_hash(load_config(ENGINE_CONFIG)) == "f3e83ae1cac0dd13"  # a frozen fixture
    assert config_hash(make_config({**BASE, "multigrid": {"fine_tune_fraction": 0.2}})) != (
        config_hash(make_config(BASE)))


# -- before any trial -----------------------------------------------------------------------------


def coarse_refusing_net(num_classes: int) -> nn.Module:
    """A net that takes >= 4 frames and >= 16 px only (an unpadded 4 x 16 x 16 kernel)."""
    return nn.Sequential(nn.Conv3d(3, 4, (4, 16, 16)), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                         nn.Linear(4, num_classes))


NET = {"name": "tests.test_schedule_space:coarse_refusing_net"}
SMALL = {**BASE, "model": NET, "shape": {"frames": 16, "crop": 64}}


def test_a_too_coarse_point_is_refused_before_trials_naming_its_values():
    cfg = make_config({**SMALL, "search": {"repeats": 1, "algorithm": "random", "space": {
        "grid_set": "long_only", "long_shapes": 3, "long_t": {"uniform": [0.125, 0.5]}}}})
    points = search_points(cfg)
    assert [p.long_t for p in points if not p.is_baseline] == [0.125, 0.5]  # the corners
    with pytest.raises(ConfigError) as err:
        check_points(cfg, points, clips=2000)
    text = str(err.value)
    assert "'long_t': 0.125" in text and "'long_shapes': 3" in text and "\n" not in text
    assert "cannot take 2 frames x" in text and "search.repair: true" in text


def test_repair_clamps_the_coarsest_factors_and_records_it():
    cfg = make_config({**SMALL, "search": {"repeats": 1, "repair": True, "space": {
        "grid_set": "long_only", "long_shapes": 3, "long_t": 0.125, "long_s": 0.125}}})
    checked = check_points(cfg, search_points(cfg), clips=2000)
    p = SearchPoint.from_dict(checked[-1])
    # the 16 x 64 px default: 4 frames are 0.25 of it, 16 px 0.25
    assert (p.long_t, p.long_s) == (0.25, 0.25)
    assert p.repair == ("long_t 0.125 -> 0.25, long_s 0.125 -> 0.25 "
                        "(tests.test_schedule_space:coarse_refusing_net takes >= 4 frames, >= 16 px)")
    trial_cfg = p.apply(cfg)
    _, pred = contract.predict(trial_cfg, 2000)
    record = contract.trial_record(p, trial_cfg, pred)
    assert record["point"]["repair"] == p.repair  # trial.json says what was changed
    assert trial_cfg.multigrid.long_cycle_factors[0] == (0.25, 0.25)


def test_the_example_space_checks_before_trials():
    cfg = load_config(ROOT / "experiments" / "schedule_space.yaml")
    assert cfg.search.algorithm == "optuna" and cfg.search.space is not None
    corners = corner_points(cfg)
    assert len(corners) > 8
    checked = check_points(cfg, search_points(cfg), clips=4000)
    assert all(p["predicted_speedup"] > 0 for p in checked)


# -- the Tune spaces --------------------------------------------------------------------------------


def test_optuna_and_random_spaces_are_built_from_the_yaml():
    from ray.tune.search.sample import Categorical, Float, Integer, LogUniform

    from mgsearch.search import _search_alg

    space = {"grid_set": {"choice": ["wu2020", "long_only"]}, "long_shapes": {"randint": [2, 4]},
             "long_t": {"loguniform": [0.125, 0.5]}, "long_s": {"uniform": [0.75, 1.0]},
             "short_cycle": True, "fine_tune_fraction": {"uniform": [0.05, 0.3]}}
    cfg = space_config(space, algorithm="optuna", repeats=2)
    points = check_points(cfg, search_points(cfg), clips=2000)
    alg, flat, n = _search_alg(cfg, points)
    assert isinstance(flat["long_t"], Float) and isinstance(flat["long_t"].get_sampler(), LogUniform)
    assert (flat["long_t"].lower, flat["long_t"].upper) == (0.125, 0.5)
    assert isinstance(flat["long_shapes"], Integer)
    assert (flat["long_shapes"].lower, flat["long_shapes"].upper) == (2, 5)  # 4 included
    assert isinstance(flat["grid_set"], Categorical) and flat["grid_set"].categories == ["wu2020", "long_only"]
    assert flat["short_cycle"].categories == [True]  # Optuna drops plain values: a one-value choice
    assert flat["seed"].categories == [0, 1]
    assert n == cfg.search.num_samples + 2  # the two baseline seeds first
    assert [p["grid_set"] for p in alg.reference] == ["baseline", "baseline"]  # run first
    assert alg.reference[0]["long_shapes"] == 2  # every key set; the baseline ignores it

    rnd = space_config(space, algorithm="random")
    alg, nested, _ = _search_alg(rnd, check_points(rnd, search_points(rnd), clips=2000))
    point = nested["point"]
    assert point["short_cycle"] is True and isinstance(point["long_s"], Float)
    assert set(contract.POINT_KEYS) <= set(point)  # a baseline point can be pre-set
    from ray.tune.search.variant_generator import _get_preset_variants

    preset = alg._points_to_evaluate[0]
    _, resolved = next(iter(_get_preset_variants({"config": nested}, preset)))
    assert SearchPoint.from_dict(resolved["config"]) == SearchPoint.from_dict(preset)  # the baseline
    # the baseline's configs hold every key of Optuna's space (Tune would pass a key a config
    # lacks to the trial as a search domain)
    assert all(set(p) == set(flat) for p in _search_alg(cfg, points)[0].reference)
