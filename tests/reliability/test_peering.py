"""Two operators at once, with kopf peering (not standalone) and different priorities: only the higher-priority
one acts; killed, the other takes over; started again, it takes back over. No action is ever made twice."""

from __future__ import annotations

import time

from tests.reliability.flows import RUN, history_events, status
from tests.reliability.harness import Env, Replica, history_of
from tests.reliability.summary import SUMMARY
from tests.waiting import wait_for

LIFETIME = 3  # seconds a replica's peering record stays valid without a keep-alive (kopf's default: 60)
PEERING = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "flink-manager"}}


def acted(replica: Replica) -> dict[str, int]:
    """What a replica did: Flink calls (reads included) and Kubernetes writes."""
    kube = replica.mutating_calls() - replica.mutating_calls("flink ")
    return {
        "flink": len(replica.flink_log),
        "flink run": replica.calls["flink run_jar"],
        "kube writes": kube,
        "status writes": sum(n for label, n in list(replica.calls.items()) if "/status" in label),
    }


async def deployed_replica(env: Env, name: str, priority: int) -> Replica:
    """A replica as deploy/ runs them: `--peering=flink-manager --priority=N`."""
    return await env.start_replica(
        name, standalone=False, priority=priority, peering_name="flink-manager", peering_lifetime=LIFETIME
    )


async def test_only_the_higher_priority_replica_acts_and_the_other_takes_over(env: Env) -> None:
    await env.stop_operator()  # the fixture's standalone replica
    env.api.create(PEERING)
    high = await deployed_replica(env, "high", 100)
    await env.quickstart()
    await env.track(RUN)
    first = status(await env.wait_phase(RUN, "Running"))["flinkJobId"]
    await env.settle()

    # The standby (re)starts beside the active replica while reads of the peering are slow: it must stay idle
    # until it has read its peers — no Flink call (its cluster poller), no write.
    slow = env.api.faults.delay(1.0, resource="clusterkopfpeerings")
    low = await deployed_replica(env, "low", 50)
    await env.settle(seconds=1.5)
    env.api.faults.remove(slow)
    problems = []
    if acted(low)["flink"] or acted(low)["kube writes"]:
        problems.append(f"the lower-priority replica acted while the other was alive: {acted(low)}")

    await env.kill(high)
    killed_at = time.monotonic()
    await env.patch_spec("Execution", RUN, {"state": "Stopped"})
    await env.wait_phase(RUN, "Stopped", timeout=LIFETIME + 30)
    takeover = time.monotonic() - killed_at
    await env.settle()
    if not acted(low)["status writes"]:
        problems.append("the lower-priority replica did not take over")

    back = await deployed_replica(env, "high-again", 100)
    await wait_for(
        lambda: low.ctx.queue is not None and low.ctx.queue.paused,
        timeout=LIFETIME + 20,
        what="the lower-priority replica to pause",
    )
    low_before = acted(low)
    await env.patch_spec("Execution", RUN, {"state": "Running"})
    body = await env.wait(
        "Execution",
        RUN,
        lambda b: (
            status(b).get("phase") == "Running" and status(b).get("attempt") == 2 and not status(b).get("pending")
        ),
        timeout=30,
    )
    await env.settle()
    if acted(low) != low_before:
        problems.append(f"the paused replica acted after the other came back: {low_before} → {acted(low)}")
    if not acted(back)["flink run"]:
        problems.append("the restarted higher-priority replica did not take back over")

    runs = sum(acted(r)["flink run"] for r in env.replicas)
    stops = sum(r.calls["flink stop_with_savepoint"] for r in env.replicas)
    history = history_of(body)
    if runs != 2 or stops != 1:
        problems.append(f"{runs} run calls and {stops} stop calls for two starts and one stop")
    if [h[0] for h in history] != ["START", "STOP", "START"] or await history_events(env) != [
        (1, "Start"),
        (2, "Stop"),
        (3, "Start"),
    ]:
        problems.append(f"history {history}, Events {await history_events(env)}")
    if env.job(first).restored is not None or env.job(status(body)["flinkJobId"]).restored is None:
        problems.append("the resumed job did not restore the stop's savepoint")
    quiet = await env.quiet()
    problems += [f"writes after convergence: {[c.label for c in quiet]}"] if quiet else []
    problems += env.sampler.duplicate_live_jobs()
    problems += [e for r in env.replicas for e in r.errors]
    for replica in env.replicas:
        print(f"replica {replica.name}: {acted(replica)}")
        for key, value in acted(replica).items():
            SUMMARY.set(f"peering_{replica.name}_{key.replace(' ', '_')}", value)
    SUMMARY.set("peering_takeover_seconds", round(takeover, 1))
    print(f"take-over after the kill: {takeover:.1f}s (peering lifetime {LIFETIME}s)")
    assert not problems, "\n".join(problems)
