"""The duration of a rollout: N Executions of one JobSpec running on the simulated Flink (realistic timings), the
JobSpec's programArgs changed, and the time until its status shows every Execution running the new generation with
none admitted any more (status.rollout), at several values of spec.rollout.maxConcurrent. Figures, never assertions.

    .venv/bin/python -m tests.bench.rollout [--n 50] [--max-concurrent 5,50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import shutil
import tempfile
import time
from typing import Any

from flink_manager.kube.client import JOB_SPECS
from tests.bench import procs
from tests.bench.scenario import ENTRY_CLASS, NAMESPACE, Stack
from tests.jars import write_jar

POLL_SECONDS = 0.2  # how often the JobSpec's status is read: the figures' resolution


async def _rollout_status(stack: Stack) -> tuple[int, dict[str, Any]]:
    body = await stack.kube.get(JOB_SPECS, NAMESPACE, "bench")
    return int(body["metadata"]["generation"]), (body.get("status") or {}).get("rollout") or {}


async def _wait_rolled_out(stack: Stack, n: int, timeout: float) -> float:
    """Wait until the JobSpec's current generation runs on all N Executions and none is admitted; returns when."""
    deadline = time.monotonic() + timeout
    while True:
        generation, rollout = await _rollout_status(stack)
        if (
            rollout.get("generation") == generation
            and rollout.get("progress") == f"{n}/{n}"
            and not rollout.get("admitted")
        ):
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the rollout of generation {generation} did not finish in {timeout:.0f} s: {rollout}")
        await asyncio.sleep(POLL_SECONDS)


async def rollout_run(
    n: int, max_concurrent: int, workdir: pathlib.Path, jar: pathlib.Path, sha: str
) -> dict[str, Any]:
    """Bring N Executions to Running, change the JobSpec, and time the rollout at this maxConcurrent."""
    stack = await Stack.start(workdir, workdir / "logs", slots=2 * n + 8)
    try:
        stack.start_operator()
        await stack.apply_basics(jar, sha, ENTRY_CLASS)
        await stack.kube.patch(JOB_SPECS, NAMESPACE, "bench", {"spec": {"rollout": {"maxConcurrent": max_concurrent}}})
        await stack.create_executions([f"run-{i:05d}" for i in range(n)])
        await _wait_rolled_out(stack, n, timeout=120 + n)
        started = time.monotonic()
        await stack.kube.patch(JOB_SPECS, NAMESPACE, "bench", {"spec": {"programArgs": ["--generation", "2"]}})
        finished = await _wait_rolled_out(stack, n, timeout=120 + 10 * n)
        return {
            "n": n,
            "max_concurrent": max_concurrent,
            "seconds": round(finished - started, 2),
            "load": procs.load_average(),
        }
    finally:
        await stack.stop()


async def run(n: int, limits: list[int]) -> list[dict[str, Any]]:
    workroot = pathlib.Path(tempfile.mkdtemp(prefix="flink-manager-rollout-"))
    jar = workroot / "bench-job.jar"
    sha = write_jar(jar, ENTRY_CLASS)
    results = []
    try:
        for limit in limits:
            result = await rollout_run(n, limit, workroot / f"max{limit}", jar, sha)
            print(
                f"  rollout of {n} Executions at maxConcurrent {limit}: {result['seconds']:.1f} s "
                f"(savepoint upgrades; load {result['load']})",
                flush=True,
            )
            results.append(result)
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.rollout", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--max-concurrent", default="5,50")
    args = parser.parse_args()
    limits = [int(value) for value in args.max_concurrent.split(",") if value.strip()]
    print(json.dumps(asyncio.run(run(args.n, limits)), indent=2))


if __name__ == "__main__":
    main()
