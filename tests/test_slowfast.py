"""PySlowFast YAML import: the schedule a SlowFast user's config gives."""

from __future__ import annotations

import warnings

import pytest

from mgsearch.errors import ConfigError
from mgsearch.schedule import build_schedule
from mgsearch.slowfast import load_slowfast_config

from .conftest import KINETICS_R50, ROOT, make_config

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
    with pytest.raises(ConfigError, match="SOLVER.LR_POLICY = 'exp': not supported"):
        load_slowfast_config(bad)


# --- the published configs (tests/fixtures/slowfast mirrors facebookresearch/SlowFast) ----------

FIXTURES = ROOT / "tests" / "fixtures" / "slowfast"
# Each fixture's outcome: None for a schedule table, or a phrase of its one-line refusal.
OUTCOMES = {
    "configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml": None,
    "configs/Charades/SLOWFAST_16x8_R50_multigrid.yaml": None,
    "configs/SSv2/SLOWFAST_16x8_R50_multigrid.yaml": None,
    "configs/Charades/SLOWFAST_16x8_R50.yaml": None,
    "configs/AVA/SLOWFAST_32x2_R50_SHORT.yaml": None,
    "configs/Kinetics/X3D_M.yaml": None,
    "configs/contrastive_ssl/BYOL_SlowR50_8x8.yaml": None,
    "configs/contrastive_ssl/finetune_ucf_Slow_R50_syn0.yaml": None,
    "configs/Kinetics/MVITv2_S_16x4.yaml": "SOLVER.COSINE_AFTER_WARMUP = True: not supported",
}


def fixture(rel: str):
    return FIXTURES / rel


def test_every_fixture_is_listed_and_names_its_upstream_file():
    found = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.yaml"))
    assert found == sorted(OUTCOMES)
    for rel in found:
        first = fixture(rel).read_text().splitlines()[0]
        assert first.startswith(f"# Mirrors facebookresearch/SlowFast {rel} (revision ")


@pytest.mark.parametrize("rel", sorted(OUTCOMES))
def test_cli_gives_a_table_or_one_line_for_every_published_config(rel, capsys):
    from mgsearch.cli import main

    # --clips: a Kinetics-scale training set (the default 1000 cannot hold a global batch of 64
    # on 8 workers in every stage); no exception may escape.
    code = main(["schedule", "--slowfast-config", str(fixture(rel)), "--clips", "240000"])
    out, err = capsys.readouterr()
    if OUTCOMES[rel] is None:
        assert code == 0
        assert "stage  phase" in out and "predicted speed-up" in out
        assert "error" not in err
    else:
        assert code == 2 and out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mgsearch: error: ")
        assert OUTCOMES[rel] in lines[0] and rel in lines[0]


def _train_ends(sched):
    return [s.end_epoch for s in sched.stages if s.phase == "train"]


def test_kinetics_fixture_gives_the_hand_derived_stage_ends():
    cfg = load_slowfast_config(fixture("configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml"))
    assert cfg.solver.weight_decay == 1e-4  # `1e-4` in the file: a number, as PySlowFast reads it
    sched = build_schedule(cfg)
    # Derived by hand in tests/test_schedule.py::test_kinetics_slowfast_r50_stage_ends_derived_by_hand.
    assert _train_ends(sched) == [73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329]
    assert [(s.start_epoch, s.end_epoch) for s in sched.stages[-2:]] == [(329, 343), (343, 358)]


