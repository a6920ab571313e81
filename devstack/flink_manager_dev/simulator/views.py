"""The simulated cluster's state as Flink's REST JSON of its version: the same field names, nesting and orders."""

from __future__ import annotations

import hashlib
from typing import Any

from flink_manager.api.flinkjob import JobState
from flink_manager_dev.simulator.cluster import (
    OPERATOR_VERTEX,
    SOURCE_VERTEX,
    DisposalOperation,
    SavepointOperation,
    SessionCluster,
)
from flink_manager_dev.simulator.jars import SimulatedJar
from flink_manager_dev.simulator.jobs import CheckpointRecord, SimJob, Tasks

# The fields every supported version writes; FlinkDialect.job_overview_fields / job_details_fields add the others.
OVERVIEW_ENTRY_FIELDS = frozenset(
    {"jid", "name", "start-time", "end-time", "duration", "state", "last-modification", "tasks"}
)
VERTEX_OPTIONAL_FIELDS = frozenset({"slotSharingGroupId"})
DETAILS_FIELDS = frozenset(
    {
        "jid",
        "name",
        "isStoppable",
        "state",
        "start-time",
        "end-time",
        "duration",
        "maxParallelism",
        "now",
        "timestamps",
        "vertices",
        "status-counts",
        "plan",
    }
)
# Flink serialises these maps from Java HashMaps; the key orders below are the ones it writes.
TIMESTAMP_ORDER = (
    "FAILED",
    "RECONCILING",
    "RUNNING",
    "SUSPENDED",
    "FAILING",
    "FINISHED",
    "CREATED",
    "CANCELED",
    "INITIALIZING",
    "RESTARTING",
    "CANCELLING",
)
EXECUTION_STATES = (
    "INITIALIZING",
    "CANCELED",
    "RECONCILING",
    "RUNNING",
    "CANCELING",
    "FAILED",
    "FINISHED",
    "SCHEDULED",
    "DEPLOYING",
    "CREATED",
)
OVERVIEW_TASKS = (
    "running",
    "canceling",
    "canceled",
    "total",
    "created",
    "scheduled",
    "deploying",
    "reconciling",
    "finished",
    "initializing",
    "failed",
)
_TASK_STATE = {
    Tasks.SCHEDULED: "SCHEDULED",
    Tasks.DEPLOYING: "DEPLOYING",
    Tasks.RUNNING: "RUNNING",
    Tasks.CANCELING: "CANCELING",
    Tasks.CANCELED: "CANCELED",
    Tasks.FINISHED: "FINISHED",
    Tasks.FAILED: "FAILED",
}


def ms(seconds: float | None) -> int:
    """Epoch seconds → Flink's epoch milliseconds (-1 for "not yet")."""
    return -1 if seconds is None else int(seconds * 1000)


def dashboard_config(cluster: SessionCluster) -> dict[str, Any]:
    """`GET /config`."""
    return {
        "refresh-interval": int(cluster.timings.rest_cache * 1000),
        "timezone-name": "Coordinated Universal Time",
        "timezone-offset": 0,
        "flink-version": cluster.release.version,
        "flink-revision": cluster.release.revision,
        "features": {"web-submit": True, "web-cancel": True, "web-rescale": False, "web-history": False},
    }


def jobmanager_config(cluster: SessionCluster) -> list[dict[str, str]]:
    """`GET /jobmanager/config`: the configuration entries a session cluster reports that the operator reads (Flink
    lists every effective key; the storage keys are these, named as the version names them)."""
    storage, checkpoints, savepoints = cluster.release.dialect.checkpoint_keys
    entries = {storage: "filesystem", checkpoints: cluster.checkpoint_dir}
    if cluster.savepoint_dir:
        entries[savepoints] = cluster.savepoint_dir
    return [{"key": key, "value": value} for key, value in entries.items()]


def cluster_overview(cluster: SessionCluster) -> dict[str, Any]:
    """`GET /overview`: jobs-running counts every job that has not ended."""
    counts = {JobState.FINISHED: 0, JobState.CANCELED: 0, JobState.FAILED: 0}
    running = 0
    for job in cluster.jobs.values():
        if job.state in counts:
            counts[job.state] += 1
        else:
            running += 1
    return {
        "taskmanagers": 1,
        "slots-total": cluster.slots,
        "slots-available": cluster.free_slots(),
        "jobs-running": running,
        "jobs-finished": counts[JobState.FINISHED],
        "jobs-cancelled": counts[JobState.CANCELED],
        "jobs-failed": counts[JobState.FAILED],
        "flink-version": cluster.release.version,
        "flink-commit": cluster.release.commit,
    }


