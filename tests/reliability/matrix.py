"""Runs of a flow: uninterrupted (the reference), or killed or disturbed at one of the operator's calls."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pathlib
import time
import zlib
from collections.abc import Callable
from typing import Any

from tests.reliability.flows import Flow, differences, end_state, lost_savepoints
from tests.reliability.harness import Call, Env, KillPoint
from tests.reliability.summary import SUMMARY
from tests.waiting import DeadlineExceeded, wait_for

CONCURRENCY = int(os.environ.get("RELIABILITY_CONCURRENCY", "20"))  # runs at once (each mostly waits)
CONVERGE_TIMEOUT = 30.0


@dataclasses.dataclass
class RunResult:
    point: KillPoint | None
    calls: list[Call]
    end: dict[str, Any]
    converged: bool
    killed: bool
    duplicate_live_jobs: list[str]
    lost_savepoints: list[str]
    writes_after_convergence: list[Call]
    errors: list[str]
    seconds: float
    label: str = ""
    flink_calls: dict[str, int] = dataclasses.field(default_factory=dict)  # simulator's count per endpoint
    flink_jars: int = 0
    faults_left: list[str] = dataclasses.field(default_factory=list)  # injected faults nothing ran into

    def problems(self, reference: RunResult | None) -> list[str]:
        found: list[str] = []
        if not self.converged:
            found.append("did not converge" + (f": {differences(reference.end, self.end)}" if reference else ""))
        elif reference is not None and self.end != reference.end:
            found.append(f"end state differs: {differences(reference.end, self.end)}")
        found += [f"duplicate live job: {d}" for d in self.duplicate_live_jobs]
        found += [f"lost savepoint: {d}" for d in self.lost_savepoints]
        if self.writes_after_convergence:
            found.append(f"writes after convergence: {[c.label for c in self.writes_after_convergence]}")
        found += [f"unhandled error: {e}" for e in self.errors]
        found += [f"the disturbance never happened: {f}" for f in self.faults_left]
        return found


def _seed(flow: str, trial: int) -> int:
    return zlib.crc32(flow.encode()) % 10_000 + 10_000 * trial


Disturbance = Callable[[Env], None]


async def run_flow(
    tmp: pathlib.Path,
    flow: Flow,
    trial: int,
    point: KillPoint | None,
    reference: RunResult | None = None,
    disturb: Disturbance | None = None,
) -> RunResult:
    """One run of a flow: uninterrupted (the reference), killed at `point` and restarted, or disturbed (`disturb`
    arms hooks at the operator's calls once the flow's starting point is reached)."""
    started = time.monotonic()
    env = await Env.create(tmp, seed=_seed(flow.name, trial))
    if trial > 0:
        env.flink.set_faults(jitter=0.02)  # seeded: the same interleavings for the same trial
    try:
        await env.start_replica()
        await flow.prepare(env)
        await env.settle()
        env.trial.arm(point)
        if disturb is not None:
            disturb(env)
        mark = env.trial.mark()
        await flow.trigger(env)

        async def finished() -> dict[str, Any] | None:
            if not env.idle():  # a step in progress may still write (its Events follow its status)
                return None
            end = await end_state(env)
            if reference is not None:
                return end if end == reference.end and env.idle() else None
            return end if flow.done(end) and env.idle() else None

        converged = True
        try:
            if point is not None:
                await wait_for(
                    lambda: env.trial.killed.is_set() or finished(),
                    timeout=CONVERGE_TIMEOUT,
                    interval=0.1,
                    what=f"the kill at {point}",
                )
                if env.trial.killed.is_set():
                    await env.restart_after_kill()
            await wait_for(finished, timeout=CONVERGE_TIMEOUT, interval=0.1, what=f"{flow.name} to converge")
        except DeadlineExceeded:
            converged = False
        writes_after = await env.quiet() if converged else []
        calls = env.trial.since(mark)
        end = await end_state(env)
        return RunResult(
            point=point,
            calls=calls,
            end=end,
            converged=converged,
            killed=env.trial.killed.is_set(),
            duplicate_live_jobs=env.sampler.duplicate_live_jobs(),
            lost_savepoints=await lost_savepoints(env, deleted=flow.deletes),
            writes_after_convergence=writes_after,
            errors=[e for r in env.replicas for e in r.errors],
            seconds=time.monotonic() - started,
            label=f"kill {point}" if point is not None else ("disturbed" if disturb is not None else "reference"),
            flink_calls=dict(env.flink.calls),
            flink_jars=len(env.flink.cluster.jars),
            faults_left=[str(rule) for rule in env.api.faults.rules]
            + [f"{name}: {fault}" for name, fault in env.flink.faults.endpoints.items()]
            + [f"hook at {label} #{n}" for label, n in env.trial.hooks],
        )
    finally:
        await env.close()


def kill_points(reference: RunResult) -> list[KillPoint]:
    """Every mutating call of the reference run after the trigger, both timings."""
    seen: dict[str, int] = {}
    points = []
    for call in reference.calls:
        seen[call.label] = seen.get(call.label, 0) + 1
        for timing in ("before", "after"):
            points.append(KillPoint(call.label, seen[call.label], timing))  # type: ignore[arg-type]
    return points


_REFERENCES: dict[tuple[str, int], RunResult] = {}
_REFERENCE_LOCKS: dict[tuple[str, int], asyncio.Lock] = {}


async def reference_run(tmp: pathlib.Path, flow: Flow, trial: int) -> RunResult:
    """The uninterrupted run of a flow for a trial (made once per session, then shared by the tests)."""
    key = (flow.name, trial)
    async with _REFERENCE_LOCKS.setdefault(key, asyncio.Lock()):
        if key not in _REFERENCES:
            _REFERENCES[key] = await run_flow(tmp, flow, trial, None)
    return _REFERENCES[key]


async def run_all(runs: list[Callable[[], Any]]) -> list[Any]:
    """Run coroutine factories CONCURRENCY at a time (each run has its own API, simulator and operator).

    The first run that raises cancels the others, and they close their environments before this returns: no
    operator of a failed test is left running into the next one."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(run: Callable[[], Any]) -> Any:
        async with limit:
            return await run()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(run)) for run in runs]
    return [task.result() for task in tasks]


def record(reference: RunResult, results: list[RunResult]) -> list[str]:
    """Add the runs to the summary; the problems found, one line each."""
    failures = [f"reference: {p}" for p in reference.problems(None)]
    for result in results:
        SUMMARY.add("duplicate_live_jobs", len(result.duplicate_live_jobs))
        SUMMARY.add("lost_savepoints", len(result.lost_savepoints))
        SUMMARY.add("non_converged_runs", 0 if result.converged else 1)
        SUMMARY.add("writes_after_convergence", 1 if result.writes_after_convergence else 0)
        SUMMARY.add("operator_crashes", len(result.errors))
    for result in results:
        if result.converged and (
            result.end["history"] != reference.end["history"]
            or result.end["history_events"] != reference.end["history_events"]
        ):
            SUMMARY.add("history_mismatches")
        elif result.converged and result.end != reference.end:
            SUMMARY.add("end_state_mismatches")
        failures += [f"{result.label}: {p}" for p in result.problems(reference)]
    return failures
