"""Prometheus metrics of the operator: reconciles, errors, Flink REST latency, executions by phase, history, and the
state of each Execution and FlinkCluster that alerts need (read from the cache when /metrics is scraped)."""

from __future__ import annotations

import datetime
import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from flink_manager.controller.views import parse_timestamp
from flink_manager.reconcile import schedules

logger = logging.getLogger("flink_manager")

PHASES = (
    "Pending",
    "Submitting",
    "Running",
    "Stopping",
    "Stopped",
    "Cancelling",
    "Cancelled",
    "Restarting",
    "Finished",
    "Failed",
)
FlinkObserver = Callable[[str, str, float], None]


class Metrics:
    """The operator's metrics, in a registry of their own (several operators may share a process in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "flink_manager_reconciles", "Reconciles by kind and outcome", ["kind", "outcome"], registry=self.registry
        )
        self.reconcile_seconds = Histogram(
            "flink_manager_reconcile_seconds",
            "Time one reconcile took, by kind (its Flink and Kubernetes calls included)",
            ["kind"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.flink_requests = Histogram(
            "flink_manager_flink_request_seconds",
            "Flink REST calls by FlinkCluster, call and outcome",
            ["namespace", "cluster", "call", "outcome"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.kube_writes = Counter(
            "flink_manager_kubernetes_writes",
            "Kubernetes API writes by verb and resource",
            ["verb", "resource"],
            registry=self.registry,
        )
        self.history_actions = Counter(
            "flink_manager_history_actions", "History entries recorded, by action", ["action"], registry=self.registry
        )
        self.executions = Gauge("flink_manager_executions", "Executions by phase", ["phase"], registry=self.registry)
        self.queue_depth = Gauge("flink_manager_queue_depth", "Objects waiting for a reconcile", registry=self.registry)
        self.active = Gauge(
            "flink_manager_active",
            "1 while kopf peering lets this replica work; 0 while it pauses "
            "it (a live replica of higher or the same priority)",
            registry=self.registry,
        )
        self.executions_decided = Counter(
            "flink_manager_executions_decided",
            "Executions this process has decided about at least once (after a "
            "restart, the operator has resumed all of them when this equals their count)",
            registry=self.registry,
        )
        self.write_count = 0
        self.flink_calls = 0
        self._phases: Tally[str] = Tally()
        self.working = False

    def flink_observer(self, namespace: str, cluster: str) -> FlinkObserver:
        """The observer a FlinkCluster's client reports each call to."""

        def observe(call: str, outcome: str, seconds: float) -> None:
            self.flink_calls += 1
            self.flink_requests.labels(namespace, cluster, call, outcome).observe(seconds)

        return observe

    def observe_write(self, verb: str, resource: str) -> None:
        self.write_count += 1
        self.kube_writes.labels(verb, resource).inc()

    def phase_changed(self, old: str | None, new: str | None) -> None:
        """One execution left phase `old` (None: it is new) for `new` (None: it is gone); O(1), unlike a recount."""
        for phase, step in ((old, -1), (new, 1)):
            if phase is not None:
                self._phases[phase] += step
                if phase in PHASES:
                    self.executions.labels(phase).set(self._phases[phase])

    def set_active(self, working: bool) -> None:
        """Whether kopf peering lets this replica work (see controller/peering.py)."""
        self.working = working
        self.active.set(1 if working else 0)

    def watch_resources(
        self,
        executions: Callable[[], Iterable[Mapping[str, Any]]],
        clusters: Callable[[], Iterable[Mapping[str, Any]]],
        job_specs: Callable[[], Iterable[Mapping[str, Any]]] = tuple,
    ) -> None:
        """Export the state of each Execution, FlinkCluster and JobSpec, read from these sources at every scrape while
        this replica works: a paused replica's cache is not kept current, and its stale view must not raise alerts."""
        self.registry.register(
            ResourceStateCollector(
                lambda: executions() if self.working else (),
                lambda: clusters() if self.working else (),
                lambda: job_specs() if self.working else (),
            )
        )

    def serve(self, port: int) -> None:
        """Expose /metrics on this port (a background thread of prometheus_client)."""
        start_http_server(port, registry=self.registry)