def jar_upload(cluster: SessionCluster, jar: SimulatedJar) -> dict[str, Any]:
    """`POST /jars/upload`: Flink answers with the stored file's absolute path."""
    return {"filename": f"{cluster.web_upload_dir}/{jar.id}", "status": "success"}


def jar_list(cluster: SessionCluster, address: str) -> dict[str, Any]:
    """`GET /jars`, newest upload first."""
    files = sorted(cluster.jars.values(), key=lambda jar: jar.uploaded, reverse=True)
    return {
        "address": address,
        "files": [
            {
                "id": jar.id,
                "name": jar.name,
                "uploaded": jar.uploaded,
                "entry": [{"name": jar.manifest_entry, "description": None}] if jar.manifest_entry else [],
            }
            for jar in files
        ],
    }


def _task_counts(job: SimJob) -> dict[str, int]:
    """Tasks per execution state, over the job's two vertices of `parallelism` subtasks each."""
    counts = dict.fromkeys(EXECUTION_STATES, 0)
    if not job.started_graph or job.tasks == Tasks.NONE:
        return counts
    total = 2 * job.parallelism
    if job.tasks == Tasks.FAILED:
        counts["FAILED"], counts["CANCELED"] = 1, total - 1
    else:
        counts[_TASK_STATE[job.tasks]] = total
    return counts


def _duration(job: SimJob, now: float) -> int:
    end = job.end_time if job.end_time is not None else now
    return int((end - job.submitted) * 1000)


def jobs_overview(cluster: SessionCluster, now: float) -> dict[str, Any]:
    """`GET /jobs/overview`: one entry per listed job (newest first, as Flink lists them)."""
    fields = OVERVIEW_ENTRY_FIELDS | set(cluster.release.dialect.job_overview_fields)
    return {"jobs": [_only(_overview_entry(job, now), fields) for job in reversed(cluster.jobs.values())]}


def _only(body: dict[str, Any], fields: frozenset[str] | set[str]) -> dict[str, Any]:
    """The fields this version writes, in the newest version's order."""
    return {key: value for key, value in body.items() if key in fields}


def _overview_entry(job: SimJob, now: float) -> dict[str, Any]:
    """Every field the newest version writes."""
    counts = _task_counts(job)
    tasks = {name: counts.get(name.upper(), 0) for name in OVERVIEW_TASKS}
    tasks["total"] = sum(counts.values())
    return {
        "jid": job.job_id,
        "name": job.name,
        "jobType": "STREAMING",
        "schedulerType": "Default" if job.started_graph else None,
        "start-time": ms(job.submitted),
        "end-time": ms(job.end_time),
        "duration": _duration(job, now),
        "state": job.state.value,
        "last-modification": ms(job.last_modification),
        "tasks": tasks,
        "pending-operators": 0,
    }


def _vertex_id(job: SimJob, name: str) -> str:
    return hashlib.md5(f"{job.job_id}/{name}".encode()).hexdigest()


def _vertex(job: SimJob, name: str, status: str, tasks: dict[str, int], now: float) -> dict[str, Any]:
    started = job.timestamps.get(JobState.RUNNING)
    running = status not in ("CREATED", "SCHEDULED") and started is not None
    end = job.end_time if job.terminal else None
    return {
        "id": _vertex_id(job, name),
        "slotSharingGroupId": hashlib.md5(job.job_id.encode()).hexdigest(),
        "name": name,
        "maxParallelism": 128,
        "parallelism": job.parallelism,
        "status": status,
        "start-time": ms(started) if running else -1,
        "end-time": ms(end),
        "duration": int(((end or now) - started) * 1000) if running and started is not None else -1,
        "tasks": tasks,
        "metrics": {
            "read-bytes": 0,
            "read-bytes-complete": job.terminal,
            "write-bytes": 0,
            "write-bytes-complete": job.terminal,
            "read-records": 0,
            "read-records-complete": job.terminal,
            "write-records": 0,
            "write-records-complete": job.terminal,
            "accumulated-backpressured-time": 0,
            "accumulated-idle-time": 0,
            "accumulated-busy-time": 0.0,
        },
    }


def _vertices(job: SimJob, now: float) -> list[dict[str, Any]]:
    if not job.started_graph or job.tasks == Tasks.NONE:
        return []
    result = []
    for name in (SOURCE_VERTEX, OPERATOR_VERTEX):
        tasks = dict.fromkeys(EXECUTION_STATES, 0)
        if job.tasks == Tasks.FAILED:
            state = "FAILED" if name == OPERATOR_VERTEX else "CANCELED"
            tasks[state] = 1 if state == "FAILED" else job.parallelism
            if state == "FAILED":
                tasks["CANCELED"] = job.parallelism - 1
        else:
            state = _TASK_STATE[job.tasks]
            tasks[state] = job.parallelism
        status = "CREATED" if state == "SCHEDULED" else state
        result.append(_vertex(job, name, status, tasks, now))
    return result


