"""mgsearch.train.checkpoint and the config hash (mgsearch.contract): the refusal and the save/load round trip."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from mgsearch.clock import Clock
from mgsearch.contract import config_hash
from mgsearch.errors import ConfigError
from mgsearch.train import checkpoint as ckpt

from ..conftest import make_config

BASE = {"name": "a", "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.02, "steps": [0], "max_epoch": 2},
        "train": {"storage_path": "/tmp/results-a"}}


def _hash(*overrides: str) -> str:
    return config_hash(make_config(BASE, *overrides))


def _save(folder, cfg_hash: str):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    folder = ckpt.save(folder, model_state=net.state_dict(), optimizer_state=opt.state_dict(),
                       iteration=7, point=2, clock_state=Clock(train_s=1.5, eval_s=0.5).state_dict(),
                       counters={"clips": 28, "gflops": 3.25}, cfg_hash=cfg_hash)
    return folder, net, opt


def test_hash_is_stable_and_short():
    assert _hash() == _hash()
    assert len(_hash()) == 16 and int(_hash(), 16) >= 0


def test_hash_excludes_the_name_and_the_storage_path():
    assert _hash("name=b") == _hash()
    assert _hash("train.storage_path=/elsewhere") == _hash()


def test_hash_includes_what_decides_the_trajectory():
    base = _hash()
    assert _hash("solver.base_lr=0.05") != base
    assert _hash("shape.batch=8") != base
    assert _hash("train.seed=1") != base
    assert _hash("multigrid.grid_set=baseline") != base  # the baseline is its grid set


def test_a_checkpoint_is_refused_under_a_changed_config(tmp_path):
    written = _hash()
    folder, _, _ = _save(tmp_path / "ck", written)
    other = _hash("solver.base_lr=0.05")
    with pytest.raises(ConfigError) as err:
        ckpt.load(folder, other)
    message = str(err.value)
    assert "\n" not in message
    assert message == (f"checkpoint {folder} was written for config hash {written}, this run's "
                       f"is {other}; resume with the config that wrote it or start a new run "
                       f"name")
    with pytest.raises(ConfigError, match="config hash"):
        ckpt.load(folder, _hash("multigrid.grid_set=baseline"))  # baseline instead of multigrid


def test_accepted_under_the_same_config_renamed(tmp_path):
    folder, _, _ = _save(tmp_path / "ck", _hash())
    state = ckpt.load(folder, _hash("name=renamed", "train.storage_path=/moved"))
    assert state["iteration"] == 7 and state["config_hash"] == _hash()


def test_round_trip_of_model_optimizer_clock_counters(tmp_path):
    folder, net, opt = _save(tmp_path / "ck", "h" * 16)
    state = ckpt.load(folder, "h" * 16)
    assert set(state) == {"model", "optimizer", "iteration", "point", "clock", "counters", "rng",
                          "config_hash"}
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(state["model"])
    for a, b in zip(fresh.parameters(), net.parameters()):
        assert torch.equal(a, b)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    fresh_opt.load_state_dict(state["optimizer"])
    for p, q in zip(fresh.parameters(), net.parameters()):
        assert torch.equal(fresh_opt.state[p]["momentum_buffer"], opt.state[q]["momentum_buffer"])
    assert (state["iteration"], state["point"]) == (7, 2)
    clock = Clock()
    clock.load_state_dict(state["clock"])
    assert clock.total == 2.0 and clock.train_s == 1.5
    assert state["counters"] == {"clips": 28, "gflops": 3.25}
    meta = json.loads((folder / ckpt.META).read_text())
    assert meta == {"iteration": 7, "point": 2, "config_hash": "h" * 16,
                    "clock": clock.state_dict(), "counters": {"clips": 28, "gflops": 3.25},
                    "score": None}  # no evaluation at this point


def test_rng_state_round_trip_replays_the_same_draws(tmp_path):
    torch.manual_seed(3)
    random.seed(3)
    np.random.seed(3)
    folder, _, _ = _save(tmp_path / "ck", "h" * 16)
    expected = (torch.rand(4), random.random(), np.random.rand(3))
    # Disturb every generator, then restore the saved states.
    torch.manual_seed(99)
    random.seed(99)
    np.random.seed(99)
    ckpt.set_rng_state(ckpt.load(folder, "h" * 16)["rng"])
    got = (torch.rand(4), random.random(), np.random.rand(3))
    assert torch.equal(got[0], expected[0])
    assert got[1] == expected[1]
    np.testing.assert_array_equal(got[2], expected[2])


def test_the_newest_readable_checkpoint_of_a_run_folder_is_found(tmp_path):
    written = _hash()
    for name in ("checkpoint_a", "checkpoint_b"):
        _save(tmp_path / "run" / name, written)
    meta = json.loads((tmp_path / "run" / "checkpoint_b" / ckpt.META).read_text())
    (tmp_path / "run" / "checkpoint_b" / ckpt.META).write_text(
        json.dumps({**meta, "iteration": 9}))
    assert ckpt.saved_in(tmp_path / "run") == [tmp_path / "run" / "checkpoint_b",
                                              tmp_path / "run" / "checkpoint_a"]
    folder, state = ckpt.load_latest(tmp_path / "run", written)
    assert folder.name == "checkpoint_b" and state["iteration"] == 7  # state.pt's own
    # A state.pt cut short by a kill: the one before is taken; a half-written meta is skipped.
    (folder / ckpt.STATE).write_bytes((folder / ckpt.STATE).read_bytes()[:100])
    _save(tmp_path / "run" / "checkpoint_c", written)
    (tmp_path / "run" / "checkpoint_c" / ckpt.META).write_text('{"iterat')
    assert ckpt.load_latest(tmp_path / "run", written)[0].name == "checkpoint_a"
    with pytest.raises(ConfigError, match="config hash"):
        ckpt.load_latest(tmp_path / "run", _hash("solver.base_lr=0.05"))
    assert ckpt.load_latest(tmp_path / "empty", written) is None


def test_a_run_keeps_the_newest_checkpoints_and_the_best(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    common = dict(model_state=net.state_dict(), optimizer_state=opt.state_dict(),
                  clock_state=Clock().state_dict(), counters={}, cfg_hash="h" * 16)
    for it, score in [(10, 50.0), (20, 80.0), (30, None), (40, 60.0), (50, 70.0)]:
        ckpt.save_into_run(tmp_path, keep=2, iteration=it, point=it // 10, score=score,
                           **common)
    kept = sorted(p.name for p in tmp_path.iterdir())
    # the newest two (40, 50) and the best val_top1 (80.0 at 20); no temporary folder left
    assert kept == ["checkpoint_00000020", "checkpoint_00000040", "checkpoint_00000050"]
    assert ckpt.load_latest(tmp_path, "h" * 16)[1]["iteration"] == 50
