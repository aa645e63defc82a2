"""mgsearch.clock.Clock: the run's one time axis (train, eval, data wait, other)."""

from __future__ import annotations

import time

import pytest

from mgsearch.clock import Clock

BUCKETS = ("train", "eval", "data_wait", "other")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.parametrize("bucket", BUCKETS)
def test_each_context_adds_to_its_own_bucket_only(bucket):
    clock = Clock()
    with getattr(clock, bucket)():
        _spin(0.02)
    with getattr(clock, bucket)():
        _spin(0.01)
    state = clock.state_dict()
    assert state[f"{bucket}_s"] >= 0.03
    assert state[f"{bucket}_s"] < 1.0
    assert all(v == 0.0 for k, v in state.items() if k != f"{bucket}_s"), state


def test_total_is_the_sum_of_the_buckets():
    clock = Clock(train_s=1.5, eval_s=0.25, data_wait_s=2.0, other_s=0.125)
    assert clock.total == 3.875
    with clock.eval():
        _spin(0.01)
    assert clock.total == pytest.approx(clock.train_s + clock.eval_s + clock.data_wait_s
                                        + clock.other_s, abs=0)
    assert clock.total > 3.885


def test_an_exception_inside_still_counts_the_time():
    clock = Clock()
    with pytest.raises(RuntimeError, match="boom"), clock.train():
        _spin(0.02)
        raise RuntimeError("boom")
    assert clock.train_s >= 0.02
    assert clock.eval_s == clock.data_wait_s == clock.other_s == 0.0


def test_state_dict_round_trip_continues_the_totals():
    clock = Clock()
    with clock.train():
        _spin(0.01)
    with clock.data_wait():
        _spin(0.01)
    saved = clock.state_dict()
    assert set(saved) == {"train_s", "eval_s", "data_wait_s", "other_s"}
    resumed = Clock()
    resumed.load_state_dict(saved)
    assert resumed == clock and resumed.total == clock.total
    with resumed.train():
        _spin(0.01)
    assert resumed.train_s >= saved["train_s"] + 0.01
    assert resumed.data_wait_s == saved["data_wait_s"]
    # JSON-read values (ints, as meta.json may hold) come back as floats.
    other = Clock()
    other.load_state_dict({"train_s": 3, "eval_s": 1, "data_wait_s": 0, "other_s": 2})
    assert other.total == 6.0 and isinstance(other.train_s, float)


def test_metrics_keys_and_values():
    clock = Clock(train_s=1.0, eval_s=2.0, data_wait_s=3.0, other_s=4.0)
    assert clock.metrics() == {"time_train_s": 1.0, "time_eval_s": 2.0,
                               "time_data_wait_s": 3.0, "time_other_s": 4.0,
                               "time_total_s": 10.0}