def _plan(job: SimJob) -> dict[str, Any]:
    if not job.started_graph:
        return {"jid": "", "name": "", "type": "", "nodes": []}
    source, operator = _vertex_id(job, SOURCE_VERTEX), _vertex_id(job, OPERATOR_VERTEX)
    return {
        "jid": job.job_id,
        "name": job.name,
        "type": "STREAMING",
        "nodes": [
            {
                "id": operator,
                "operator": "",
                "parallelism": job.parallelism,
                "operator_strategy": "",
                "description": "process<br/>+- Sink: sink<br/>",
                "optimizer_properties": {},
                "inputs": [{"id": source, "num": 0, "exchange": "pipelined_bounded", "ship_strategy": "HASH"}],
            },
            {
                "id": source,
                "operator": "",
                "parallelism": job.parallelism,
                "operator_strategy": "",
                "description": "Source: source<br/>",
                "optimizer_properties": {},
            },
        ],
    }


def job_details(cluster: SessionCluster, job: SimJob, now: float) -> dict[str, Any]:
    """`GET /jobs/{id}`."""
    dialect = cluster.release.dialect
    vertices = [
        {
            key: value
            for key, value in vertex.items()
            if key not in VERTEX_OPTIONAL_FIELDS or key in dialect.job_vertex_fields
        }
        for vertex in _vertices(job, now)
    ]
    status_counts = dict.fromkeys(EXECUTION_STATES, 0)
    for vertex in vertices:
        status_counts[vertex["status"]] += 1
    return _only(
        {
            "jid": job.job_id,
            "application-id": job.job_id if job.started_graph else None,
            "name": job.name,
            "isStoppable": False,
            "state": job.state.value,
            "job-type": "STREAMING",
            "schedulerType": "Default" if job.started_graph else None,
            "start-time": ms(job.submitted),
            "end-time": ms(job.end_time),
            "duration": _duration(job, now),
            "maxParallelism": -1,
            "now": ms(now),
            "timestamps": {
                name: ms(job.timestamps[JobState(name)]) if JobState(name) in job.timestamps else 0
                for name in TIMESTAMP_ORDER
            },
            "vertices": vertices,
            "status-counts": status_counts,
            "plan": _plan(job),
            "pending-operators": 0,
        },
        DETAILS_FIELDS | set(dialect.job_details_fields),
    )


def _stats(values: list[int]) -> dict[str, Any]:
    """Flink's MinMaxAvgStatistics; with no sample the percentiles are the string "NaN", as Jackson writes them."""
    if not values:
        return {"min": 0, "max": 0, "avg": 0, "p50": "NaN", "p90": "NaN", "p95": "NaN", "p99": "NaN", "p999": "NaN"}
    ordered = sorted(values)

    def quantile(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])

    return {
        "min": ordered[0],
        "max": ordered[-1],
        "avg": sum(ordered) // len(ordered),
        "p50": quantile(0.5),
        "p90": quantile(0.9),
        "p95": quantile(0.95),
        "p99": quantile(0.99),
        "p999": quantile(0.999),
    }


def _zeros(count: int) -> dict[str, Any]:
    stats = _stats([0] * count)
    return {**stats, **dict.fromkeys(("p50", "p90", "p95", "p99", "p999"), 0.0)}


def _checkpoint(job: SimJob, record: CheckpointRecord, latest_checkpoint_id: int | None) -> dict[str, Any]:
    retained = job.terminal and record.id == latest_checkpoint_id and job.script.retains_checkpoint(job.state)
    discarded = not record.is_savepoint and not retained and (job.terminal or record.id != latest_checkpoint_id)
    return {
        "className": "completed",
        "id": record.id,
        "status": "COMPLETED",
        "is_savepoint": record.is_savepoint,
        "savepointFormat": record.savepoint_format if record.is_savepoint else None,
        "trigger_timestamp": ms(record.triggered),
        "latest_ack_timestamp": ms(record.completed),
        "checkpointed_size": record.size,
        "state_size": record.size,
        "end_to_end_duration": int((record.completed - record.triggered) * 1000),
        "alignment_buffered": 0,
        "processed_data": 0,
        "persisted_data": 0,
        "num_subtasks": 2 * job.parallelism,
        "num_acknowledged_subtasks": 2 * job.parallelism,
        "checkpoint_type": record.checkpoint_type,
        "tasks": {},
        "external_path": record.external_path,
        "discarded": discarded,
    }


