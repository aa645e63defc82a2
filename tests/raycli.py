"""The `ray` command line against clusters a test starts itself, with a HOME of its own (so the
token it generates is the only one its clients can find) and a temp dir of its own (so stopping
the cluster ends exactly the processes it started: never `ray stop`, which ends every Ray of
the machine's user; Ray 2.60's `ray stop` has no per-address or per-temp-dir form)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))
# Ray's daemons (gcs_server, raylet; `python [-u] .../dashboard.py`, log_monitor.py, monitor.py)
# run programs from this folder; a process that merely names a temp dir (someone's `tail -f` of a
# log) does not.
RAY_PKG = importlib.util.find_spec("ray").submodule_search_locations[0]


def runs_ray(cmd: list[str]) -> bool:
    """A Ray program: a binary or script under RAY_PKG, or `python -m ray.…`."""
    return any(part.startswith(RAY_PKG) for part in cmd[:3]) \
        or (len(cmd) > 2 and cmd[1] == "-m" and cmd[2].startswith("ray."))


def _agent_port() -> list[str]:
    """A free port for a node's dashboard agent. Every Ray node's agent listens on 52365 by
    default; with another Ray on the machine (the session's `ray_local`) the new node's agent
    cannot bind it, and the head answers job submissions "No available agent" (seen in CI)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return [f"--dashboard-agent-listen-port={sock.getsockname()[1]}"]


class Cluster:
    """`ray get-auth-token --generate`, then `ray start --head`, as the README's cluster section
    says; `add_node()` joins another node with RAY_AUTH_MODE=token; `stop()` ends them all."""

    def __init__(self, gcs_port: int, dashboard_port: int, cwd: str):
        self.started_at = time.time()
        self.home = tempfile.mkdtemp(prefix="mgs-home-")
        self.temp_dirs = [self._temp_dir()]
        self.gcs = f"127.0.0.1:{gcs_port}"
        self.gcs_port = f":{gcs_port}"  # as the daemons' --address=/--gcs-address= end
        self.dashboard = f"http://127.0.0.1:{dashboard_port}"
        self.dashboard_port, self.cwd = dashboard_port, cwd
        env = {k: v for k, v in os.environ.items()
               if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
        env["HOME"] = self.home
        # `ray job submit` runs the job with the PATH of the shell that ran `ray start`.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.env = env

    def run(self, *args: str, timeout: float = 120, auth: bool = True,
            extra_env: dict | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env, **(extra_env or {}))
        if auth:
            env["RAY_AUTH_MODE"] = "token"
        return subprocess.run([RAY, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=self.cwd)

    @property
    def token(self) -> str:
        return (Path(self.home) / ".ray" / "auth_token").read_text().strip()

    def start(self, num_cpus: int) -> None:
        gen = self.run("get-auth-token", "--generate", auth=False)
        assert gen.returncode == 0, gen.stderr[-2000:]
        # No RAY_AUTH_MODE here: with a token present, `ray start --head` turns auth on itself.
        head = self.run("start", "--head", "--node-ip-address=127.0.0.1",
                        f"--port={self.gcs.split(':')[1]}", "--dashboard-host=127.0.0.1",
                        f"--dashboard-port={self.dashboard_port}", f"--num-cpus={num_cpus}",
                        "--disable-usage-stats", f"--temp-dir={self.temp_dirs[0]}",
                        *_agent_port(), auth=False)
        assert head.returncode == 0, head.stderr[-3000:]

    def add_node(self, num_cpus: int) -> None:
        # A temp dir of its own: nodes sharing one would share runtime_resources/, and one
        # node's clean-up of an uploaded working dir would delete the folder a job runs in
        # on the other (seen here as FileNotFoundError from os.getcwd()).
        self.temp_dirs.append(self._temp_dir())
        node = self.run("start", f"--address={self.gcs}", "--node-ip-address=127.0.0.1",
                        f"--num-cpus={num_cpus}", "--disable-usage-stats",
                        f"--temp-dir={self.temp_dirs[-1]}", *_agent_port())
        assert node.returncode == 0, node.stderr[-3000:]

    @staticmethod
    def _temp_dir() -> str:
        # Short: Ray's socket paths live under it (AF_UNIX paths are limited to 107 bytes).
        return tempfile.mkdtemp(prefix="mgs-ray-", dir="/tmp")

    def processes(self) -> list[psutil.Process]:
        """Every process of this cluster: the Ray daemons of this user, started since this
        cluster was made, that name one of its temp dirs or its GCS port (the Ray client server
        names only `--address=IP:PORT`); and their children (workers, agents)."""
        found: dict[int, psutil.Process] = {}
        me = psutil.Process()
        mine = {me.pid, *(p.pid for p in me.parents())}  # a command line may quote the path
        for p in psutil.process_iter(["cmdline", "uids", "create_time"]):
            cmd = p.info["cmdline"] or []
            if p.pid in mine or not p.info["uids"] or p.info["uids"].real != me.uids().real \
                    or (p.info["create_time"] or 0) < self.started_at - 1:
                continue
            if runs_ray(cmd) and (any(d in part for d in self.temp_dirs for part in cmd)
                                  or any(part.startswith(("--address=", "--gcs-address="))
                                         and part.endswith(self.gcs_port) for part in cmd)):
                found[p.pid] = p
                try:
                    found.update({c.pid: c for c in p.children(recursive=True)})
                except psutil.NoSuchProcess:
                    pass
        return list(found.values())

    def stop(self) -> None:
        end(self.processes())


def end(procs: list[psutil.Process], grace_s: float = 15) -> None:
    """SIGTERM, then SIGKILL after grace_s for those still there (monitor.py ignored SIGTERM
    while its GCS was gone), for exactly these processes."""
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
