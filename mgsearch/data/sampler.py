"""The multigrid (short-cycle) batch sampler for a map-style dataset.

    sampler = MultigridBatchSampler(len(ds), [g.per_worker_batch for g in stage.grids],
                                    rank=rank, world_size=world, seed=seed, epoch=epoch)
    for batch in sampler: ...        # batch = [(idx, grid_index), ...]

Per epoch, all workers shuffle the same permutation (from seed and epoch), drop the last
`n % world_size` clips, and worker `rank` takes every `world_size`-th of the rest: disjoint
shards of `n // world_size` clips. Batch sizes cycle through `batch_sizes` in order (batch i is of
grid `i % len(batch_sizes)`), and the incomplete last batch is dropped, so every worker yields
exactly `mgsearch.schedule.batches_per_epoch(n // world_size, batch_sizes)` batches — the same
count on every rank, which DDP needs.

A schedule's clip stream (mgsearch.stream) can also start a sampler inside a pass: `offset`
clips of the shard already read, `batches` batches to yield, the short cycle at `phase`.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from ..schedule import batches_per_epoch


class MultigridBatchSampler(torch.utils.data.Sampler):
    def __init__(self, num_clips: int, batch_sizes: Sequence[int] | int, rank: int = 0,
                 world_size: int = 1, seed: int = 0, epoch: int = 0, shuffle: bool = True,
                 offset: int = 0, batches: int | None = None, phase: int = 0):
        sizes = [int(batch_sizes)] if isinstance(batch_sizes, int) else [int(b) for b in batch_sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"batch_sizes {list(sizes)}: need one or more sizes >= 1")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        self.num_clips, self.sizes = int(num_clips), sizes
        self.rank, self.world_size = int(rank), int(world_size)
        self.seed, self.epoch, self.shuffle = int(seed), int(epoch), shuffle
        self.offset, self.phase = int(offset), int(phase) % len(sizes)
        fits = batches_per_epoch(self.clips_per_worker - self.offset, self._rotated())
        if batches is not None and batches > fits:
            raise ValueError(f"batches {batches}: only {fits} fit after clip {self.offset} of a "
                             f"{self.clips_per_worker}-clip shard")
        self.batches = fits if batches is None else int(batches)

    def _rotated(self) -> list[int]:
        return self.sizes[self.phase:] + self.sizes[:self.phase]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @property
    def clips_per_worker(self) -> int:
        return self.num_clips // self.world_size

    def shard(self) -> list[int]:
        """This worker's clips for the current epoch, in sampling order."""
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_clips, generator=g).tolist()
        else:
            order = list(range(self.num_clips))
        kept = order[:self.clips_per_worker * self.world_size]
        return kept[self.rank::self.world_size]

    def __len__(self) -> int:
        return self.batches

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        clips, pos = self.shard(), self.offset
        for i in range(len(self)):
            g = (self.phase + i) % len(self.sizes)
            size = self.sizes[g]
            yield [(idx, g) for idx in clips[pos:pos + size]]
            pos += size
