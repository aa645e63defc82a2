"""bf16 Conv3d weight gradients on the CPU: the fault that mgsearch.models.convs works around,
tried anew on every run (skipped, with the reason, where it does not reproduce), and the
workaround's gradients checked against fp32."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from mgsearch import models
from mgsearch.models import convs


def _two_frame_convs() -> list[tuple[tuple[int, ...], torch.nn.Conv3d]]:
    """(input shape, conv) of every convolution of resnet3d_small that sees 2 frames in the
    quickstart's coarsest (128x2x16^2) and full (8x8x32^2) shapes."""
    net = models.build_model("resnet3d_small", 12).eval()
    seen: list = []
    for m in net.modules():
        if isinstance(m, torch.nn.Conv3d):
            m.register_forward_pre_hook(lambda mod, a: seen.append((tuple(a[0].shape), mod)))
    with torch.no_grad():
        for b, t, s in ((128, 2, 16), (8, 8, 32)):
            net(torch.zeros(b, 3, t, s, s))
    return [(shape, conv) for shape, conv in seen if shape[2] == 2]


def _weight_grad(conv, x, g, dtype):
    """The lone aten call: weight gradient only, channels_last_3d, in `dtype`."""
    cl = torch.channels_last_3d
    xx, ww, gg = (v.to(dtype).contiguous(memory_format=cl) for v in (x, conv.weight.detach(), g))
    return torch.ops.aten.convolution_backward(
        gg, xx, ww, None, list(conv.stride), list(conv.padding), list(conv.dilation), False,
        [0, 0, 0], conv.groups, [False, True, False])[1].double()


def test_bf16_conv3d_weight_gradient_on_two_frames_is_wrong():
    """The fault: on the AMX CPU it was measured on, the bf16 weight gradient of a Conv3d on
    2-frame maps was NaN or ~1e29 where fp32 was fine. Skips when no such layer shows it."""
    torch.manual_seed(0)
    worst, where = 0.0, None
    for shape, conv in _two_frame_convs():
        x = torch.randn(shape)
        g = torch.randn(F.conv3d(x, conv.weight.detach(), None, conv.stride, conv.padding).shape)
        ref, g16 = _weight_grad(conv, x, g, torch.float32), _weight_grad(conv, x, g, torch.bfloat16)
        err = float((g16 - ref).norm() / ref.norm()) if g16.isfinite().all() else float("inf")
        if err > worst:
            worst, where = err, (shape, tuple(conv.weight.shape))
    if worst < 0.1:  # bf16 itself: <= 1.5e-2 on these layers
        backend = torch._C._select_conv_backend(
            torch.zeros(1, 16, 2, 4, 4, dtype=torch.bfloat16),
            torch.zeros(16, 16, 3, 3, 3, dtype=torch.bfloat16), None, [1, 1, 1], [1, 1, 1],
            [1, 1, 1], False, [0, 0, 0], 1)
        pytest.skip(f"does not reproduce with torch {torch.__version__} on this CPU (bf16 "
                    f"convolutions run in {str(backend).split('.')[-1]}; oneDNN bf16 supported: "
                    f"{torch.ops.mkldnn._is_mkldnn_bf16_supported()}): worst relative error "
                    f"{worst:.1e} at input {where[0]}, weight {where[1]}. Where oneDNN runs bf16 "
                    f"(the AMX CPU it was measured on) and this skips, the workaround can go")
    assert worst >= 0.1, "reproduced: a bf16 weight gradient on 2 frames is NaN/inf or far off"


def test_fallback_runs_convs_with_few_frames_in_fp32():
    torch.manual_seed(0)
    conv = convs.Conv3d(16, 16, 3, padding=1, bias=False)
    for t, stride, fp32 in ((2, 1, True), (1, 1, True), (3, 1, True), (4, 1, False),
                            (4, 2, True), (8, 2, False)):
        x = torch.randn(4, 16, t, 6, 6)
        conv.stride = (stride,) * 3
        ref = copy.deepcopy(conv)
        ref(x).square().sum().backward()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        assert y.dtype == (torch.float32 if fp32 else torch.bfloat16), (t, stride)
        if fp32:
            y.float().square().sum().backward()
            torch.testing.assert_close(conv.weight.grad, ref.weight.grad, rtol=1e-5, atol=1e-5)
            conv.weight.grad = None
    # Outside bf16 autocast, nothing changes.
    x = torch.randn(2, 16, 2, 6, 6, dtype=torch.float64)
    assert conv.double()(x).dtype == torch.float64


def _grads(net, x, y, precision):
    net = copy.deepcopy(net)
    with models.autocast_context(torch.device("cpu"), precision):
        out = net(x)
    F.cross_entropy(out.float(), y).backward()
    return {k: p.grad.double() for k, p in net.named_parameters()}


def _bf16_vs_fp32(b, t, s):
    """Largest relative gradient error of any parameter, and the non-finite ones, for
    resnet3d_small as trained (sub-batch BN of 8 clips, channels_last_3d)."""
    torch.manual_seed(0)
    net = models.build_model("resnet3d_small", 12)
    models.convert_to_subbn(net)
    models.set_bn_splits(net, max(1, b // 8))
    net = models.prepare_model(net, torch.device("cpu"), channels_last=True)
    x = torch.randn(b, 3, t, s, s).contiguous(memory_format=torch.channels_last_3d)
    y = torch.randint(0, 12, (b,))
    g32, g16 = _grads(net, x, y, "fp32"), _grads(net, x, y, "bf16")
    bad = [k for k, g in g16.items() if not g.isfinite().all()]
    worst = max(float((g16[k] - g32[k]).norm() / g32[k].norm()) for k in g32)
    return worst, bad


def test_resnet3d_small_bf16_gradients_match_fp32_on_two_frames():
    # Every conv sees < 4 frames, so the fallback makes them fp32 and only the classifier runs
    # bf16: measured 0.004. Without the fallback every conv is bf16: 0.2-0.37.
    worst, bad = _bf16_vs_fp32(32, 2, 16)
    assert not bad and worst < 0.03, (worst, bad)


def test_resnet3d_small_bf16_gradients_finite_on_eight_frames():
    # bf16 convs on 8 and 4 frames, fp32 on 2. At initialisation, bf16's rounding of the
    # activations moves these gradients by ~0.2 relative (0.16-0.21 for conv weights, as much
    # with an emulated ideal bf16 kernel that accumulates in fp32), so the bound only catches the
    # fault's NaN/1e29, not bf16's noise.
    worst, bad = _bf16_vs_fp32(8, 8, 32)
    assert not bad and worst < 0.6, (worst, bad)


def test_auto_precision_is_bf16_only_where_onednn_runs_bf16():
    """`train.precision: auto` (the default): bf16 on CUDA and on CPUs with bf16 units, fp32 on
    others, where bf16 convolutions take a slow kernel (6x fp32's time on the AVX2 CPU here)."""
    from mgsearch.config import TrainConfig

    assert TrainConfig().precision == "auto"
    fast = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert models.resolve_precision(torch.device("cpu"), "auto") == ("bf16" if fast else "fp32")
    assert models.resolve_precision(torch.device("cuda"), "auto") == "bf16"
    for explicit in ("fp32", "bf16", "fp16"):
        assert models.resolve_precision(torch.device("cpu"), explicit) == explicit
