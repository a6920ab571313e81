"""The observer and the actor of Executions: Flink reads → `Observation`, plan actions → Flink calls.

Thin by design: which reads a decision needs is decided by `reconcile.execution.observation_needs`,
and every Flink error type maps to one `ActionErrorKind` here and nowhere else.
"""

from __future__ import annotations

import datetime
from typing import Any

from flink_manager.api.execution import ExecutionStatus, OperationType
from flink_manager.api.flinkjob import JobState
from flink_manager.controller.runtime import ClusterRuntime
from flink_manager.flink import errors
from flink_manager.flink.dialect import DIALECTS
from flink_manager.flink.models import OperationStatus, SavepointStatus
from flink_manager.reconcile import execution
from flink_manager.reconcile.observations import (
    ActionError,
    ActionErrorKind,
    CheckpointRef,
    JobObservation,
    Observation,
    TriggerObservation,
    TriggerState,
)
from flink_manager.reconcile.plans import CancelJob, DisposeSavepoint, RunJob, StopJob, TriggerSavepoint
from flink_manager.reconcile.reasons import UNAUTHORIZED
from flink_manager.storage import checkpoints as stored

RESTART_HISTORY = 100  # exception history entries read to count Flink's own restarts (Flink keeps 16 by default)
# Where a job's checkpoints go (FsCheckpointStorage), by each name the key has had, the newest first (1.20 renamed it
# and reads both): the job's own configuration wins over the cluster's.
CHECKPOINT_DIRECTORY_KEYS = tuple(dict.fromkeys(dialect.checkpoint_keys[1] for dialect in reversed(DIALECTS)))

ERROR_KINDS: list[tuple[type[errors.FlinkError], ActionErrorKind]] = [
    (errors.FlinkDuplicateJob, ActionErrorKind.DUPLICATE_JOB),
    (errors.FlinkJarNotFound, ActionErrorKind.JAR_NOT_FOUND),
    (errors.FlinkJobNotFound, ActionErrorKind.JOB_NOT_FOUND),
    (errors.FlinkTriggerNotFound, ActionErrorKind.TRIGGER_NOT_FOUND),
    (errors.FlinkAuthError, ActionErrorKind.UNAUTHORIZED),
    (errors.FlinkUnavailable, ActionErrorKind.UNAVAILABLE),
    # Refused before any call; retried until the cluster's probe blocks new attempts (UnsupportedFlinkVersion).
    (errors.FlinkUnsupportedVersion, ActionErrorKind.UNSUPPORTED_VERSION),
    (errors.FlinkRequestRejected, ActionErrorKind.REJECTED),
    (errors.FlinkClientConfigError, ActionErrorKind.REJECTED),
]


def action_error(exc: errors.FlinkError) -> ActionError:
    """The reconcile core's view of a Flink client error."""
    for error_type, kind in ERROR_KINDS:
        if isinstance(exc, error_type):
            return ActionError(kind, exc.message)
    return ActionError(ActionErrorKind.REJECTED, exc.message)


def _timestamp(millis: Any) -> datetime.datetime:
    if not millis:
        return datetime.datetime.fromtimestamp(0, datetime.UTC)
    return datetime.datetime.fromtimestamp(int(millis) / 1000, datetime.UTC).replace(microsecond=0)


def _checkpoint_ref(stats: Any, *, savepoint: bool) -> CheckpointRef | None:
    # A checkpoint Flink discarded (subsumed, or not retained when the job ended) cannot be restored.
    if stats is None or not getattr(stats, "external_path", None) or getattr(stats, "discarded", False):
        return None
    completed = getattr(stats, "latest_ack_timestamp", None) or getattr(stats, "trigger_timestamp", None)
    return CheckpointRef(stats.external_path, _timestamp(completed), is_savepoint=savepoint)


class NotYetObserved(Exception):
    """The poller has not read the cluster since this execution's last action: decide after its next poll."""


