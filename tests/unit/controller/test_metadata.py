"""The metadata the operator sets on an Execution, and the first attempt's intent riding on that write."""

from __future__ import annotations

import datetime
import json
from typing import Any

from flink_manager.api.execution import ExecutionPhase, ExecutionStatus, HistoryAction, OperationType, PendingOperation
from flink_manager.controller.cache import slim
from flink_manager.controller.metadata import (
    FINALIZER,
    FIRST_ATTEMPT,
    JOB_SPEC_LABEL,
    first_attempt_intent,
    missing_metadata,
    status_with_intent,
)

JOB_SPEC = {"apiVersion": "flinkmanager.io/v1alpha1", "kind": "JobSpec", "metadata": {"name": "job", "uid": "js-1"}}


def execution(
    status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None, **metadata: Any
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "run",
            "namespace": "default",
            "uid": "uid-1",
            "resourceVersion": "3",
            "annotations": annotations or {},
            **metadata,
        },
        "spec": {"jobSpecRef": {"name": "job"}},
        "status": status,
    }


def submitting(attempt: int = 1) -> ExecutionStatus:
    return ExecutionStatus(
        phase=ExecutionPhase.SUBMITTING,
        attempt=attempt,
        cluster="default",
        pending=PendingOperation(
            operation=OperationType.SUBMIT,
            action=HistoryAction.START,
            attempt=attempt,
            job_id="a" * 32,
            requested_by="user",
            from_phase=ExecutionPhase.PENDING,
            since=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        ),
    )


def test_a_new_execution_lacks_the_finalizer_the_label_and_the_owner_and_gets_them_in_one_patch() -> None:
    patch = missing_metadata(execution(), "job", JOB_SPEC)
    assert patch["finalizers"] == [FINALIZER]
    assert patch["labels"] == {JOB_SPEC_LABEL: "job"}
    assert [o["uid"] for o in patch["ownerReferences"]] == ["js-1"]


def test_nothing_is_missing_once_all_three_are_set() -> None:
    body = execution(
        finalizers=[FINALIZER],
        labels={JOB_SPEC_LABEL: "job"},
        ownerReferences=[{"kind": "JobSpec", "name": "job", "uid": "js-1"}],
    )
    assert missing_metadata(body, "job", JOB_SPEC) == {}


def test_the_first_attempts_submission_is_the_intent_and_the_status_reads_through_it() -> None:
    planned = submitting()
    intent = first_attempt_intent(None, ExecutionStatus(), planned)
    assert intent is not None
    seen = status_with_intent(execution(None, {FIRST_ATTEMPT: intent}))
    assert ExecutionStatus.from_wire(seen) == planned


def test_a_later_attempt_is_no_first_attempt_and_has_no_intent_of_this_kind() -> None:
    recorded = ExecutionStatus(phase=ExecutionPhase.FAILED, attempt=1, cluster="default")
    assert first_attempt_intent(recorded.to_wire(), recorded, submitting(2)) is None


def test_a_plan_that_submits_nothing_has_no_intent() -> None:
    blocked = ExecutionStatus(phase=ExecutionPhase.PENDING, error_message="JobSpec job not found")
    assert first_attempt_intent(None, ExecutionStatus(), blocked) is None


def test_an_intent_is_not_read_once_the_status_records_an_attempt() -> None:
    intent = first_attempt_intent(None, ExecutionStatus(), submitting())
    assert intent is not None
    running = {"phase": "Running", "attempt": 1, "cluster": "default", "flinkJobId": "a" * 32}
    body = execution(running, {FIRST_ATTEMPT: intent})
    assert status_with_intent(body) is body["status"]
    assert FIRST_ATTEMPT not in (slim(body)["metadata"].get("annotations") or {})


def test_an_annotation_that_is_no_merge_patch_is_ignored() -> None:
    for text in ("not json", json.dumps(["a list"])):
        assert status_with_intent(execution(None, {FIRST_ATTEMPT: text})) is None
