"""Faults of the real components: the kube-apiserver killed and restarted against the same etcd (between an
Execution's status intent and its Flink call, during a stop with savepoint, while nothing happens), watches that
expire with 410 Gone after etcd compaction, a JobManager killed with SIGKILL and restarted without its jobs (and a
cluster that stays down meanwhile), a TaskManager killed, and network paths to Flink and to the API server that go
silent. Each scenario ends with the tier's oracles (scenario.py); `make test` runs each once, `make reliability`
three times. The last test scans everything the operator wrote and logged for the values of the Secrets."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.infra.faultproxy import FaultProxy, Wait
from tests.reliability.real.rig import FLINK_TIMEOUT, KUBE_TIMEOUT, POLL_SECONDS, Rig, body_status, condition, history
from tests.reliability.real.scenario import changed, scenario
from tests.reliability.summary import SUMMARY, trials
from tests.waiting import wait_for_sync

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]

APPLIED = "kubectl-client-side-apply"  # performedBy of what `kubectl apply` asked for
PATCHED = "kubectl-patch"
OPERATOR = "flink-manager"
TRIALS = [pytest.param(n, id=f"trial{n + 1}") for n in range(trials())]
# How late a request may end after its deadline, as the proxy sees it: the client's close must reach the proxy.
DEADLINE_SLACK = 1.0


def job_of(rig: Rig, namespace: str, execution: str) -> str:
    body = rig.get(namespace, f"fex/{execution}")
    job_id = body_status(body).get("flinkJobId")
    assert job_id, f"{execution} has no Flink job"
    return str(job_id)


def elapsed(since: float) -> float:
    return time.monotonic() - since


# -- the kube-apiserver ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trial", TRIALS)
def test_apiserver_restart_between_the_status_intent_and_the_flink_call(rig: Rig, trial: int) -> None:
    main = rig.proxies["main"]
    with scenario(rig, "apiserver-at-submit") as run:
        ns = run.namespace
        main.hold(r"^POST /jars/[^/ ]+/run")
        try:
            rig.apply(
                ns,
                rig.cluster("default", "main", requestTimeoutSeconds=10),
                rig.artifact(),
                rig.job_spec("job", "default"),
                rig.execution("run-1", "job"),
            )
            rig.track(ns, "run-1")
            wait_for_sync(lambda: main.held(r"/run"), timeout=120, interval=0.05, what="run-1's run request")
            intent = body_status(rig.get(ns, "fex/run-1")).get("pending") or {}
            run.expect(
                intent.get("operation") == "submit",
                "history_mismatches",
                f"no submit intent in status before the run call: {intent}",
            )
            rig.plane.kill_apiserver()
        finally:
            main.release()
        rig.wait_flink(intent["jobId"], "RUNNING")
        run.figure("apiserver_start_seconds", rig.plane.start_apiserver())
        back = time.monotonic()
        rig.settled(ns, "run-1", "Running", attempt=1, flinkJobId=intent["jobId"])
        run.figure("running_after_apiserver_back_seconds", elapsed(back))
        run.reference("run-1", [("START", "Pending", "Running", APPLIED, None)])


@pytest.mark.parametrize("trial", TRIALS)
def test_apiserver_restart_while_a_stop_with_savepoint_is_in_flight(rig: Rig, trial: int) -> None:
    main = rig.proxies["main"]
    with scenario(rig, "apiserver-at-stop") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("default", "main", requestTimeoutSeconds=10),
            rig.artifact(),
            rig.job_spec("job", "default"),
            rig.execution("run-1", "job"),
        )
        rig.track(ns, "run-1")
        rig.settled(ns, "run-1", "Running")
        job_id = job_of(rig, ns, "run-1")
        rig.wait_flink(job_id, "RUNNING", tasks_running=True)
        main.hold(rf"^POST /jobs/{job_id}/stop")
        try:
            rig.patch(ns, "fex/run-1", {"state": "Stopped"})
            wait_for_sync(lambda: main.held(r"/stop"), timeout=60, interval=0.05, what="run-1's stop request")
            intent = body_status(rig.get(ns, "fex/run-1")).get("pending") or {}
            run.expect(
                intent.get("operation") == "stop" and intent.get("triggerId"),
                "history_mismatches",
                f"no stop intent with its trigger id before the stop call: {intent}",
            )
            rig.plane.kill_apiserver()
        finally:
            main.release()
        rig.wait_flink(job_id, "FINISHED")
        run.figure("apiserver_start_seconds", rig.plane.start_apiserver())
        back = time.monotonic()
        rig.settled(ns, "run-1", "Stopped")
        run.figure("stopped_after_apiserver_back_seconds", elapsed(back))
        run.check_savepoint_of_stop("run-1", job_id)
        stops = main.matching(rf"^POST /jobs/{job_id}/stop")
        run.expect(len(stops) == 1, "history_mismatches", f"{len(stops)} stop calls for job {job_id}")
        run.reference(
            "run-1", [("START", "Pending", "Running", APPLIED, None), ("STOP", "Running", "Stopped", PATCHED, None)]
        )


@pytest.mark.parametrize("trial", TRIALS)
def test_apiserver_restart_while_nothing_happens(rig: Rig, trial: int) -> None:
    with scenario(rig, "apiserver-idle") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("default", "main"),
            rig.artifact(),
            rig.job_spec("job", "default"),
            rig.execution("run-1", "job"),
        )
        rig.track(ns, "run-1")
        rig.settled(ns, "run-1", "Running")
        versions, job_spec = rig.quiet(ns), rig.get(ns, "fjs/job")
        reconciles = rig.metric("flink_manager_reconciles_total", kind="JobSpec")
        began = time.monotonic()
        rig.plane.kill_apiserver()
        run.figure("apiserver_start_seconds", rig.plane.start_apiserver())
        back = time.monotonic()

        # The operator watches again when a change made now reaches it: an annotation (no new generation, so
        # nothing to do but look) on the JobSpec.
        def seen_again() -> bool:
            rig.kubectl(ns, "annotate", "--overwrite", "fjs/job", f"probe={time.monotonic():.3f}")
            return rig.metric("flink_manager_reconciles_total", kind="JobSpec") > reconciles

        wait_for_sync(seen_again, timeout=120, interval=1.0, what="the operator to watch the API server again")
        run.figure("watching_again_after_apiserver_back_seconds", elapsed(back))
        quiet = time.monotonic()
        wait_for_sync(
            lambda: elapsed(quiet) >= 2 * POLL_SECONDS + 1, timeout=10, interval=0.1, what="two poll intervals to pass"
        )
        written = [key for key in changed(versions, rig.versions(ns)) if key != "JobSpec/job"]  # annotated above
        run.expect(not written, "writes_after_convergence", f"written after the API server restarted: {written}")
        run.expect(
            body_status(rig.get(ns, "fjs/job")) == body_status(job_spec),
            "writes_after_convergence",
            "the JobSpec's status was written",
        )
        run.expect(
            not rig.flink_mutations(began),
            "writes_after_convergence",
            f"Flink calls after the API server restarted: {rig.flink_mutations(began)}",
        )
        run.reference("run-1", [("START", "Pending", "Running", APPLIED, None)])


@pytest.mark.parametrize("trial", TRIALS)
def test_watches_expired_by_etcd_compaction_are_relisted(rig: Rig, trial: int) -> None:
    kube = rig.kube_proxy
    assert kube is not None
    with scenario(rig, "watch-gone") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("default", "main"),
            rig.artifact(),
            rig.job_spec("job", "default"),
            rig.execution("run-1", "job"),
            rig.execution("run-2", "job"),
        )
        rig.track(ns, "run-1", "run-2")
        rig.settled(ns, "run-1", "Running")
        rig.settled(ns, "run-2", "Running")
        first, second = job_of(rig, ns, "run-1"), job_of(rig, ns, "run-2")
        rig.wait_flink(first, "RUNNING", tasks_running=True)
        rig.wait_flink(second, "RUNNING", tasks_running=True)
        rig.patch(ns, "fex/run-1", {"state": "Stopped"})  # handled before the watches go
        rig.settled(ns, "run-1", "Stopped")
        rig.quiet(ns)
        handled = rig.get(ns, "fex/run-1")
        mark, began = rig.log_mark(), time.monotonic()
        # The operator's watches see nothing from here on; what changes meanwhile is past the resourceVersion they
        # would resume from, and compaction removes that history: resuming is answered 410 Gone.
        kube.silence()
        try:
            rig.patch(ns, "fex/run-2", {"state": "Stopped"})
            run.figure("compacted_at_revision", rig.plane.compact_etcd())
            rig.plane.kill_apiserver()
            run.figure("apiserver_start_seconds", rig.plane.start_apiserver())
        finally:
            kube.resume()
        back = time.monotonic()
        rig.settled(ns, "run-2", "Stopped")
        run.figure("stopped_after_watches_back_seconds", elapsed(back))
        relists = rig.log_since(mark).count("Restarting the watch-stream")
        SUMMARY.add("relists_after_gone", relists)
        run.figure("relists_after_gone", relists)
        run.expect(relists > 0, "non_converged_runs", "no watch was restarted after 410 Gone")
        run.check_savepoint_of_stop("run-2", second)
        after = rig.get(ns, "fex/run-1")
        run.expect(
            after is not None
            and handled is not None
            and after["metadata"]["resourceVersion"] == handled["metadata"]["resourceVersion"],
            "writes_after_convergence",
            "run-1, handled before the watches expired, was written again",
        )
        calls = rig.flink_mutations(began)
        run.expect(
            calls == [f"main: POST /jobs/{second}/stop"],
            "history_mismatches",
            f"Flink calls after the relist: {calls} (one stop of {second} expected)",
        )
        run.reference(
            "run-1", [("START", "Pending", "Running", APPLIED, None), ("STOP", "Running", "Stopped", PATCHED, None)]
        )
        run.reference(
            "run-2", [("START", "Pending", "Running", APPLIED, None), ("STOP", "Running", "Stopped", PATCHED, None)]
        )


# -- Flink's JobManager and TaskManager --------------------------------------------------------------------------


@pytest.mark.parametrize("trial", TRIALS)
def test_a_jobmanager_killed_and_restarted_without_its_jobs(rig: Rig, trial: int) -> None:
    with scenario(rig, "jobmanager-lost") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("default", "main", requestTimeoutSeconds=3),
            rig.artifact(),
            rig.job_spec("job", "default"),
            rig.job_spec("no-checkpoints", "default", "--checkpoint-interval-ms", "0"),
            rig.execution("jm-1", "job"),
            rig.execution("jm-2", "no-checkpoints"),
            rig.execution("jm-3", "job"),
            rig.execution("jm-4", "job", restartPolicy={"type": "Never"}),
        )
        names = ("jm-1", "jm-2", "jm-3", "jm-4")
        rig.track(ns, *names)
        for name in names:
            rig.settled(ns, name, "Running")
        rig.wait_flink(job_of(rig, ns, "jm-2"), "RUNNING", tasks_running=True)
        rig.patch(ns, "fex/jm-2", {"savepointNonce": 1})  # its only state: checkpointing is off
        rig.patch(ns, "fex/jm-3", {"state": "Stopped"})
        savepoint = rig.wait(
            ns,
            "fex/jm-2",
            lambda b: (
                (body_status(b).get("lastSavepoint") or {}).get("path") if not body_status(b).get("pending") else None
            ),
            what="jm-2's savepoint",
        )
        rig.settled(ns, "jm-3", "Stopped")
        lost = {name: job_of(rig, ns, name) for name in ("jm-1", "jm-2", "jm-4")}
        wait_for_sync(lambda: rig.newest_checkpoint_on_disk(lost["jm-1"]), timeout=60, what="a checkpoint of jm-1")
        stopped = rig.get(ns, "fex/jm-3")

        rig.flink.kill("jobmanager")
        killed = time.monotonic()
        newest = rig.newest_checkpoint_on_disk(lost["jm-1"])  # nothing writes checkpoints any more
        # A cluster that stays down: said on the FlinkCluster and on each Execution that waits for it.
        rig.wait(
            ns,
            "fc/default",
            lambda b: condition(b, "Ready") == ("False", "FlinkClusterUnreachable"),
            timeout=60,
            what="the FlinkCluster Unreachable",
        )
        for name in lost:
            rig.wait(
                ns,
                f"fex/{name}",
                lambda b: (
                    condition(b, "Degraded") == ("True", "FlinkClusterUnreachable")
                    and condition(b, "Ready") == ("False", "FlinkClusterUnreachable")
                ),
                timeout=90,
                what=f"{name} waiting for its cluster",
            )
        run.figure("unreachable_reported_seconds", elapsed(killed))

        run.figure("jobmanager_restart_seconds", rig.flink.restart("jobmanager", timeout=300))
        back = time.monotonic()
        rig.settled(ns, "jm-1", "Running", attempt=2)
        rig.settled(ns, "jm-2", "Running", attempt=2)
        run.figure("last_running_after_jobmanager_back_seconds", elapsed(back))
        rig.settled(ns, "jm-4", "Failed")
        run.figure("down_seconds", back - killed)
        run.check_restored("jm-1", newest)
        run.check_restored("jm-2", savepoint)
        after = rig.get(ns, "fex/jm-3")
        run.expect(
            after is not None
            and stopped is not None
            and after["metadata"]["resourceVersion"] == stopped["metadata"]["resourceVersion"],
            "writes_after_convergence",
            "jm-3, Stopped, was written",
        )
        resubmitted = sum(
            1 for name in ("jm-1", "jm-2") if history(rig.get(ns, f"fex/{name}"))[-1][::4] == ("RESTART", "JobLost")
        )
        SUMMARY.add("resubmissions_after_jobmanager_loss", resubmitted)
        start = ("START", "Pending", "Running", APPLIED, None)
        lost_restart = ("RESTART", "Running", "Running", OPERATOR, "JobLost")
        run.reference("jm-1", [start, lost_restart])
        run.reference("jm-2", [start, ("SAVEPOINT", "Running", "Running", PATCHED, "MANUAL"), lost_restart])
        run.reference("jm-3", [start, ("STOP", "Running", "Stopped", PATCHED, None)])
        run.reference("jm-4", [start, ("FAIL", "Running", "Failed", OPERATOR, "JobLost")])


@pytest.mark.parametrize("trial", TRIALS)
def test_a_taskmanager_killed_is_left_to_flink_until_a_job_fails(rig: Rig, trial: int) -> None:
    with scenario(rig, "taskmanager-lost") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("default", "main", requestTimeoutSeconds=3),
            rig.artifact(),
            rig.job_spec("job", "default"),
            rig.job_spec("fragile", "default", **{"restart-strategy.type": "none"}),
            rig.execution("tm-1", "job"),
            rig.execution("tm-2", "fragile"),
        )
        rig.track(ns, "tm-1", "tm-2")
        rig.settled(ns, "tm-1", "Running")
        rig.settled(ns, "tm-2", "Running")
        recovering, fragile = job_of(rig, ns, "tm-1"), job_of(rig, ns, "tm-2")
        for job_id in (recovering, fragile):
            rig.wait_flink(job_id, "RUNNING", tasks_running=True)
        wait_for_sync(lambda: rig.newest_checkpoint_on_disk(fragile), timeout=60, what="a checkpoint of tm-2")

        rig.flink.kill("taskmanager")
        killed = time.monotonic()
        rig.wait(
            ns,
            "fex/tm-1",
            lambda b: body_status(b).get("flinkRestarts", 0) >= 1,
            timeout=90,
            what="tm-1's restart by Flink recorded",
        )
        run.figure("flink_restart_recorded_seconds", elapsed(killed))
        rig.wait(
            ns,
            "fex/tm-2",
            lambda b: [h[0] for h in history(b)] == ["START", "FAIL", "RESTART"] and not body_status(b).get("pending"),
            timeout=90,
            what="tm-2 failed and restarted by its policy",
        )
        run.figure("failed_job_restarted_seconds", elapsed(killed))
        restored = rig.get(ns, "fex/tm-2")

        run.figure("taskmanager_restart_seconds", rig.flink.restart("taskmanager", timeout=300))
        back = time.monotonic()
        rig.wait_flink(recovering, "RUNNING", tasks_running=True)
        rig.wait_flink(job_of(rig, ns, "tm-2"), "RUNNING", tasks_running=True)
        run.figure("tasks_running_after_taskmanager_back_seconds", elapsed(back))
        rig.settled(ns, "tm-1", "Running", attempt=1, flinkJobId=recovering)
        rig.settled(ns, "tm-2", "Running", attempt=2)
        touched = [call for call in rig.flink_mutations(killed) if recovering in call]
        run.expect(
            not touched, "wrongly_touched_jobs", f"the operator acted on tm-1's job while Flink recovered it: {touched}"
        )
        last_checkpoint = (rig.flink_get(f"/jobs/{fragile}/checkpoints").get("latest") or {}).get("completed") or {}
        run.check_restored("tm-2", last_checkpoint.get("external_path"))
        run.expect(
            body_status(restored).get("restoredFrom") == last_checkpoint.get("external_path"),
            "lost_savepoints",
            "tm-2 was not restarted from its failed job's latest checkpoint",
        )
        start = ("START", "Pending", "Running", APPLIED, None)
        run.reference("tm-1", [start])
        run.reference(
            "tm-2",
            [start, ("FAIL", "Running", "Failed", OPERATOR, None), ("RESTART", "Failed", "Running", OPERATOR, None)],
        )


# -- silent network paths ------------------------------------------------------------------------------------------


def longest_poll_gap(rig: Rig, path: str, start: float, end: float) -> float:
    """The longest time without a `/jobs/overview` poll through a Flink path during [start, end]."""
    polls = [r.at for r in rig.proxies[path].matching(r"^GET /jobs/overview", start - POLL_SECONDS * 2) if r.at <= end]
    times = sorted([*polls, end])
    gaps = [b - a for a, b in itertools.pairwise(times) if b >= start]
    return max(gaps, default=end - start)


@pytest.mark.parametrize("trial", TRIALS)
def test_a_silent_flink_path(rig: Rig, trial: int) -> None:
    silent = rig.proxies["silent"]
    with scenario(rig, "flink-silent") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("silent", "silent", requestTimeoutSeconds=FLINK_TIMEOUT),
            rig.cluster("healthy", "healthy"),
            rig.artifact(),
            rig.job_spec("on-silent", "silent"),
            rig.job_spec("on-healthy", "healthy"),
            rig.execution("g-1", "on-silent"),
            rig.execution("g-2", "on-healthy"),
        )
        rig.track(ns, "g-1", "g-2")
        rig.settled(ns, "g-1", "Running")
        rig.settled(ns, "g-2", "Running")
        job_id = job_of(rig, ns, "g-1")
        rig.wait_flink(job_id, "RUNNING", tasks_running=True)

        silenced = time.monotonic()
        silent.silence()
        try:
            rig.wait(
                ns,
                "fc/silent",
                lambda b: condition(b, "Ready") == ("False", "FlinkClusterUnreachable"),
                timeout=60,
                what="the silent FlinkCluster Unreachable",
            )
            run.figure("unreachable_reported_seconds", elapsed(silenced))
            # The other cluster keeps being served: a new Execution on it starts.
            rig.apply(ns, rig.execution("g-3", "on-healthy"))
            rig.track(ns, "g-3")
            started = time.monotonic()
            rig.settled(ns, "g-3", "Running")
            run.figure("healthy_start_while_silent_seconds", elapsed(started))
            rig.wait(
                ns,
                "fex/g-1",
                lambda b: condition(b, "Degraded") == ("True", "FlinkClusterUnreachable"),
                timeout=60,
                what="g-1 waiting for its silent cluster",
            )
            wait_for_sync(
                lambda: elapsed(silenced) > 3 * FLINK_TIMEOUT,
                timeout=30,
                interval=0.1,
                what="requests to time out more than once",
            )
        finally:
            resumed = time.monotonic()
            silent.resume()
        longest = max((w.seconds(resumed) for w in silent.waits_during(silenced, resumed)), default=0.0)
        SUMMARY.maximum("max_request_seconds_while_silent", round(longest, 2))
        run.figure("max_request_seconds_while_silent", longest)
        run.expect(
            longest <= FLINK_TIMEOUT + DEADLINE_SLACK,
            "non_converged_runs",
            f"a request waited {longest:.2f}s on the silent path (requestTimeoutSeconds {FLINK_TIMEOUT})",
        )
        gap = longest_poll_gap(rig, "healthy", silenced, resumed)
        run.figure("healthy_longest_poll_gap_seconds", gap)
        run.expect(
            gap <= 2 * POLL_SECONDS,
            "non_converged_runs",
            f"the healthy cluster went {gap:.2f}s without a poll while the other was silent",
        )
        rig.wait(ns, "fc/silent", lambda b: condition(b, "Ready")[0] == "True", timeout=60, what="silent Ready again")
        rig.wait(
            ns,
            "fex/g-1",
            lambda b: condition(b, "Degraded")[0] == "False" and condition(b, "Ready") == ("True", "JobRunning"),
            timeout=60,
            what="g-1 ready again",
        )
        run.figure("recovered_after_resume_seconds", elapsed(resumed))
        run.expect(
            not [c for c in rig.flink_mutations(silenced) if job_id in c],
            "wrongly_touched_jobs",
            "the operator acted on g-1's job, which kept running, because its path was silent",
        )

        # The path goes silent in the middle of a stop with savepoint: Flink takes the stop, its answer is lost.
        silent.silence_after(rf"^POST /jobs/{job_id}/stop")
        rig.patch(ns, "fex/g-1", {"state": "Stopped"})
        try:
            wait_for_sync(lambda: silent.silent, timeout=60, interval=0.05, what="the stop call, then silence")
            cut = time.monotonic()
            rig.wait_flink(job_id, "FINISHED")
            wait_for_sync(
                lambda: any(w.end is not None and not w.answered for w in silent.waits_during(cut)),
                timeout=60,
                interval=0.1,
                what="a request after the cut to time out",
            )
        finally:
            resumed = time.monotonic()
            silent.resume()
        longest = max((w.seconds(resumed) for w in silent.waits_during(cut, resumed)), default=0.0)
        SUMMARY.maximum("max_request_seconds_while_silent", round(longest, 2))
        run.expect(
            longest <= FLINK_TIMEOUT + DEADLINE_SLACK,
            "non_converged_runs",
            f"a request waited {longest:.2f}s after the cut (requestTimeoutSeconds {FLINK_TIMEOUT})",
        )
        rig.settled(ns, "g-1", "Stopped")
        run.figure("stopped_after_resume_seconds", elapsed(resumed))
        run.check_savepoint_of_stop("g-1", job_id)
        taken = list(rig.flink.savepoint_dir.glob(f"savepoint-{job_id[:6]}-*"))
        run.expect(len(taken) == 1, "lost_savepoints", f"{len(taken)} savepoints of g-1's job on disk: {taken}")
        start = ("START", "Pending", "Running", APPLIED, None)
        run.reference("g-1", [start, ("STOP", "Running", "Stopped", PATCHED, None)])
        run.reference("g-2", [start])
        run.reference("g-3", [start])


@pytest.mark.parametrize("trial", TRIALS)
def test_a_silent_path_to_the_apiserver(rig: Rig, trial: int) -> None:
    kube = rig.kube_proxy
    assert kube is not None
    with scenario(rig, "apiserver-silent") as run:
        ns = run.namespace
        rig.apply(
            ns,
            rig.cluster("healthy", "healthy"),
            rig.artifact(),
            rig.job_spec("on-healthy", "healthy"),
            rig.execution("k-1", "on-healthy"),
            rig.execution("k-2", "on-healthy"),
        )
        rig.track(ns, "k-1", "k-2")
        rig.settled(ns, "k-1", "Running")
        rig.settled(ns, "k-2", "Running")
        kept, cancelled = job_of(rig, ns, "k-1"), job_of(rig, ns, "k-2")
        rig.wait_flink(cancelled, "RUNNING", tasks_running=True)

        silenced = time.monotonic()
        kube.silence()
        alive: list[bool] = []
        try:
            rig.flink_cancel(cancelled)  # outside the operator: it must write that down, and cannot

            # The operator answers its liveness probe while its requests time out.
            def timed_out_twice() -> bool:
                alive.append(rig.alive())
                ended = [w for w in requests_waiting(kube, silenced) if w.end is not None and not w.answered]
                return len(ended) >= 2 and elapsed(silenced) > 2 * KUBE_TIMEOUT

            wait_for_sync(timed_out_twice, timeout=60, interval=0.5, what="requests to the API server to time out")
        finally:
            resumed = time.monotonic()
            kube.resume()
        run.expect(all(alive), "operator_crashes", f"the liveness probe failed {alive.count(False)} time(s)")
        waits = requests_waiting(kube, silenced, resumed)
        longest = max((w.seconds(resumed) for w in waits), default=0.0)
        SUMMARY.maximum("max_request_seconds_while_silent", round(longest, 2))
        run.figure("max_request_seconds_while_silent", longest)
        run.figure("requests_timed_out_while_silent", sum(1 for w in waits if w.end is not None and not w.answered))
        run.expect(
            longest <= KUBE_TIMEOUT + DEADLINE_SLACK,
            "non_converged_runs",
            f"a request waited {longest:.2f}s on the silent path to the API server (deadline {KUBE_TIMEOUT}s): "
            f"{[w.request for w in waits if w.seconds(resumed) > KUBE_TIMEOUT + DEADLINE_SLACK]}",
        )
        # Figures only: the poller writes the FlinkCluster's status between two polls, and waits for that write.
        run.figure("flink_longest_poll_gap_seconds", longest_poll_gap(rig, "healthy", silenced, resumed))
        # The job cancelled outside the operator is recorded, and started again: its spec says Running.
        rig.settled(ns, "k-2", "Running", attempt=2)
        run.figure("recorded_after_resume_seconds", elapsed(resumed))
        rig.settled(ns, "k-1", "Running", attempt=1, flinkJobId=kept)
        start = ("START", "Pending", "Running", APPLIED, None)
        run.reference("k-1", [start])
        run.reference(
            "k-2",
            [
                start,
                ("CANCEL", "Running", "Cancelled", OPERATOR, None),
                ("START", "Cancelled", "Running", APPLIED, None),
            ],
        )


def requests_waiting(proxy: FaultProxy, start: float, end: float | None = None) -> list[Wait]:
    """The waits of requests during [start, end]; a watch waits for events by design (kopf's inactivity timeout
    ends a silent one), not for an answer within a request's deadline."""
    return [w for w in proxy.waits_during(start, end) if w.request is None or "watch=true" not in w.request]


