"""`ray job submit` against a two-node cluster this test starts on 127.0.0.1 from a fresh HOME,
exactly as the README's "Running on a Ray cluster" section says (plus the ports, temp dir
and 127.0.0.1 node address that two nodes on one machine need): generate a token, `ray start
--head`, join a second node and every client with RAY_AUTH_MODE=token. A tiny search runs as a
job; its trials land on both nodes; a client without the token is refused. The cluster is
stopped by its own temp dir (tests/raycli.py), never with `ray stop`."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT
from .raycli import Cluster
from .test_search_ray import write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

GCS_PORT, DASH_PORT = 6391, 8271


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(GCS_PORT, DASH_PORT, cwd=str(ROOT))
    try:
        c.start(num_cpus=1)
        c.add_node(num_cpus=1)
        yield c
    finally:
        c.stop()


def http_status(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_the_readme_describes_this_flow():
    readme = (ROOT / "README.md").read_text()
    for line in ("ray get-auth-token --generate", "ray start --head",
                 "export RAY_AUTH_MODE=token", "ray start --address=",
                 "ray job submit --address http://127.0.0.1:8265 --working-dir ."):
        assert line in readme, f"README no longer shows {line!r}"


def test_token_auth_is_on_from_a_fresh_home(cluster):
    assert http_status(cluster.dashboard + "/api/jobs/") == 401
    assert http_status(cluster.dashboard + "/api/jobs/", cluster.token) == 200
    # Without RAY_AUTH_MODE=token the CLI sends no token: the dashboard answers 401 and the
    # job SDK raises its AuthenticationError, "Authentication required: ... no authentication
    # token was found" (ray.dashboard.modules.dashboard_sdk), and the command fails.
    refused = cluster.run("job", "list", "--address", cluster.dashboard, auth=False)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out[-2000:]
    assert "Authentication required" in out, out[-2000:]
    assert "no authentication token was found" in out, out[-2000:]


def test_submit_a_tiny_search_whose_trials_use_both_nodes(cluster, tmp_path, tiny_dataset):
    cfg_path = write_config(tmp_path, tiny_dataset)
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["search"]["max_concurrent_trials"] = 2  # one 1-CPU trial per node at once
    cfg_path.write_text(yaml.safe_dump(cfg))
    deadline = time.time() + 120
    while True:  # a just-started head answers 500 until its job agent is up (seen under load)
        sub = cluster.run("job", "submit", "--address", cluster.dashboard, "--no-wait",
                          "--working-dir", ".", "--", sys.executable, "-m", "mgsearch.cli",
                          "search", str(cfg_path))
        if sub.returncode == 0 or "No available agent" not in sub.stderr \
                or time.time() > deadline:
            break
        time.sleep(3)
    assert sub.returncode == 0, sub.stderr[-2000:]
    job_id = re.search(r"raysubmit_[A-Za-z0-9]+", sub.stdout + sub.stderr).group(0)
    status = ""
    deadline = time.time() + 400
    while time.time() < deadline:
        out = cluster.run("job", "status", "--address", cluster.dashboard, job_id)
        status = (out.stdout + out.stderr).lower()  # "Job '...' succeeded" (or failed, stopped)
        if any(s in status for s in ("succeeded", "failed", "stopped")):
            break
        time.sleep(2)
    got = cluster.run("job", "logs", "--address", cluster.dashboard, job_id)
    logs = got.stdout + got.stderr
    assert "succeeded" in status, status + logs[-3000:]
    assert "trials:" in logs and "two_stage" in logs and "experiment folder" in logs
    exp = tmp_path / "results" / "tinysearch"
    nodes = set()
    for f in (exp / "train_runs").glob("train-*/metrics.jsonl"):
        nodes |= {json.loads(line)["node_id"] for line in f.read_text().splitlines() if line}
    assert len(nodes) == 2, f"trials ran on {len(nodes)} node(s): {nodes}"


def test_uploads_leave_out_venv_data_results_and_git():
    ignored = (ROOT / ".rayignore").read_text().split()
    for name in (".git/", ".venv/", "data/", "results/"):
        assert name in ignored
    assert shutil.which("ray", path=str(Path(sys.executable).parent))
