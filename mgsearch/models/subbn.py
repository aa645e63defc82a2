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

Which clips form a group depends on the memory layout, so that the grouping costs no copy:

- contiguous input (N, C, T, H, W): clip i is in group i % n (interleaved). The batch viewed as
  (N/n, n*C, T, H, W) is a free view, normalized by one `F.batch_norm` call with n*C channels
  (the form of PySlowFast's SubBatchNorm3d) and the C-channel affine repeated n times.
- channels_last_3d input (memory N, T, H, W, C): clip i is in group i // (N/n) (blocks). That view
  is no view in this layout, but each block of clips is itself a channels_last_3d tensor: on the
  CPU each block runs the native kernel, writing into its slice of the output; small blocks
  (where the per-call overhead dominates) and other devices copy the batch once into a
  (N/n*T*H*W, n*C) matrix, normalize it in one call and copy back.
- any other layout is made contiguous first.

Batches come from a shuffled sampler, so the two groupings are the same statistically. The
merged statistics are computed each step from the per-group ones (the variance of the group
means is not linear, so an exponential average of per-group statistics merged later would not
be the same); the unbiased correction is over the whole batch's count, as for plain BatchNorm.
bf16 input (autocast) is normalized with float statistics and returned in bf16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.modules.module import register_module_module_registration_hook

_CL = torch.channels_last_3d
# Smallest block (elements) for which one native call per block beats copying the batch
# (bench/subbn_cost.py, one CPU thread: below it the calls' fixed cost dominates).
_MIN_BLOCK = 1 << 16


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
        per_group = x.numel() // (n * c)  # values per channel in one group
        # Per-group mean and unbiased variance: the kernels' running statistics at momentum 1.
        stats = self.split_mean.new_zeros(2, n, c)
        path = _path(x, n)
        if path == "interleaved":
            x = x.contiguous()
            wide = x.view(b // n, n * c, *x.shape[2:])
            y = self._wide(wide, n, stats).view(x.shape)
        elif path == "blocks":
            y = _BlockBatchNorm.apply(x, self.weight, self.bias, stats, self.eps)
        elif path == "blocks_copied":
            mat = x.permute(0, 2, 3, 4, 1).reshape(n, per_group, c).transpose(0, 1)
            y = self._wide(mat.reshape(per_group, n * c), n, stats)
            y = y.view(per_group, n, c).transpose(0, 1).reshape(b, *x.shape[2:], c)
            y = y.permute(0, 4, 1, 2, 3)
        else:
            y = self._single_values(x, n, stats)
        self._accumulate(stats, per_group)
        return y

    def _wide(self, z: torch.Tensor, n: int, stats: torch.Tensor) -> torch.Tensor:
        """Batch norm of `z`, whose n*C channels are n groups of the C channels, in one call with
        the C-channel affine repeated n times; `stats` (2 x n x C) receives each group's mean and
        unbiased variance."""
        w = b = None
        if self.affine:
            w, b = torch.cat([self.weight] * n), torch.cat([self.bias] * n)
        return F.batch_norm(z, stats[0].view(-1), stats[1].view(-1), w, b, True, 1.0, self.eps)

    def _single_values(self, x: torch.Tensor, n: int, stats: torch.Tensor) -> torch.Tensor:
        """Groups of one value per channel (one clip, T=H=W=1): each normalizes to zero, which
        the kernels refuse; the output is the bias, with zero gradient for the input."""
        with torch.no_grad():
            stats[0].copy_(x.reshape(n, -1))
        y = x * 0
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1, 1) + self.bias.view(1, -1, 1, 1, 1)
        return y.to(x.dtype)

    def _accumulate(self, stats: torch.Tensor, per_group: int) -> None:
        """Fold this step's per-group statistics into the merged accumulator: mean of the group
        means; mean of the (biased) group variances plus the variance of the group means, made
        unbiased over the whole batch's count. (No autograd: `stats` and the buffers need none.)"""
        n = stats.shape[1]
        count = per_group * n  # values per channel over the whole batch
        means = stats.mean(1)  # of the group means, of the group variances (unbiased)
        var = torch.add(stats[0].var(0, correction=0), means[1], alpha=(per_group - 1) / per_group)
        var.mul_(count / (count - 1))
        torch._foreach_lerp_([self.split_mean, self.split_var], [means[0], var], self.momentum)
        self.num_batches_tracked.add_(1)
        self._dirty = True

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


def _path(x: torch.Tensor, n: int) -> str:
    """How a training batch is normalized in `n` groups (module docstring): "interleaved",
    "blocks" (one native call per block), "blocks_copied", or "single" (one value per group)."""
    if x.numel() == n * x.shape[1]:
        return "single"
    if x.is_contiguous() or not x.is_contiguous(memory_format=_CL):
        return "interleaved"
    if x.device.type == "cpu" and x.numel() // n >= _MIN_BLOCK:
        return "blocks"
    return "blocks_copied"


class _BlockBatchNorm(torch.autograd.Function):
    """Each block of N/n clips of a channels_last_3d batch through the native kernel, into its
    slice of the output; `stats` (2 x n x C) receives each block's mean and unbiased variance."""

    @staticmethod
    def forward(ctx, x, weight, bias, stats, eps):
        n = stats.shape[1]
        out = torch.empty_like(x)
        save = torch.empty_like(stats)  # each block's mean and 1/std, for the backward
        for xg, yg, rm, rv, sm, si in zip(x.chunk(n), out.chunk(n), *stats, *save):
            torch.ops.aten.native_batch_norm.out(xg, weight, bias, rm, rv, True, 1.0, eps,
                                                 out=yg, save_mean=sm, save_invstd=si)
        ctx.save_for_backward(x, weight, save)
        ctx.eps = eps
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        x, weight, save = ctx.saved_tensors
        n = save.shape[1]
        mask = list(ctx.needs_input_grad[:3])
        gy = gy.contiguous(memory_format=_CL)
        parts = [torch.ops.aten.native_batch_norm_backward(g, xg, weight, None, None, sm, si,
                                                           True, ctx.eps, mask)
                 for g, xg, sm, si in zip(gy.chunk(n), x.chunk(n), *save)]
        gx, gw, gb = (None,) * 3
        if mask[0]:
            gx = torch.cat([p[0] for p in parts])
        if mask[1]:
            gw = torch.stack([p[1] for p in parts]).sum(0)
        if mask[2]:
            gb = torch.stack([p[2] for p in parts]).sum(0)
        return gx, gw, gb, None, None


# -- the model's SubBatchNorm3d layers, found once ----------------------------------------------
# `set_bn_splits` runs every training step; walking the model each time cost more than the step's
# BatchNorm bookkeeping. The list is cached on the model with the token current when it was made;
# registering any module anywhere (the way a layer enters or replaces another in a model) makes
# a new token, so the next call walks the model again. A cache copied or unpickled with the
# model holds a copy of the token, never the current one, and is found again too.
_token = object()


def _new_token(module, name, submodule):
    global _token
    _token = object()


register_module_module_registration_hook(_new_token)


def _subbn_layers(model: nn.Module) -> list[SubBatchNorm3d]:
    cached = model.__dict__.get("_subbn_layers")
    if cached is not None and cached[0] is _token:
        return cached[1]
    layers = [m for m in model.modules() if isinstance(m, SubBatchNorm3d)]
    model.__dict__["_subbn_layers"] = (_token, layers)
    return layers


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
    n = int(num_splits)
    for m in _subbn_layers(model):
        m.__dict__["num_splits"] = n  # a plain attribute: skips nn.Module.__setattr__'s lookups


def merge_bn_stats(model: nn.Module) -> None:
    for m in _subbn_layers(model):
        m.merge()
