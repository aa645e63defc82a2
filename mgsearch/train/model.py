"""The network as the training loop sees it: built, checked, wrapped, stepped.

One object holds the model (sub-batch BN inside, DDP outside when distributed), its optimizer,
the autocast policy and the FLOP counts per shape, so the loop reads as the schedule does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import models
from ..errors import ConfigError
from ..data.userdata import resolve_source
from ..imports import is_import_path, load_object
from .precise_bn import recompute_bn_stats


class TrainModel:
    def __init__(self, cfg, schedule, num_classes: int, device: torch.device, distributed: bool):
        mc, tc = cfg.model, cfg.train
        self.device, self.precision = device, models.resolve_precision(device, tc.precision)
        net = models.build_model(mc.name, num_classes, weights_path=mc.weights_path)
        # Refuse a shape that collapses inside the network before any time is spent training.
        for grid in schedule.grids:
            models.check_input_shape(net, mc.name, grid.t, grid.s)
        models.convert_to_subbn(net)
        self.channels_last = tc.channels_last
        self.module = models.prepare_model(net, device, channels_last=tc.channels_last)
        self.net = self.module
        if distributed:
            ids = [device.index] if device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        self.optimizer = build_optimizer(cfg.solver, self.module.parameters())
        self.loss_fn = resolve_loss(tc.loss)
        # fp16 needs loss scaling against underflow; bf16 and fp32 do not.
        self.scaler = torch.amp.GradScaler("cuda") if tc.precision == "fp16" else None
        self._gflops: dict[tuple[int, int], float] = {}

    # -- steps -----------------------------------------------------------------------------------
    def _input(self, clips: torch.Tensor) -> torch.Tensor:
        clips = clips.to(self.device, non_blocking=True)
        if self.channels_last:
            clips = clips.contiguous(memory_format=torch.channels_last_3d)
        return clips

    def step(self, clips: torch.Tensor, labels: torch.Tensor, lr: float, bn_split: int) -> float:
        """One SGD step at learning rate `lr`; returns the batch's mean loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        models.set_bn_splits(self.module, bn_split)
        return training_step(self.net, self.optimizer, self.scaler, self._input(clips),
                             labels.to(self.device), self.device, self.precision, self.loss_fn)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        models.set_bn_splits(self.module, 1)
        with models.autocast_context(self.device, self.precision):
            return self.module(self._input(clips))

    def train(self) -> None:
        self.net.train()

    def eval(self) -> None:
        self.net.eval()

    def merge_bn(self) -> None:
        """Write sub-batch BN statistics into ordinary running statistics."""
        models.merge_bn_stats(self.module)

    def precise_bn(self, loader, distributed: bool) -> int:
        """BatchNorm statistics recomputed on `loader`'s (clips, labels, grid) batches at the
        evaluation shape, averaged over ranks; returns the clips used (mgsearch.train.precise_bn)."""
        return recompute_bn_stats(self.module, self.forward, (b[0] for b in loader), distributed)

    def train_gflops(self, t: int, s: int) -> float:
        """Training GFLOPs per clip at t x s^2: forward counted once per shape, x3 for backward."""
        key = (t, s)
        if key not in self._gflops:
            self._gflops[key] = 3.0 * models.gflops_per_clip(self.module, t, s)
        return self._gflops[key]

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {k: v.detach().cpu() for k, v in self.module.state_dict().items()}

    def load_state(self, model_state: dict, optimizer_state: dict) -> None:
        self.module.load_state_dict(model_state)
        self.optimizer.load_state_dict(optimizer_state)


def resolve_loss(path: str | None):
    """`train.loss`: the callable `loss(logits, labels) -> scalar tensor` at an import path, or
    cross-entropy (None)."""
    return F.cross_entropy if path is None else load_object(path, "train.loss")


def check_imports(cfg) -> None:
    """Load `model.name`, `train.loss`, an import-path `dataset.format` and `model.weights_path`
    here, in the driver, so a bad import path or weights file is one line before Ray starts
    anything (trial drivers and workers load them again)."""
    models.resolve_model(cfg.model.name)
    if cfg.model.weights_path:
        models.read_weights(cfg.model.weights_path)
    resolve_loss(cfg.train.loss)
    if is_import_path(cfg.dataset.format):
        resolve_source(cfg.dataset)


def training_step(net, optimizer, scaler, clips: torch.Tensor, labels: torch.Tensor,
                  device: torch.device, precision: str, loss_fn=F.cross_entropy) -> float:
    """Forward, backward and optimizer step of `net` on a batch already on `device`; returns
    the batch's mean loss. `scaler`: the fp16 GradScaler, or None; `loss_fn`: resolve_loss's."""
    with models.autocast_context(device, precision):
        logits = net(clips)
    loss = loss_fn(logits.float(), labels)
    if not (isinstance(loss, torch.Tensor) and loss.dim() == 0):
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ConfigError(f"train.loss returned {shape}, not a scalar tensor; it is called as "
                          f"loss(logits, labels) and must return e.g. a batch mean")
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return float(loss.detach())


def build_optimizer(solver, params):
    if solver.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=solver.base_lr, weight_decay=solver.weight_decay)
    return torch.optim.SGD(params, lr=solver.base_lr, momentum=solver.momentum,
                           weight_decay=solver.weight_decay,
                           nesterov=solver.nesterov and solver.momentum > 0)