def test_charades_multigrid_stage_ends_derived_by_hand():
    """Charades SlowFast 16x8 multigrid: B=16 on 8 GPUs, T=64, S=224, steps [0, 41, 49], 57 epochs.

    T and S scale the long-cycle shapes as in the Kinetics derivation (t = 16, 32, 32, 64;
    s = 158, 158, 224, 224), so the relative batches and their means are the same: 32/3, 16/3,
    14/3, 7/3 (sum 23), i.e. an LR step of L epochs splits as L * (32, 16, 14, 7) / 69, and the
    iteration saving is 23/4. In units of 1/69 epoch the cumulative raw epochs are
      step 0 (L=41): 1312, 1968, 2542, 2829;  step 1 (L=8): 3085, 3213, 3325, 3381;
      fine-tuning (57-49) * 4/23 * 7/3 = 224/69: 3605.
    Scaled to 57 * 1.5 = 85.5 epochs (x 85.5/3605) and rounded:
      31.12, 46.68, 60.29, 67.10, 73.17, 76.20, 78.86, 80.19, 85.5 -> 31 47 60 67 73 76 79 80 86
    (85.5 rounds to even, 86). Fine-tuning splits at (80 + 86) // 2 = 83.
    """
    cfg = load_slowfast_config(fixture("configs/Charades/SLOWFAST_16x8_R50_multigrid.yaml"))
    sched = build_schedule(cfg)
    assert _train_ends(sched) == [31, 47, 60, 67, 73, 76, 79, 80]
    assert [(s.start_epoch, s.end_epoch) for s in sched.stages[-2:]] == [(80, 83), (83, 86)]
    assert [s.shape for s in sched.stages[:4]] == [(8, 16, 158), (4, 32, 158), (2, 32, 224),
                                                   (1, 64, 224)]
    # Per-GPU batch 16 / 8 = 2 clips at the full shape; the coarsest stage carries 8x that.
    assert sched.stages[3].grids[-1].per_worker_batch == 2
    assert sched.stages[0].grids[-1].per_worker_batch == 16
    assert sched.lr_at(10) == pytest.approx(0.0375 * 8)


def test_ssv2_multigrid_stage_ends_derived_by_hand():
    """SSv2 SlowFast 16x8 multigrid: as Charades but steps [0, 14, 18], 22 epochs.

    Cumulative raw epochs in units of 1/69: step 0 (L=14): 448, 672, 868, 966; step 1 (L=4):
    1094, 1158, 1214, 1242; fine-tuning 4 * 4/23 * 7/3 = 112/69: 1354. Scaled to 33 epochs
    (x 33/1354): 10.92, 16.38, 21.16, 23.54, 26.66, 28.22, 29.59, 30.27, 33
      -> 11 16 21 24 27 28 30 30 33.
    The last training stage of step 1 rounds to zero epochs (30-30): PySlowFast never trains it
    (its shape lookup takes the first stage ending after the epoch), mgsearch drops it with a
    warning. Fine-tuning splits at (30 + 33) // 2 = 31, its first half at step 1's last rate
    (0.1 x 0.03, as PySlowFast's LRS[-2]), the second at gamma^2 x 0.03.
    """
    cfg = load_slowfast_config(fixture("configs/SSv2/SLOWFAST_16x8_R50_multigrid.yaml"))
    assert cfg.solver.weight_decay == 1e-6
    with pytest.warns(UserWarning, match="zero-length"):
        sched = build_schedule(cfg)
    assert _train_ends(sched) == [11, 16, 21, 24, 27, 28, 30]
    assert [(s.start_epoch, s.end_epoch) for s in sched.stages[-2:]] == [(30, 31), (31, 33)]
    starts = [0, 11, 16, 21, 24, 27, 28, 30, 31]
    lrs = [0.03 * f for f in (8, 4, 2, 1, 0.8, 0.4, 0.2, 0.1, 0.01)]
    assert [e for e, _ in sched.lr_table] == starts
    assert [lr for _, lr in sched.lr_table] == pytest.approx(lrs)


def test_ava_steps_at_max_epoch_never_start():
    cfg = load_slowfast_config(fixture("configs/AVA/SLOWFAST_32x2_R50_SHORT.yaml"))
    # STEPS [0, 10, 15, 20] with MAX_EPOCH 20: PySlowFast never reaches the step at 20.
    assert cfg.solver.steps == (0, 10, 15) and cfg.solver.weight_decay == 1e-7
    base = build_schedule(cfg)
    assert [(s.start_epoch, s.end_epoch) for s in base.stages] == [(0, 10), (10, 15), (15, 20)]
    assert [lr for _, lr in base.lr_table] == pytest.approx([0.1, 0.01, 0.001])
    assert base.eval_epochs == (5, 10, 15, 20)


