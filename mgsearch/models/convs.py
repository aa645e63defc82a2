"""A Conv3d that leaves bf16 autocast on the CPU where its weight gradients were measured wrong.

With torch 2.14.1 on an AMX Xeon, a Conv3d weight gradient under bf16 autocast on feature maps
2 frames deep (kernel 3, padding 1) came out NaN or ~1e29, while 4+ frames were fine (README,
"Known problems"). On that CPU PyTorch runs bf16 convolutions in oneDNN; on a CPU without bf16
instructions (AVX2 only) it runs ATen's slow_conv3d instead, where the sweep of
bench/bf16_conv_sweep.py found no bad case, so the fault is, by inference, in oneDNN's bf16
kernels. Frames 1 and 3, and strided convolutions onto 2 frames, were not measured on the
failing CPU, so any convolution with fewer than `MIN_BF16_FRAMES` frames in or out runs in fp32:
exact there, and cheap, since such layers are the small ends of a net. Everything else keeps
bf16's speed. tests/models/test_bf16_conv.py tries the fault on every run and says when it no
longer reproduces.
"""

from __future__ import annotations

import torch
from torch import nn

from .trim import TrimConv3d

MIN_BF16_FRAMES = 4


def bf16_unsafe(conv: nn.Conv3d, x: torch.Tensor) -> bool:
    """True under CPU bf16 autocast when `conv` on `x` has fewer than MIN_BF16_FRAMES frames in
    or out (its weight gradient may then be NaN/huge)."""
    if x.device.type != "cpu" or x.dim() != 5 or not torch.is_autocast_enabled("cpu"):
        return False
    if torch.get_autocast_dtype("cpu") != torch.bfloat16:
        return False
    t = x.shape[2]
    out = (t + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) \
        // conv.stride[0] + 1
    return min(t, out) < MIN_BF16_FRAMES


class Conv3d(TrimConv3d):
    """nn.Conv3d that runs in fp32 (output fp32) where `bf16_unsafe`, as it is otherwise; the
    kernel taps that meet only zero padding are skipped (mgsearch.models.trim)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bf16_unsafe(self, x):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)
