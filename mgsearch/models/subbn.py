"""Sub-batch BatchNorm: statistics over groups of about `bn_base_size` clips, whatever the batch.

Multigrid's coarse grids run batches up to 16x the default; plain BatchNorm would then average its
statistics over far more clips than the default shape does. `SubBatchNorm3d` splits the batch
into `num_splits` equal groups (set before each forward with `set_bn_splits`, since the short
cycle changes the batch every iteration), normalizes each group with its own statistics, and
accumulates the merged statistics of every step: mean of the group means, and mean of the
group variances plus the variance of the group means. `merge_bn_stats` writes that accumulator
into the ordinary `running_mean`/`running_var` before evaluation and checkpointing, so a
checkpoint holds plain BatchNorm state (the state_dict keys are those of `nn.BatchNorm3d`) and
any stage, or a plain model, can load it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SubBatchNorm3d(nn.BatchNorm3d):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, **kw):
        super().__init__(num_features, eps=eps, momentum=momentum, **kw)
        self.num_splits = 1
        # Accumulated merged statistics; not saved (the merge writes them into running_*).
        self.register_buffer("split_mean", torch.zeros(num_features), persistent=False)
        self.register_buffer("split_var", torch.ones(num_features), persistent=False)
        self._dirty = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            if self._dirty:
                self.merge()
            return super().forward(x)
        n = self.num_splits
        if n <= 1 or x.shape[0] % n:
            # One group: the fused kernel, accumulating straight into the split buffers.
            self._dirty = True
            return F.batch_norm(x, self.split_mean, self.split_var, self.weight, self.bias,
                                True, self.momentum, self.eps)
        return self._grouped(x, n)

    def _grouped(self, x: torch.Tensor, n: int) -> torch.Tensor:
        b, c = x.shape[:2]
        xf = x.float().reshape(n, b // n, c, *x.shape[2:])
        dims = (1, 3, 4, 5)
        var, mean = torch.var_mean(xf, dim=dims, unbiased=False, keepdim=True)  # per group
        y = (xf - mean) * torch.rsqrt(var + self.eps)
        with torch.no_grad():
            m, v = mean.flatten(1), var.flatten(1)  # n x C
            count = xf.numel() // c  # values per channel over the whole batch
            merged_var = (v.mean(0) + m.var(0, unbiased=False)) * count / max(count - 1, 1)
            mom = self.momentum
            self.split_mean.mul_(1 - mom).add_(m.mean(0), alpha=mom)
            self.split_var.mul_(1 - mom).add_(merged_var, alpha=mom)
            self.num_batches_tracked += 1
            self._dirty = True
        y = y.reshape(b, c, *x.shape[2:])
        if self.affine:
            shape = (1, c, 1, 1, 1)
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)

    @torch.no_grad()
    def merge(self) -> None:
        """Write the accumulated statistics into running_mean/running_var."""
        self.running_mean.copy_(self.split_mean)
        self.running_var.copy_(self.split_var)
        self._dirty = False

    @torch.no_grad()
    def set_running_stats(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        """Evaluate with these statistics (precise BN) until the next training forward; the
        accumulator of the training statistics is kept, for when precise BN is off."""
        self.running_mean.copy_(mean)
        self.running_var.copy_(var)
        self._dirty = False

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        with torch.no_grad():  # continue accumulating from the loaded statistics
            self.split_mean.copy_(self.running_mean)
            self.split_var.copy_(self.running_var)
        self._dirty = False


def convert_to_subbn(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm3d in `model` (in place) by a SubBatchNorm3d with the same state."""
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm3d) and not isinstance(child, SubBatchNorm3d):
            sub = SubBatchNorm3d(child.num_features, eps=child.eps, momentum=child.momentum,
                                 affine=child.affine)
            sub.load_state_dict(child.state_dict())
            sub.to(child.running_mean.device)
            setattr(model, name, sub)
        else:
            convert_to_subbn(child)
    return model


def set_bn_splits(model: nn.Module, num_splits: int) -> None:
    """Groups per batch for the next training forward (1: ordinary BatchNorm)."""
    for m in model.modules():
        if isinstance(m, SubBatchNorm3d):
            m.num_splits = int(num_splits)


def merge_bn_stats(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, SubBatchNorm3d):
            m.merge()
