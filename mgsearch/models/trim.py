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
dilation 1, integer padding; a subclass that computes its own convolution is left as it is;
mgsearch's convs.Conv3d trims by construction); parameters and state_dict keys are unchanged,
so checkpoints load either way. Dimensions with more than one output position are never
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

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias):
        cut = self._cuts(tuple(x.shape[2:]))
        if cut is None:
            return super()._conv_forward(x, weight, bias)
        index, padding = cut
        return F.conv3d(x, weight[index], bias, self.stride, padding, self.dilation, self.groups)

    def _cuts(self, size: tuple[int, ...]):
        """(weight index, padding) for an input of spatial `size`, or None (no tap to skip);
        cached per size (a schedule has a handful)."""
        cache = self.__dict__.setdefault("_cut_cache", {})
        if size not in cache and not _eligible(self):
            cache[size] = None
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


_TRIMMED: dict[type, type] = {nn.Conv3d: TrimConv3d}  # class -> its trimming subclass


def _trimming_class(cls: type) -> type | None:
    """The trimming subclass of a Conv3d class (made once per class), or None when `cls`
    computes its own convolution (overrides forward or _conv_forward: left as it is)."""
    if issubclass(cls, TrimConv3d):
        return None  # trims already
    if cls not in _TRIMMED:
        own = (cls.forward is not nn.Conv3d.forward
               or cls._conv_forward is not nn.Conv3d._conv_forward)
        _TRIMMED[cls] = None if own else type(f"Trim{cls.__name__}", (TrimConv3d, cls),
                                             {"__module__": __name__})
    return _TRIMMED[cls]


def trim_padded_taps(model: nn.Module) -> nn.Module:
    """Make (in place) every eligible Conv3d of `model` trim: its class becomes a TrimConv3d
    subclass of its own class (the same attributes, parameters and isinstance checks); returns
    `model`. Such a module deep-copies, but pickles as a whole only in a process that has
    converted its class too (state_dicts are unaffected)."""
    for m in model.modules():
        if isinstance(m, nn.Conv3d) and _eligible(m):
            cls = _trimming_class(type(m))
            if cls is not None:
                m.__class__ = cls
    return model
