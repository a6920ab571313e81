"""The operator's shared state (kept in kopf's memo): settings, clients, cache, work queue, cluster runtimes."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flink_manager.controller.cache import Cache
from flink_manager.controller.metrics import Metrics
from flink_manager.controller.queue import WorkQueue
from flink_manager.controller.runtime import ClusterRuntime, utcnow
from flink_manager.kube.client import KubeClient
from flink_manager.reconcile.observations import ActionError
from flink_manager.settings import Settings

logger = logging.getLogger("flink_manager")

EXECUTION = "Execution"
JOB_SPEC = "JobSpec"
ARTIFACT = "Artifact"
FLINK_CLUSTER = "FlinkCluster"
KINDS = (FLINK_CLUSTER, ARTIFACT, JOB_SPEC, EXECUTION)

WorkKey = tuple[str, str, str]  # (kind, namespace, name)


def ref(kind: str, namespace: str | None, name: str | None) -> dict[str, Any]:
    """Logging `extra` naming the object a record is about (kopf's `k8s_ref` convention)."""
    return {"k8s_ref": {"kind": kind, "namespace": namespace or "", "name": name or ""}}


@dataclass
class OperatorContext:
    settings: Settings
    kube: KubeClient
    cache: Cache = field(default_factory=Cache)
    queue: WorkQueue | None = None
    runtimes: dict[tuple[str, str], ClusterRuntime] = field(default_factory=dict)
    pollers_started: set[tuple[str, str]] = field(default_factory=set)  # clusters whose daemon runs (or ran) here
    action_errors: dict[WorkKey, ActionError] = field(default_factory=dict)
    action_results: dict[WorkKey, str] = field(default_factory=dict)
    job_owners: dict[str, WorkKey] = field(default_factory=dict)  # Flink job id -> Execution key
    history_events_checked: set[str] = field(default_factory=set)  # Executions (uid) whose last Events were re-posted
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime.datetime] = utcnow
    identity: str = "flink-manager"
    extra: dict[str, Any] = field(default_factory=dict)

    def job_owners_forget(self, status: Any) -> None:
        """Forget the job ids of an execution that is gone."""
        for job_id in (status.flink_job_id, status.pending.job_id if status.pending else None):
            if job_id:
                self.job_owners.pop(job_id, None)

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None:
        """Ask for a reconcile of one object."""
        if self.queue is None:
            return
        if delay > 0:
            self.queue.add_after((kind, namespace, name), delay)
        else:
            self.queue.add((kind, namespace, name))
