"""Kill the operator at every mutating call of every flow — before the call, or after it with the answer lost —
start a fresh one against the same API and Flink, and compare what a user sees with an uninterrupted run.

Oracles, per run: at most one non-terminal Flink job per execution at any time (sampled continuously, and
exactly from the simulator's job times); no savepoint lost (a stop's savepoint is recorded, and the next
attempt restores from it); the history and its Events equal the reference's (same actions, from, to and
by; seqs without a gap or a duplicate); the end state equals the reference's; then no mutating call for two
poll intervals; no unhandled exception in the operator. `RELIABILITY_TRIALS` repeats the matrix with other
seeds (and, after the first, a little jitter on Flink's answers to change the interleavings).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
import zlib
from typing import Any

import pytest

from tests.reliability.flows import FLOWS, Flow, differences, end_state, lost_savepoints
from tests.reliability.harness import Call, Env, KillPoint
from tests.reliability.summary import SUMMARY, trials
from tests.waiting import DeadlineExceeded, wait_for

CONCURRENCY = int(os.environ.get("RELIABILITY_CONCURRENCY", "4"))
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
        return found


def _seed(flow: str, trial: int) -> int:
    return zlib.crc32(flow.encode()) % 10_000 + 10_000 * trial


async def run_flow(tmp: Any, flow: Flow, trial: int, point: KillPoint | None,
                   reference: RunResult | None = None) -> RunResult:
    """One run of a flow: uninterrupted (the reference) or killed at `point` and restarted."""
    started = time.monotonic()
    env = await Env.create(tmp, seed=_seed(flow.name, trial))
    if trial > 0:
        env.flink.set_faults(jitter=0.02)  # seeded: the same interleavings for the same trial
    try:
        await env.start_replica()
        await flow.prepare(env)
        await env.settle()
        env.trial.arm(point)
        mark = env.trial.mark()
        await flow.trigger(env)

        async def finished() -> dict[str, Any] | None:
            end = await end_state(env)
            if reference is not None:
                return end if end == reference.end else None
            return end if flow.done(end) else None

        converged = True
        try:
            if point is not None:
                await wait_for(lambda: env.trial.killed.is_set() or finished(), timeout=CONVERGE_TIMEOUT,
                               interval=0.1, what=f"the kill at {point}")
                if env.trial.killed.is_set():
                    await env.restart_after_kill()
            await wait_for(finished, timeout=CONVERGE_TIMEOUT, interval=0.1, what=f"{flow.name} to converge")
        except DeadlineExceeded:
            converged = False
        writes_after = await env.quiet() if converged else []
        calls = env.trial.since(mark)
        end = await end_state(env)
        return RunResult(
            point=point, calls=calls, end=end, converged=converged, killed=env.trial.killed.is_set(),
            duplicate_live_jobs=env.sampler.duplicate_live_jobs(),
            lost_savepoints=await lost_savepoints(env, deleted=flow.deletes),
            writes_after_convergence=writes_after,
            errors=[e for r in env.replicas for e in r.errors],
            seconds=time.monotonic() - started,
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


@pytest.mark.timeout(300 * trials())
@pytest.mark.parametrize("flow_name", list(FLOWS))
async def test_a_kill_at_any_mutating_call_converges_to_the_reference(
    flow_name: str, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    flow = FLOWS[flow_name]
    failures: list[str] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    began = time.monotonic()
    runs = 0
    for trial in range(trials()):
        reference = await run_flow(tmp_path_factory.mktemp(f"{flow_name}-ref"), flow, trial, None)
        failures += [f"trial {trial} reference: {p}" for p in reference.problems(None)]
        points = kill_points(reference)
        random.Random(trial).shuffle(points)  # spread the slow ones over the concurrent slots

        async def crash(point: KillPoint) -> RunResult:
            async with limit:
                return await run_flow(tmp_path_factory.mktemp(f"{flow_name}-crash"), flow, trial, point, reference)

        results = await asyncio.gather(*(crash(point) for point in points))
        runs += 1 + len(results)
        SUMMARY.add("crash_points", len(points))
        SUMMARY.add("crash_runs", len(results))
        for result in [reference, *results]:
            SUMMARY.add("duplicate_live_jobs", len(result.duplicate_live_jobs))
            SUMMARY.add("lost_savepoints", len(result.lost_savepoints))
            SUMMARY.add("non_converged_runs", 0 if result.converged else 1)
            SUMMARY.add("writes_after_convergence", 1 if result.writes_after_convergence else 0)
            SUMMARY.add("operator_crashes", len(result.errors))
        for result in results:
            SUMMARY.add("kill_points_not_reached", 0 if result.killed else 1)
            if result.converged and result.end["history"] != reference.end["history"] or (
                    result.end["history_events"] != reference.end["history_events"]):
                SUMMARY.add("history_mismatches")
            elif result.converged and result.end != reference.end:
                SUMMARY.add("end_state_mismatches")
            failures += [f"trial {trial}, kill {result.point}: {p}" for p in result.problems(reference)]
        slowest = max(results, key=lambda r: r.seconds, default=None)
        print(f"\n{flow_name} trial {trial}: {len(points)} kill points "
              f"({sum(1 for r in results if not r.killed)} not reached), reference history "
              f"{[h[0] for h in reference.end['history']]}, "
              f"slowest run {slowest.seconds if slowest else 0:.1f}s")
    elapsed = time.monotonic() - began
    SUMMARY.add(f"crash_matrix_seconds_{flow_name}", round(elapsed, 1))
    print(f"{flow_name}: {runs} runs in {elapsed:.1f}s")
    assert not failures, "\n".join(failures)