# -- secrets ---------------------------------------------------------------------------------------------------


def test_no_secret_value_reaches_the_logs_status_events_or_metrics(rig: Rig) -> None:
    """Everything the scenarios above produced (their namespaces were collected when they ended), the operator's
    whole debug log, and its metrics page: none carries the value of any Secret the scenarios created."""
    assert rig.operator is not None
    with rig.namespace("secrets") as ns:  # every kind of credential in use, whichever scenarios ran
        rig.apply(ns, rig.cluster("main", "main"), rig.cluster("silent", "silent"), rig.cluster("healthy", "healthy"))
        for name in ("main", "silent", "healthy"):
            rig.wait(
                ns,
                f"fc/{name}",
                lambda b: condition(b, "Ready") == ("True", "Reachable"),
                timeout=60,
                what=f"FlinkCluster {name} Ready with its credentials",
            )
    rig.scan.add_text("operator log (debug)", rig.operator.log_since(0))
    rig.scan.add_text("metrics page", rig.metrics_page())
    leaks = rig.scan.leaks()
    SUMMARY.add("secret_values_scanned", len(rig.scan.secrets))
    SUMMARY.add("secret_leaks", len(leaks))
    assert len(rig.scan.secrets) >= 4, f"too few Secret values to mean anything: {rig.scan.summary()}"
    assert not leaks, rig.scan.summary() + "\n" + "\n".join(map(str, leaks))
