"""Config loading: typed sections, one-line errors naming key, value, file and fix."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from mgsearch.config import Config, load_config
from mgsearch.errors import ConfigError

from .conftest import ROOT


def write(tmp_path, text: str):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_quickstart_loads_into_frozen_typed_sections():
    path = ROOT / "experiments" / "quickstart.yaml"
    cfg = load_config(path)
    raw = yaml.safe_load(path.read_text())  # the values the quickstart sets, whatever they are
    assert isinstance(cfg, Config)
    assert cfg.name == "quickstart"
    assert cfg.shape.batch == raw["shape"]["batch"] and isinstance(cfg.shape.batch, int)
    assert cfg.solver.steps == tuple(raw["solver"]["steps"])  # YAML list -> tuple
    assert cfg.dataset.format == "synthetic" and cfg.model.name == "resnet3d_small"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.solver.base_lr = 1.0  # type: ignore[misc]


def test_unknown_key_names_key_file_and_suggestion(tmp_path):
    path = write(tmp_path, "solver:\n  bse_lr: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "solver.bse_lr" in msg and "solver.base_lr" in msg
    assert "\n" not in msg


def test_unknown_section(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'solvr'.*did you mean 'solver'"):
        load_config(write(tmp_path, "solvr: {}\n"))


@pytest.mark.parametrize("text, needle", [
    ("shape:\n  batch: eight\n", "shape.batch = 'eight': expected a whole number"),
    ("shape:\n  batch: 8.5\n", "shape.batch = 8.5: expected a whole number"),
    ("solver:\n  nesterov: 3\n", "solver.nesterov = 3: expected true or false"),
    ("solver:\n  policy: cosin\n", "did you mean 'cosine'"),
    ("solver:\n  steps: 5\n", "solver.steps = 5: expected a list"),
])
def test_wrong_types(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("text, needle", [
    ("solver:\n  base_lr: -1\n", "solver.base_lr = -1.0: must be > 0"),
    ("solver:\n  steps: [1, 5]\n", "must start with 0"),
    ("solver:\n  steps: [0, 5, 5]\n  max_epoch: 9\n", "must increase strictly"),
    ("solver:\n  steps: [0, 30]\n  max_epoch: 20\n", "solver.max_epoch = 20: must be > the last step"),
    ("shape:\n  crop: 4\n", "shape.crop = 4: must be >= 8 pixels"),
    ("shape:\n  batch: 6\ntrain:\n  workers: 4\n", "must be divisible by train.workers=4"),
    ("multigrid:\n  grid_set: wu2021\n", "did you mean 'wu2020'"),
    ("search:\n  delta: -0.5\n", "search.delta = -0.5: must be >= 0 accuracy points"),
])
def test_impossible_values(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"line \d+: not valid YAML"):
        load_config(write(tmp_path, "solver:\n  steps: [0, 1\n"))


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("/nonexistent/exp.yaml")


def test_overrides_are_type_checked_like_the_file(tmp_path):
    path = write(tmp_path, "name: x\n")
    cfg = load_config(path, ["solver.base_lr=0.05", "solver.steps=[0, 3]", "solver.max_epoch=5",
                             "multigrid.grid_set=long_only"])
    assert cfg.solver.base_lr == 0.05 and cfg.solver.steps == (0, 3)
    assert cfg.multigrid.grid_set == "long_only"
    with pytest.raises(ConfigError, match=r"--set solver\.base_lr=abc: .*expected a number"):
        load_config(path, ["solver.base_lr=abc"])
    with pytest.raises(ConfigError, match=r"unknown key 'solver\.bse_lr'"):
        load_config(path, ["solver.bse_lr=1"])
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(path, ["solver.base_lr"])
    # A value valid by type but impossible for the whole config names the override too.
    with pytest.raises(ConfigError, match=r"with --set shape\.batch=7"):
        load_config(path, ["shape.batch=7", "train.workers=2"])


@pytest.mark.parametrize("text, value", [
    ("1e-4", 1e-4), ("1E-6", 1e-6), (".5", 0.5), ("-.5", -0.5), ("-1e-3", -1e-3),
    ("5e+2", 500.0), ("1.5e3", 1500.0), ("2.", 2.0), (".inf", float("inf")),
    ("8", 8), ("010", 8), ("true", True),  # ints and booleans as YAML 1.1 (and PySlowFast) read them
    ("1e", "1e"), ("e5", "e5"), ("1.2.3", "1.2.3"), ("1e-4x", "1e-4x"),  # not numbers: strings
])
def test_numbers_read_as_yaml_1_2_floats(text, value):
    from mgsearch.yamlload import load

    got = load(f"v: {text}\n", "<test>")["v"]
    assert got == value and type(got) is type(value)


def test_exponent_floats_in_files_and_overrides(tmp_path):
    path = write(tmp_path, "solver:\n  base_lr: 1e-3\n  weight_decay: 5E-5\n"
                           "  warmup_start_lr: .5e-3\n")
    cfg = load_config(path, ["solver.cosine_end_lr=1e-6"])
    assert (cfg.solver.base_lr, cfg.solver.weight_decay) == (1e-3, 5e-5)
    assert (cfg.solver.warmup_start_lr, cfg.solver.cosine_end_lr) == (5e-4, 1e-6)
    assert load_config(path, ["solver.base_lr=1e-2"]).solver.base_lr == 1e-2
    assert load_config(path, ["name=1e3x"]).name == "1e3x"  # a string that is not a number


def test_duplicate_key_names_key_and_lines(tmp_path):
    path = write(tmp_path, "solver:\n  base_lr: 0.1\n  steps: [0, 3]\n  base_lr: 0.2\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(f"{path} line 4: key 'base_lr' is given twice")
    assert "first at line 2" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="key 'a' is given twice"):
        load_config(write(tmp_path, "name: x\n"), ["search.custom=[{name: a}, {a: 1, a: 2}]"])
