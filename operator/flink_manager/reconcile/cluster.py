"""FlinkCluster status from a probe of its REST API."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from flink_manager.api.cluster import ClusterPhase, FlinkClusterStatus
from flink_manager.api.common import Condition
from flink_manager.reconcile.conditions import set_condition
from flink_manager.reconcile.reasons import UNREACHABLE, UNSUPPORTED_FLINK_VERSION
from flink_manager.reconcile.targets import ClusterView


@dataclass(frozen=True)
class ClusterProbe:
    """What one probe saw: the overview, or why the cluster could not be read."""

    flink_version: str | None = None
    task_managers: int | None = None
    slots_total: int | None = None
    slots_available: int | None = None
    jobs_running: int | None = None
    error_reason: str | None = None
    error: str | None = None
    unsupported: str | None = None  # why the client does not speak this cluster's Flink version


def decide_cluster(cluster: ClusterView, probe: ClusterProbe, now: datetime.datetime) -> FlinkClusterStatus:
    """The cluster's status after a probe. `lastProbeTime` moves only when something else changed,
    so that a quiet cluster causes no writes. A reachable cluster of an unsupported Flink version is not Ready
    and is Degraded (UnsupportedFlinkVersion); its phase still says that it was reached."""
    status = cluster.status
    generation = cluster.generation
    if probe.error is not None:
        updated = status.model_copy(update={"phase": ClusterPhase.UNREACHABLE, "observed_generation": generation})
        reason = probe.error_reason or UNREACHABLE
        conditions = _health(updated.conditions, False, reason, probe.error, now, generation)
    else:
        updated = status.model_copy(
            update={
                "phase": ClusterPhase.READY,
                "flink_version": probe.flink_version or status.flink_version,
                "task_managers": probe.task_managers,
                "slots_total": probe.slots_total,
                "slots_available": probe.slots_available,
                "jobs_running": probe.jobs_running,
                "observed_generation": generation,
            }
        )
        message = (
            f"Flink {updated.flink_version or '?'}: {probe.task_managers} task manager(s), "
            f"{probe.slots_available}/{probe.slots_total} slots available"
        )
        if probe.unsupported is not None:
            conditions = _health(
                updated.conditions, False, UNSUPPORTED_FLINK_VERSION, probe.unsupported, now, generation
            )
        else:
            conditions = _health(updated.conditions, True, "Reachable", message, now, generation)
    updated = updated.model_copy(update={"conditions": conditions})
    if updated.model_copy(update={"last_probe_time": None}) != status.model_copy(update={"last_probe_time": None}):
        updated = updated.model_copy(update={"last_probe_time": now})
    return updated


def _health(
    conditions: Sequence[Condition],
    ready: bool,
    reason: str,
    message: str,
    now: datetime.datetime,
    generation: int | None,
) -> tuple[Condition, ...]:
    """Ready and Degraded together: Ready and not Degraded, or not Ready and Degraded for the same reason."""
    if ready:
        conditions = set_condition(conditions, "Ready", True, reason, message, now=now, generation=generation)
        return set_condition(
            conditions, "Degraded", False, "AsExpected", "no problem known", now=now, generation=generation
        )
    conditions = set_condition(conditions, "Ready", False, reason, message, now=now, generation=generation)
    return set_condition(conditions, "Degraded", True, reason, message, now=now, generation=generation)