class ResourceStateCollector(Collector):
    """One series per Execution and FlinkCluster for what alerts ask about a single object: its phase, whether it is
    Degraded, its restarts against its limit, when its newest savepoint was taken and when the next periodic one is
    due, whether a FlinkCluster is Ready. Built from the cached bodies when scraped, so nothing is kept between
    scrapes (at 2,000 Executions, a scrape reads 2,000 cached dicts); runs in prometheus_client's server thread, and
    only reads (the cache replaces a body, it never changes one in place)."""

    def __init__(
        self,
        executions: Callable[[], Iterable[Mapping[str, Any]]],
        clusters: Callable[[], Iterable[Mapping[str, Any]]],
        job_specs: Callable[[], Iterable[Mapping[str, Any]]],
    ) -> None:
        self._executions = executions
        self._clusters = clusters
        self._job_specs = job_specs

    def describe(self) -> Iterable[Any]:
        return list(self._families())

    def collect(self) -> Iterable[Any]:
        families = self._families()
        cluster_ready, rollout_paused = families[-2:]
        for body in self._executions():
            try:
                self._add_execution(body, families)
            except (AttributeError, TypeError, ValueError, schedules.ScheduleError) as exc:  # a body the schema let by
                logger.debug("no metrics for an unreadable Execution: %s", exc)
        for body in self._clusters():
            metadata, status = body.get("metadata") or {}, body.get("status") or {}
            ready = _condition(status, "Ready")
            if ready is not None:
                cluster_ready.add_metric(
                    [metadata.get("namespace") or "", metadata.get("name") or "", ready.get("reason") or ""],
                    1.0 if ready.get("status") == "True" else 0.0,
                )
        for body in self._job_specs():
            metadata = body.get("metadata") or {}
            paused = ((body.get("status") or {}).get("rollout") or {}).get("paused")
            if paused:
                rollout_paused.add_metric(
                    [metadata.get("namespace") or "", metadata.get("name") or "", paused.get("reason") or ""], 1.0
                )
        return families

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        key = ["namespace", "name"]
        return (
            GaugeMetricFamily(
                "flink_manager_execution_phase", "1 for each Execution, labelled with its phase", labels=[*key, "phase"]
            ),
            GaugeMetricFamily(
                "flink_manager_execution_degraded",
                "1 for each Execution whose Degraded condition is True, labelled with its reason",
                labels=[*key, "reason"],
            ),
            GaugeMetricFamily(
                "flink_manager_execution_restarts",
                "Automatic restarts of an Execution with restartPolicy OnFailure (status.restarts)",
                labels=key,
            ),
            GaugeMetricFamily(
                "flink_manager_execution_restart_limit",
                "restartPolicy.maxRestarts of an Execution with restartPolicy OnFailure",
                labels=key,
            ),
            GaugeMetricFamily(
                "flink_manager_execution_last_savepoint_timestamp_seconds",
                "When the newest savepoint of an Execution was taken (status.lastSavepoint.takenAt)",
                labels=key,
            ),
            GaugeMetricFamily(
                "flink_manager_execution_savepoint_due_timestamp_seconds",
                "When the next periodic savepoint of a Running Execution is due (spec.savepointSchedule)",
                labels=key,
            ),
            GaugeMetricFamily(
                "flink_manager_flink_cluster_ready",
                "1 for a FlinkCluster whose Ready condition is True, else 0; labelled with its reason",
                labels=["namespace", "name", "reason"],
            ),
            GaugeMetricFamily(
                "flink_manager_jobspec_rollout_paused",
                "1 for a JobSpec whose rollout a failed upgrade paused (status.rollout.paused), "
                "labelled with the failure's reason",
                labels=["namespace", "name", "reason"],
            ),
        )

    @staticmethod
    def _add_execution(body: Mapping[str, Any], families: tuple[GaugeMetricFamily, ...]) -> None:
        phase, degraded, restarts, limit, last_savepoint, due, _, _ = families
        metadata, spec, status = body.get("metadata") or {}, body.get("spec") or {}, body.get("status") or {}
        key = [metadata.get("namespace") or "", metadata.get("name") or ""]
        current = status.get("phase") or "Pending"
        phase.add_metric([*key, current], 1.0)
        condition = _condition(status, "Degraded")
        if condition is not None and condition.get("status") == "True":
            degraded.add_metric([*key, condition.get("reason") or ""], 1.0)
        policy = spec.get("restartPolicy") or {}
        if policy.get("type") == "OnFailure":
            restarts.add_metric(key, float(status.get("restarts") or 0))
            limit.add_metric(key, float(policy.get("maxRestarts", 3)))
        newest = (status.get("lastSavepoint") or {}).get("takenAt")
        if newest:
            last_savepoint.add_metric(key, _timestamp(newest).timestamp())
        schedule = spec.get("savepointSchedule")
        if schedule and current == "Running":
            periodic = [
                _timestamp(s["takenAt"])
                for s in status.get("savepoints") or []
                if s.get("reason") == "PERIODIC" and s.get("takenAt")
            ]
            started = status.get("startedAt")
            next_due = schedules.next_periodic_savepoint(
                schedule, _timestamp(started) if started else None, max(periodic, default=None)
            )
            if next_due is not None:
                due.add_metric(key, next_due.timestamp())


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _timestamp(value: str) -> datetime.datetime:
    timestamp = parse_timestamp(value)
    if timestamp is None:
        raise ValueError("no timestamp")
    return timestamp
