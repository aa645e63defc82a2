"""The Python API (`mgsearch.__all__`): every name resolves, `import mgsearch` stays light, and a
Tune search written by hand from `trainable` and `search_space` runs on real Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mgsearch

from .conftest import ROOT
from .test_imports_ray import MODEL, search_cfg


def test_every_exported_name_resolves():
    for name in mgsearch.__all__:
        assert getattr(mgsearch, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'run_serach'"):
        mgsearch.run_serach  # noqa: B018


def test_import_mgsearch_loads_neither_torch_nor_ray():
    code = "import sys, mgsearch; print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    assert out.strip() == "[]"


def test_search_space_holds_every_point_baseline_first(tiny_dataset, tmp_path):
    cfg = search_cfg(tiny_dataset, tmp_path, MODEL, repeats=2)
    space = mgsearch.search_space(cfg, clips=52)
    points = space["point"]["grid_search"]
    assert [(p["grid_set"], p["seed"]) for p in points] == [
        ("baseline", 0), ("baseline", 1), ("short_only", 0), ("short_only", 1)]
    assert all(p["train_clips"] == 52 and p["predicted_iterations"] > 0 for p in points)
    assert not (tmp_path / "results").exists()  # planning writes nothing


@pytest.mark.ray
@pytest.mark.slow
def test_a_tuner_built_by_hand_trains_the_points_of_its_own_space(ray_local, tiny_dataset,
                                                                  tmp_path):
    from ray import tune

    cfg = search_cfg(tiny_dataset, tmp_path, MODEL)
    tuner = tune.Tuner(
        mgsearch.trainable(cfg),
        # a space of the user's own: flat keys, the rest from cfg
        param_space={"grid_set": tune.grid_search(["baseline", "short_only"]), "seed": 5},
        tune_config=tune.TuneConfig(metric=mgsearch.METRIC, mode=mgsearch.MODE,
                                    max_concurrent_trials=1),
        run_config=tune.RunConfig(name="byhand", storage_path=cfg.train.storage_path))
    grid = tuner.fit()
    assert len(grid) == 2 and not grid.errors
    runs = sorted(Path(cfg.train.storage_path, "byhand", "train_runs").glob("train-*"))
    assert len(runs) == 2
    recorded = sorted(json.loads((r / "trial.json").read_text())["point"]["grid_set"]
                      for r in runs)
    assert recorded == ["baseline", "short_only"]
    a = mgsearch.analyze(grid.experiment_path)
    assert sorted(a.trials["grid_set"]) == ["baseline", "short_only"]
    assert set(a.trials["seed"]) == {5}
