"""The metrics that alerts read (deploy/monitoring/alerts.yaml): one series per Execution and FlinkCluster from the
cached bodies, only while kopf peering lets the replica work, and kopf's peering rule behind flink_manager_active."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flink_manager.controller.metrics import Metrics
from flink_manager.controller.peering import peers_allow

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def execution(name: str, *, spec: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "team-a", "name": name},
        "spec": {"jobSpecRef": {"name": "j"}, **(spec or {})},
        "status": status,
    }


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def series(metrics: Metrics, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: value for (metric, labels), value in samples(metrics).items() if metric == name}


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def exported(executions: list[dict[str, Any]], clusters: list[dict[str, Any]] = ()) -> Metrics:  # type: ignore[assignment]
    metrics = Metrics()
    metrics.watch_resources(lambda: executions, lambda: clusters)
    metrics.set_active(True)
    return metrics


def test_each_execution_reports_its_phase_and_a_degraded_condition_with_its_reason() -> None:
    metrics = exported(
        [
            execution(
                "running", phase="Running", conditions=[{"type": "Degraded", "status": "False", "reason": "AsExpected"}]
            ),
            execution(
                "stuck",
                phase="Running",
                conditions=[{"type": "Degraded", "status": "True", "reason": "SavepointFailed"}],
            ),
            execution("new"),
        ]
    )
    assert series(metrics, "flink_manager_execution_phase") == {
        labels(namespace="team-a", name="running", phase="Running"): 1.0,
        labels(namespace="team-a", name="stuck", phase="Running"): 1.0,
        labels(namespace="team-a", name="new", phase="Pending"): 1.0,
    }
    assert series(metrics, "flink_manager_execution_degraded") == {
        labels(namespace="team-a", name="stuck", reason="SavepointFailed"): 1.0
    }


def test_restarts_and_their_limit_are_reported_for_executions_restarted_on_failure_only() -> None:
    metrics = exported(
        [
            execution(
                "on-failure",
                spec={"restartPolicy": {"type": "OnFailure", "maxRestarts": 2}},
                phase="Failed",
                restarts=2,
            ),
            execution("default-limit", spec={"restartPolicy": {"type": "OnFailure"}}, phase="Running"),
            execution("never", spec={"restartPolicy": {"type": "Never"}}, phase="Failed"),
        ]
    )
    assert series(metrics, "flink_manager_execution_restarts") == {
        labels(namespace="team-a", name="on-failure"): 2.0,
        labels(namespace="team-a", name="default-limit"): 0.0,
    }
    assert series(metrics, "flink_manager_execution_restart_limit") == {
        labels(namespace="team-a", name="on-failure"): 2.0,
        labels(namespace="team-a", name="default-limit"): 3.0,
    }


def test_savepoint_times_are_the_newest_savepoint_and_the_next_periodic_one_due() -> None:
    started = "2026-12-01T10:00:00Z"
    savepoints = [
        {"path": "s3://b/1", "takenAt": "2026-12-01T11:00:00Z", "reason": "PERIODIC"},
        {"path": "s3://b/2", "takenAt": "2026-12-01T11:20:00Z", "reason": "MANUAL"},
    ]
    metrics = exported(
        [
            execution(
                "scheduled",
                spec={"savepointSchedule": "1h"},
                phase="Running",
                startedAt=started,
                savepoints=savepoints,
                lastSavepoint=savepoints[-1],
            ),
            execution("cron", spec={"savepointSchedule": "30 * * * *"}, phase="Running", startedAt=started),
            execution(
                "stopped",
                spec={"savepointSchedule": "1h"},
                phase="Stopped",
                startedAt=started,
                lastSavepoint=savepoints[0],
            ),
        ]
    )
    at = lambda text: datetime.datetime.fromisoformat(text).timestamp()  # noqa: E731
    assert series(metrics, "flink_manager_execution_last_savepoint_timestamp_seconds") == {
        labels(namespace="team-a", name="scheduled"): at("2026-12-01T11:20:00+00:00"),
        labels(namespace="team-a", name="stopped"): at("2026-12-01T11:00:00+00:00"),
    }
    # Periodic savepoints follow the newest periodic one (a manual savepoint does not move them), or the start;
    # a stopped execution has none due.
    assert series(metrics, "flink_manager_execution_savepoint_due_timestamp_seconds") == {
        labels(namespace="team-a", name="scheduled"): at("2026-12-01T12:00:00+00:00"),
        labels(namespace="team-a", name="cron"): at("2026-12-01T10:30:00+00:00"),
    }


def test_a_flink_cluster_reports_whether_it_is_ready_and_why() -> None:
    def cluster(name: str, status: str, reason: str) -> dict[str, Any]:
        return {
            "metadata": {"namespace": "team-a", "name": name},
            "status": {"conditions": [{"type": "Ready", "status": status, "reason": reason}]},
        }

    metrics = exported(
        [],
        [
            cluster("up", "True", "Reachable"),
            cluster("down", "False", "FlinkClusterUnreachable"),
            {"metadata": {"namespace": "team-a", "name": "unprobed"}},
        ],
    )
    assert series(metrics, "flink_manager_flink_cluster_ready") == {
        labels(namespace="team-a", name="up", reason="Reachable"): 1.0,
        labels(namespace="team-a", name="down", reason="FlinkClusterUnreachable"): 0.0,
    }


def test_a_paused_replica_reports_no_object_so_that_its_stale_cache_raises_no_alert() -> None:
    metrics = exported([execution("failed", phase="Failed")])
    metrics.set_active(False)
    assert series(metrics, "flink_manager_active") == {labels(): 0.0}
    assert series(metrics, "flink_manager_execution_phase") == {}
    metrics.set_active(True)
    assert series(metrics, "flink_manager_execution_phase") == {
        labels(namespace="team-a", name="failed", phase="Failed"): 1.0
    }


def test_an_unreadable_execution_is_skipped_and_the_others_are_reported() -> None:
    metrics = exported(
        [
            execution(
                "bad", spec={"savepointSchedule": "not a schedule"}, phase="Running", startedAt="2026-12-01T10:00:00Z"
            ),
            execution("good", phase="Running"),
        ]
    )
    assert set(series(metrics, "flink_manager_execution_phase")) == {
        labels(namespace="team-a", name="bad", phase="Running"),
        labels(namespace="team-a", name="good", phase="Running"),
    }
    assert series(metrics, "flink_manager_execution_savepoint_due_timestamp_seconds") == {}


def test_flink_requests_are_reported_by_cluster_and_call() -> None:
    metrics = Metrics()
    metrics.flink_observer("team-a", "default")("jobs_overview", "ok", 0.02)
    metrics.flink_observer("team-b", "default")("jobs_overview", "FlinkUnavailable", 1.0)
    counts = series(metrics, "flink_manager_flink_request_seconds_count")
    assert counts == {
        labels(namespace="team-a", cluster="default", call="jobs_overview", outcome="ok"): 1.0,
        labels(namespace="team-b", cluster="default", call="jobs_overview", outcome="FlinkUnavailable"): 1.0,
    }


def peer(priority: int, seconds_ago: float = 5, lifetime: int = 60) -> dict[str, Any]:
    lastseen = (NOW - datetime.timedelta(seconds=seconds_ago)).isoformat()
    return {"priority": priority, "lifetime": lifetime, "lastseen": lastseen}


@pytest.mark.parametrize(
    ("peers", "identity", "allowed"),
    [
        ({"me": peer(0)}, "me", True),
        ({"me": peer(0), "other": peer(1)}, "me", False),
        ({"me": peer(0), "other": peer(-1)}, "me", True),
        ({"me": peer(0), "twin": peer(0)}, "me", False),
        ({"me": peer(0), "twin": peer(0, seconds_ago=61)}, "me", True),
        ({"me": peer(0), "other": peer(5, seconds_ago=120, lifetime=60)}, "me", True),
        ({}, "me", True),
        # Without POD_ID the replica's own record is not known: one record of its priority is taken as its own.
        ({"a": peer(0)}, None, True),
        ({"a": peer(0), "b": peer(0)}, None, False),
        ({"a": peer(0), "b": peer(3)}, None, False),
    ],
    ids=[
        "alone",
        "higher peer",
        "lower peer",
        "same priority",
        "dead twin",
        "dead higher peer",
        "no peers",
        "anonymous alone",
        "anonymous twins",
        "anonymous with a higher peer",
    ],
)
def test_kopf_pauses_a_replica_while_a_live_peer_has_a_priority_as_high(
    peers: dict[str, Any], identity: str | None, allowed: bool
) -> None:
    assert peers_allow(peers, priority=0, identity=identity, now=NOW) is allowed


def test_a_jobspec_whose_rollout_is_paused_reports_it_with_the_failures_reason() -> None:
    paused = {"reason": "UpgradeFailed", "message": "rolled back", "execution": "e-1", "at": "2026-12-01T11:00:00Z"}
    specs = [
        {"metadata": {"namespace": "team-a", "name": "paused"}, "status": {"rollout": {"paused": paused}}},
        {"metadata": {"namespace": "team-a", "name": "rolling"}, "status": {"rollout": {"progress": "3/10"}}},
        {"metadata": {"namespace": "team-a", "name": "new"}},
    ]
    metrics = Metrics()
    metrics.watch_resources(lambda: (), lambda: (), lambda: specs)
    metrics.set_active(True)
    assert series(metrics, "flink_manager_jobspec_rollout_paused") == {
        labels(namespace="team-a", name="paused", reason="UpgradeFailed"): 1.0
    }
    metrics.set_active(False)
    assert series(metrics, "flink_manager_jobspec_rollout_paused") == {}
