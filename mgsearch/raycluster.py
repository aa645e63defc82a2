"""Connecting to Ray: the cluster in RAY_ADDRESS, or a local one started in-process.

A local instance listens on loopback only (every Ray port, the dashboard's included; see
LOOPBACK_ENV) and keeps Ray's token authentication on (the 2.60 default). Settings that Ray reads
from the environment are set before Ray is imported (the driver's log de-duplication reads its
settings at import) and before the start, so the worker processes inherit them.
"""

from __future__ import annotations

import contextlib
import os
import socket

# Quieter, faster-to-stop Train runs (measured with Ray 2.60 on a 2-core machine).
TRAIN_ENV = {
    "RAY_TRAIN_ENABLE_PRINT_PATCH": "0",  # otherwise every worker print shows twice
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",  # teardown ~1.9 s instead of ~7 s
    "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0",
    # Multigrid runs evaluate at the schedule's eval epochs only, so most reports carry no
    # val_top1; Tune's strict check would end the whole search at the first such report
    # (measured). ASHA already skips results without its metric.
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    # Ray's driver folds log lines that are equal once every word holding a digit is dropped,
    # when two processes print them within 5 s: two trials' epoch lines differ only in numbers
    # and were shown as one "[repeated 2x across cluster]". Ours are never folded; Ray's own
    # repeated warnings still are. Read when Ray is first imported in the driver process.
    "RAY_DEDUP_LOGS_ALLOW_REGEX": r"\[mgsearch\] ",
}


# The embedded default only: a local instance nothing off this machine can reach. Measured with
# Ray 2.60 on Linux (2026-12-01; tests/test_loopback_ray.py measures it again): by default the
# driver's, GCS's, raylet's, workers' and agents' gRPC ports listened on `::` (all interfaces),
# the agents' HTTP ports on the machine's address, and three metrics ports on 0.0.0.0 answered
# HTTP 200 without a token. `_node_ip_address="127.0.0.1"` alone does not help: ray.init
# rewrites a loopback node address to the routable one unless this setting is "0". With it, the
# node address is 127.0.0.1 and every Ray server binds to loopback (each one checks
# `is_localhost(node_ip)`); it also refuses joining other nodes, which a local instance never
# does.
# Left open: a Train run's rank-0 torch TCPStore (MASTER_PORT) binds `::` whatever MASTER_ADDR
# says (torch has no bind-address setting), for the run's length.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
# gloo binds its pairs to the address the hostname resolves to (the network address on many
# machines; 127.0.0.1 on the one measured) unless told an interface.
LOOPBACK_INTERFACES = ("lo", "lo0")  # Linux, macOS


@contextlib.contextmanager
def _on_loopback():
    """LOOPBACK_ENV (and gloo's interface) while a local instance starts: its processes, and the
    workers they spawn later, inherit them. Restored afterwards, so that nothing else this
    process starts (e.g. `ray start --address` joining a test cluster, which the setting makes
    abort) sees them."""
    names = {name for _, name in socket.if_nameindex()}
    loopback = next((n for n in LOOPBACK_INTERFACES if n in names), None)
    wanted = {**LOOPBACK_ENV, **({"GLOO_SOCKET_IFNAME": loopback} if loopback else {})}
    before = {key: os.environ.get(key) for key in wanted}
    for key, value in wanted.items():
        os.environ.setdefault(key, value)  # a value the user set wins
    from ray._private import ray_constants

    # Ray reads the setting once, when it is first imported: redo that reading in case ray was
    # imported before this call (a test module, a user's script), and undo it afterwards.
    was = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = ray_constants.env_bool(
        ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR, not ray_constants.IS_WINDOWS_OR_OSX)
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = was
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ensure_ray(num_cpus: int | None = None, object_store_mb: int | None = 512) -> dict:
    """Start or join Ray once per process; returns the cluster's resources."""
    for key, value in TRAIN_ENV.items():
        os.environ.setdefault(key, value)
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            # Inside `ray job submit` or against `ray start --head`: join, never size it. Run
            # state in the dashboard's /api/train/v2/runs. Not for a local instance: its state
            # actor asks the state API with no address, which finds whatever Ray instances the
            # machine runs ("Found multiple active Ray instances" with another user's; measured).
            os.environ.setdefault("RAY_TRAIN_ENABLE_STATE_TRACKING", "1")
            ray.init(log_to_driver=True)
        else:
            # address="local": a new instance, never a `ray start` cluster that this machine
            # recorded in /tmp/ray (ray.init() would join it, even a dead one, and then refuse
            # num_cpus; measured). RAY_ADDRESS is how a user names a cluster.
            with _on_loopback():
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=True,
                         dashboard_host="127.0.0.1", log_to_driver=True,
                         object_store_memory=object_store_mb * 2**20 if object_store_mb else None)
    return ray.cluster_resources()
