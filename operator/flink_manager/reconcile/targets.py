"""Resolving what an Execution would run: JobSpec + Artifact + FlinkCluster → a run target, or why not.

The one place references are validated: the JobSpec's status conditions and the Execution's decision
both call `resolve_target`, so the two can never disagree about what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from flink_manager.api.artifact import ArtifactPhase, ArtifactSpec, ArtifactStatus
from flink_manager.api.cluster import ClusterPhase, FlinkClusterSpec, FlinkClusterStatus
from flink_manager.api.execution import RunConfig
from flink_manager.api.jobspec import JobSpecSpec, JobSpecStatus, LastStateSpec, RollbackSpec, UpgradeMode
from flink_manager.reconcile.reasons import FLINK_VERSION_UNKNOWN, UNSUPPORTED_FLINK_VERSION

Spec = TypeVar("Spec")
Status = TypeVar("Status")


@dataclass(frozen=True)
class View(Generic[Spec, Status]):
    """A resource as the decision functions see it: name, generation, parsed spec and status."""

    name: str
    generation: int
    spec: Spec
    status: Status
    deleting: bool = False


JobSpecView = View[JobSpecSpec, JobSpecStatus]
ArtifactView = View[ArtifactSpec, ArtifactStatus]
ClusterView = View[FlinkClusterSpec, FlinkClusterStatus]


@dataclass(frozen=True)
class Blocker:
    """Why a new attempt cannot start; `reason` becomes a condition reason."""

    reason: str
    message: str


QUEUED = "RolloutQueued"  # Progressing reasons of an Execution whose upgrade waits for the rollout
PAUSED = "RolloutPaused"


@dataclass(frozen=True)
class RolloutGate:
    """What an Execution of the JobSpec reads before it begins an upgrade (RunTarget.rollout)."""

    max_concurrent: int | None = None
    admitted: frozenset[str] = frozenset()
    paused: str | None = None  # why no more are admitted
    progress: str = "0/0"

    def waits(self, name: str) -> tuple[str, str] | None:
        """(reason, message) when the Execution `name` may not begin its upgrade now; None when it may."""
        if self.max_concurrent is None or name in self.admitted:
            return None
        if self.paused is not None:
            return PAUSED, f"the rollout of the JobSpec is paused ({self.progress} updated): {self.paused}"
        return QUEUED, (
            f"waiting for one of the {self.max_concurrent} upgrades the JobSpec's rollout allows at once "
            f"({self.progress} updated)"
        )


def gate_of(spec: JobSpecSpec, status: JobSpecStatus, generation: int) -> RolloutGate:
    """The gate of the JobSpec's current generation, from its status (nobody is admitted before it is decided)."""
    rollout = status.rollout
    if spec.rollout.max_concurrent is None:
        return RolloutGate()
    if rollout.generation != generation:
        return RolloutGate(spec.rollout.max_concurrent, progress=rollout.progress)
    pause = rollout.paused
    return RolloutGate(
        spec.rollout.max_concurrent,
        frozenset(rollout.admitted),
        pause.message if pause is not None else None,
        rollout.progress,
    )


@dataclass(frozen=True)
class RunTarget:
    """Everything a new attempt needs, resolved from the current JobSpec, Artifact and FlinkCluster."""

    cluster: str
    run_config: RunConfig
    initial_savepoint: str | None
    savepoint_directory: str | None
    upgrade_mode: UpgradeMode
    rollback: RollbackSpec
    savepoint_format_type: str | None = None  # CANONICAL or NATIVE; None: Flink's default
    claim_mode: str | None = None  # NO_CLAIM or CLAIM for a restore; None: the restore's default
    rollout: RolloutGate = RolloutGate()  # whether an upgrade may begin now (spec.rollout.maxConcurrent)
    last_state: LastStateSpec = field(default_factory=LastStateSpec)


def verified_digest(artifact: ArtifactView) -> str | None:
    """The digest an Execution may run: the one verified, when the status is of the current spec (spec.sha256, or
    for a Maven source without it the digest checked against the repository)."""
    status, spec = artifact.status, artifact.spec
    if (
        status.phase != ArtifactPhase.READY
        or status.observed_generation != artifact.generation
        or status.sha256 is None
        or (spec.sha256 is not None and spec.sha256 != status.sha256)
    ):
        return None
    return status.sha256