def test_cosine_configs_give_one_stage_and_the_per_gpu_split():
    x3d = load_slowfast_config(fixture("configs/Kinetics/X3D_M.yaml"))
    assert (x3d.shape.batch, x3d.train.workers, x3d.solver.policy) == (128, 8, "cosine")
    assert x3d.solver.weight_decay == 5e-5
    sched = build_schedule(x3d)
    assert [(s.start_epoch, s.end_epoch) for s in sched.stages] == [(0, 300)]
    assert sched.stages[0].grids[0].per_worker_batch == 16
    byol = load_slowfast_config(fixture("configs/contrastive_ssl/BYOL_SlowR50_8x8.yaml"))
    assert byol.shape.batch == 64 and byol.solver.base_lr == 0.6  # no TRAIN.BATCH_SIZE: default


def test_shards_scale_the_global_batch_and_the_lrs(tmp_path):
    text = fixture("configs/Kinetics/X3D_M.yaml").read_text()
    path = tmp_path / "x3d_2_machines.yaml"
    path.write_text(text.replace("NUM_GPUS: 8\n", "NUM_GPUS: 8\nNUM_SHARDS: 2\n"))
    cfg = load_slowfast_config(path)
    # 128 per machine, split over its 8 GPUs; two machines: 256 clips over 16 workers.
    assert (cfg.shape.batch, cfg.train.workers) == (256, 16)
    # BASE_LR_SCALE_NUM_SHARDS: True scales the three LRs by NUM_SHARDS.
    assert (cfg.solver.base_lr, cfg.solver.warmup_start_lr) == pytest.approx((0.2, 0.02))
    unscaled = tmp_path / "unscaled.yaml"
    unscaled.write_text(path.read_text().replace("BASE_LR_SCALE_NUM_SHARDS: True",
                                                 "BASE_LR_SCALE_NUM_SHARDS: False"))
    assert load_slowfast_config(unscaled).solver.base_lr == pytest.approx(0.1)


def test_cosine_under_the_long_cycle_is_not_batch_scaled(tmp_path):
    path = tmp_path / "cosine_mg.yaml"
    path.write_text("MULTIGRID:\n  LONG_CYCLE: True\n  SHORT_CYCLE: True\n"
                    "SOLVER:\n  LR_POLICY: cosine\n  STEPS: [0, 20, 30]\n  MAX_EPOCH: 40\n")
    cfg = load_slowfast_config(path)
    assert cfg.multigrid.lr_scaling == "none"  # PySlowFast's cosine ignores the rescaled LRS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = build_schedule(cfg)
    assert sched.stages[0].shape[0] > 1 and sched.stages[0].lr_scale == 1.0


@pytest.mark.parametrize("text, needle", [
    ("TRAIN:\n  BATCH_SIZE: 12\nNUM_GPUS: 8\n",
     "TRAIN.BATCH_SIZE = 12: not divisible by NUM_GPUS = 8"),
    ("SOLVER:\n  OPTIMIZING_METHOD: adam\n", "SOLVER.OPTIMIZING_METHOD = 'adam': not supported"),
    ("SOLVER:\n  LR_POLICY: steps_with_relative_lrs\n  STEPS: [0, 10]\n  MAX_EPOCH: 20\n",
     "SOLVER.LRS = []: steps_with_relative_lrs needs one relative LR per SOLVER.STEPS entry"),
    ("SOLVER:\n  STEPS: [0, ten]\n", "SOLVER.STEPS[1] = 'ten': expected a whole number"),
    ("SOLVER:\n  LR_POLICY: steps_with_relative_lrs\n  STEPS: [5, 10]\n  LRS: [1, 0.1]\n"
     "  MAX_EPOCH: 20\n", "(solver.steps is PySlowFast's SOLVER.STEPS)"),
])
def test_unsupported_or_impossible_keys_give_one_line(tmp_path, text, needle):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_slowfast_config(path)
    assert needle in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_a_repeated_key_keeps_the_last_value_as_in_pyslowfast(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("SOLVER:\n  BASE_LR: 0.2\n  BASE_LR: 0.05\n")
    assert load_slowfast_config(path).solver.base_lr == 0.05
