"""Size: savepoints and restarts by the hundred on one Execution keep its object far below what etcd accepts — the
history keeps its newest entries, the savepoint list its newest, whatever the retention asks."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from tests.reliability.flows import RUN, status
from tests.reliability.harness import Env
from tests.reliability.summary import SUMMARY, trials

LIMIT = 256 * 1024  # bytes: the object must stay below this (etcd's own limit is 1.5 MiB)
# Operations on the one Execution: enough in CI to overflow the history (50) and the savepoint list's hard bound
# (100); the full thousand when the tier runs several trials.
OPERATIONS = int(os.environ.get("RELIABILITY_SIZE_OPERATIONS") or (1000 if trials() > 1 else 120))
SAVEPOINT_EVERY = 5  # every fifth operation a savepoint alone; the others restart (each with its savepoint)
LONG_DIRECTORY = "file:/tmp/" + "savepoints-of-a-rather-long-directory-name/" * 4  # long savepoint paths


def size_of(body: dict[str, Any]) -> int:
    return len(json.dumps(body, separators=(",", ":")).encode())


@pytest.mark.timeout(300 * trials())
async def test_a_thousand_savepoints_and_restarts_keep_the_execution_small(make_env: Any) -> None:
    env: Env = await make_env()
    await env.start_replica(transition_poll_seconds=0.05)  # the job's state changes are seen sooner: faster cycles
    await env.apply(env.cluster(savepointDirectory=LONG_DIRECTORY))
    await env.apply(env.artifact())
    await env.apply(env.job_spec())
    await env.apply(env.execution(savepointRetention={"maxCount": 1000, "maxAge": "3650d"}))
    await env.track(RUN)
    body = await env.wait_phase(RUN, "Running")
    sizes = [size_of(body)]
    began = time.monotonic()
    for operation in range(1, OPERATIONS + 1):
        spec = body.get("spec") or {}
        if operation % SAVEPOINT_EVERY:
            change = {"restartNonce": int(spec.get("restartNonce") or 0) + 1}
            done = lambda b, n=change["restartNonce"]: status(b).get("observedRestartNonce") == n  # noqa: E731
        else:
            change = {"savepointNonce": int(spec.get("savepointNonce") or 0) + 1}
            done = lambda b, n=change["savepointNonce"]: status(b).get("observedSavepointNonce") == n  # noqa: E731
        await env.patch_spec("Execution", RUN, change)
        body = await env.wait(
            "Execution",
            RUN,
            lambda b, done=done: done(b) and not status(b).get("pending") and status(b).get("phase") == "Running",
            timeout=30,
            what=f"operation {operation} to complete",
        )
        sizes.append(size_of(body))
    elapsed = time.monotonic() - began
    st = status(body)
    largest = max(sizes)
    SUMMARY.set("size_operations", OPERATIONS)
    SUMMARY.set("size_largest_execution_bytes", largest)
    SUMMARY.set("size_final_execution_bytes", sizes[-1])
    SUMMARY.set("size_history_entries", len(st.get("history", [])))
    SUMMARY.set("size_savepoint_entries", len(st.get("savepoints", [])))
    print(
        f"{OPERATIONS} savepoints and restarts in {elapsed:.1f}s: the Execution grew from {sizes[0]} to at most "
        f"{largest} bytes ({sizes[-1]} at the end); history {len(st.get('history', []))} entries of "
        f"{st.get('historyTotal')}, {len(st.get('savepoints', []))} savepoints listed; size after each tenth: "
        f"{sizes[:: max(1, OPERATIONS // 10)]}"
    )
    assert largest < LIMIT, f"the Execution reached {largest} bytes"
    assert st.get("historyTotal") == 1 + OPERATIONS and len(st.get("history", [])) <= 50
    assert len(st.get("savepoints", [])) <= 100
    assert sizes[-1] <= largest and (OPERATIONS < 200 or sizes[-1] <= sizes[OPERATIONS // 2] * 1.05), (
        "the Execution kept growing once its lists were full"
    )
