"""The resource models: pydantic mirrors of the CRDs in crds/ (a test keeps the two equal)."""

from flink_manager.api.artifact import ArtifactPhase, ArtifactSpec, ArtifactStatus, ArtifactUpload
from flink_manager.api.cluster import ClusterAuth, ClusterPhase, ClusterTLS, FlinkClusterSpec, FlinkClusterStatus
from flink_manager.api.common import (
    Condition,
    ConditionStatus,
    ConditionType,
    HistoryAction,
    HistoryDetails,
    HistoryEntry,
    ObjectRef,
    WireModel,
)
from flink_manager.api.execution import (
    DeletionPolicy,
    DesiredState,
    ExecutionPhase,
    ExecutionSpec,
    ExecutionStatus,
    FailedOperation,
    OperationType,
    PendingOperation,
    RestartPolicyType,
    RunConfig,
    SavepointReason,
    SavepointRecord,
)
from flink_manager.api.jobspec import JobSpecSpec, JobSpecStatus, UpgradeMode

KINDS = {
    "FlinkCluster": ("flinkclusters", FlinkClusterSpec, FlinkClusterStatus),
    "Artifact": ("artifacts", ArtifactSpec, ArtifactStatus),
    "JobSpec": ("jobspecs", JobSpecSpec, JobSpecStatus),
    "Execution": ("executions", ExecutionSpec, ExecutionStatus),
}

__all__ = [
    "KINDS",
    "ArtifactPhase",
    "ArtifactSpec",
    "ArtifactStatus",
    "ArtifactUpload",
    "ClusterAuth",
    "ClusterPhase",
    "ClusterTLS",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "DeletionPolicy",
    "DesiredState",
    "ExecutionPhase",
    "ExecutionSpec",
    "ExecutionStatus",
    "FailedOperation",
    "FlinkClusterSpec",
    "FlinkClusterStatus",
    "HistoryAction",
    "HistoryDetails",
    "HistoryEntry",
    "JobSpecSpec",
    "JobSpecStatus",
    "ObjectRef",
    "OperationType",
    "PendingOperation",
    "RestartPolicyType",
    "RunConfig",
    "SavepointReason",
    "SavepointRecord",
    "UpgradeMode",
    "WireModel",
]
