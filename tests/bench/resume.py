"""The two moments when a large estate needs the operator to be fast: the operator process replaced (every upgrade of
the operator) and a Flink session cluster restarted without HA (every job lost, each to come back from its state).

Operator restart: N Running, settled Executions; the operator is stopped and a new process started with the same
settings. Timed from the new process's start until its metric flink_manager_executions_decided reaches N (each
Execution decided about once); the Kubernetes writes and Flink calls are those the fakes count from the new process's
start until then, and one poll interval after it.

Cluster recovery: N Running Executions on one cluster, each with a savepoint taken (spec.savepointNonce); the
simulated cluster restarts and loses every job and jar. Timed from the restart until the watch has seen every
Execution Running with a new attempt; every new job must have been restored from its Execution's savepoint. The
direct script then does the same on the same cluster, the operator stopped: the cluster restarts again, and from that
moment one jar upload and N run calls with each job's savepoint path, until /jobs/overview shows all N RUNNING.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import time
from typing import Any

from flink_manager.kube.client import EXECUTIONS
from tests.bench import procs
from tests.bench.direct import run_direct
from tests.bench.scenario import NAMESPACE, POLL_INTERVAL_SECONDS, TRANSITION_POLL_SECONDS, WORKERS, Stack
from tests.bench.watch import PhaseWatch

DECIDED = re.compile(r"^flink_manager_executions_decided_total (\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def decided(stack: Stack, port: int) -> int:
    """The operator's flink_manager_executions_decided (0 while its metrics server is not up yet)."""
    try:
        async with stack.http.get(f"http://127.0.0.1:{port}/metrics") as response:
            match = DECIDED.search(await response.text())
    except OSError:
        return 0
    return int(float(match.group(1))) if match else 0


@dataclasses.dataclass
class Counts:
    """The fakes' counters and the wall clock at one moment, to take differences of."""

    at: float
    flink: dict[str, int]
    kube: dict[str, Any]

    @classmethod
    async def now(cls, stack: Stack) -> Counts:
        return cls(time.time(), await stack.flink_calls(), await stack.kube_counters())

    def since(self, before: Counts) -> dict[str, Any]:
        kube_writes = {
            k: v - before.kube["writes"].get(k, 0)
            for k, v in self.kube["writes"].items()
            if v != before.kube["writes"].get(k, 0)
        }
        flink = {k: v - before.flink.get(k, 0) for k, v in self.flink.items() if v != before.flink.get(k, 0)}
        return {
            "kube_writes": self.kube["totalWrites"] - before.kube["totalWrites"],
            "kube_writes_by": kube_writes,
            "flink_calls": sum(flink.values()),
            "flink_calls_by": flink,
        }


async def operator_restart(stack: Stack, n: int, metrics_port: int, timeout: float) -> dict[str, Any]:
    """Replace the operator process of a settled stack of N Executions; see the module's docstring."""
    assert stack.operator is not None
    stack.operator.stop()
    before = await Counts.now(stack)
    started = time.monotonic()
    stack.start_operator(metrics_port)
    while (count := await decided(stack, metrics_port)) < n:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"the new operator decided about {count} of {n} Executions in {timeout:.0f} s")
        await asyncio.sleep(0.1)
    seconds = time.monotonic() - started
    at_resumed = (await Counts.now(stack)).since(before)
    peak = stack.operator.peak_rss_mb()
    await asyncio.sleep(POLL_INTERVAL_SECONDS)
    after = (await Counts.now(stack)).since(before)
    result = {
        "n": n,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak, 1),
        "rss_mb": round(stack.operator.rss_mb(), 1),
        "until_resumed": at_resumed,
        "until_one_poll_later": after,
        "load": procs.load_average(),
    }
    print(
        f"  operator restart at N={n}: every Execution decided once after {seconds:.2f} s; Kubernetes writes "
        f"{at_resumed['kube_writes']} ({after['kube_writes']} one poll interval later: {after['kube_writes_by']}); "
        f"Flink calls {at_resumed['flink_calls']} ({after['flink_calls_by']}); peak RSS {peak:.0f} MB; "
        f"load {procs.load_average()}",
        flush=True,
    )
    return result


