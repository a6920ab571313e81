"""What the operator sets on an Execution's metadata — the finalizer, the job-spec label, the owner reference to the
JobSpec — and the first attempt's intent, which is recorded in the same write.

Intent before action costs a write before every run call. For the first attempt of a new Execution that write would
follow the one that adds the finalizer, which must precede any job too: the intent rides on it instead, as the
annotation FIRST_ATTEMPT, holding the merge patch that turns the status into the one the decision recorded (phase,
`pending`, attempt, job id, cluster, run configuration). Until the status records an attempt of its own, the
controller reads the status through that patch, so a reconcile after a crash resumes the same submission (same job
id, same configuration, same cluster) exactly as from `status.pending`. Once the status records the attempt the
annotation is stale and never read again (the cache drops it).
"""

from __future__ import annotations

import json
from typing import Any

from flink_manager.api.execution import ExecutionStatus, OperationType
from flink_manager.kube.patches import apply_merge_patch, merge_patch

FINALIZER = "flinkmanager.io/stop-job"
JOB_SPEC_LABEL = "flinkmanager.io/job-spec"
FIRST_ATTEMPT = "flinkmanager.io/first-attempt"


def missing_metadata(body: dict[str, Any], job_spec_name: str, owner: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata patch that adds what is missing: the finalizer, the job-spec label, the owner reference to the
    JobSpec (when it exists). Empty when nothing is missing."""
    metadata = body["metadata"]
    patch: dict[str, Any] = {}
    finalizers = list(metadata.get("finalizers") or [])
    if FINALIZER not in finalizers:
        patch["finalizers"] = [*finalizers, FINALIZER]
    if (metadata.get("labels") or {}).get(JOB_SPEC_LABEL) != job_spec_name:
        patch["labels"] = {JOB_SPEC_LABEL: job_spec_name}
    owners = list(metadata.get("ownerReferences") or [])
    if owner is not None:
        owner_uid = owner["metadata"]["uid"]
        if not any(ref.get("uid") == owner_uid for ref in owners):
            patch["ownerReferences"] = [
                *owners,
                {
                    "apiVersion": owner.get("apiVersion", "flinkmanager.io/v1alpha1"),
                    "kind": "JobSpec",
                    "name": job_spec_name,
                    "uid": owner_uid,
                    "blockOwnerDeletion": True,
                },
            ]
    return patch


def records_no_attempt(status: dict[str, Any] | None) -> bool:
    """The status (as written) records no attempt and no operation in flight: a first attempt's intent may apply."""
    status = status or {}
    return not status.get("attempt") and not status.get("pending")


def status_with_intent(body: dict[str, Any]) -> dict[str, Any] | None:
    """The status as written, seen through the first attempt's intent when the status has not recorded it yet."""
    status = body.get("status")
    annotation = ((body.get("metadata") or {}).get("annotations") or {}).get(FIRST_ATTEMPT)
    if annotation is None or not records_no_attempt(status):
        return status
    try:
        intent = json.loads(annotation)
    except ValueError:
        return status  # not written by this operator: the status alone counts
    return apply_merge_patch(status or {}, intent) if isinstance(intent, dict) else status


def first_attempt_intent(written: dict[str, Any] | None, seen: ExecutionStatus, planned: ExecutionStatus) -> str | None:
    """The annotation that records the planned status, when the plan starts the first attempt: nothing recorded yet
    (neither in the status as written nor through an earlier intent), and the plan submits attempt 1."""
    pending = planned.pending
    if seen.attempt or seen.pending is not None or not records_no_attempt(written):
        return None
    if pending is None or pending.operation != OperationType.SUBMIT or pending.attempt != 1:
        return None
    patch = merge_patch(written or {}, planned.to_wire())
    return json.dumps(patch, separators=(",", ":"), sort_keys=True) if patch else None
