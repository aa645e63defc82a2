"""The per-worker training loop: walk a Schedule's stages on a Ray Train worker.

`train_loop_per_worker({"config": cfg, "point": SearchPoint, "run_dir": str})` is what a `TorchTrainer` runs on every
worker (or in-process with `workers: 0`). Multigrid and the fixed-shape baseline go through this
same code; only the Schedule differs. The loop walks the schedule's clip stream (segments of
mgsearch.stream) iteration by iteration; at each of the schedule's points (fixed fractions of
the run's baseline-equivalent clips, mgsearch.points) it reports one metrics dict through
`ray.train.report` from every worker (a barrier), evaluates where the point says, and rank 0
attaches a checkpoint where it says. A restart resumes at the checkpoint's exact iteration.
Rank-0 side effects are gated in `WorkerRun.is_chief`.

Off the clock (`time_total_s` never includes them): the reference step before training and
after the last point (`train.ref_step`, mgsearch.train.refstep; reports carry
`ref_step_start_s`, the last one also `ref_step_end_s`), and the start-up the trial waited for
(`worker_start_s`: the driver's start to this worker's entry, the worker group's start-up;
`first_step_s`: to the first training step, the reference step excluded).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path, PurePosixPath

import ray.train
import torch

from .. import contract, storage
from ..clock import Clock
from ..data import Loaders
from ..schedule import Point, Schedule, Stage
from ..stream import resume_segments
from . import checkpoint as ckpt
from . import tblog
from .evaluation import evaluate
from .model import TrainModel
from .refstep import reference_step_s


class WorkerRun:
    """Everything one worker holds while it trains; built once per (re)start."""

    def __init__(self, cfg, point: contract.SearchPoint | None = None,
                 run_dir: str | None = None, via_tune: bool = False,
                 driver_start: float | None = None):
        entered = time.time()
        self.cfg = cfg
        self.point = point or contract.SearchPoint.of(cfg)  # reported with every report
        self.run_dir = run_dir  # a local path or a URI (mgsearch.storage); None: no files
        self.metrics_file = (storage.join(run_dir, contract.METRICS_FILE)
                             if run_dir is not None else None)
        # In-process runs inside a Tune trial must use Tune's report/get_checkpoint (Ray 2.60
        # refuses ray.train.report there); worker groups report through Ray Train.
        self.api = _tune_api() if via_tune else ray.train
        if via_tune:
            self.rank, self.world = 0, 1
        else:
            ctx = ray.train.get_context()
            self.rank, self.world = ctx.get_world_rank(), ctx.get_world_size()
        self.is_chief = self.rank == 0
        # Checkpoints: rank 0 writes them into the run folder itself when it is local (Ray Train's
        # in-process mode would persist none, and a new driver, a restored trial or a restarted
        # worker group all find them there: restore()); Ray persists them for remote storage.
        self.own_checkpoints = storage.file_path(run_dir) if run_dir is not None else None
        self.node_id = ray.get_runtime_context().get_node_id()  # which node trained (clusters)
        self.distributed = self.world > 1 and torch.distributed.is_initialized()
        self.cfg_hash = contract.config_hash(cfg)
        self.clock = Clock()
        self.device = _device(cfg)
        # Ray reserves cpus_per_worker CPUs for this worker; torch would otherwise use them all.
        torch.set_num_threads(max(1, int(cfg.train.cpus_per_worker)))
        torch.manual_seed(cfg.train.seed)  # same init on every rank; DDP also broadcasts it
        with self.clock.other():
            self.loaders = Loaders(cfg, None, self.rank, self.world)
            clips = len(self.loaders.train_set)  # iterations depend on the training set's size
            # The schedule and what it predicts against the baseline, carried in every report.
            self.schedule: Schedule
            self.schedule, self.prediction = contract.predict(cfg, clips)
            self.net = TrainModel(cfg, self.schedule, self.loaders.num_classes, self.device,
                                  distributed=self.distributed)
        # Budgets in baseline-equivalent clips (compute in default-shape clips, mgsearch.points).
        self.budget = self.prediction.compute * cfg.shape.batch
        self.baseline_budget = self.prediction.baseline_compute * cfg.shape.batch
        self.clip_voxels = cfg.shape.frames * cfg.shape.crop**2
        self.start_iter = 0
        # time_reported_s: the clock total at the last report, so each report carries
        # time_this_iter_s and Tune's time_total_s (their running sum) equals the clock's total.
        self.counters = {"clips": 0, "iterations": 0, "gflops": 0.0, "equivalent_clips": 0.0,
                         "time_reported_s": 0.0}
        self._bn_at = -1  # iterations count when the BN statistics were last made evaluation-ready
        # The last evaluation reads the full validation set; earlier ones the fixed subset.
        self.final_eval = max((p.iteration for p in self.schedule.points if p.evaluate),
                              default=-1)
        # Off-clock figures carried in reports: start-up seconds (wall clock since the driver's
        # start, unix time: one node) and the reference step (seconds).
        self.driver_start = driver_start
        self.startup = ({"worker_start_s": entered - driver_start}
                        if driver_start is not None else {})
        self.ref_wall_s = 0.0  # wall seconds the reference steps took before the first step
        self.ref: dict[str, float] = {}

    # -- restore ---------------------------------------------------------------------------------
    def restore(self) -> None:
        """Continue from the run's newest checkpoint, if it has one: a restarted worker group,
        a restored Tune trial and a rerun of the same config all resume where it stopped."""
        if self.own_checkpoints is not None:
            latest = ckpt.load_latest(self.own_checkpoints, self.cfg_hash)
            if latest is None:
                return
            state = latest[1]
        else:
            found = self.api.get_checkpoint()
            if found is None:
                return
            with found.as_directory() as folder:
                state = ckpt.load(folder, self.cfg_hash)
        self.net.load_state(state["model"], state["optimizer"])
        self.clock.load_state_dict(state["clock"])
        self.counters.update(state["counters"])
        ckpt.set_rng_state(state["rng"])
        self.start_iter = int(state["iteration"])
        if self.is_chief:
            print(f"[mgsearch] resumed after iteration {self.start_iter} "
                  f"(stage {self.schedule.stage_at_iter(self.start_iter).index}, "
                  f"{self.clock.total:.1f} s on the clock)", flush=True)

    # -- training --------------------------------------------------------------------------------
    def fit(self) -> None:
        """Train from `start_iter` to the end, reporting at every point after it."""
        self.restore()
        if self.start_iter >= self.schedule.iterations:
            if self.is_chief:
                print(f"[mgsearch] this run finished before: nothing left to train (its reports: "
                      f"{self.metrics_file})", flush=True)
            return
        if self.is_chief and self.run_dir is not None:  # what analysis rebuilds the run from
            storage.write_text(storage.join(self.run_dir, contract.TRIAL_FILE), json.dumps(
                contract.trial_record(self.point, self.cfg, self.prediction), indent=1))
        self.reference_step("ref_step_start_s")
        sched = self.schedule
        points = [p for p in sched.points if p.iteration > self.start_iter]
        segments = resume_segments(sched.segments, [s.batch_sizes for s in sched.stages],
                                   self.start_iter)
        chunk = _Chunk(self.clock)
        self.net.train()
        first = True
        for seg in segments:
            stage = sched.stages[seg.stage]
            it = iter(self.loaders.segment(stage, seg))
            for i in range(seg.start_iter, seg.end_iter):
                with self.clock.data_wait():
                    clips, labels, grid_index = next(it)
                grid = stage.grids[grid_index]
                if first and self.driver_start is not None:
                    self.startup["first_step_s"] = (time.time() - self.driver_start
                                                    - self.ref_wall_s)
                first = False
                with self.clock.train():
                    lr = sched.lr_at_iter(i)
                    loss = self.net.step(clips, labels, lr, grid.bn_split)
                chunk.add(loss, labels.shape[0], lr)
                self.counters["clips"] += grid.global_batch
                self.counters["iterations"] += 1
                self.counters["equivalent_clips"] += grid.cost / self.clip_voxels
                self.counters["gflops"] += grid.global_batch * self.net.train_gflops(grid.t, grid.s)
                if points and i + 1 == points[0].iteration:
                    self._at_point(points.pop(0), stage, chunk.metrics(self.world))
                    chunk = _Chunk(self.clock)
                    self.net.train()

    def _at_point(self, point: Point, stage: Stage, metrics: dict) -> None:
        if point.evaluate:
            with self.clock.eval():
                metrics.update(self.evaluate(subset=point.iteration != self.final_eval))
        if point.index == self.schedule.points[-1].index:  # training has ended: time it again
            self.reference_step("ref_step_end_s")
        self.report(point, stage, metrics)

    def reference_step(self, key: str) -> None:
        """Time the reference step into `self.ref[key]`, off the clock, when train.ref_step."""
        if not self.cfg.train.ref_step:
            return
        start = time.time()
        self.ref[key] = reference_step_s(self.cfg, self.loaders.num_classes, self.device)
        self.ref_wall_s += time.time() - start

    def refresh_bn(self) -> None:
        """Evaluation-ready BN statistics, once per weight state: the merged sub-batch ones, then
        (train.precise_bn_clips > 0) precise BN at the full shape, on every rank. Training
        forwards normalize with batch statistics, so this never changes training."""
        if self._bn_at == self.counters["iterations"]:
            return
        self.net.merge_bn()
        if self.cfg.train.precise_bn_clips:
            self.net.precise_bn(self.loaders.precise_bn(self.cfg.train.precise_bn_clips),
                                self.distributed)
        self._bn_at = self.counters["iterations"]

    def evaluate(self, subset: bool = False) -> dict:
        """Top-1/top-5/loss on the full-shape validation set, summed over all workers; with
        `subset` on the fixed subset (train.eval_subset_clips; the full set when it is 0)."""
        self.refresh_bn()
        return evaluate(self.net, self.loaders, subset, self.distributed, self.device)

    # -- reporting -------------------------------------------------------------------------------
    def report(self, point: Point, stage: Stage, metrics: dict) -> None:
        sched, done = self.schedule, point.iteration
        if point.checkpoint:  # checkpoints hold precise statistics; on every rank (all_reduce),
            with self.clock.eval():  # on the clock before this report; a no-op after evaluate()
                self.refresh_bn()
        grid = stage.grids[-1]
        metrics = {
            "point": point.index, "points": len(sched.points),
            "epoch": round(sched.epoch_at_iter(done), 6), "stage": stage.index,
            "phase": stage.phase, "shape_t": grid.t, "shape_s": grid.s,
            "global_batch": stage.global_batch, "max_epoch": sched.max_epoch, "kind": sched.kind,
            **self.point.as_dict(), **self.prediction.as_dict(),
            "precision": self.net.precision,  # what ran ("auto" resolved)
            "node_id": self.node_id,
            # what the report needs of the config: chance level and the verdicts' margin
            "num_classes": self.loaders.num_classes, "delta": self.cfg.search.delta,
            **metrics, **self.clock.metrics(), **self.startup, **self.ref,
            "clips_seen": self.counters["clips"], "iterations": self.counters["iterations"],
            "equivalent_clips": self.counters["equivalent_clips"],
            "budget_fraction": self.counters["equivalent_clips"] / self.budget,
            "baseline_budget_fraction": self.counters["equivalent_clips"] / self.baseline_budget,
            "train_gflops": self.counters["gflops"],
            "time_this_iter_s": max(0.0, self.clock.total - self.counters["time_reported_s"]),
        }
        metrics = contract.check_report(metrics)
        self.counters["time_reported_s"] = self.clock.total
        state = dict(iteration=done, point=point.index, cfg_hash=self.cfg_hash,
                     score=metrics.get(contract.METRIC))
        if point.checkpoint and self.is_chief and self.own_checkpoints is None:
            with self.clock.other(), tempfile.TemporaryDirectory() as folder:
                ckpt.save(folder, **self._state(), **state)
                self.api.report(metrics, checkpoint=self.api.Checkpoint.from_directory(folder))
        else:
            self.api.report(metrics)
        if self.is_chief:
            print(_progress_line(metrics, self.metrics_file), flush=True)
            tblog.log_epoch(self.metrics_file, metrics)
            if self.metrics_file is not None:
                storage.append_line(self.metrics_file, json.dumps(metrics))
        if point.checkpoint and self.is_chief and self.own_checkpoints is not None:
            with self.clock.other():  # after the report's line: a kill between the two repeats
                ckpt.save_into_run(self.own_checkpoints,  # a point, never skips one
                                   keep=self.cfg.train.keep_checkpoints, **self._state(),
                                   **state)

    def _state(self) -> dict:
        return dict(model_state=self.net.state_dict(),
                    optimizer_state=self.net.optimizer.state_dict(),
                    clock_state=self.clock.state_dict(), counters=dict(self.counters))


class _Chunk:
    """Training metrics of the iterations since the last report."""

    def __init__(self, clock: Clock):
        self.clock, self.loss_sum, self.seen, self.iters, self.lr = clock, 0.0, 0, 0, 0.0
        self.started = clock.train_s + clock.data_wait_s

    def add(self, loss: float, clips: int, lr: float) -> None:
        self.loss_sum += loss * clips
        self.seen += clips
        self.iters += 1
        self.lr = lr

    def metrics(self, world: int) -> dict:
        busy = self.clock.train_s + self.clock.data_wait_s - self.started
        return {"train_loss": self.loss_sum / max(self.seen, 1), "lr": self.lr,
                "clips_per_s": self.seen * world / max(busy, 1e-9),
                "iterations_chunk": self.iters}


def _tune_api():
    import ray.tune

    return ray.tune


def _device(cfg) -> torch.device:
    if cfg.train.use_gpu:
        import ray.train.torch as rtt

        return rtt.get_device()
    return torch.device("cpu")


def _progress_line(m: dict, metrics_file: str | Path | None = None) -> str:
    """One line per epoch, naming the run (its grid set, seed and folder: one trial's lines stay
    apart from another's in a search's merged log)."""
    val = f" val top-1 {m['val_top1']:5.1f}%" if "val_top1" in m else ""
    # The run folder's name; a URI's query string (pyarrow options) may hold slashes.
    run = (f" {PurePosixPath(str(metrics_file).split('?', 1)[0]).parent.name}"
           if metrics_file is not None else "")
    return (f"[mgsearch] {m['grid_set']} seed {m['seed']}{run} "
            f"epoch {m['epoch']}/{m['max_epoch']} stage {m['stage']} "
            f"{m['shape_t']}x{m['shape_s']}² b{m['global_batch']} lr {m['lr']:.3g} "
            f"loss {m['train_loss']:.3f}{val} | {m['clips_per_s']:.0f} clips/s "
            f"t={m['time_total_s']:.1f}s (data wait {m['time_data_wait_s']:.1f}s)")


def train_loop_per_worker(loop_config: dict) -> None:
    """Entry point for `TorchTrainer(train_loop_per_worker, train_loop_config=...)`."""
    logging.getLogger("ray.train").setLevel(logging.WARNING)  # one line per report is ours
    WorkerRun(loop_config["config"], loop_config.get("point"), loop_config.get("run_dir"),
              bool(loop_config.get("via_tune", False)), loop_config.get("driver_start")).fit()
