"""PySlowFast YAML import: the schedule a SlowFast user's config gives."""

from __future__ import annotations

import pytest

from mgsearch.errors import ConfigError
from mgsearch.schedule import build_schedule
from mgsearch.slowfast import load_slowfast_config

from .conftest import make_config, KINETICS_R50

KINETICS_YAML = """\
MULTIGRID:
  SHORT_CYCLE: True
  LONG_CYCLE: True
TRAIN:
  BATCH_SIZE: 64
  EVAL_PERIOD: 10
DATA:
  NUM_FRAMES: 32
  SAMPLING_RATE: 2
  TRAIN_CROP_SIZE: 224
SOLVER:
  BASE_LR: 0.1
  LR_POLICY: steps_with_relative_lrs
  LRS: [1, 0.1, 0.01, 0.001, 0.0001, 0.00001]
  STEPS: [0, 94, 154, 196]
  MAX_EPOCH: 239
  WARMUP_EPOCHS: 34.0
  WARMUP_START_LR: 0.01
NUM_GPUS: 8
"""


def test_kinetics_multigrid_yaml_gives_the_same_schedule(tmp_path):
    path = tmp_path / "SLOWFAST_8x8_R50_stepwise_multigrid.yaml"
    path.write_text(KINETICS_YAML)
    cfg = load_slowfast_config(path)
    assert cfg.train.workers == 8 and cfg.shape.batch == 64
    assert cfg.solver.lrs is None  # PySlowFast replaces LRS by gamma**step under the long cycle
    got = build_schedule(cfg)
    want = build_schedule(make_config(KINETICS_R50))
    assert got.stages == want.stages
    assert got.lr_table == want.lr_table


def test_base_files_are_merged_relative_to_the_child(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "common.yaml").write_text(KINETICS_YAML)
    child = tmp_path / "child.yaml"
    child.write_text("_BASE_: base/common.yaml\nMULTIGRID:\n  LONG_CYCLE: False\n")
    cfg = load_slowfast_config(child)
    sched = build_schedule(cfg)
    # Short cycle only: steps scaled by 1.5 with int(), LRS from the file.
    assert [s.start_epoch for s in sched.stages] == [0, 141, 231, 294]
    assert [lr for _, lr in sched.lr_table] == pytest.approx([0.1, 0.01, 0.001, 0.0001])


def test_missing_keys_take_slowfast_defaults(tmp_path):
    path = tmp_path / "minimal.yaml"
    path.write_text("SOLVER:\n  STEPS: [0, 10]\n  MAX_EPOCH: 20\n  LR_POLICY: steps_with_relative_lrs\n"
                    "  LRS: [1, 0.1]\n")
    cfg = load_slowfast_config(path)
    # Defaults: batch 64, 8 frames, 224 crop, stride 8, 1 GPU, no multigrid.
    assert (cfg.shape.batch, cfg.shape.frames, cfg.shape.crop, cfg.shape.sampling_rate) == (64, 8, 224, 8)
    assert cfg.multigrid.grid_set == "baseline" and cfg.train.workers == 1
    assert build_schedule(cfg).max_epoch == 20


def test_errors_name_the_problem(tmp_path):
    missing = tmp_path / "child.yaml"
    missing.write_text("_BASE_: nothere.yaml\n")
    with pytest.raises(ConfigError, match="_BASE_ 'nothere.yaml' not found"):
        load_slowfast_config(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("SOLVER:\n  LR_POLICY: exp\n")
    with pytest.raises(ConfigError, match="LR_POLICY = 'exp' is not supported"):
        load_slowfast_config(bad)
