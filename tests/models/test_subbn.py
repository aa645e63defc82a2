"""Sub-batch BatchNorm: grouping semantics, merged statistics, plain-BN state, and the fused
implementation against the pre-fusion one (tests/models/subbn_reference.py) on every path."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mgsearch.models import (SubBatchNorm3d, build_model, convert_to_subbn, merge_bn_stats,
                             set_bn_splits, subbn)

from .subbn_reference import grouped_reference

CL = torch.channels_last_3d


def make(c=4, momentum=1.0):
    torch.manual_seed(0)
    bn = SubBatchNorm3d(c, momentum=momentum)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return bn


def test_merged_stats_equal_plain_bn_on_the_same_batch():
    x = torch.randn(8, 4, 3, 5, 5) * torch.tensor([1, 2, 3, 4.0]).view(1, 4, 1, 1, 1) + 1.5
    x[0::2] += 3.0  # groups (interleaved) with different means: the variance of means matters
    sub, plain = make(), nn.BatchNorm3d(4, momentum=1.0)
    sub.train(), plain.train()
    sub.num_splits = 2
    sub(x)
    plain(x)
    merge_bn_stats(sub)
    torch.testing.assert_close(sub.running_mean, plain.running_mean)
    torch.testing.assert_close(sub.running_var, plain.running_var, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_each_group_is_normalized_by_its_own_statistics(layout):
    x = torch.randn(6, 4, 2, 3, 3) + torch.arange(6.0).view(6, 1, 1, 1, 1)
    if layout == "channels_last":
        x = x.contiguous(memory_format=CL)
    sub = make()
    sub.train()
    sub.num_splits = 3
    y = sub(x)
    # Contiguous: clip i in group i % 3; channels_last: clips 2g, 2g+1 in group g.
    groups = [[g, g + 3] for g in range(3)] if layout == "contiguous" else \
        [[2 * g, 2 * g + 1] for g in range(3)]
    for clips in groups:
        ref = nn.functional.batch_norm(x[clips], None, None, sub.weight, sub.bias, True, 0.0,
                                       sub.eps)
        torch.testing.assert_close(y[clips], ref, rtol=1e-4, atol=1e-5)


def test_gradients_flow_and_one_split_is_plain_bn():
    x = torch.randn(4, 4, 2, 3, 3, requires_grad=True)
    sub = make()
    sub.train()
    sub.num_splits = 2
    sub(x).square().sum().backward()
    assert x.grad is not None and sub.weight.grad is not None
    sub.num_splits = 1
    ref = nn.functional.batch_norm(x, None, None, sub.weight, sub.bias, True, 0.0, sub.eps)
    torch.testing.assert_close(sub(x), ref)


def test_state_dict_is_plain_bn_and_eval_merges_first():
    net = convert_to_subbn(nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4, momentum=1.0)))
    assert isinstance(net[1], SubBatchNorm3d)
    plain = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4))
    assert set(net.state_dict()) == set(plain.state_dict())
    set_bn_splits(net, 2)
    net.train()
    net(torch.randn(4, 3, 2, 3, 3) + 2.0)
    assert torch.all(net[1].running_mean == 0)  # not merged yet
    net.eval()
    net(torch.randn(1, 3, 2, 3, 3))  # evaluation merges what training accumulated
    assert torch.all(net[1].running_mean != 0)
    plain.load_state_dict(net.state_dict())
    torch.testing.assert_close(plain[1].running_mean, net[1].running_mean)
    # Loading continues accumulating from the loaded statistics.
    again = convert_to_subbn(nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4)))
    again.load_state_dict(net.state_dict())
    torch.testing.assert_close(again[1].split_mean, net[1].running_mean)


# -- the fused implementation against the reference -----------------------------------------------

def close(actual: torch.Tensor, expected: torch.Tensor, tol: float = 1e-5) -> None:
    """Equal to `tol` of the expected tensor's scale (elementwise, relative to its largest value):
    sums over thousands of values (weight gradients) carry float rounding of that order."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    scale = float(expected.detach().abs().max().float().clamp_min(1.0))
    torch.testing.assert_close(actual.float(), expected.float(), rtol=tol, atol=tol * scale)


