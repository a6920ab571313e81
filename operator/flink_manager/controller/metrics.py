"""Prometheus metrics of the operator: reconciles, errors, Flink REST latency, executions by phase, history."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PHASES = ("Pending", "Submitting", "Running", "Stopping", "Stopped", "Cancelling", "Cancelled", "Restarting",
          "Finished", "Failed")


class Metrics:
    """The operator's metrics, in a registry of their own (several operators may share a process in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter("flink_manager_reconciles", "Reconciles by kind and outcome",
                                  ["kind", "outcome"], registry=self.registry)
        self.flink_requests = Histogram(
            "flink_manager_flink_request_seconds", "Flink REST calls by call and outcome",
            ["call", "outcome"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.kube_writes = Counter("flink_manager_kubernetes_writes", "Kubernetes API writes by verb and resource",
                                   ["verb", "resource"], registry=self.registry)
        self.history_actions = Counter("flink_manager_history_actions", "History entries recorded, by action",
                                       ["action"], registry=self.registry)
        self.executions = Gauge("flink_manager_executions", "Executions by phase", ["phase"], registry=self.registry)
        self.queue_depth = Gauge("flink_manager_queue_depth", "Objects waiting for a reconcile", registry=self.registry)
        self.write_count = 0
        self.flink_calls = 0
        self._phases: Tally[str] = Tally()

    def observe_flink(self, call: str, outcome: str, seconds: float) -> None:
        self.flink_calls += 1
        self.flink_requests.labels(call, outcome).observe(seconds)

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

    def serve(self, port: int) -> None:
        """Expose /metrics on this port (a background thread of prometheus_client)."""
        start_http_server(port, registry=self.registry)
