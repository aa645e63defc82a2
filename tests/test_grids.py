"""Grid sets: named sets, custom factors, and the shapes they may give."""

from __future__ import annotations

import math

import pytest

from mgsearch.errors import ConfigError
from mgsearch.grids import GRID_SETS
from mgsearch.schedule import build_schedule

from .conftest import make_config


def test_named_sets():
    assert GRID_SETS["wu2020"].long_cycle[0] == (0.25, math.sqrt(0.5))
    assert GRID_SETS["wu2020"].short_cycle == (0.5, math.sqrt(0.5))
    assert GRID_SETS["long_only"].short_cycle is None
    assert GRID_SETS["short_only"].long_cycle is None
    assert GRID_SETS["baseline"].is_baseline


def test_custom_factors_are_used():
    cfg = make_config({"multigrid": {"grid_set": "custom", "long_cycle_factors": [[0.5, 0.5], [1, 1]]}})
    sched = build_schedule(cfg, clips=4000)
    assert sched.stages[0].shape == (8, 8, 32)  # B=8,T=16,S=64 defaults: 16*64^2/(8*32^2)=8


@pytest.mark.parametrize("mg, needle", [
    ({"grid_set": "custom", "long_cycle_factors": [[1.5, 1.0]]}, "must lie in (0, 1]"),
    ({"grid_set": "custom", "short_cycle_factors": [0.5, 0]}, "must lie in (0, 1]"),
    ({"grid_set": "custom"}, "needs long_cycle_factors and/or short_cycle_factors"),
    ({"grid_set": "wu2020", "short_cycle_factors": [0.5, 0.7]}, "set grid_set: custom"),
])
def test_bad_grid_sets(mg, needle):
    with pytest.raises(ConfigError) as err:
        make_config({"multigrid": mg})
    assert needle in str(err.value)


def test_shapes_that_round_below_one_frame_or_8_px_are_refused():
    with pytest.raises(ConfigError, match=r"long_cycle_factors\[0\] = \[0\.01, 1\.0\] gives 0 frames"):
        build_schedule(make_config({"multigrid": {"grid_set": "custom",
                                                  "long_cycle_factors": [[0.01, 1], [1, 1]]}}),
                       clips=4000)
    with pytest.raises(ConfigError, match="gives 16 frames x 6 px"):
        build_schedule(make_config({"multigrid": {"grid_set": "custom",
                                                  "long_cycle_factors": [[1, 0.1], [1, 1]]}}),
                       clips=4000)


def test_short_cycle_crop_larger_than_long_cycle_crop_is_refused():
    cfg = make_config({"multigrid": {"grid_set": "custom", "long_cycle_factors": [[0.5, 0.25], [1, 1]],
                                     "short_cycle_factors": [0.5, 0.9]}})
    with pytest.raises(ConfigError, match=r"short_cycle_factors\[0\] = 0\.5: its 32-px crop is larger"):
        build_schedule(cfg, clips=4000)
