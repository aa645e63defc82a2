"""What a model can take, and what it costs per clip at a shape."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..errors import ConfigError
from .trim import trim_padded_taps


def _probe(model: nn.Module, t: int, s: int) -> str | None:
    """None if a 1-clip forward at t x s^2 works, else the error it raised."""
    was = model.training
    model.eval()
    p = next(model.parameters())
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, t, s, s, device=p.device, dtype=p.dtype))
        return None
    except RuntimeError as err:
        return str(err).splitlines()[0]
    finally:
        model.train(was)


def input_error(model: nn.Module, t: int, s: int) -> str | None:
    """None if `model` takes a 1-clip batch of t x s^2, else the first line of its error."""
    return _probe(model, t, s)


def check_input_shape(model: nn.Module, name: str, t: int, s: int) -> None:
    """Refuse a shape that collapses inside `model` (a 1-clip forward is the test: exact for any
    architecture, and milliseconds for the small nets). The error names the smallest frames and
    pixels that work at the other dimension's value."""
    err = _probe(model, t, s)
    if err is None:
        return
    hint = []
    for tt in (t * 2, t * 4, t * 8):
        if _probe(model, tt, s) is None:
            hint.append(f"{tt} frames at {s} px")
            break
    for ss in (s * 2, s * 4):
        if _probe(model, t, ss) is None:
            hint.append(f"{t} frames at {ss} px")
            break
    fix = " or ".join(hint) or "a larger shape"
    raise ConfigError(f"model {name!r} cannot take {t} frames x {s}x{s} px (a grid of the "
                      f"schedule): {err}; choose factors that keep at least {fix}")


def gflops_per_clip(model: nn.Module, t: int, s: int) -> float:
    """Forward GFLOPs of one clip at t x s^2 (FlopCounterMode: 2 FLOPs per multiply-add)."""
    was = model.training
    model.eval()
    p = next(model.parameters())
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, t, s, s, device=p.device, dtype=p.dtype))
    finally:
        model.train(was)
    return counter.get_total_flops() / 1e9


def prepare_model(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    """`model` on `device`, in channels_last_3d if asked, its Conv3d layers skipping the kernel
    taps that only meet zero padding at a shape (mgsearch.models.trim: exact, and what makes
    multigrid's coarsest grids cost their voxels)."""
    model = trim_padded_taps(model.to(device))
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    return model


def resolve_precision(device: torch.device, precision: str) -> str:
    """`precision` with "auto" resolved: bf16 on CUDA and on CPUs where oneDNN runs bf16 (bf16
    instructions), fp32 on other CPUs (bf16 convolutions there fall back to a slow kernel)."""
    if precision != "auto":
        return precision
    if device.type == "cuda" or torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bf16"
    return "fp32"


def autocast_context(device: torch.device, precision: str):
    """fp32: nothing; bf16: autocast on CPU or CUDA; fp16: CUDA AMP (needs a GradScaler);
    auto: as resolve_precision says."""
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        from contextlib import nullcontext

        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)
