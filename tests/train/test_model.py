"""mgsearch.train.model: TrainModel's step, LR and sub-batch BN splits, state, FLOP counts, and
build_optimizer, on the real small network with random clips (CPU, fp32)."""

from __future__ import annotations

import copy

import pytest
import torch

from mgsearch import models
from mgsearch.contract import baseline_of
from mgsearch.models.subbn import SubBatchNorm3d
from mgsearch.schedule import build_schedule
from mgsearch.train.model import TrainModel, build_optimizer, training_step

from ..conftest import make_config

B, T, S, CLASSES = 4, 4, 32, 3


def _cfg(tmp_path, **solver):
    return make_config({
        "shape": {"batch": B, "frames": T, "crop": S, "sampling_rate": 1},
        "solver": {"base_lr": 0.01, "steps": [0], "max_epoch": 1, "optimizer": "adamw",
                   "weight_decay": 0.0, **solver},
        "multigrid": {"grid_set": "baseline"},
        "train": {"workers": 0, "storage_path": str(tmp_path), "precision": "fp32",
                  "channels_last": False},
    })


def _model(tmp_path, seed: int = 0, **solver) -> TrainModel:
    cfg = _cfg(tmp_path, **solver)
    torch.manual_seed(seed)
    return TrainModel(cfg, build_schedule(baseline_of(cfg), clips=16), CLASSES,
                      torch.device("cpu"), distributed=False)


def _batch(seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 3, T, S, S, generator=g), torch.randint(0, CLASSES, (B,), generator=g)


def _params(net: TrainModel) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.module.parameters()]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bit-identical reruns of a step
    yield
    torch.set_num_threads(threads)


def test_a_step_changes_the_parameters_and_returns_the_float_loss(tmp_path):
    net = _model(tmp_path)
    net.train()
    before = _params(net)
    clips, labels = _batch(1)
    loss = net.step(clips, labels, lr=0.01, bn_split=1)
    assert type(loss) is float
    # A fresh network's loss on random clips: near ln(classes), certainly finite and positive.
    assert 0.0 < loss < 10.0
    changed = [not torch.equal(a, b) for a, b in zip(before, _params(net))]
    assert all(changed), f"{changed.count(False)} of {len(changed)} parameters did not move"


def test_training_step_loss_is_the_batch_cross_entropy(tmp_path):
    net = _model(tmp_path)
    net.train()
    clips, labels = _batch(2)
    models.set_bn_splits(net.module, 1)
    with torch.no_grad():
        expected = float(torch.nn.functional.cross_entropy(net.module(clips), labels))
    loss = training_step(net.net, net.optimizer, None, clips, labels, torch.device("cpu"), "fp32")
    assert loss == pytest.approx(expected, rel=1e-5)


def test_the_lr_given_to_step_is_what_the_optimizer_groups_hold(tmp_path):
    net = _model(tmp_path)
    net.train()
    assert [g["lr"] for g in net.optimizer.param_groups] == [0.01]  # solver.base_lr
    net.step(*_batch(1), lr=0.00123, bn_split=1)
    assert [g["lr"] for g in net.optimizer.param_groups] == [0.00123]
    net.step(*_batch(2), lr=0.5, bn_split=1)
    assert all(g["lr"] == 0.5 for g in net.optimizer.param_groups)


def test_bn_split_reaches_every_sub_batch_norm_layer(tmp_path):
    net = _model(tmp_path)
    layers = [m for m in net.module.modules() if isinstance(m, SubBatchNorm3d)]
    assert layers, "convert_to_subbn left no SubBatchNorm3d"
    assert not [m for m in net.module.modules()
                if isinstance(m, torch.nn.BatchNorm3d) and not isinstance(m, SubBatchNorm3d)]
    net.train()
    net.step(*_batch(1), lr=0.01, bn_split=2)
    assert {m.num_splits for m in layers} == {2}
    net.step(*_batch(2), lr=0.01, bn_split=4)
    assert {m.num_splits for m in layers} == {4}
    net.eval()
    with torch.no_grad():
        net.forward(_batch(3)[0])  # evaluation forwards use one group
    assert {m.num_splits for m in layers} == {1}


