"""The operator's shared state (kept in kopf's memo): settings, clients, cache, work queue, cluster runtimes."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flink_manager.api.execution import ExecutionStatus
from flink_manager.artifacts.store import ArtifactStore
from flink_manager.controller.cache import Cache
from flink_manager.controller.metrics import Metrics
from flink_manager.controller.queue import WorkQueue
from flink_manager.controller.runtime import ClusterRuntime, utcnow
from flink_manager.kube.client import ARTIFACTS, EXECUTIONS, FLINK_CLUSTERS, JOB_SPECS, KubeClient, Resource
from flink_manager.reconcile.observations import ActionOutcome
from flink_manager.settings import Settings

logger = logging.getLogger("flink_manager")

EXECUTION = "Execution"
JOB_SPEC = "JobSpec"
ARTIFACT = "Artifact"
FLINK_CLUSTER = "FlinkCluster"
KINDS = (FLINK_CLUSTER, ARTIFACT, JOB_SPEC, EXECUTION)
RESOURCES: dict[str, Resource] = {
    FLINK_CLUSTER: FLINK_CLUSTERS,
    ARTIFACT: ARTIFACTS,
    JOB_SPEC: JOB_SPECS,
    EXECUTION: EXECUTIONS,
}

WorkKey = tuple[str, str, str]  # (kind, namespace, name)
ClusterKey = tuple[str, str]  # (namespace, name)


def ref(kind: str, namespace: str | None, name: str | None) -> dict[str, Any]:
    """Logging `extra` naming the object a record is about (kopf's `k8s_ref` convention)."""
    return {"k8s_ref": {"kind": kind, "namespace": namespace or "", "name": name or ""}}


class LastActions:
    """What the last Flink call made for each Execution left for its next decision (its error, or the trigger id
    Flink chose for a disposal), kept from the call until that decision takes it. The one place it lives: the actor
    keeps it, the next reconcile of the same Execution takes it."""

    def __init__(self) -> None:
        self._outcomes: dict[WorkKey, ActionOutcome] = {}

    def keep(self, key: WorkKey, outcome: ActionOutcome) -> None:
        self._outcomes[key] = outcome

    def take(self, key: WorkKey) -> ActionOutcome | None:
        return self._outcomes.pop(key, None)


@dataclass
class OperatorContext:
    settings: Settings
    kube: KubeClient
    artifact_store: ArtifactStore
    cache: Cache = field(default_factory=Cache)
    queue: WorkQueue | None = None
    runtimes: dict[ClusterKey, ClusterRuntime] = field(default_factory=dict)
    pollers_started: set[ClusterKey] = field(default_factory=set)  # clusters whose daemon runs (or ran) here
    last_actions: LastActions = field(default_factory=LastActions)
    job_owners: dict[str, WorkKey] = field(default_factory=dict)  # Flink job id -> Execution key
    history_events_checked: set[str] = field(default_factory=set)  # Executions (uid) whose last Events were re-posted
    # Jar housekeeping (jars.housekeep): per cluster, when each unused jar was first seen unused (monotonic seconds).
    unreferenced_jars: dict[ClusterKey, dict[str, float]] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime.datetime] = utcnow  # wall time: status, history and Events
    monotonic: Callable[[], float] = time.monotonic  # intervals: the work queue's delays, the cluster runtimes
    identity: str = "flink-manager"

    def job_owners_forget(self, status: ExecutionStatus) -> None:
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
