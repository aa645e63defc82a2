"""Convolutions that skip the kernel taps which, at the input's size, only ever see zero padding.

Multigrid's coarse grids feed 3D nets clips of 2 frames and 16 px: inside `resnet3d_small` they
reach the last stage as 1 x 1 x 1 maps, where a 3 x 3 x 3 kernel with padding 1 multiplies 26 of
its 27 taps by padding zeros. On a dimension where the convolution has one output position, the
taps that touch real input are a contiguous run `[p, min(p + I - 1, k - 1)]` (kernel k, padding p,
input size I); running only that run with padding 0 gives the same output (the dropped terms are
products with zeros) and the same weight gradient (the dropped taps' gradient is a sum of such
products: exactly zero either way). Measured on this CPU: the 1 x 1 x 1 maps of the coarsest grid
cost 2.5x the full shape's time per voxel before the trim (README "Benchmarks").

`trim_padded_taps(model)` converts every eligible `nn.Conv3d` of a model in place (zero padding,
dilation 1, integer padding: anything else is left as it is); parameters and state_dict keys are
unchanged, so checkpoints load either way. Dimensions with more than one output position are never
trimmed: there every tap meets real input somewhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def taps_in_use(size: int, kernel: int, stride: int, padding: int) -> tuple[int, int] | None:
    """(first, last) kernel tap that meets real input along one dimension, when the
    convolution has a single output position there and some tap is padding only; else None."""
    outputs = (size + 2 * padding - kernel) // stride + 1
    if outputs != 1 or kernel == 1 or not 0 <= padding < kernel:
        return None
    first, last = padding, min(padding + size - 1, kernel - 1)
    if first == 0 and last == kernel - 1:
        return None  # every tap in use
    return first, last


class TrimConv3d(nn.Conv3d):
    """`nn.Conv3d` that runs only the taps meeting real input (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cut = self._cuts(tuple(x.shape[2:]))
        if cut is None:
            return super().forward(x)
        index, padding = cut
        return F.conv3d(x, self.weight[index], self.bias, self.stride, padding, self.dilation,
                        self.groups)

    def _cuts(self, size: tuple[int, ...]):
        """(weight index, padding) for an input of spatial `size`, or None (no tap to skip);
        cached per size (a schedule has a handful)."""
        cache = self.__dict__.setdefault("_cut_cache", {})
        if size not in cache:
            index, padding, trimmed = [slice(None), slice(None)], [], False
            for n, k, s, p in zip(size, self.kernel_size, self.stride, self.padding):
                used = taps_in_use(n, k, s, p)
                if used is None:
                    index.append(slice(None))
                    padding.append(p)
                else:
                    index.append(slice(used[0], used[1] + 1))
                    padding.append(0)
                    trimmed = True
            cache[size] = (tuple(index), tuple(padding)) if trimmed else None
        return cache[size]


def _eligible(conv: nn.Conv3d) -> bool:
    return (conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
            and all(d == 1 for d in conv.dilation))


def trim_padded_taps(model: nn.Module) -> nn.Module:
    """Replace (in place) every eligible `nn.Conv3d` of `model` by a TrimConv3d sharing its
    parameters; returns `model` (a bare Conv3d is returned converted)."""
    if type(model) is nn.Conv3d and _eligible(model):
        model.__class__ = TrimConv3d  # same attributes and parameters, trimming forward
        return model
    for child in model.children():
        trim_padded_taps(child)
    return model