def as_blocks(x: torch.Tensor, n: int) -> torch.Tensor:
    """Reorder the batch so that block g holds interleaved group g (clips g, g + n, ...)."""
    return x.unflatten(0, (x.shape[0] // n, n)).transpose(0, 1).flatten(0, 1)


def from_blocks(x: torch.Tensor, n: int) -> torch.Tensor:
    return x.unflatten(0, (n, x.shape[0] // n)).transpose(0, 1).flatten(0, 1)


def batches(shape, steps, dtype=torch.float32, layout="contiguous"):
    """Clips with per-channel scales and offsets and group-dependent means, and output grads."""
    g = torch.Generator().manual_seed(1)
    b, c = shape[:2]
    for _ in range(steps):
        x = torch.randn(shape, generator=g) * (0.5 + 3 * torch.rand(1, c, 1, 1, 1, generator=g))
        x = x + 2 * torch.randn(1, c, 1, 1, 1, generator=g) + torch.randn(b, 1, 1, 1, 1,
                                                                          generator=g)
        gy = torch.randn(shape, generator=g)
        if layout == "channels_last":
            x, gy = x.contiguous(memory_format=CL), gy.contiguous(memory_format=CL)
        yield x.to(dtype), gy.to(dtype)


def compare_with_reference(shape, n, layout, path, dtype=torch.float32, tol=1e-5, steps=3):
    new = make(shape[1], momentum=0.1)
    old = copy.deepcopy(new)
    new.train(), old.train()
    new.num_splits = n
    for x, gy in batches(shape, steps, dtype, layout):
        assert subbn._path(x, n) == path
        interleaved = path == "interleaved"
        xa = x.clone().requires_grad_()
        y = new(xa)
        y.backward(gy)
        xr = (as_blocks(x, n) if interleaved else x).clone().requires_grad_()
        yr = grouped_reference(old, xr, n)
        yr.backward(as_blocks(gy, n) if interleaved else gy)
        want_y, want_gx = yr, xr.grad
        if interleaved:
            want_y, want_gx = from_blocks(yr, n), from_blocks(xr.grad, n)
        assert y.dtype == dtype and xa.grad.dtype == dtype
        if layout == "channels_last":
            assert y.is_contiguous(memory_format=CL) and xa.grad.is_contiguous(memory_format=CL)
        close(y, want_y, tol)
        close(xa.grad, want_gx, tol)
        close(new.weight.grad, old.weight.grad, tol)
        close(new.bias.grad, old.bias.grad, tol)
        close(new.split_mean, old.split_mean, tol)
        close(new.split_var, old.split_var, tol)
        assert int(new.num_batches_tracked) == int(old.num_batches_tracked)
        for p in (new.weight, new.bias, old.weight, old.bias):
            p.grad = None
    assert int(new.num_batches_tracked) == steps
    # After the steps the merge writes the same running statistics.
    merge_bn_stats(new), old.merge()
    close(new.running_mean, old.running_mean, tol)
    close(new.running_var, old.running_var, tol)


@pytest.mark.parametrize("shape,n", [((8, 4, 2, 3, 3), 2), ((16, 6, 2, 3, 5), 4),
                                     ((12, 3, 2, 1, 2), 6)])
def test_contiguous_matches_reference_with_interleaved_groups(shape, n):
    compare_with_reference(shape, n, "contiguous", "interleaved")


@pytest.mark.parametrize("shape,n", [((8, 4, 2, 3, 3), 2), ((16, 6, 2, 3, 5), 4),
                                     ((12, 3, 2, 1, 2), 6)])
@pytest.mark.parametrize("path", ["blocks", "blocks_copied"])
def test_channels_last_matches_reference_with_block_groups(shape, n, path, monkeypatch):
    monkeypatch.setattr(subbn, "_MIN_BLOCK", 0 if path == "blocks" else 1 << 62)
    compare_with_reference(shape, n, "channels_last", path)


def test_channels_last_picks_blocks_for_large_blocks_on_the_cpu():
    big = torch.empty(16, 16, 2, 16, 16).contiguous(memory_format=CL)  # 8 x 2^13 per block
    assert subbn._path(big, 2) == "blocks" and subbn._path(big, 16) == "blocks_copied"
    assert subbn._path(big.contiguous(), 16) == "interleaved"
    assert subbn._path(big.transpose(2, 3), 2) == "interleaved"  # other layouts: made contiguous


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_groups_of_one_value_match_reference(layout):
    """One clip per group at T=H=W=1 (the kernels refuse one value per channel)."""
    compare_with_reference((6, 5, 1, 1, 1), 6, layout, "single")


@pytest.mark.parametrize("path", ["interleaved", "blocks", "blocks_copied"])
def test_bf16_under_autocast_matches_reference(path, monkeypatch):
    monkeypatch.setattr(subbn, "_MIN_BLOCK", 0 if path == "blocks" else 1 << 62)
    layout = "contiguous" if path == "interleaved" else "channels_last"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        compare_with_reference((16, 6, 2, 3, 5), 4, layout, path, dtype=torch.bfloat16,
                               tol=2e-2)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_batch_that_does_not_divide_is_one_group(layout):
    x, _ = next(batches((10, 4, 2, 3, 3), 1, layout=layout))
    sub = make(momentum=0.1)
    sub.train()
    sub.num_splits = 4
    mean, var = sub.split_mean.clone(), sub.split_var.clone()
    y = sub(x)
    want = nn.functional.batch_norm(x, mean, var, sub.weight, sub.bias, True, 0.1, sub.eps)
    close(y, want)
    close(sub.split_mean, mean)
    close(sub.split_var, var)


# -- set_bn_splits ------------------------------------------------------------------------------

def test_set_bn_splits_walks_the_model_once_and_again_after_a_change(monkeypatch):
    net = convert_to_subbn(build_model("resnet3d_small", 12))
    layers = [m for m in net.modules() if isinstance(m, SubBatchNorm3d)]
    assert len(layers) > 5
    walks = []
    real = nn.Module.modules
    monkeypatch.setattr(nn.Module, "modules", lambda self: walks.append(1) or real(self))
    for n in (2, 4, 1, 8):
        set_bn_splits(net, n)
        assert all(m.num_splits == n for m in layers)
    assert len(walks) == 1
    # A layer added (or replaced) after the cache was made is found.
    net.extra = SubBatchNorm3d(3)
    set_bn_splits(net, 3)
    assert net.extra.num_splits == 3 and all(m.num_splits == 3 for m in layers)
    assert len(walks) == 2
    # A copy sets its own layers, not the original's.
    twin = copy.deepcopy(net)
    set_bn_splits(twin, 5)
    assert all(m.num_splits == 5 for m in twin.modules() if isinstance(m, SubBatchNorm3d))
    assert all(m.num_splits == 3 for m in layers)
