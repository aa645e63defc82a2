"""The embedded default Ray (mgsearch.raycluster.ensure_ray with no RAY_ADDRESS) listens on
loopback only: every listening socket of the process tree it starts, driver, GCS, raylet,
agents, dashboard and idle workers, is on 127.0.0.1 / ::1 (or ::ffff:127.0.0.1). The instance
runs in a subprocess this test starts in a session of its own, so it stops exactly that tree."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from .conftest import ROOT
from .raycli import end

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# `import ray` first: ensure_ray must keep Ray local even when ray was imported before it.
DRIVER = """
import ray, sys
from mgsearch.raycluster import ensure_ray
ensure_ray(num_cpus=1, object_store_mb=128)
print("READY", flush=True)
sys.stdin.read()
ray.shutdown()
"""
SAMPLE_S = 8  # the dashboard agent and the prestarted workers come up just after ray.init
START_S = 240  # a start takes 6-25 s on the shared 2-core machine


def is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or bool(mapped and mapped.is_loopback)


def non_loopback_interfaces() -> list[str]:
    return [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(a.address)]


def listening(root: psutil.Process) -> set[tuple[str, int, int, str]]:
    """(ip, port, pid, process name) of every listening TCP socket of root and its children."""
    tree = {root.pid: root}
    tree.update({c.pid: c for c in root.children(recursive=True)})
    found = set()
    for c in psutil.net_connections(kind="inet"):
        if c.status == psutil.CONN_LISTEN and c.pid in tree:
            try:
                name = tree[c.pid].name()
            except psutil.NoSuchProcess:
                name = "?"
            found.add((c.laddr.ip, c.laddr.port, c.pid, name))
    return found


def stop(proc: subprocess.Popen, tree: list[psutil.Process]) -> None:
    """End the driver (it shuts its Ray down), then whatever of the tree it left behind."""
    try:
        proc.communicate(input="", timeout=60)
    except (subprocess.TimeoutExpired, ValueError):
        kill_session(proc)
        proc.wait()
    end([p for p in tree if p.is_running()], grace_s=5)


def kill_session(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this test started, nothing else
    except ProcessLookupError:
        pass


def test_the_embedded_default_listens_on_loopback_only():
    if not non_loopback_interfaces():
        pytest.skip("no non-loopback network interface here: nothing could reach a wider bind")
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "GLOO_SOCKET_IFNAME")}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=str(ROOT), env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    root, tree, seen, out = psutil.Process(proc.pid), [], set(), []
    watchdog = threading.Timer(START_S, kill_session, [proc])  # a hung start ends the read
    watchdog.start()
    try:
        for line in proc.stdout:
            out.append(line)
            if line.startswith("READY"):
                break
        watchdog.cancel()
        assert out and out[-1].startswith("READY"), "".join(out)[-3000:]
        deadline = time.time() + SAMPLE_S
        while time.time() < deadline:
            tree = [root, *root.children(recursive=True)]
            seen |= listening(root)
            time.sleep(0.5)
    finally:
        watchdog.cancel()
        stop(proc, tree)
    names = {name for *_, name in seen}
    assert {"gcs_server", "raylet"} <= names, sorted(seen)  # the measurement saw the services
    wide = sorted(s for s in seen if not is_loopback(s[0]))
    assert not wide, f"listening beyond loopback (ip, port, pid, name): {wide}"
