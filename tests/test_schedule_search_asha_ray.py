"""A single-objective Optuna search over the schedule space under ASHA, end to end on real
MP4s: the configuration Tune serves with one metric (Optuna's single-objective searcher reads
every intermediate report; reports between evaluations once failed the whole search)."""

from __future__ import annotations

import json

import pytest
import yaml

from .test_schedule_search_ray import write_space_config
from .test_search_ray import kill_session, mgsearch

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_single_objective_optuna_with_asha_runs_the_baseline_first(tmp_path, tiny_dataset):
    path = write_space_config(tmp_path, tiny_dataset)
    cfg = yaml.safe_load(path.read_text())
    cfg["search"].update(multi_objective=False, scheduler="asha", grace_period_s=5.0)
    path.write_text(yaml.safe_dump(cfg))
    proc = mgsearch("search", str(path))
    try:
        out = proc.communicate(timeout=600)[0]
    finally:
        kill_session(proc)
    assert proc.returncode == 0, out[-3000:]
    assert "search complete" in out
    exp = tmp_path / "results" / "tinyspace"
    records = {p.parent.name: json.loads(p.read_text())
               for p in (exp / "train_runs").glob("train-*/trial.json")}
    starts = {name: (exp / "train_runs" / name / "trial.json").stat().st_mtime
              for name in records}
    order = [records[n]["point"]["grid_set"] for n in sorted(starts, key=starts.get)]
    assert order == ["baseline", "long_only", "long_only"]  # the reference first, then TPE
    assert (exp / "answer.md").read_text().startswith(("**Answer", "**Provisional"))
