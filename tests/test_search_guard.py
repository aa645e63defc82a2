"""What a search driver refuses before Ray starts (our own logic, real files and processes; no
Ray): a second driver on a running experiment, and a resume whose config would mix runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from mgsearch.configtypes import to_dict
from mgsearch.errors import ConfigError
from mgsearch.search import SEARCH_CONFIG, check_resumed_config, experiment_path

from .conftest import make_config
from .test_lock import HOLD

BASE = {"name": "guarded", "solver": {"steps": [0, 8, 12], "max_epoch": 16}}


def test_a_resume_that_would_mix_runs_is_refused_naming_the_keys(tmp_path):
    cfg = make_config({**BASE, "train": {"storage_path": str(tmp_path)}})
    exp = tmp_path / "guarded"
    exp.mkdir()
    (exp / SEARCH_CONFIG).write_text(json.dumps(to_dict(cfg)))
    check_resumed_config(cfg, str(exp))  # the same config: fine
    check_resumed_config(make_config({**BASE, "train": {"storage_path": str(tmp_path)},
                                      "search": {"max_concurrent_trials": 3}}), str(exp))
    changed = make_config({**BASE, "solver": {**BASE["solver"], "base_lr": 0.01},
                           "train": {"storage_path": str(tmp_path), "seed": 4}})
    with pytest.raises(ConfigError) as err:
        check_resumed_config(changed, str(exp))
    message = str(err.value)
    assert "solver.base_lr, train.seed differ" in message and "\n" not in message
    assert "--set search.name=<new name>" in message


def test_a_second_driver_on_a_running_experiment_exits_2(tmp_path, capsys):
    from mgsearch.cli import main

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({**BASE, "train": {"storage_path": str(tmp_path / "r")}}))
    exp = experiment_path(make_config({**BASE, "train": {"storage_path": str(tmp_path / "r")}}))
    first = subprocess.Popen([sys.executable, "-c", HOLD, exp], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        assert main(["search", str(path), "--resume"]) == 2
    finally:
        first.kill()
        first.wait()
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"mgsearch: error: {path}: experiment {exp} is being run by "
                              f"pid {first.pid} on host ")
    assert sorted(p.name for p in (tmp_path / "r" / "guarded").iterdir()) == ["driver.lock"]
