"""Kill the operator at every mutating call of every flow — before the call, or after it with the answer lost —
start a fresh one against the same API and Flink, and compare what a user sees with an uninterrupted run.

Oracles, per run: at most one non-terminal Flink job per execution at any time (sampled continuously, and
exactly from the simulator's job times); no savepoint lost (a stop's savepoint is recorded, and the next
attempt restores from it; a failed job restarts from its newest retained checkpoint); the history and its
Events equal the reference's (same actions, from, to and by; seqs without a gap or a duplicate); the end
state equals the reference's; then no mutating call for two poll intervals; no unhandled exception in the
operator. `RELIABILITY_TRIALS` repeats the matrix with other seeds (and, after the first, a little jitter on
Flink's answers to change the interleavings). All flows' runs share one pool of concurrent runs.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.reliability.flows import FLOWS, MATRIX
from tests.reliability.matrix import kill_points, record, reference_run, run_all, run_flow
from tests.reliability.summary import SUMMARY, trials


@pytest.mark.timeout(300 * trials())
async def test_a_kill_at_any_mutating_call_converges_to_the_reference(tmp_path_factory: pytest.TempPathFactory) -> None:
    failures: list[str] = []
    for trial in range(trials()):
        began = time.monotonic()
        references = await run_all(
            [
                lambda name=name, trial=trial: reference_run(tmp_path_factory.mktemp(f"{name}-ref"), FLOWS[name], trial)
                for name in MATRIX
            ]
        )
        plan = [
            (name, reference, point)
            for name, reference in zip(MATRIX, references, strict=True)
            for point in kill_points(reference)
        ]
        random.Random(trial).shuffle(plan)  # mix long and short runs over the concurrent slots
        results = await run_all(
            [
                lambda name=name, reference=reference, point=point, trial=trial: run_flow(
                    tmp_path_factory.mktemp(f"{name}-crash"), FLOWS[name], trial, point, reference
                )
                for name, reference, point in plan
            ]
        )
        for name, reference in zip(MATRIX, references, strict=True):
            mine = [result for (flow, _, _), result in zip(plan, results, strict=True) if flow == name]
            failures += [f"trial {trial}, {name}, {line}" for line in record(reference, mine)]
            not_reached = sum(1 for r in mine if not r.killed)
            SUMMARY.add("kill_points_not_reached", not_reached)
            print(
                f"\n{name} trial {trial}: {len(mine)} kill points ({not_reached} not reached), reference "
                f"history {[h[0] for h in reference.end['history']]}, slowest run "
                f"{max((r.seconds for r in mine), default=0.0):.1f}s"
            )
        SUMMARY.add("crash_points", len(plan))
        SUMMARY.add("crash_runs", len(results))
        elapsed = time.monotonic() - began
        SUMMARY.maximum("crash_matrix_seconds_per_trial", round(elapsed, 1))
        print(f"crash matrix trial {trial}: {len(plan)} kill points over {len(MATRIX)} flows in {elapsed:.1f}s")
    assert not failures, "\n".join(failures)
