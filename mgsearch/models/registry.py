"""Models by name: `build_model("resnet3d_small", num_classes=12)`, or by import path:
`build_model("mypkg.nets:build", 12)` calls `mypkg.nets.build(12)`, which returns an nn.Module.

Every model takes `N x 3 x T x H x W` and returns `N x num_classes` logits for any shape its
downsampling allows (`check_input_shape` refuses the rest before training). torchvision models
are randomly initialised; initial weights come only from a local file (`weights_path`), never
from a download.
"""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError
from ..imports import is_import_path, load_object
from .small import ResNet3dSmall, X3dXS


def _torchvision(name: str) -> Callable[[int], nn.Module]:
    def build(num_classes: int) -> nn.Module:
        from torchvision.models import video

        net = getattr(video, name)(weights=None, num_classes=num_classes)
        if name == "s3d":
            # Its fixed AvgPool3d((2, 7, 7)) only fits 16 x 224^2 inputs; pool whatever is left.
            net.avgpool = nn.AdaptiveAvgPool3d(1)
        return net

    return build


MODELS: dict[str, Callable[[int], nn.Module]] = {
    "resnet3d_small": lambda k: ResNet3dSmall(k),
    "x3d_xs": lambda k: X3dXS(k),
    **{n: _torchvision(n) for n in ("r3d_18", "mc3_18", "r2plus1d_18", "s3d")},
}


def list_models() -> list[str]:
    return sorted(MODELS)


def resolve_model(name: str) -> Callable[[int], nn.Module]:
    """The builder `num_classes -> nn.Module` of a built-in name or a "package.module:callable"."""
    if is_import_path(name):
        return load_object(name, "model.name")
    if name not in MODELS:
        import difflib

        close = difflib.get_close_matches(name, MODELS, 1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(f"model.name = {name!r} is unknown; {hint}known: {', '.join(list_models())}"
                          f", or 'package.module:callable'")
    return MODELS[name]


def build_model(name: str, num_classes: int, *, weights_path: str | None = None) -> nn.Module:
    build = resolve_model(name)
    if num_classes < 1:
        raise ConfigError(f"num_classes = {num_classes}: the dataset has no classes")
    net = build(num_classes)
    if not isinstance(net, nn.Module):
        raise ConfigError(f"model.name = {name!r} returned a {type(net).__name__}, not a "
                          f"torch.nn.Module; the callable is called as callable(num_classes)")
    if weights_path:
        load_weights(net, weights_path)
    return net


def read_weights(path: str) -> dict:
    """The state dict in a local weights file (a state dict, or an mgsearch checkpoint's model);
    ConfigError when it is missing or not a PyTorch weights file. The driver calls it before
    Ray starts (mgsearch.train.model.check_imports), each worker again in `load_weights`."""
    import os

    if not os.path.isfile(path):
        raise ConfigError(f"model.weights_path = {path!r} not found; give a local .pt file or "
                          f"null for random initialisation")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's unpickler fails on other files in many ways (KeyError...)
        raise ConfigError(f"model.weights_path = {path!r} is not a PyTorch weights file "
                          f"(torch.load: {type(err).__name__}); give a state dict saved with "
                          f"torch.save(model.state_dict(), path), or null") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise ConfigError(f"model.weights_path = {path!r} holds a {type(state).__name__}, not a "
                          f"state dict; save one with torch.save(model.state_dict(), path)")
    return state


def load_weights(net: nn.Module, path: str) -> None:
    """Load a local state dict (or an mgsearch checkpoint's model); a classifier head whose
    shape differs (another number of classes) is skipped with a warning and stays random."""
    state = read_weights(path)
    own = net.state_dict()
    unknown = [k for k in state if k not in own]
    if unknown:
        raise ConfigError(f"model.weights_path = {path!r} does not fit this model: {len(unknown)} "
                          f"unknown keys such as {unknown[0]!r}; use weights saved from the same "
                          f"model name")
    skipped = [k for k, v in state.items() if own[k].shape != v.shape]
    if skipped:
        warnings.warn(f"weights {path}: skipped {len(skipped)} tensors of another shape "
                      f"({', '.join(skipped[:3])}); a new head for this number of classes",
                      stacklevel=2)
    net.load_state_dict({k: v for k, v in state.items() if k not in skipped}, strict=False)
