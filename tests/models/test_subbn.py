"""Sub-batch BatchNorm: grouping semantics, merged statistics, plain-BN state."""

from __future__ import annotations

import torch
from torch import nn

from mgsearch.models import SubBatchNorm3d, convert_to_subbn, merge_bn_stats, set_bn_splits


def make(c=4, momentum=1.0):
    torch.manual_seed(0)
    bn = SubBatchNorm3d(c, momentum=momentum)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return bn


def test_merged_stats_equal_plain_bn_on_the_same_batch():
    x = torch.randn(8, 4, 3, 5, 5) * torch.tensor([1, 2, 3, 4.0]).view(1, 4, 1, 1, 1) + 1.5
    x[:4] += 3.0  # groups with different means: the variance of means matters
    sub, plain = make(), nn.BatchNorm3d(4, momentum=1.0)
    sub.train(), plain.train()
    sub.num_splits = 2
    sub(x)
    plain(x)
    merge_bn_stats(sub)
    torch.testing.assert_close(sub.running_mean, plain.running_mean)
    torch.testing.assert_close(sub.running_var, plain.running_var, rtol=1e-5, atol=1e-5)


def test_each_group_is_normalized_by_its_own_statistics():
    x = torch.randn(6, 4, 2, 3, 3)
    sub = make()
    sub.train()
    sub.num_splits = 3
    y = sub(x)
    for g in range(3):
        xs = x[2 * g: 2 * g + 2]
        ref = nn.functional.batch_norm(xs, None, None, sub.weight, sub.bias, True, 0.0, sub.eps)
        torch.testing.assert_close(y[2 * g: 2 * g + 2], ref, rtol=1e-4, atol=1e-5)


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
