"""mgsearch.lock: one driver per experiment (real processes, real flock; no Ray)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from mgsearch.lock import LOCK, ExperimentLocked, acquire, experiment_lock, release

HOLD = """
import sys, time
from mgsearch.lock import acquire
acquire(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def holder(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_driver_is_refused_with_the_first_ones_pid(tmp_path):
    proc = holder(tmp_path / "exp")
    try:
        with pytest.raises(ExperimentLocked) as err:
            acquire(str(tmp_path / "exp"))
        message = str(err.value)
        assert f"is being run by pid {proc.pid} on host " in message and "\n" not in message
        assert "--set search.name=" in message
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_driver_is_taken_over(tmp_path):
    proc = holder(tmp_path / "exp")
    os.kill(proc.pid, signal.SIGKILL)  # no clean-up runs: the file stays, the flock goes
    proc.wait()
    assert (tmp_path / "exp" / LOCK).exists()
    lock = acquire(str(tmp_path / "exp"))
    assert f'"pid": {os.getpid()}' in (tmp_path / "exp" / LOCK).read_text()
    release(lock)


def test_an_experiment_folder_made_only_for_the_lock_is_removed(tmp_path):
    with experiment_lock(str(tmp_path / "results" / "new")):
        assert (tmp_path / "results" / "new" / LOCK).exists()
    assert not (tmp_path / "results").exists()  # a refused config leaves nothing behind
    with experiment_lock(str(tmp_path / "kept")):
        (tmp_path / "kept" / "search_config.json").write_text("{}")
    assert (tmp_path / "kept" / "search_config.json").exists()
    with experiment_lock(str(tmp_path / "kept")):  # released: the next driver gets it at once
        pass
    assert acquire("s3://bucket/results/x") is None  # remote storage: no lock


def test_two_drivers_starting_together_get_one_lock(tmp_path):
    race = ("import sys\nfrom mgsearch.lock import acquire, ExperimentLocked\n"
            "try:\n    acquire(sys.argv[1]); print('won', flush=True)\n"
            "    import time; time.sleep(3)\nexcept ExperimentLocked:\n    print('refused')\n")
    procs = [subprocess.Popen([sys.executable, "-c", race, str(tmp_path / "exp")],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outs) == ["refused"] * 3 + ["won"]
