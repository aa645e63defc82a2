"""mgsearch.contract: the search point, the prediction, the report schema and the naming rules
(our own logic; no Ray)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mgsearch import contract
from mgsearch.contract import SearchPoint, baseline_of, config_hash, predict, run_name
from mgsearch.cost import compare
from mgsearch.errors import ConfigError
from mgsearch.schedule import build_schedule

from .conftest import ROOT, make_config

BASE = {"name": "c", "solver": {"steps": [0, 8, 12], "max_epoch": 16}}


def test_a_point_reads_nested_flat_and_table_forms():
    p = SearchPoint("wu2020", 2.0, 0.5, 4, 3)
    assert SearchPoint.from_dict({"point": p.as_dict()}) == p  # grid / random searches
    assert SearchPoint.from_dict(p.as_dict()) == p  # Optuna's flat config
    row = {**p.as_dict(), "seed": 3.0, "bn_base_size": 4.0, "predicted_speedup": 2.5}
    assert SearchPoint.from_dict(row) == p  # a pandas row: floats, extra columns


def test_a_partial_point_takes_the_rest_from_the_default_and_refuses_typos():
    default = SearchPoint.of(make_config(BASE))
    p = SearchPoint.from_dict({"grid_set": "long_only", "seed": 2}, default=default)
    assert p == SearchPoint("long_only", default.epoch_factor, 1.0, default.bn_base_size, 2)
    with pytest.raises(ConfigError, match=r"\['grid_sets'\] are not search point keys"):
        SearchPoint.from_dict({"grid_sets": "wu2020"}, default=default)
    with pytest.raises(ConfigError, match="epoch_factor, lr_multiplier, bn_base_size missing"):
        SearchPoint.from_dict({"grid_set": "wu2020", "seed": 0})


def test_the_baseline_is_a_grid_set():
    cfg = make_config(BASE)
    base = baseline_of(cfg)
    assert base.multigrid.grid_set == contract.BASELINE and contract.is_baseline(base)
    assert build_schedule(base, clips=1000).kind == "baseline"
    assert SearchPoint.of(base).is_baseline
    # multigrid.lr_policy is multigrid's: the baseline keeps solver.policy
    cos = make_config({**BASE, "solver": {**BASE["solver"], "policy": "cosine"},
                       "multigrid": {"lr_policy": "steps"}})
    lrs = [build_schedule(baseline_of(cos), clips=1000).lr_at_iter(i) for i in (0, 500, 1500)]
    assert lrs[0] > lrs[1] > lrs[2]  # cosine decays inside the first step; steps would not


def test_predict_is_the_cost_model_against_the_baseline():
    cfg = make_config(BASE)
    schedule, pred = predict(cfg, clips=1000)
    cmp = compare(build_schedule(cfg, clips=1000), build_schedule(baseline_of(cfg), clips=1000))
    assert schedule == build_schedule(cfg, clips=1000)
    assert (pred.iterations, pred.compute, pred.speedup, pred.baseline_compute) == (
        cmp.cost.iterations, cmp.cost.compute, cmp.speedup_compute, cmp.baseline.compute)
    assert pred.speedup > 2 and pred.train_clips == 1000
    assert tuple(pred.as_dict()) == contract.PREDICTED_KEYS
    assert predict(baseline_of(cfg), 1000)[1].speedup == pytest.approx(1.0)


def test_run_names_follow_the_config():
    cfg = make_config(BASE)
    name = run_name(cfg)
    assert re.fullmatch(r"c-wu2020-s0-[0-9a-f]{8}", name) and name == run_name(make_config(BASE))
    assert run_name(make_config(BASE, "train.storage_path=/elsewhere")) == name  # same run
    assert run_name(make_config(BASE, "solver.base_lr=0.5")) != name  # another trajectory
    assert run_name(baseline_of(cfg)).startswith("c-baseline-s0-")
    assert config_hash(baseline_of(cfg)) != config_hash(cfg)
    assert contract.trial_id_of_run(contract.trial_run_name("ab12c_00003")) == "ab12c_00003"
    assert contract.trial_id_of_run(name) is None


@pytest.mark.parametrize("bad", ["../escaped", "/abs/path", "a/b", "", ".hidden", "a\\b"])
def test_names_are_names_not_paths(bad):
    with pytest.raises(ConfigError) as err:
        contract.check_name(bad, "--name")
    assert "is not a name" in str(err.value) and "\n" not in str(err.value)


def test_a_report_key_outside_the_schema_is_refused():
    assert contract.check_report({"val_top1": 1.0, "grid_set": "x", "predicted_speedup": 2.0})
    with pytest.raises(KeyError, match="val_top_1"):
        contract.check_report({"val_top_1": 1.0})


def test_a_recorded_trial_rebuilds_its_schedule():
    cfg = SearchPoint("long_only", 2.0, 0.5, 4, 1).apply(make_config(BASE))
    schedule, pred = predict(cfg, clips=800)
    import json

    record = json.loads(json.dumps(contract.trial_record(SearchPoint.of(cfg), cfg, pred)))
    assert contract.schedule_from_record(record) == schedule
    assert contract.schedule_from_record({"config": {"shape": {"batch": -1}}}) is None


def test_file_names_and_run_rules_are_written_once():
    """Everything else imports them from mgsearch.contract (issue: keys kept in copies)."""
    literals = ['"metrics.jsonl"', '"trial.json"', '"train_runs"', '"train-"', '"val_top1", "max"']
    for path in sorted((ROOT / "mgsearch").rglob("*.py")):
        if path.name == "contract.py":
            continue
        text = path.read_text()
        for lit in literals:
            assert lit not in text, f"{path.relative_to(ROOT)} spells {lit} itself"
    text = Path(contract.__file__).read_text()
    assert all(text.count(lit) == 1 for lit in literals)
