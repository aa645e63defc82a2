"""Models and losses by import path ("package.module:callable"): each bad path is one line."""

from __future__ import annotations

import pytest
import torch

from mgsearch.errors import ConfigError
from mgsearch.imports import load_object
from mgsearch.models import build_model, resolve_model
from mgsearch.train.model import check_imports, resolve_loss, training_step

from .conftest import make_config

MOD = "tests.usermodels.tiny3d"


def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_a_good_path_builds_the_users_model():
    from tests.usermodels import tiny3d

    assert resolve_model(f"{MOD}:build") is tiny3d.build
    net = build_model(f"{MOD}:build", 5)
    assert net(torch.randn(2, 3, 4, 16, 16)).shape == (2, 5)


def test_a_missing_module_names_it_and_how_to_make_it_importable():
    with pytest.raises(ConfigError) as err:
        resolve_model("mypkg_absent.nets:build")
    msg = one_line(err)
    assert "model.name = 'mypkg_absent.nets:build': no module named 'mypkg_absent'" in msg
    assert "every Ray worker" in msg and "PYTHONPATH" in msg and "sys.path here:" in msg
    assert "working_dir" in msg and "py_modules" in msg


def test_a_missing_submodule_is_named():
    with pytest.raises(ConfigError) as err:
        resolve_model("tests.usermodels.absent:build")
    assert "no module named 'tests.usermodels.absent'" in one_line(err)


def test_a_missing_attribute_names_the_module_and_the_attribute():
    with pytest.raises(ConfigError) as err:
        resolve_model(f"{MOD}:buld")
    msg = one_line(err)
    assert f"module '{MOD}'" in msg and "tiny3d.py" in msg and "no attribute 'buld'" in msg


def test_a_non_callable_is_refused():
    with pytest.raises(ConfigError) as err:
        resolve_model(f"{MOD}:NOT_CALLABLE")
    assert f"model.name = '{MOD}:NOT_CALLABLE' is not callable (its type: int)" in one_line(err)


def test_a_callable_that_returns_no_module_is_refused():
    with pytest.raises(ConfigError) as err:
        build_model(f"{MOD}:not_a_module", 4)
    msg = one_line(err)
    assert "returned a list, not a torch.nn.Module" in msg and "callable(num_classes)" in msg


def test_a_built_in_typo_keeps_did_you_mean():
    with pytest.raises(ConfigError) as err:
        resolve_model("x3d_x")
    msg = one_line(err)
    assert "did you mean 'x3d_xs'?" in msg and "'package.module:callable'" in msg


@pytest.mark.parametrize("path", [":build", f"{MOD}:"])
def test_a_half_path_is_refused(path):
    with pytest.raises(ConfigError) as err:
        load_object(path, "train.loss")
    assert "an import path is 'package.module:callable'" in one_line(err)


def test_the_loss_resolves_like_the_model():
    import torch.nn.functional as F

    assert resolve_loss(None) is F.cross_entropy
    with pytest.raises(ConfigError) as err:
        resolve_loss(f"{MOD}:smoothed")
    assert one_line(err).startswith(f"train.loss = '{MOD}:smoothed': module")


def test_check_imports_reads_both_fields():
    check_imports(make_config({}, f"model.name={MOD}:build",
                              f"train.loss={MOD}:smoothed_ce_plus_100"))
    with pytest.raises(ConfigError, match="^train.loss = 'nope:x': no module named 'nope'"):
        check_imports(make_config({}, f"model.name={MOD}:build", "train.loss=nope:x"))


def test_training_step_uses_the_loss_and_refuses_a_non_scalar():
    net = build_model(f"{MOD}:build", 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    clips, labels = torch.randn(2, 3, 2, 8, 8), torch.tensor([0, 2])
    cpu = torch.device("cpu")
    plain = training_step(net, opt, None, clips, labels, cpu, "fp32")
    custom = training_step(net, opt, None, clips, labels, cpu, "fp32",
                           resolve_loss(f"{MOD}:smoothed_ce_plus_100"))
    assert 100 < custom < 100 + 2 * plain + 1 and plain < 100
    with pytest.raises(ConfigError) as err:
        training_step(net, opt, None, clips, labels, cpu, "fp32", resolve_loss(f"{MOD}:per_clip_ce"))
    assert "train.loss returned (2,), not a scalar tensor" in one_line(err)


def test_the_default_loss_keeps_the_config_hash():
    """Checkpoints written before train.loss existed still resume: its default is not hashed."""
    import hashlib
    import json

    from mgsearch.configtypes import to_dict
    from mgsearch.contract import config_hash

    cfg = make_config({})
    data = to_dict(cfg)
    data.pop("name")
    del data["train"]["storage_path"], data["train"]["loss"]  # the fields the hash had before
    del data["train"]["keep_checkpoints"]  # retention: not hashed either
    data["search"]["bn_base_sizes"] = [8]  # its old default, which null stands for
    for section, key in (("multigrid", "long_cycles"), ("multigrid", "fine_tune_fraction"),
                         ("search", "space"), ("search", "repair"), ("search", "points"),
                         ("search", "baseline_repeats")):
        del data[section][key]  # keys added later, at their defaults (not hashed)
    blob = json.dumps({"config": data, "baseline": False}, sort_keys=True)
    assert config_hash(cfg) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    assert config_hash(cfg) != config_hash(
        make_config({}, f"train.loss={MOD}:smoothed_ce_plus_100"))