async def take_savepoints(stack: Stack, names: list[str], timeout: float) -> dict[str, str]:
    """Raise every Execution's savepointNonce and wait for its status.lastSavepoint; returns name → path."""
    semaphore = asyncio.Semaphore(16)

    async def bump(name: str) -> None:
        async with semaphore:
            await stack.kube.patch(EXECUTIONS, NAMESPACE, name, {"spec": {"savepointNonce": 1}})

    await asyncio.gather(*(bump(name) for name in names))
    deadline = time.monotonic() + timeout
    while True:
        items = {i["metadata"]["name"]: i for i in await stack.kube.list(EXECUTIONS, NAMESPACE)}
        paths = {name: ((items[name].get("status") or {}).get("lastSavepoint") or {}).get("path") for name in names}
        if all(paths.values()):
            return {name: str(path) for name, path in paths.items()}
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sum(1 for p in paths.values() if not p)} of {len(names)} savepoints not taken")
        await asyncio.sleep(1.0)


async def restart_cluster(stack: Stack) -> float:
    async with stack.http.post(stack.flink_url + "/_simulator/restart") as response:
        response.raise_for_status()
    return time.time()


async def cluster_recovery(
    stack: Stack, watch: PhaseWatch, names: list[str], jar: Any, entry_class: str, timeout: float
) -> dict[str, Any]:
    """Restart the simulated cluster under N Running Executions with savepoints; see the module's docstring."""
    n = len(names)
    paths = await take_savepoints(stack, names, timeout)
    await stack.wait_quiet(quiet_seconds=3.0)
    items = {i["metadata"]["name"]: i for i in await stack.kube.list(EXECUTIONS, NAMESPACE)}
    attempts = {name: int((items[name].get("status") or {}).get("attempt") or 0) for name in names}
    before = await Counts.now(stack)
    restarted = await restart_cluster(stack)
    last = await watch.wait_attempts("Running", attempts, timeout)
    seconds = last - restarted
    counts = (await Counts.now(stack)).since(before)
    restored = sum(1 for name in names if watch.restored.get((name, attempts[name] + 1)) == paths[name])
    first_change = min(min(t for (_, a), t in watch.attempts[name].items() if a > attempts[name]) for name in names)
    assert stack.operator is not None
    stack.operator.stop()
    direct_started = await restart_cluster(stack)
    direct = await run_direct(
        stack.flink_url,
        jar,
        entry_class,
        n,
        concurrency=WORKERS,
        poll_seconds=TRANSITION_POLL_SECONDS,
        savepoint_paths=[paths[name] for name in names],
    )
    result = {
        "n": n,
        "seconds": round(seconds, 2),
        "direct_seconds": round(direct.seconds, 2),
        "ratio": round(seconds / direct.seconds, 3),
        "restored_from_savepoint": restored,
        "first_new_attempt_after_s": round(first_change - restarted, 2),
        "flink_calls_per_job": round(counts["flink_calls"] / n, 2),
        **counts,
        "direct_setup_s": round(time.time() - direct_started - direct.seconds, 2),
        "load": procs.load_average(),
    }
    print(
        f"  cluster recovery at N={n}: operator {seconds:.2f} s (first new attempt seen "
        f"{result['first_new_attempt_after_s']:.2f} s after the restart), direct {direct.seconds:.2f} s: ratio "
        f"{result['ratio']:.2f}; {restored} of {n} restored from their savepoints; Flink calls {counts['flink_calls']} "
        f"({result['flink_calls_per_job']:.2f} per job: {counts['flink_calls_by']}), Kubernetes writes "
        f"{counts['kube_writes']}; load {procs.load_average()}",
        flush=True,
    )
    return result
