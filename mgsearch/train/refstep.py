"""A fixed reference training step: how fast this worker's machine is right now.

    seconds = reference_step_s(cfg, num_classes, device)   # median of 5 timed steps, 1 warm-up

Every trial times the same step before it trains and after it ends (`train.ref_step`), so trials
whose clocks are compared can be checked for equal conditions: a trial that ran on a loaded
machine shows a slower reference step. The step is forward + backward + optimizer step of a
*fresh* instance of the config's model (fixed init seed, the trial's precision, memory format and
sub-batch BN split at the full shape) on shape.batch x shape.frames x shape.crop² random clips
from a private generator: identical work in every trial of an experiment, at the start and the
end. Nothing of the trial is touched: not its weights, BN statistics or optimizer, and the global
RNG streams are restored afterwards. No collective runs: under DDP each rank times alone.
Callers keep it off the training clock.
"""

from __future__ import annotations

import statistics
import time

import torch

from .. import models
from ..allocation import _bn_split  # the schedule's own grouping rule
from .model import build_optimizer, resolve_loss, training_step

REF_SEED = 20200  # init and input of the reference copy: the same in every trial
WARMUP, REPEATS = 2, 20  # untimed steps, then timed ones (the median is reported): ~1.5 s here


def reference_step_s(cfg, num_classes: int, device: torch.device, warmup: int = WARMUP,
                     repeats: int = REPEATS) -> float:
    """Median seconds of one reference step (see the module doc)."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # init and any dropout draw from the global RNG
        torch.manual_seed(REF_SEED)
        net = models.build_model(cfg.model.name, num_classes)  # no weights file: fixed init
        models.convert_to_subbn(net)
        net = models.prepare_model(net, device, channels_last=cfg.train.channels_last)
        net.train()
        models.set_bn_splits(net, _bn_split(cfg.shape.batch, cfg.multigrid.bn_base_size))
        optimizer = build_optimizer(cfg.solver, net.parameters())
        gen = torch.Generator().manual_seed(REF_SEED)
        sh = cfg.shape
        clips = torch.randn(sh.batch, 3, sh.frames, sh.crop, sh.crop, generator=gen)
        labels = torch.randint(0, num_classes, (sh.batch,), generator=gen).to(device)
        clips = clips.to(device)
        if cfg.train.channels_last:
            clips = clips.contiguous(memory_format=torch.channels_last_3d)
        scaler = torch.amp.GradScaler("cuda") if cfg.train.precision == "fp16" else None
        loss_fn = resolve_loss(cfg.train.loss)
        times = []
        for k in range(warmup + repeats):
            start = time.perf_counter()
            training_step(net, optimizer, scaler, clips, labels, device, cfg.train.precision,
                          loss_fn)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if k >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)

