"""Trimmed convolutions: which taps are skipped, and that outputs and gradients do not change."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mgsearch import models
from mgsearch.models.trim import TrimConv3d, taps_in_use, trim_padded_taps


@pytest.mark.parametrize("size,kernel,stride,padding,expected", [
    (1, 3, 1, 1, (1, 1)),      # a 1-frame map: only the centre tap meets input
    (1, 3, 2, 1, (1, 1)),
    (2, 3, 2, 1, (1, 2)),      # 2 -> 1 with stride 2: the first tap is padding only
    (1, 5, 2, 2, (2, 2)),
    (2, 5, 2, 2, (2, 3)),
    (2, 3, 1, 1, None),        # two outputs: every tap meets input somewhere
    (3, 3, 2, 1, None),
    (8, 3, 1, 1, None),
    (1, 1, 1, 0, None),        # a 1-tap kernel has nothing to skip
    (3, 3, 3, 0, None),        # one output, but all three taps in use
])
def test_taps_in_use(size, kernel, stride, padding, expected):
    assert taps_in_use(size, kernel, stride, padding) == expected


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape,kernel,stride,padding", [
    ((4, 6, 1, 1, 1), (3, 3, 3), (1, 1, 1), (1, 1, 1)),
    ((4, 6, 2, 2, 2), (3, 3, 3), (2, 2, 2), (1, 1, 1)),
    ((4, 6, 1, 2, 5), (3, 3, 3), (1, 2, 1), (1, 1, 1)),
    ((3, 3, 2, 1, 1), (3, 5, 5), (1, 2, 2), (1, 2, 2)),
])
def test_trimmed_conv_matches_conv3d(shape, kernel, stride, padding, channels_last):
    torch.manual_seed(0)
    ref = nn.Conv3d(shape[1], 5, kernel, stride=stride, padding=padding, bias=True)
    trimmed = trim_padded_taps(copy.deepcopy(ref))
    assert isinstance(trimmed, TrimConv3d)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    x = torch.randn(shape).contiguous(memory_format=fmt)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ref(xa), trimmed(xb)
    assert trimmed._cuts(tuple(shape[2:])) is not None  # the case under test does trim
    torch.testing.assert_close(yb, ya, rtol=1e-5, atol=1e-6)
    grad = torch.randn_like(ya)
    ya.backward(grad)
    yb.backward(grad)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(trimmed.weight.grad, ref.weight.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(trimmed.bias.grad, ref.bias.grad, rtol=1e-5, atol=1e-6)


def test_ineligible_convs_are_left_alone():
    net = nn.Sequential(nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect"),
                        nn.Conv3d(2, 2, 3, padding=2, dilation=2),
                        nn.Conv3d(2, 2, 3, padding="same"),
                        nn.Conv3d(2, 2, 3, padding=1))
    trim_padded_taps(net)
    assert [type(m) for m in net] == [nn.Conv3d, nn.Conv3d, nn.Conv3d, TrimConv3d]
    assert trim_padded_taps(nn.Conv3d(2, 2, 3, padding=1)).__class__ is TrimConv3d


def _untrimmed(model: nn.Module) -> nn.Module:
    """`model` with every convolution a plain nn.Conv3d again (the fp32 reference)."""
    for m in model.modules():
        if isinstance(m, TrimConv3d):
            m.__class__ = nn.Conv3d
    return model


@pytest.mark.parametrize("t,s", [(2, 16), (4, 16), (8, 32)])
def test_resnet3d_small_trains_as_the_untrimmed_net(t, s):
    """resnet3d_small's convolutions trim (its own Conv3d), prepare_model keeps them so;
    outputs, every parameter gradient and the state_dict keys are those of the plain net
    (sub-batch BN and channels_last as training runs it)."""
    torch.manual_seed(0)
    net = models.convert_to_subbn(models.build_model("resnet3d_small", 12))
    plain = _untrimmed(copy.deepcopy(net)).to(memory_format=torch.channels_last_3d)
    trimmed = models.prepare_model(net, torch.device("cpu"), channels_last=True)
    assert not any(isinstance(m, TrimConv3d) for m in plain.modules())
    convs = [m for m in trimmed.modules() if isinstance(m, nn.Conv3d)]
    assert convs and all(isinstance(m, TrimConv3d) for m in convs)
    assert list(trimmed.state_dict()) == list(plain.state_dict())
    models.set_bn_splits(plain, 2)
    models.set_bn_splits(trimmed, 2)
    x = torch.randn(16, 3, t, s, s).contiguous(memory_format=torch.channels_last_3d)
    ya, yb = plain(x), trimmed(x)
    torch.testing.assert_close(yb, ya, rtol=1e-5, atol=1e-5)
    ya.square().sum().backward()
    yb.square().sum().backward()
    for (name, pa), pb in zip(plain.named_parameters(), trimmed.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad, rtol=1e-4, atol=1e-6, msg=name)
    trims = sum(m._cuts(size) is not None for m in convs for size in m._cut_cache)
    assert trims == {2: 4, 4: 2, 8: 0}[t]  # the coarse shapes do skip taps


def test_torchvision_convs_are_trimmed_by_prepare_model():
    from torchvision.models.video.resnet import Conv3DSimple

    net = models.prepare_model(models.build_model("r3d_18", 5), torch.device("cpu"), False)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv3d)]
    assert convs and all(isinstance(m, TrimConv3d) for m in convs)
    simple = [m for m in convs if isinstance(m, Conv3DSimple)]
    assert simple and len({type(m) for m in simple}) == 1  # one trimming class, still a
    copy.deepcopy(net)                                      # Conv3DSimple, and copyable


def test_convs_that_compute_their_own_convolution_are_left_alone():
    class Standardized(nn.Conv3d):
        def forward(self, x):
            w = self.weight - self.weight.mean()
            return nn.functional.conv3d(x, w, None, self.stride, self.padding)

    net = trim_padded_taps(nn.Sequential(Standardized(2, 2, 3, padding=1)))
    assert type(net[0]) is Standardized