async def observe(runtime: ClusterRuntime, key: Any, status: ExecutionStatus) -> Observation:
    """Read what one decision needs: the job (from the poller's snapshot), an operation's trigger, and, for a failed
    or finished job, its root cause and latest checkpoints; for a job Flink restarts on its own, its exception
    history; for a job Flink no longer knows, its retained checkpoints from the checkpoint storage.

    Job states come from `/jobs/overview` (one call per cluster and interval), not `/jobs/{id}`: Flink
    caches job details for a few seconds, so right after an action they can show the state before it.
    Raises NotYetObserved when the last poll is older than the execution's last action.
    """
    needs = execution.observation_needs(status)
    try:
        job = await _observe_job(runtime, key, status, needs.job_id) if needs.job_id else None
        trigger = None
        if needs.trigger_id is not None:
            trigger = await _observe_trigger(runtime, needs)
    except errors.FlinkUnavailable as exc:
        return Observation(unavailable=f"FlinkCluster {runtime.name!r}: {exc.message}")
    except errors.FlinkAuthError as exc:
        return Observation(
            unavailable=f"FlinkCluster {runtime.name!r} refused the credentials: {exc.message}",
            unavailable_reason=UNAUTHORIZED,
        )
    return Observation(job=job, trigger=trigger)


async def _observe_job(runtime: ClusterRuntime, key: Any, status: ExecutionStatus, job_id: str) -> JobObservation:
    if not runtime.polled_since_action(key):
        runtime.await_poll(job_id)
        raise NotYetObserved(job_id)
    state = await _job_state(runtime, job_id)
    if execution.needs_stored_checkpoints(status, state):
        latest, savepoint, unavailable = await _stored_state(runtime, status, job_id)
        return JobObservation(
            job_id, None, latest_checkpoint=latest, latest_savepoint=savepoint, checkpoints_unavailable=unavailable
        )
    snapshot = runtime.snapshot
    tasks_deploying = snapshot.ok and job_id in snapshot.deploying
    if execution.needs_job_details(status, state):
        return await _job_details(runtime, job_id, state, tasks_deploying)
    if snapshot.ok and job_id in snapshot.recovering and execution.counts_flink_restarts(status):
        restarts, failure = await _flink_restarts(runtime, job_id)
        return JobObservation(job_id, state, tasks_deploying=tasks_deploying, flink_restarts=restarts, failure=failure)
    return JobObservation(job_id, state, tasks_deploying=tasks_deploying)


async def _job_state(runtime: ClusterRuntime, job_id: str) -> JobState | None:
    """The job's state in the poller's snapshot; a job it does not list is asked for (its 404 is not cached)."""
    snapshot = runtime.snapshot
    if snapshot.ok and job_id in snapshot.states:
        return snapshot.states[job_id]
    try:
        details = await runtime.client.job(job_id)
    except errors.FlinkJobNotFound:
        return None
    return JobState(_state_value(details.state))


async def _job_details(
    runtime: ClusterRuntime, job_id: str, state: JobState | None, tasks_deploying: bool
) -> JobObservation:
    """A failed or finished job with its root cause and latest checkpoint and savepoint."""
    failure = None
    if state == JobState.FAILED:
        try:
            failure = (await runtime.client.exceptions(job_id)).root_cause
        except errors.FlinkNotFound:
            failure = None
    latest_checkpoint = latest_savepoint = None
    try:
        stats = await runtime.client.checkpoints(job_id)
        latest_checkpoint = _checkpoint_ref(getattr(stats, "latest_completed", None), savepoint=False)
        latest_savepoint = _checkpoint_ref(getattr(stats, "latest_savepoint", None), savepoint=True)
    except (errors.FlinkNotFound, errors.FlinkRequestRejected):
        pass
    return JobObservation(
        job_id,
        state,
        failure=failure,
        latest_checkpoint=latest_checkpoint,
        latest_savepoint=latest_savepoint,
        tasks_deploying=tasks_deploying,
    )


async def _flink_restarts(runtime: ClusterRuntime, job_id: str) -> tuple[int | None, str | None]:
    """How often Flink restarted the job on its own (the entries of its exception history), and the newest cause."""
    try:
        history = await runtime.client.exceptions(job_id, max_exceptions=RESTART_HISTORY)
    except errors.FlinkNotFound:
        return None, None
    return history.entries, history.root_cause


