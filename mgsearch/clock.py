"""One clock for everyone: training, evaluation and data-wait seconds of a run.

Its `total` is the `time_total_s` that reports carry, that ASHA schedules on and that the plots
use as x-axis. It counts only work done for the run (not Ray start-up), and it survives
checkpoints: a resumed run continues from the saved seconds, so a killed-and-restored run and an
uninterrupted one share one time axis.

    clock = Clock()
    with clock.data_wait():
        batch = next(it)
    with clock.train():
        step(batch)
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass


@dataclass
class Clock:
    train_s: float = 0.0  # forward, backward, optimizer step, LR/BN bookkeeping
    eval_s: float = 0.0  # validation passes, BN-statistics merge included
    data_wait_s: float = 0.0  # waiting for the next training batch
    other_s: float = 0.0  # set-up inside the run: loaders, checkpoints, FLOP counting

    @property
    def total(self) -> float:
        return self.train_s + self.eval_s + self.data_wait_s + self.other_s

    @contextmanager
    def _count(self, attr: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, attr, getattr(self, attr) + time.perf_counter() - start)

    def train(self):
        return self._count("train_s")

    def eval(self):
        return self._count("eval_s")

    def data_wait(self):
        return self._count("data_wait_s")

    def other(self):
        return self._count("other_s")

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, float(value))

    def metrics(self) -> dict:
        """Report keys: the parts and their sum, `time_total_s`."""
        return {"time_train_s": self.train_s, "time_eval_s": self.eval_s,
                "time_data_wait_s": self.data_wait_s, "time_other_s": self.other_s,
                "time_total_s": self.total}
