"""`ray job submit` against a cluster started with `ray start --head` on 127.0.0.1, token
authentication on (Ray 2.60's default): submit a tiny search, wait for SUCCEEDED, read the logs,
stop the cluster this test started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_search_ray import write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

GCS_PORT, DASH_PORT = 6391, 8271


def ray_cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    ray = Path(sys.executable).with_name("ray")
    return subprocess.run([str(ray), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))


@pytest.fixture
def head(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    started = ray_cli("start", "--head", f"--port={GCS_PORT}", "--dashboard-host=127.0.0.1",
                      f"--dashboard-port={DASH_PORT}", "--num-cpus=2", "--disable-usage-stats",
                      env=env)
    assert started.returncode == 0, started.stderr[-2000:]
    env["RAY_AUTH_MODE"] = "token"  # the client sends ~/.ray/auth_token, which ray start wrote
    try:
        yield env
    finally:
        ray_cli("stop", "--force", env=env)


def test_submit_a_tiny_search_and_read_its_logs(head, tmp_path, tiny_dataset):
    cfg = write_config(tmp_path, tiny_dataset)
    address = f"http://127.0.0.1:{DASH_PORT}"
    sub = ray_cli("job", "submit", "--address", address, "--no-wait", "--working-dir", ".",
                  "--", sys.executable, "-m", "mgsearch.cli", "search", str(cfg), env=head)
    assert sub.returncode == 0, sub.stderr[-2000:]
    job_id = re.search(r"raysubmit_[A-Za-z0-9]+", sub.stdout + sub.stderr).group(0)
    status = ""
    deadline = time.time() + 400
    while time.time() < deadline:
        out = ray_cli("job", "status", "--address", address, job_id, env=head)
        status = (out.stdout + out.stderr).lower()  # "Job '...' succeeded" (or failed, stopped)
        if any(s in status for s in ("succeeded", "failed", "stopped")):
            break
        time.sleep(2)
    got = ray_cli("job", "logs", "--address", address, job_id, env=head)
    logs = got.stdout + got.stderr
    assert "succeeded" in status, status + logs[-3000:]
    assert "trials:" in logs and "two_stage" in logs and "experiment folder" in logs
    assert (tmp_path / "results" / "tinysearch").is_dir()  # results landed where configured
    # Without the token the same client is refused.
    no_token = {k: v for k, v in head.items() if k != "RAY_AUTH_MODE"}
    refused = ray_cli("job", "list", "--address", address, env=no_token)
    assert refused.returncode != 0 or "token" in (refused.stdout + refused.stderr).lower()


def test_uploads_leave_out_venv_data_results_and_git():
    ignored = (ROOT / ".rayignore").read_text().split()
    for name in (".git/", ".venv/", "data/", "results/"):
        assert name in ignored
    assert shutil.which("ray", path=str(Path(sys.executable).parent))
