"""Models: every registered net takes the shapes its grid set feeds it; the shape check refuses
what collapses; weights load from a local file."""

from __future__ import annotations

import pytest
import torch

from mgsearch.config import load_config
from mgsearch.errors import ConfigError
from mgsearch.models import build_model, check_input_shape, gflops_per_clip, list_models
from mgsearch.schedule import build_schedule

from ..conftest import ROOT, make_config


def test_registry_names():
    assert {"resnet3d_small", "x3d_xs", "r3d_18", "mc3_18", "r2plus1d_18", "s3d"} <= set(list_models())
    with pytest.raises(ConfigError, match="did you mean 'resnet3d_small'"):
        build_model("resnet3d_smal", 4)


def test_resnet3d_small_size_and_every_quickstart_grid():
    net = build_model("resnet3d_small", 12)
    assert 0.8e6 < sum(p.numel() for p in net.parameters()) < 1.0e6
    sched = build_schedule(make_config({"solver": {"steps": [0, 8, 12], "max_epoch": 16}}),
                           clips=4000)
    # And the grids experiments/quickstart.yaml feeds it, for every grid set its search runs.
    quickstart = ROOT / "experiments" / "quickstart.yaml"
    grids = {(g.t, g.s) for g in sched.grids}
    for grid_set in load_config(quickstart).search.grid_sets:
        cfg = load_config(quickstart, [f"multigrid.grid_set={grid_set}"])
        grids |= {(g.t, g.s) for g in build_schedule(cfg, clips=4000).grids}
    net.eval()
    with torch.no_grad():
        for t, s in sorted(grids):
            check_input_shape(net, "resnet3d_small", t, s)
            assert net(torch.randn(2, 3, t, s, s)).shape == (2, 12)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["x3d_xs", "r3d_18", "mc3_18", "r2plus1d_18", "s3d"])
def test_other_models_take_small_shapes(name):
    net = build_model(name, 5).eval()
    t, s = (8, 64) if name == "s3d" else (4, 32)
    with torch.no_grad():
        assert net(torch.randn(1, 3, t, s, s)).shape == (1, 5)


def test_shape_check_refuses_what_collapses():
    net = build_model("s3d", 5)
    with pytest.raises(ConfigError, match=r"model 's3d' cannot take 4 frames x 32x32 px"):
        check_input_shape(net, "s3d", 4, 32)
    check_input_shape(net, "s3d", 8, 64)  # a shape measured to work


def test_flops_scale_with_the_shape():
    net = build_model("resnet3d_small", 12)
    full, coarse = gflops_per_clip(net, 16, 64), gflops_per_clip(net, 4, 32)
    assert full > 0
    # 16x fewer voxels; strided convs round up, so a bit more than 1/16 of the FLOPs.
    assert full / 20 < coarse < full / 12


def test_weights_from_a_local_file_round_trip(tmp_path):
    a = build_model("resnet3d_small", 12)
    path = tmp_path / "w.pt"
    torch.save(a.state_dict(), path)
    b = build_model("resnet3d_small", 12, weights_path=str(path))
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    # Another number of classes: the head is skipped with a warning, the body loads.
    with pytest.warns(UserWarning, match="skipped 2 tensors"):
        c = build_model("resnet3d_small", 7, weights_path=str(path))
    assert torch.equal(c.stem[0].weight, a.stem[0].weight)
    with pytest.raises(ConfigError, match="not found"):
        build_model("resnet3d_small", 7, weights_path=str(tmp_path / "none.pt"))
    with pytest.raises(ConfigError, match="does not fit this model"):
        build_model("x3d_xs", 12, weights_path=str(path))


def test_stem_gradients_stay_finite_under_bf16_on_two_frame_clips():
    """Regression for a measured CPU bf16 fault: a Conv3d weight gradient on 2-frame input
    came out NaN/1e29; resnet3d_small keeps its stem in fp32 under autocast."""
    torch.manual_seed(0)
    net = build_model("resnet3d_small", 12)
    x = torch.randn(64, 3, 2, 45, 45)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    torch.nn.functional.cross_entropy(out.float(), torch.randint(0, 12, (64,))).backward()
    grad = net.stem[0].weight.grad
    assert torch.isfinite(grad).all() and grad.abs().max() < 1e3