def resolve_target(
    job_spec_name: str,
    job_spec: JobSpecView | None,
    artifact: ArtifactView | None,
    cluster: ClusterView | None,
) -> RunTarget | Blocker:
    """Validate the references of a JobSpec and build the run target, or return the first problem found."""
    if job_spec is None:
        return Blocker("JobSpecNotFound", f"JobSpec {job_spec_name!r} does not exist")
    spec = job_spec.spec
    artifact_name = spec.artifact_ref.name
    sha256 = _verified_artifact(artifact_name, artifact, spec.entry_class)
    if isinstance(sha256, Blocker):
        return sha256
    cluster_name = spec.cluster_ref.name
    usable = _usable_cluster(cluster_name, cluster)
    if isinstance(usable, Blocker):
        return usable
    run_config = RunConfig(
        job_spec_generation=job_spec.generation,
        artifact=artifact_name,
        artifact_sha256=sha256,
        entry_class=spec.entry_class,
        parallelism=spec.parallelism,
        program_args=spec.program_args,
        flink_config=dict(spec.flink_config),
        allow_non_restored_state=spec.allow_non_restored_state,
    )
    return RunTarget(
        cluster=cluster_name,
        run_config=run_config,
        initial_savepoint=spec.savepoint_path,
        savepoint_directory=usable.spec.savepoint_directory,
        upgrade_mode=spec.upgrade_mode,
        rollback=spec.rollback,
        savepoint_format_type=spec.savepoint_format_type.value if spec.savepoint_format_type else None,
        claim_mode=spec.claim_mode.value if spec.claim_mode else None,
        rollout=gate_of(spec, job_spec.status, job_spec.generation),
        last_state=spec.last_state,
    )


def _verified_artifact(name: str, artifact: ArtifactView | None, entry_class: str) -> str | Blocker:
    """The digest the JobSpec's Artifact may run with its entry class, or why it cannot."""
    if artifact is None:
        return Blocker("ArtifactNotFound", f"Artifact {name!r} does not exist")
    if artifact.status.phase == ArtifactPhase.FAILED:
        return Blocker("ArtifactFailed", f"Artifact {name!r} failed: {_message_of(artifact)}")
    sha256 = verified_digest(artifact)
    if sha256 is None:
        return Blocker("ArtifactNotReady", f"Artifact {name!r} is not verified yet")
    if artifact.spec.entry_classes and entry_class not in artifact.spec.entry_classes:
        listed = ", ".join(artifact.spec.entry_classes)
        return Blocker(
            "EntryClassNotInArtifact",
            f"entry class {entry_class!r} is not among the entry classes of Artifact {name!r} ({listed})",
        )
    return sha256


def _usable_cluster(name: str, cluster: ClusterView | None) -> ClusterView | Blocker:
    """The JobSpec's FlinkCluster, or why nothing may be submitted to it now."""
    if cluster is None:
        return Blocker("ClusterNotFound", f"FlinkCluster {name!r} does not exist")
    if cluster.deleting:
        return Blocker("ClusterDeleting", f"FlinkCluster {name!r} is being deleted")
    if cluster.status.phase == ClusterPhase.PENDING:
        # The client speaks the dialect of the cluster's version: nothing starts before the first probe (which finds
        # an unsupported version before a submission is recorded). A cluster found unreachable is retried as before.
        return Blocker(
            FLINK_VERSION_UNKNOWN, f"FlinkCluster {name!r} has not been probed yet: its Flink version is unknown"
        )
    unsupported = unsupported_version(cluster)
    if unsupported is not None:
        return Blocker(UNSUPPORTED_FLINK_VERSION, f"FlinkCluster {name!r}: {unsupported}")
    return cluster


def unsupported_version(cluster: ClusterView) -> str | None:
    """Why nothing may be submitted to the cluster's Flink version (its last probe's Degraded message), or None."""
    for condition in cluster.status.conditions:
        if (
            condition.type == "Degraded"
            and condition.status == "True"
            and condition.reason == UNSUPPORTED_FLINK_VERSION
        ):
            return condition.message or "its Flink version is not supported"
    return None


def _message_of(artifact: ArtifactView) -> str:
    for condition in artifact.status.conditions:
        if condition.type == "Ready" and condition.message:
            return condition.message
    return "see its status"