def test_state_dict_is_detached_on_the_cpu(tmp_path):
    net = _model(tmp_path)
    state = net.state_dict()
    assert list(state) == list(net.module.state_dict())
    assert all(v.device.type == "cpu" and not v.requires_grad for v in state.values())


@pytest.mark.parametrize("solver", [{"optimizer": "adamw"},
                                    {"optimizer": "sgd", "momentum": 0.9, "nesterov": True}])
def test_load_state_continues_with_the_same_next_step(tmp_path, solver):
    a = _model(tmp_path, seed=0, **solver)
    a.train()
    a.step(*_batch(1), lr=0.01, bn_split=2)
    # On the CPU, state_dict() hands out the live tensors (.cpu() copies nothing): snapshot them
    # as torch.save would before the next step moves them.
    model_state = {k: v.clone() for k, v in a.state_dict().items()}
    optimizer_state = copy.deepcopy(a.optimizer.state_dict())
    a.step(*_batch(2), lr=0.01, bn_split=2)
    expected = _params(a)

    b = _model(tmp_path, seed=123, **solver)  # another initialization, then the saved state
    assert not all(torch.equal(x, y) for x, y in zip(_params(b), expected))
    b.load_state(model_state, optimizer_state)
    assert b.optimizer.state_dict()["state"].keys() == optimizer_state["state"].keys()
    b.train()
    b.step(*_batch(2), lr=0.01, bn_split=2)
    for x, y in zip(_params(b), expected):
        assert torch.equal(x, y)


def test_build_optimizer_follows_the_solver_config(tmp_path):
    params = [torch.nn.Parameter(torch.zeros(2))]
    adamw = build_optimizer(_cfg(tmp_path, optimizer="adamw", base_lr=0.003,
                                 weight_decay=0.05).solver, params)
    assert type(adamw) is torch.optim.AdamW
    assert (adamw.defaults["lr"], adamw.defaults["weight_decay"]) == (0.003, 0.05)

    sgd = build_optimizer(_cfg(tmp_path, optimizer="sgd", base_lr=0.1, momentum=0.8,
                               nesterov=True, weight_decay=1e-4).solver, params)
    assert type(sgd) is torch.optim.SGD
    d = sgd.defaults
    assert (d["lr"], d["momentum"], d["nesterov"], d["weight_decay"]) == (0.1, 0.8, True, 1e-4)

    plain = build_optimizer(_cfg(tmp_path, optimizer="sgd", momentum=0.9,
                                 nesterov=False).solver, params)
    assert (plain.defaults["momentum"], plain.defaults["nesterov"]) == (0.9, False)
    # Nesterov needs momentum: with momentum 0 it is switched off rather than refused by torch.
    still = build_optimizer(_cfg(tmp_path, optimizer="sgd", momentum=0.0,
                                 nesterov=True).solver, params)
    assert (still.defaults["momentum"], still.defaults["nesterov"]) == (0.0, False)


def test_train_gflops_is_three_forwards_and_cached_per_shape(tmp_path, monkeypatch):
    net = _model(tmp_path)
    forward = models.gflops_per_clip(net.module, T, S)
    assert forward > 0
    assert net.train_gflops(T, S) == 3.0 * forward
    smaller = net.train_gflops(2, 16)
    assert smaller == 3.0 * models.gflops_per_clip(net.module, 2, 16) and smaller < 3.0 * forward

    # Our caching logic: count the FLOP-counter calls (a wrapper around the real one).
    calls = []
    real = models.gflops_per_clip

    def counting(module, t, s):
        calls.append((t, s))
        return real(module, t, s)

    monkeypatch.setattr(models, "gflops_per_clip", counting)
    assert net.train_gflops(T, S) == 3.0 * forward and net.train_gflops(2, 16) == smaller
    assert calls == []  # both shapes were counted before
    net.train_gflops(8, 32)
    net.train_gflops(8, 32)
    assert calls == [(8, 32)]
