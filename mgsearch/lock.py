"""One driver per experiment: an exclusive lock on a file in the experiment folder.

    with experiment_lock("/abs/results/quickstart"):
        tuner.fit()

The lock is an `fcntl.flock` on `<experiment>/driver.lock`, which also holds the driver's pid,
host and start time. A second driver on the same experiment is refused with one line naming the
running one. The kernel drops a dead process's lock, so a driver killed with SIGKILL leaves a
file but no lock: the next driver simply takes it (the file's old pid is then history, not a
claim). Remote storage (URIs) gets no lock; flock on network filesystems is as reliable as the
filesystem makes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .storage import file_path

LOCK = "driver.lock"


class ExperimentLocked(ConfigError):
    """Another driver runs this experiment."""


@dataclass
class Lock:
    path: Path
    fd: int
    created: tuple[Path, ...]  # folders taking the lock made (the experiment's, its parents)


def acquire(experiment: str) -> Lock | None:
    """Take the lock of `experiment` (a local folder or file:// URI; None for remote URIs);
    ExperimentLocked when another live driver holds it."""
    local = file_path(experiment)
    if local is None:
        return None
    folder = Path(local)
    created = tuple(p for p in (folder, *folder.parents) if not p.exists())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held = _holder(fd)
        os.close(fd)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(held.get("started", 0)))
        who = (f"pid {held['pid']} on host {held.get('host', '?')} (since {since})"
               if "pid" in held else "another driver")
        raise ExperimentLocked(f"experiment {folder} is being run by {who}; wait for it to "
                               f"finish or stop it, or start another experiment with --set "
                               f"search.name=<new name>") from None
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode(), 0)
    return Lock(path, fd, created)


def release(lock: Lock | None) -> None:
    """Drop the lock; and the experiment folder when taking the lock made it and nothing else
    was written into it (a config refused before the search started leaves nothing)."""
    if lock is None:
        return
    if lock.created and [p.name for p in lock.path.parent.iterdir()] == [LOCK]:
        with contextlib.suppress(OSError):
            lock.path.unlink()
            for folder in lock.created:  # innermost first; stops at one that is not empty
                folder.rmdir()
    os.close(lock.fd)  # closing the last descriptor releases the flock


@contextlib.contextmanager
def experiment_lock(experiment: str):
    lock = acquire(experiment)
    try:
        yield lock
    finally:
        release(lock)


def _holder(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):  # being written this instant
        return {}
    return data if isinstance(data, dict) else {}