def checkpoint_statistics(job: SimJob, now: float) -> dict[str, Any]:
    """`GET /jobs/{id}/checkpoints`."""
    completed, latest_checkpoint, latest_savepoint, history = job.checkpoints.view(now)
    latest_id = latest_checkpoint.id if latest_checkpoint else None
    sizes = [record.size for record in history]
    durations = [int((record.completed - record.triggered) * 1000) for record in history]
    restored = job.restored if job.restored_count else None
    in_progress = job.checkpoints.in_progress
    return {
        "counts": {
            "restored": job.restored_count,
            "total": completed + in_progress + job.checkpoints.failed,
            "in_progress": in_progress,
            "completed": completed,
            "failed": job.checkpoints.failed,
        },
        "summary": {
            "checkpointed_size": _stats(sizes),
            "state_size": _stats(sizes),
            "end_to_end_duration": _stats(durations),
            "alignment_buffered": _zeros(len(history)),
            "processed_data": _stats([0] * len(history)),
            "persisted_data": _stats([0] * len(history)),
        },
        "latest": {
            "completed": _checkpoint(job, latest_checkpoint, latest_id) if latest_checkpoint else None,
            "savepoint": _checkpoint(job, latest_savepoint, latest_id) if latest_savepoint else None,
            "failed": None,
            "restored": {
                "id": restored.id,
                "restore_timestamp": ms(restored.at),
                "is_savepoint": restored.is_savepoint,
                "external_path": restored.external_path,
            }
            if restored
            else None,
        },
        "history": [_checkpoint(job, record, latest_id) for record in history],
    }


def job_exceptions(cluster: SessionCluster, job: SimJob, max_exceptions: int) -> dict[str, Any]:
    """`GET /jobs/{id}/exceptions`: the exception history, newest first; until 1.20 also the legacy view of the
    newest failure (its root exception and the task failures that caused it)."""
    located = [_located(entry, cluster.release.dialect.task_location_fields) for entry in job.exceptions]
    history = {"entries": located[:max_exceptions], "truncated": len(located) > max_exceptions}
    if not cluster.release.dialect.legacy_exception_fields:
        return {"exceptionHistory": history}
    newest = located[0] if located else None
    tasks = (newest.get("concurrentExceptions") or [newest]) if newest else []
    return {
        "root-exception": newest["stacktrace"] if newest else None,
        "timestamp": newest["timestamp"] if newest else None,
        "all-exceptions": [
            {
                "exception": task["stacktrace"],
                "task": task.get("taskName"),
                **{name: task.get(name) for name in cluster.release.dialect.task_location_fields},
                "timestamp": str(task["timestamp"]),
                "taskManagerId": task.get("taskManagerId"),
            }
            for task in tasks
            if task.get("taskName")
        ],
        "truncated": False,
        "exceptionHistory": history,
    }


def _located(entry: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """An exception history entry (and its concurrent task failures) with the task's location in the version's
    fields (the simulator keeps it as `endpoint`)."""
    if "endpoint" not in entry and "concurrentExceptions" not in entry:
        return entry
    located = {key: value for key, value in entry.items() if key != "endpoint"}
    if "endpoint" in entry:
        located.update(dict.fromkeys(fields, entry["endpoint"]))
    if "concurrentExceptions" in entry:
        located["concurrentExceptions"] = [_located(task, fields) for task in entry["concurrentExceptions"]]
    return located


def applications_overview(cluster: SessionCluster, now: float) -> dict[str, Any]:
    """`GET /applications/overview` (2.3): each job submitted through a jar run is an application of its own."""
    return {
        "applications": [
            {
                "id": job.job_id,
                "name": f"SingleJobApplication({job.name})",
                "start-time": ms(job.submitted),
                "end-time": ms(job.end_time),
                "duration": _duration(job, now),
                "status": job.state.value,
                "jobs": {job.state.value: 1},
            }
            for job in reversed(cluster.jobs.values())
        ]
    }


def savepoint_status(operation: SavepointOperation) -> dict[str, Any]:
    """`GET /jobs/{id}/savepoints/{trigger}`: a failed operation is COMPLETED with a `failure-cause`."""
    if operation.in_progress:
        return {"status": {"id": "IN_PROGRESS"}, "operation": None}
    result = {"failure-cause": operation.failure} if operation.failure else {"location": operation.location}
    return {"status": {"id": "COMPLETED"}, "operation": result}


def disposal_status(disposal: DisposalOperation) -> dict[str, Any]:
    """`GET /savepoint-disposal/{trigger}`."""
    if disposal.in_progress:
        return {"status": {"id": "IN_PROGRESS"}, "operation": None}
    return {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": disposal.failure} if disposal.failure else {}}
