"""Variable-shape video models, sub-batch BatchNorm, and per-shape cost."""

from .registry import (MODELS, build_model, list_models, load_weights, read_weights,
                       resolve_model)
from .shapes import (autocast_context, check_input_shape, gflops_per_clip, prepare_model,
                     resolve_precision)
from .small import ResNet3dSmall, X3dXS
from .trim import TrimConv3d, trim_padded_taps
from .subbn import SubBatchNorm3d, convert_to_subbn, merge_bn_stats, set_bn_splits

__all__ = [
    "MODELS",
    "ResNet3dSmall",
    "SubBatchNorm3d",
    "TrimConv3d",
    "X3dXS",
    "autocast_context",
    "build_model",
    "check_input_shape",
    "convert_to_subbn",
    "gflops_per_clip",
    "list_models",
    "load_weights",
    "merge_bn_stats",
    "prepare_model",
    "read_weights",
    "resolve_model",
    "resolve_precision",
    "set_bn_splits",
    "trim_padded_taps",
]
