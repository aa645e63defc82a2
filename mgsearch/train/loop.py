"""The per-worker training loop: walk a Schedule's stages on a Ray Train worker.

`train_loop_per_worker({"config": cfg, "baseline": bool})` is what a `TorchTrainer` runs on every
worker (or in-process with `workers: 0`). Multigrid and the fixed-shape baseline go through this
same code; only the Schedule differs. Per epoch it reports one metrics dict through
`ray.train.report` from every worker (a barrier), and rank 0 attaches a checkpoint at the
schedule's checkpoint epochs. Rank-0 side effects are gated in `WorkerRun.is_chief`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path, PurePosixPath

import ray.train
import torch
import torch.nn.functional as F

from .. import storage
from ..clock import Clock
from ..cost import compare
from ..schedule import Schedule, Stage, build_schedule
from . import checkpoint as ckpt
from . import tblog
from ..data import Loaders
from .model import TrainModel

METRICS_FILE = "metrics.jsonl"  # one JSON object per reported epoch, written by rank 0


class WorkerRun:
    """Everything one worker holds while it trains; built once per (re)start."""

    def __init__(self, cfg, baseline: bool, metrics_file: str | None = None,
                 via_tune: bool = False):
        self.cfg, self.baseline = cfg, baseline
        self.metrics_file = metrics_file  # a local path or a URI (mgsearch.storage)
        # In-process runs inside a Tune trial must use Tune's report/get_checkpoint (Ray 2.60
        # refuses ray.train.report there); worker groups report through Ray Train.
        self.api = _tune_api() if via_tune else ray.train
        if via_tune:
            self.rank, self.world = 0, 1
        else:
            ctx = ray.train.get_context()
            self.rank, self.world = ctx.get_world_rank(), ctx.get_world_size()
        self.is_chief = self.rank == 0
        self.node_id = ray.get_runtime_context().get_node_id()  # which node trained (clusters)
        self.distributed = self.world > 1 and torch.distributed.is_initialized()
        self.schedule: Schedule = build_schedule(cfg, baseline=baseline)
        self.cfg_hash = ckpt.config_hash(cfg, baseline)
        self.clock = Clock()
        self.device = _device(cfg)
        # Ray reserves cpus_per_worker CPUs for this worker; torch would otherwise use them all.
        torch.set_num_threads(max(1, int(cfg.train.cpus_per_worker)))
        torch.manual_seed(cfg.train.seed)  # same init on every rank; DDP also broadcasts it
        with self.clock.other():
            self.loaders = Loaders(cfg, self.schedule, self.rank, self.world)
            self.net = TrainModel(cfg, self.schedule, self.loaders.num_classes, self.device,
                                  distributed=self.distributed)
        # What the cost model predicts for this run, carried in every report for grouping.
        cmp = compare(self.schedule, build_schedule(cfg, baseline=True),
                      len(self.loaders.train_set))
        self.predicted = {"predicted_iterations": cmp.cost.iterations,
                          "predicted_compute": cmp.cost.compute,
                          "predicted_speedup": cmp.speedup_compute}
        self.start_epoch = 0
        # time_reported_s: the clock total at the last report, so each report carries
        # time_this_iter_s and Tune's time_total_s (their running sum) equals the clock's total.
        self.counters = {"clips": 0, "iterations": 0, "gflops": 0.0, "time_reported_s": 0.0}
        self._bn_at = -1  # iterations count when the BN statistics were last made evaluation-ready

    # -- restore ---------------------------------------------------------------------------------
    def restore(self) -> None:
        """Continue from Ray Train's latest checkpoint when this is a restart."""
        found = self.api.get_checkpoint()
        if found is None:
            return
        with found.as_directory() as folder:
            state = ckpt.load(folder, self.cfg_hash)
        self.net.load_state(state["model"], state["optimizer"])
        self.clock.load_state_dict(state["clock"])
        self.counters.update(state["counters"])
        ckpt.set_rng_state(state["rng"])
        self.start_epoch = int(state["epoch"])
        if self.is_chief:
            print(f"[mgsearch] resumed after epoch {self.start_epoch} "
                  f"(stage {self.schedule.stage_at(self.start_epoch).index}, "
                  f"{self.clock.total:.1f} s on the clock)", flush=True)

    # -- one epoch -------------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict:
        stage = self.schedule.stage_at(epoch)
        loader = self.loaders.train(stage, epoch)
        n_iters = len(loader)
        if n_iters == 0:
            raise RuntimeError(
                f"stage {stage.index} (batches {[g.global_batch for g in stage.grids]}) yields no "
                f"full batch from {len(self.loaders.train_set)} training clips on {self.world} "
                f"worker(s); use more clips or a smaller shape.batch")
        self.net.train()
        loss_sum, seen, started = 0.0, 0, self.clock.train_s + self.clock.data_wait_s
        it = iter(loader)
        for i in range(n_iters):
            with self.clock.data_wait():
                clips, labels, grid_index = next(it)
            grid = stage.grids[grid_index]
            with self.clock.train():
                lr = self.schedule.lr_at_iter(epoch, i, n_iters)
                loss = self.net.step(clips, labels, lr, grid.bn_split)
            loss_sum += loss * labels.shape[0]
            seen += labels.shape[0]
            self.counters["clips"] += grid.global_batch
            self.counters["iterations"] += 1
            self.counters["gflops"] += grid.global_batch * self.net.train_gflops(grid.t, grid.s)
        busy = self.clock.train_s + self.clock.data_wait_s - started
        return {"train_loss": loss_sum / max(seen, 1), "lr": lr,
                "clips_per_s": seen * self.world / max(busy, 1e-9),
                "iterations_epoch": n_iters}

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

    def evaluate(self) -> dict:
        """Top-1/top-5/loss on the full-shape validation set, summed over all workers."""
        self.refresh_bn()
        self.net.eval()
        totals = torch.zeros(4, dtype=torch.float64)  # correct@1, correct@5, loss sum, clips
        with torch.no_grad():
            for clips, labels, _ in self.loaders.val():
                logits = self.net.forward(clips).float()
                labels = labels.to(logits.device)
                k = min(5, logits.shape[1])
                top = logits.topk(k, dim=1).indices
                hit = top == labels[:, None]
                totals += torch.tensor([hit[:, 0].sum().item(), hit.any(dim=1).sum().item(),
                                        F.cross_entropy(logits, labels, reduction="sum").item(),
                                        labels.shape[0]], dtype=torch.float64)
        if self.distributed:
            totals = totals.to(self.device if self.device.type == "cuda" else "cpu")
            torch.distributed.all_reduce(totals)
            totals = totals.cpu()
        c1, c5, loss, n = totals.tolist()
        n = max(n, 1.0)
        return {"val_top1": 100.0 * c1 / n, "val_top5": 100.0 * c5 / n, "val_loss": loss / n,
                "val_clips": int(n)}

    # -- reporting -------------------------------------------------------------------------------
    def report(self, epoch: int, stage: Stage, metrics: dict) -> None:
        done = epoch + 1
        want_ckpt = done in self.schedule.checkpoint_epochs
        if want_ckpt:  # checkpoints hold precise statistics; on every rank (all_reduce), on the
            with self.clock.eval():  # clock before this report; a no-op right after evaluate()
                self.refresh_bn()
        grid = stage.grids[-1]
        metrics = {
            "epoch": done, "stage": stage.index, "phase": stage.phase,
            "shape_t": grid.t, "shape_s": grid.s, "global_batch": stage.global_batch,
            "max_epoch": self.schedule.max_epoch, "kind": self.schedule.kind,
            "grid_set": self.schedule.grid_set, "seed": self.cfg.train.seed, **self.predicted,
            "node_id": self.node_id,
            **metrics, **self.clock.metrics(),
            "clips_seen": self.counters["clips"], "iterations": self.counters["iterations"],
            "train_gflops": self.counters["gflops"],
            "time_this_iter_s": max(0.0, self.clock.total - self.counters["time_reported_s"]),
        }
        self.counters["time_reported_s"] = self.clock.total
        if want_ckpt and self.is_chief:
            with self.clock.other(), tempfile.TemporaryDirectory() as folder:
                ckpt.save(folder, model_state=self.net.state_dict(),
                          optimizer_state=self.net.optimizer.state_dict(), epoch=done,
                          clock_state=self.clock.state_dict(), counters=dict(self.counters),
                          cfg_hash=self.cfg_hash)
                self.api.report(metrics, checkpoint=self.api.Checkpoint.from_directory(folder))
        else:
            self.api.report(metrics)
        if self.is_chief:
            print(_progress_line(metrics, self.metrics_file), flush=True)
            tblog.log_epoch(self.metrics_file, metrics)
            if self.metrics_file is not None:
                storage.append_line(self.metrics_file, json.dumps(metrics))

    def fit(self) -> None:
        self.restore()
        for epoch in range(self.start_epoch, self.schedule.max_epoch):
            stage = self.schedule.stage_at(epoch)
            metrics = self.train_epoch(epoch)
            if epoch + 1 in self.schedule.eval_epochs:
                with self.clock.eval():
                    metrics.update(self.evaluate())
            self.report(epoch, stage, metrics)


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
    logging.getLogger("ray.train").setLevel(logging.WARNING)  # one line per epoch is ours
    WorkerRun(loop_config["config"], bool(loop_config.get("baseline", False)),
              loop_config.get("metrics_file"), bool(loop_config.get("via_tune", False))).fit()