async def _stored_state(
    runtime: ClusterRuntime, status: ExecutionStatus, job_id: str
) -> tuple[CheckpointRef | None, CheckpointRef | None, str | None]:
    """The state of a job Flink no longer knows, from storage: its newest retained checkpoint (in its checkpoint
    directory; else the checkpoint or savepoint the attempt was restored from, while it is still there), the last
    savepoint with the time its files were written (status records the second it was seen), and why the
    checkpoints are unknown."""
    savepoint = None
    if status.last_savepoint is not None:
        try:
            found_savepoint = await stored.describe(status.last_savepoint.path)
        except stored.StorageError:
            found_savepoint = None  # status.lastSavepoint still counts, with the time it was recorded
        if found_savepoint is not None:
            savepoint = CheckpointRef(found_savepoint.path, found_savepoint.completed_at, is_savepoint=True)
    try:
        directory = await _checkpoint_directory(runtime, status)
        found = await stored.latest_checkpoint(directory, job_id) if directory else None
        if found is None and status.restored_from:
            found = await stored.describe(status.restored_from)
    except stored.StorageError as exc:
        return None, savepoint, str(exc)
    if found is None:
        return None, savepoint, None if directory else "no checkpoint directory is configured"
    return CheckpointRef(found.path, found.completed_at), savepoint, None


async def _checkpoint_directory(runtime: ClusterRuntime, status: ExecutionStatus) -> str | None:
    """The checkpoint directory of the execution's job: from the configuration it was submitted with, else from
    the JobManager's (`/jobmanager/config`, which a JobManager restarted with the same configuration reports)."""
    config = status.run_config.flink_config if status.run_config else {}
    for key in CHECKPOINT_DIRECTORY_KEYS:
        if config.get(key):
            return config[key]
    try:
        cluster_config = await runtime.client.jobmanager_config()
    except (errors.FlinkNotFound, errors.FlinkRequestRejected):
        return None
    return next((cluster_config[key] for key in CHECKPOINT_DIRECTORY_KEYS if cluster_config.get(key)), None)


def _state_value(state: Any) -> str:
    return state.value if hasattr(state, "value") else str(state)


async def _observe_trigger(runtime: ClusterRuntime, needs: execution.ObservationNeeds) -> TriggerObservation:
    trigger_id = needs.trigger_id
    assert trigger_id is not None
    result: OperationStatus | SavepointStatus
    try:
        if needs.trigger_operation == OperationType.DISPOSE:
            result = await runtime.client.savepoint_disposal_status(trigger_id)
        else:
            assert needs.job_id is not None
            result = await runtime.client.savepoint_status(needs.job_id, trigger_id)
    except (errors.FlinkTriggerNotFound, errors.FlinkJobNotFound):
        return TriggerObservation(trigger_id, TriggerState.UNKNOWN)
    state_value = _state_value(result.state)
    failure = getattr(result, "failure", None)
    if state_value == "IN_PROGRESS":
        return TriggerObservation(trigger_id, TriggerState.IN_PROGRESS)
    if failure:
        return TriggerObservation(trigger_id, TriggerState.FAILED, failure=failure)
    return TriggerObservation(trigger_id, TriggerState.COMPLETED, location=getattr(result, "location", None))


async def perform(runtime: ClusterRuntime, action: Any) -> str | None:
    """Make the Flink call of one action; returns what the next decision must record (a disposal's trigger id).
    Errors propagate as the client's typed errors."""
    client = runtime.client
    if isinstance(action, RunJob):
        await client.run_jar(
            action.jar_id,
            entry_class=action.entry_class,
            parallelism=action.parallelism,
            program_args=action.program_args,
            job_id=action.job_id,
            savepoint_path=action.savepoint_path,
            allow_non_restored_state=action.allow_non_restored_state,
            flink_config=dict(action.flink_config),
            claim_mode=action.claim_mode,
        )
    elif isinstance(action, StopJob):
        await client.stop_with_savepoint(
            action.job_id,
            target_directory=action.target_directory,
            trigger_id=action.trigger_id,
            format_type=action.format_type,
        )
    elif isinstance(action, CancelJob):
        try:
            await client.cancel_job(action.job_id)
        except errors.FlinkJobNotFound:
            pass  # already gone: what cancelling wanted
    elif isinstance(action, TriggerSavepoint):
        await client.trigger_savepoint(
            action.job_id,
            target_directory=action.target_directory,
            trigger_id=action.trigger_id,
            format_type=action.format_type,
        )
    elif isinstance(action, DisposeSavepoint):
        return await client.dispose_savepoint(action.path)
    else:
        raise TypeError(f"not a Flink action: {action!r}")
    return None
