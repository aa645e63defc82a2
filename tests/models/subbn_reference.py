"""The pre-fusion implementation of SubBatchNorm3d's grouped training forward, kept as the
reference that tests/models/test_subbn.py checks the fused one against and that
bench/subbn_cost.py times. Groups are contiguous blocks of clips (group i // (N/n))."""

from __future__ import annotations

import torch


def grouped_reference(bn, x: torch.Tensor, n: int) -> torch.Tensor:
    """`bn`'s training forward with `n` groups, updating its split_mean/split_var the old way."""
    b, c = x.shape[:2]
    xf = x.float().reshape(n, b // n, c, *x.shape[2:])
    dims = (1, 3, 4, 5)
    var, mean = torch.var_mean(xf, dim=dims, unbiased=False, keepdim=True)  # per group
    y = (xf - mean) * torch.rsqrt(var + bn.eps)
    with torch.no_grad():
        m, v = mean.flatten(1), var.flatten(1)  # n x C
        count = xf.numel() // c  # values per channel over the whole batch
        merged_var = (v.mean(0) + m.var(0, unbiased=False)) * count / max(count - 1, 1)
        mom = bn.momentum
        bn.split_mean.mul_(1 - mom).add_(m.mean(0), alpha=mom)
        bn.split_var.mul_(1 - mom).add_(merged_var, alpha=mom)
        bn.num_batches_tracked += 1
        bn._dirty = True
    y = y.reshape(b, c, *x.shape[2:])
    if bn.affine:
        shape = (1, c, 1, 1, 1)
        y = y * bn.weight.view(shape) + bn.bias.view(shape)
    return y.to(x.dtype)
