"""The simulated session cluster's state machine: jars, jobs, slots, savepoint operations; no I/O.

Time is a parameter (`clock`). Nothing runs in the background: every pending transition sits in one heap of
timed events, and `advance()` — called at the start of every request — applies those that are due, in
order, each at its own time. So thousands of jobs cost one heap entry each, and tests can drive the
cluster with a fake clock.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flink_manager.api.flinkjob import JobState
from flink_manager_dev.simulator import traces
from flink_manager_dev.simulator.jars import SimulatedJar
from flink_manager_dev.simulator.jobs import (
    CheckpointBook,
    CheckpointRecord,
    JobScript,
    Restored,
    ScriptError,
    SimJob,
    Tasks,
)
from flink_manager_dev.simulator.timings import Timings
from flink_manager_dev.simulator.traces import Cause
from flink_manager_dev.simulator.versions import NEWEST, Release, release

SAVEPOINT_DIR_KEY = "execution.checkpointing.savepoint-dir"
SOURCE_VERTEX = "Source: source"
OPERATOR_VERTEX = "process -> Sink: sink"
TASK_MANAGER = "taskmanager-0"
TASK_MANAGER_ENDPOINT = "localhost:41881"


class IdSource:
    """Flink-style random ids from one seeded generator (deterministic with a seed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class RunRequest:
    """The parts of a JarRunRequestBody the simulator uses."""

    entry_class: str | None = None
    parallelism: int | None = None
    program_args: Sequence[str] = ()
    job_id: str | None = None
    savepoint_path: str | None = None
    allow_non_restored_state: bool = False
    flink_config: Mapping[str, str] = field(default_factory=dict)
    claim_mode: str | None = None  # claimMode (restoreMode before 1.20): NO_CLAIM, CLAIM or LEGACY


@dataclass
class SavepointOperation:
    """A savepoint or stop-with-savepoint, keyed by (job id, trigger id) as Flink keys them."""

    job_id: str
    trigger_id: str
    stop: bool
    started: float
    target: str | None
    cancel_job: bool = False
    format_type: str = "CANONICAL"
    checkpoint_id: int | None = None
    done_at: float | None = None
    location: str | None = None
    failure: dict[str, Any] | None = None

    @property
    def in_progress(self) -> bool:
        return self.done_at is None


@dataclass
class DisposalOperation:
    """A savepoint disposal."""

    trigger_id: str
    path: str
    started: float
    done_at: float | None = None
    failure: dict[str, Any] | None = None

    @property
    def in_progress(self) -> bool:
        return self.done_at is None


@dataclass(frozen=True)
class DurableSavepoint:
    """A savepoint on (simulated) durable storage: it survives a cluster restart, not a disposal."""

    location: str
    checkpoint_id: int
    job_id: str
    taken_at: float


def normalize_location(path: str) -> str:
    """A savepoint path as Flink writes it back: `file:///x` → `file:/x`, relative → absolute `file:`, no `/_metadata`."""
    path = path.strip().rstrip("/")
    path = path.removesuffix("/_metadata")
    if path.startswith("file://"):
        path = "file:" + path[len("file://") :]
    elif path.startswith("/"):
        path = "file:" + path
    elif ":" not in path.split("/", 1)[0]:
        path = "file:" + os.path.abspath(path)
    while path.startswith("file://"):
        path = "file:" + path[len("file://") :]
    return path


def _metadata_checkpoint_id(location: str) -> int | None:
    """The checkpoint id in a real savepoint's `_metadata` on the local file system (magic, version, id)."""
    if not location.startswith("file:"):
        return None
    directory = location[len("file:") :]
    metadata = os.path.join(directory, "_metadata") if os.path.isdir(directory) else directory
    try:
        with open(metadata, "rb") as handle:
            header = handle.read(16)
    except OSError:
        return None
    if len(header) < 16:
        return 0
    _magic, _version, checkpoint_id = struct.unpack(">iiq", header)
    return int(checkpoint_id)


METADATA_MAGIC = 0x4960672D  # Flink's MetadataSerializer magic number, first in every _metadata
METADATA_VERSION = 5


def _write_metadata(location: str, checkpoint_id: int, completed: float) -> None:
    """A checkpoint's `_metadata` on the local file system: its header (magic, version, id), as Flink's starts,
    written at the time the checkpoint completed."""
    if not location.startswith("file:"):
        return
    directory = location[len("file:") :]
    os.makedirs(directory, exist_ok=True)
    metadata = os.path.join(directory, "_metadata")
    with open(metadata, "wb") as handle:
        handle.write(struct.pack(">iiq", METADATA_MAGIC, METADATA_VERSION, checkpoint_id))
    os.utime(metadata, (completed, completed))


class SessionCluster:
    """A Flink session cluster (of `flink_version`, default the newest) with one TaskManager of `slots` slots,
    simulated."""

    def __init__(
        self,
        *,
        slots: int = 4,
        timings: Timings | None = None,
        savepoint_dir: str | None = "file:/tmp/flink-simulator/savepoints",
        checkpoint_dir: str = "file:/tmp/flink-simulator/checkpoints",
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        flink_version: str = NEWEST,
    ) -> None:
        self.release: Release = release(flink_version)
        self.slots = slots
        self.timings = timings or Timings()
        self.savepoint_dir = normalize_location(savepoint_dir) if savepoint_dir else None
        self.checkpoint_dir = normalize_location(checkpoint_dir)
        self.clock = clock
        self.ids = IdSource(random.Random(seed) if seed is not None else random.Random())
        self.savepoints: dict[str, DurableSavepoint] = {}
        self.restarts = 0
        self._reset()

    def _reset(self) -> None:
        """Everything a non-HA session cluster keeps in memory (and loses when it restarts)."""
        self.web_upload_dir = f"/tmp/flink-web-{self.ids.uuid()}/flink-web-upload"
        self.jars: dict[str, SimulatedJar] = {}
        self.jobs: dict[str, SimJob] = {}
        self.known_job_ids: set[str] = set()  # the job result store: ids stay taken after the job expires
        self.operations: dict[tuple[str, str], SavepointOperation] = {}
        self.disposals: dict[str, DisposalOperation] = {}
        self.waiting: deque[str] = deque()
        self.slots_used = 0
        self._pending_ops: dict[str, set[str]] = {}
        self._events: list[tuple[float, int, str, Any, int]] = []
        self._seq = itertools.count()

    # -- time ------------------------------------------------------------------------------------

    def advance(self, now: float | None = None) -> float:
        """Apply every transition due by `now` (default: the clock), each at its own time; returns `now`."""
        now = self.clock() if now is None else now
        while self._events and self._events[0][0] <= now:
            at, _, kind, key, epoch = heapq.heappop(self._events)
            self._fire(kind, key, epoch, at)
        return now

    def _schedule(self, at: float, kind: str, key: Any, epoch: int = 0) -> None:
        heapq.heappush(self._events, (at, next(self._seq), kind, key, epoch))

    def _schedule_job(self, job: SimJob, delay: float, kind: str, at: float) -> None:
        self._schedule(at + delay, kind, job.job_id, job.epoch)

    def _fire(self, kind: str, key: Any, epoch: int, at: float) -> None:
        if kind == "operation-done":
            self._savepoint_done(key, at)
            return
        if kind == "disposal-done":
            self._disposal_done(key, at)
            return
        job = self.jobs.get(key)
        if job is None or job.epoch != epoch:
            return
        handler = {
            "created": self._created,
            "running": self._running,
            "deployed": self._deployed,
            "fail": lambda j, t: self._fail(j, j.script.failure, t),
            "finish": lambda j, t: self._terminate(j, JobState.FINISHED, Tasks.FINISHED, t),
            "failed": lambda j, t: self._terminate(j, JobState.FAILED, Tasks.FAILED, t),
            "canceled": lambda j, t: self._terminate(j, JobState.CANCELED, Tasks.CANCELED, t),
            "restarted": self._restarted,
            "slot-timeout": self._slot_timeout,
            "expire": self._expire,
        }[kind]
        handler(job, at)

    # -- jars ------------------------------------------------------------------------------------

    def upload_jar(self, filename: str, content: bytes) -> SimulatedJar:
        """Store an uploaded jar under a new id `<uuid>_<filename>`."""
        now = self.advance()
        if not filename.endswith(".jar"):
            raise traces.handler_error(400, Cause(traces.REST_HANDLER, "Only Jar files are allowed."))
        jar = SimulatedJar.inspect(f"{self.ids.uuid()}_{filename}", filename, int(now * 1000), content)
        self.jars[jar.id] = jar
        return jar

    def delete_jar(self, jar_id: str) -> None:
        """Forget an uploaded jar (running jobs are not affected)."""
        self.advance()
        if self.jars.pop(jar_id, None) is None:
            raise traces.jar_delete_missing(self.web_upload_dir, jar_id)

    # -- jobs ------------------------------------------------------------------------------------

    def submit(self, jar_id: str, request: RunRequest) -> str:
        """Run a jar's program: checks what Flink checks, then the job starts INITIALIZING; returns its id."""
        now = self.advance()
        jar = self.jars.get(jar_id)
        if jar is None:
            raise traces.jar_missing(self.web_upload_dir, jar_id)
        entry_class = request.entry_class or jar.manifest_entry
        if not entry_class:
            raise traces.entry_class_undeclared()
        if not jar.has_class(entry_class):
            raise traces.entry_class_missing(entry_class)
        parallelism = 1 if request.parallelism in (None, -1) else int(request.parallelism)  # parallelism.default
        if parallelism < 1:
            raise traces.main_method_failed(
                Cause(
                    "java.lang.IllegalArgumentException",
                    "Parallelism must be at least one, or ExecutionConfig.PARALLELISM_DEFAULT (use system default).",
                )
            )
        try:
            script = JobScript.parse(entry_class, request.flink_config, request.program_args)
        except ScriptError as exc:
            raise traces.main_method_failed(Cause("java.lang.IllegalArgumentException", str(exc))) from None
        if script.startup_failure:
            raise traces.main_method_failed(Cause("java.lang.RuntimeException", script.startup_failure))
        job_id = (request.job_id or self.ids.hex(32)).lower()
        if job_id in self.known_job_ids:
            raise traces.duplicate_job(script.name, *self.release.dialect.duplicate_job)
        interval = (
            self.timings.checkpoint_interval if script.checkpoint_interval is None else script.checkpoint_interval
        )
        job = SimJob(
            job_id=job_id,
            name=script.name,
            jar_id=jar_id,
            entry_class=entry_class,
            parallelism=parallelism,
            script=script,
            submitted=now,
            checkpoints=CheckpointBook(f"{self.checkpoint_dir}/{job_id}", interval, self.timings.checkpoint_duration),
        )
        self.known_job_ids.add(job_id)
        self.jobs[job_id] = job
        if request.savepoint_path:
            location = normalize_location(request.savepoint_path)
            checkpoint_id = self._savepoint_checkpoint_id(location)
            if checkpoint_id is None:
                self._fail_at_startup(job, request.savepoint_path, now)
                raise traces.savepoint_missing(script.name, request.savepoint_path)
            job.restored = Restored(checkpoint_id, location, True, now)
            job.claim_mode = request.claim_mode or "NO_CLAIM"
            job.checkpoints.next_id = checkpoint_id + 1
        self._schedule_job(job, self.timings.initializing, "created", now)
        return job_id

    def _savepoint_checkpoint_id(self, location: str) -> int | None:
        known = self.savepoints.get(location)
        if known is not None:
            return known.checkpoint_id
        return _metadata_checkpoint_id(location)

    def _fail_at_startup(self, job: SimJob, path: str, now: float) -> None:
        """A job whose JobMaster could not start (its savepoint is missing): listed as FAILED, as Flink lists it."""
        at = now + 0.02
        chain = traces.savepoint_missing_chain(path)
        job.exceptions.insert(
            0,
            {
                "exceptionName": chain[0].cls,
                "stacktrace": traces.java_trace(chain),
                "timestamp": _ms(at),
                "failureLabels": {},
                "concurrentExceptions": [],
            },
        )
        job.enter(JobState.FAILED, at)
        job.epoch += 1
        self._schedule_job(job, self.timings.job_expiry, "expire", at)

    def cancel(self, job_id: str) -> None:
        """`PATCH /jobs/{id}?mode=cancel`: CANCELLING, then CANCELED; accepted again for an ended job."""
        now = self.advance()
        job = self.jobs.get(job_id)
        if job is None:
            raise traces.cancel_job_not_found(job_id)
        if job.terminal or job.state == JobState.CANCELLING:
            return
        self._cancel(job, now)

    def _cancel(self, job: SimJob, at: float) -> None:
        self._interrupt(job, at)
        job.enter(JobState.CANCELLING, at)
        if job.tasks != Tasks.NONE:
            job.tasks_at(Tasks.CANCELING, at)
        self._schedule_job(job, self.timings.cancelling, "canceled", at)

    def _created(self, job: SimJob, at: float) -> None:
        job.enter(JobState.CREATED, at)
        job.started_graph = True
        if job.restored is not None:
            job.restored = Restored(job.restored.id, job.restored.external_path, job.restored.is_savepoint, at)
            job.restored_count = 1
        self._schedule_job(job, self.timings.created, "running", at)

    def _running(self, job: SimJob, at: float) -> None:
        job.enter(JobState.RUNNING, at)
        self._schedule_tasks(job, at)

    def _schedule_tasks(self, job: SimJob, at: float) -> None:
        """The tasks ask for slots: deploy if the TaskManager has them, else wait (Flink keeps the job RUNNING)."""
        job.tasks_at(Tasks.SCHEDULED, at)
        if job.checkpoints.interval > 0 and job.attempt == 0:
            # Flink's first checkpoint trigger comes before all tasks run and fails (seen on every real job).
            job.checkpoints.failed = 1
        if job.has_slots or self._acquire(job, at):
            job.tasks_at(Tasks.DEPLOYING, at)
            self._schedule_job(job, self.timings.deploying, "deployed", at)
            return
        self.waiting.append(job.job_id)
        self._schedule_job(job, self.timings.slot_request_timeout, "slot-timeout", at)

    def _acquire(self, job: SimJob, at: float) -> bool:
        if self.slots - self.slots_used < job.parallelism:
            return False
        self.slots_used += job.parallelism
        job.has_slots = True
        return True

    def _release(self, job: SimJob, at: float) -> None:
        if job.job_id in self.waiting:
            self.waiting.remove(job.job_id)
        if not job.has_slots:
            return
        self.slots_used -= job.parallelism
        job.has_slots = False
        for waiting_id in list(self.waiting):
            waiting = self.jobs.get(waiting_id)
            if waiting is None or waiting.tasks != Tasks.SCHEDULED:
                self.waiting.remove(waiting_id)
            elif self._acquire(waiting, at):
                self.waiting.remove(waiting_id)
                waiting.tasks_at(Tasks.DEPLOYING, at)
                self._schedule_job(waiting, self.timings.deploying, "deployed", at)

    def _deployed(self, job: SimJob, at: float) -> None:
        if job.tasks != Tasks.DEPLOYING:
            return
        job.tasks_at(Tasks.RUNNING, at)
        job.checkpoints.start_periodic(at)
        if job.script.fail_after is not None:
            self._schedule_job(job, job.script.fail_after, "fail", at)
        if job.script.finish_after is not None:
            self._schedule_job(job, job.script.finish_after, "finish", at)

    def _slot_timeout(self, job: SimJob, at: float) -> None:
        if job.state == JobState.RUNNING and job.tasks == Tasks.SCHEDULED and not job.has_slots:
            self._fail(
                job,
                Cause(
                    "org.apache.flink.runtime.jobmanager.scheduler.NoResourceAvailableException",
                    "Could not acquire the minimum required resources.",
                ),
                at,
            )

    def _fail(self, job: SimJob, cause: Cause, at: float) -> None:
        """A task failed with `cause`: RESTARTING while scripted restarts remain, else FAILING → FAILED."""
        self._interrupt(job, at)
        task = f"{OPERATOR_VERTEX} (1/{job.parallelism}) - execution #{job.attempt}"
        task_failure = {
            "exceptionName": cause.cls,
            "stacktrace": traces.java_trace([cause]),
            "timestamp": _ms(at),
            "failureLabels": {},
            "taskName": task,
            "endpoint": TASK_MANAGER_ENDPOINT,
            "taskManagerId": TASK_MANAGER,
        }
        job.tasks_at(Tasks.FAILED, at)
        if job.restarts_done < job.script.restarts:
            job.exceptions.insert(0, {**task_failure, "concurrentExceptions": []})
            job.restarts_done += 1
            job.enter(JobState.RESTARTING, at)
            self._schedule_job(job, self.timings.restart_delay, "restarted", at)
            return
        strategy = (
            "NoRestartBackoffTimeStrategy"
            if job.script.restarts == 0
            else f"FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts={job.script.restarts}, "
            f"backoffTimeMS={int(self.timings.restart_delay * 1000)})"
        )
        suppressed = Cause(traces.JOB_EXCEPTION, f"Recovery is suppressed by {strategy}")
        job.exceptions.insert(
            0,
            {
                "exceptionName": suppressed.cls,
                "stacktrace": traces.java_trace([suppressed, cause]),
                "timestamp": _ms(at),
                "failureLabels": {},
                "concurrentExceptions": [task_failure],
            },
        )
        job.enter(JobState.FAILING, at)
        self._schedule_job(job, self.timings.failing, "failed", at)

    def _restarted(self, job: SimJob, at: float) -> None:
        job.attempt += 1
        latest = job.checkpoints.latest_any(at)
        if latest is not None:
            job.restored = Restored(latest.id, latest.external_path, latest.is_savepoint, at)
        elif job.restored is not None:
            job.restored = Restored(job.restored.id, job.restored.external_path, job.restored.is_savepoint, at)
        if job.restored is not None:
            job.restored_count += 1
        job.enter(JobState.RUNNING, at)
        self._schedule_tasks(job, at)

    def _interrupt(self, job: SimJob, at: float) -> None:
        """The job stops what it was doing: pending transitions, periodic checkpoints, savepoints in flight."""
        job.epoch += 1
        job.checkpoints.stop_periodic(at)
        if job.job_id in self.waiting:
            self.waiting.remove(job.job_id)
        suspending = Cause(traces.CHECKPOINT, "Checkpoint Coordinator is suspending.")
        for trigger_id in self._pending_ops.pop(job.job_id, set()):
            operation = self.operations.get((job.job_id, trigger_id))
            if operation is not None and operation.in_progress:
                self._finish_operation(
                    operation, at, failure=traces.failure_cause(suspending.wrapped_in(traces.COMPLETION), suspending)
                )
        job.checkpoints.in_progress = 0
        job.stop_trigger = None

    def _terminate(self, job: SimJob, state: JobState, tasks: Tasks, at: float) -> None:
        self._interrupt(job, at)
        latest = job.checkpoints.latest_checkpoint
        if latest is not None and latest.external_path and job.script.retains_checkpoint(state):
            # An externalized checkpoint outlives its job, like a savepoint: a new job may restore from it.
            self.savepoints[latest.external_path] = DurableSavepoint(latest.external_path, latest.id, job.job_id, at)
        job.enter(state, at)
        job.tasks_at(tasks, at)
        self._release(job, at)
        self._schedule_job(job, self.timings.job_expiry, "expire", at)

    def _expire(self, job: SimJob, at: float) -> None:
        """jobstore.expiration-time passed: the ended job leaves the listings (its id stays taken)."""
        self.jobs.pop(job.job_id, None)

    # -- savepoints ------------------------------------------------------------------------------

    def trigger_savepoint(
        self,
        job_id: str,
        *,
        trigger_id: str | None = None,
        target: str | None = None,
        cancel_job: bool = False,
        stop: bool = False,
        format_type: str | None = None,
    ) -> str:
        """`POST /jobs/{id}/savepoints` (or `/stop` with `stop=True`); a repeated trigger id changes nothing."""
        now = self.advance()
        if target is None and self.savepoint_dir is None:
            field_name = "targetDirectory" if stop else "target-directory"
            raise traces.handler_error(
                400,
                Cause(
                    traces.REST_HANDLER,
                    f"Config key [{SAVEPOINT_DIR_KEY}] is not set. Property [{field_name}] must be provided.",
                ),
            )
        trigger_id = (trigger_id or self.ids.hex(32)).lower()
        if (job_id, trigger_id) in self.operations:
            return trigger_id
        directory = normalize_location(target) if target else self.savepoint_dir
        operation = SavepointOperation(
            job_id, trigger_id, stop, now, directory, cancel_job=cancel_job, format_type=format_type or "CANONICAL"
        )
        self.operations[(job_id, trigger_id)] = operation
        job = self.jobs.get(job_id)
        if job is None or job.terminal:
            missing = Cause(traces.JOB_NOT_FOUND, f"Could not find Flink job ({job_id})")
            self._finish_operation(
                operation, now, failure=traces.failure_cause(missing.wrapped_in(traces.COMPLETION), missing)
            )
        elif job.state != JobState.RUNNING or job.tasks != Tasks.RUNNING:
            idle = Cause(
                traces.CHECKPOINT,
                f"Checkpoint triggering task {SOURCE_VERTEX} (1/{job.parallelism}) of job {job_id} is not being "
                "executed at the moment. Aborting checkpoint. Failure reason: Not all required tasks are currently running.",
            )
            self._finish_operation(
                operation, now, failure=traces.failure_cause(idle.wrapped_in(traces.COMPLETION), idle)
            )
        else:
            if stop and job.stop_trigger is not None:
                # A second stop with another trigger id breaks the first (Flink 2.3: the first savepoint fails with
                # "Checkpoint Coordinator is suspending."; the second then finished the job in 4 of 6 observed runs).
                first = self.operations.get((job_id, job.stop_trigger))
                if first is not None and first.in_progress:
                    self._pending_ops.get(job_id, set()).discard(first.trigger_id)
                    job.checkpoints.in_progress = max(0, job.checkpoints.in_progress - 1)
                    suspending = Cause(traces.CHECKPOINT, "Checkpoint Coordinator is suspending.")
                    self._finish_operation(
                        first, now, failure=traces.failure_cause(suspending.wrapped_in(traces.COMPLETION), suspending)
                    )
            job.checkpoints.stop_periodic(now)
            job.checkpoints.in_progress += 1
            operation.checkpoint_id = job.checkpoints.reserve_id()
            if stop:
                job.stop_trigger = trigger_id
            self._pending_ops.setdefault(job_id, set()).add(trigger_id)
            duration = (
                job.script.savepoint_duration if job.script.savepoint_duration is not None else self.timings.savepoint
            )
            self._schedule(now + duration, "operation-done", (job_id, trigger_id))
        return trigger_id

    def _savepoint_done(self, key: tuple[str, str], at: float) -> None:
        operation = self.operations.get(key)
        job = self.jobs.get(key[0])
        if operation is None or not operation.in_progress or job is None:
            return
        self._pending_ops.get(job.job_id, set()).discard(operation.trigger_id)
        job.checkpoints.in_progress = max(0, job.checkpoints.in_progress - 1)
        if operation.stop:
            job.stop_trigger = None
        if job.script.savepoint_failure:
            io_error = Cause("java.io.IOException", job.script.savepoint_failure)
            trigger_failed = Cause(
                traces.CHECKPOINT, "An Exception occurred while triggering the checkpoint. IO-problem detected."
            )
            self._finish_operation(
                operation,
                at,
                failure=traces.failure_cause(trigger_failed.wrapped_in(traces.COMPLETION), trigger_failed, io_error),
            )
            if job.checkpoints.in_progress == 0:
                job.checkpoints.start_periodic(at)
            return
        assert operation.checkpoint_id is not None and operation.target is not None
        location = f"{operation.target}/savepoint-{job.job_id[:6]}-{self.ids.hex(12)}"
        job.checkpoints.record(
            CheckpointRecord(
                operation.checkpoint_id,
                "SYNC_SAVEPOINT" if operation.stop else "SAVEPOINT",
                operation.started,
                at,
                location,
                size=2846,
                savepoint_format=operation.format_type,
            )
        )
        self.savepoints[location] = DurableSavepoint(location, operation.checkpoint_id, job.job_id, at)
        self._finish_operation(operation, at, location=location)
        if operation.stop:
            self._terminate(job, JobState.FINISHED, Tasks.FINISHED, at)
        elif operation.cancel_job:
            self._cancel(job, at)
        elif job.checkpoints.in_progress == 0:
            job.checkpoints.start_periodic(at)

    def _finish_operation(
        self,
        operation: SavepointOperation,
        at: float,
        *,
        location: str | None = None,
        failure: dict[str, Any] | None = None,
    ) -> None:
        operation.done_at = at
        operation.location = location
        operation.failure = failure

    def savepoint_operation(self, job_id: str, trigger_id: str) -> SavepointOperation:
        """The state of a savepoint or stop; unknown (or expired from Flink's operation cache) → 404."""
        now = self.advance()
        operation = self.operations.get((job_id, trigger_id.lower()))
        if (
            operation is not None
            and operation.done_at is not None
            and now - operation.done_at > self.timings.operation_cache
        ):
            del self.operations[(job_id, trigger_id.lower())]
            operation = None
        if operation is None:
            raise traces.savepoint_trigger_not_found(trigger_id, job_id)
        return operation

    def dispose(self, path: str) -> str:
        """`POST /savepoint-disposal`: Flink always makes up a new trigger id for it."""
        now = self.advance()
        trigger_id = self.ids.hex(32)
        self.disposals[trigger_id] = DisposalOperation(trigger_id, path, now)
        self._schedule(now + self.timings.disposal, "disposal-done", trigger_id)
        return trigger_id

    def _disposal_done(self, trigger_id: str, at: float) -> None:
        disposal = self.disposals.get(trigger_id)
        if disposal is None or not disposal.in_progress:
            return
        disposal.done_at = at
        if self.savepoints.pop(normalize_location(disposal.path), None) is None:
            scheme = disposal.path.split(":", 1)[0] if ":" in disposal.path else "file"
            disposal.failure = traces.failure_cause(
                Cause(traces.FLINK_EXCEPTION, f"Could not dispose savepoint {disposal.path}."),
                Cause(
                    traces.FILE_NOT_FOUND,
                    f"Cannot find checkpoint or savepoint file/directory '{disposal.path}' on file system '{scheme}'.",
                ),
            )

    def disposal(self, trigger_id: str) -> DisposalOperation:
        """The state of a disposal; unknown (or expired) → 404."""
        now = self.advance()
        disposal = self.disposals.get(trigger_id.lower())
        if (
            disposal is not None
            and disposal.done_at is not None
            and now - disposal.done_at > self.timings.operation_cache
        ):
            del self.disposals[trigger_id.lower()]
            disposal = None
        if disposal is None:
            raise traces.operation_not_found(hash(trigger_id) & 0xFFFFFFFF)
        return disposal

    # -- the cluster -----------------------------------------------------------------------------

    def restart(self) -> None:
        """A JobManager restart without HA: jars, jobs, operations and used job ids are gone; savepoints stay, and
        so does the newest completed checkpoint of every job that was running (a killed JobManager cleans nothing
        up): on file: storage it is written where Flink keeps it, `<checkpoint dir>/<job id>/chk-<n>/_metadata`."""
        now = self.advance()
        for job in self.jobs.values():
            if job.state.is_globally_terminal:
                continue
            _, latest, _, _ = job.checkpoints.view(now)
            if latest is not None and latest.external_path:
                self.savepoints[latest.external_path] = DurableSavepoint(
                    latest.external_path, latest.id, job.job_id, now
                )
                _write_metadata(latest.external_path, latest.id, latest.completed)
        self.restarts += 1
        self._reset()

    def job(self, job_id: str) -> SimJob | None:
        """A job the cluster still lists (after `advance`)."""
        self.advance()
        return self.jobs.get(job_id)

    def free_slots(self) -> int:
        return self.slots - self.slots_used


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
