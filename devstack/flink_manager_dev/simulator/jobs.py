"""One simulated job: its scripted behaviour, its state and timestamps, and its checkpoints.

Nothing here runs by itself: the cluster (cluster.py) moves jobs from one state to the next when it is asked
about them, and checkpoints are counted from timestamps rather than produced one by one, so thousands of
jobs cost nothing while nobody looks.
"""

from __future__ import annotations

import enum
import math
import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flink_manager.api.flinkjob import JobState
from flink_manager_dev.simulator.traces import Cause

FAIL_AFTER = "simulator.fail-after"
FINISH_AFTER = "simulator.finish-after"
RESTARTS = "simulator.restarts"
SAVEPOINT_FAILS = "simulator.savepoint-fails"
SAVEPOINT_DURATION = "simulator.savepoint-duration"
STARTUP_FAILS = "simulator.startup-fails"
FAILURE_MESSAGE = "simulator.failure-message"
CHECKPOINT_INTERVAL = "execution.checkpointing.interval"
PIPELINE_NAME = "pipeline.name"
CHECKPOINT_RETENTION = "execution.checkpointing.externalized-checkpoint-retention"
RETENTIONS = ("NO_EXTERNALIZED_CHECKPOINTS", "RETAIN_ON_CANCELLATION", "DELETE_ON_CANCELLATION")
HISTORY_SIZE = 10  # web.checkpoints.history

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|milli|millis|s|sec|secs|seconds?|min|m|minutes?|h|hours?)?\s*$")


class ScriptError(ValueError):
    """A `simulator.*` setting or program argument with a value the simulator cannot use."""


def parse_duration(key: str, value: str, *, default_unit: float = 1.0) -> float:
    """Seconds from Flink-style durations: "5", "5 s", "500 ms", "2 min" (a bare number is in `default_unit` seconds)."""
    match = _DURATION.match(str(value))
    if match is None:
        raise ScriptError(f"{key}: cannot parse {value!r} as a duration")
    number, unit = float(match.group(1)), match.group(2)
    if unit is None:
        return number * default_unit
    if unit in ("ms", "milli", "millis"):
        return number * 0.001
    if unit.startswith("m"):
        return number * 60.0
    if unit.startswith("h"):
        return number * 3600.0
    return number


def _truthy_or_message(value: str | None, default: str) -> str | None:
    """ "true" → the default message, "false"/"" → None, anything else is the message itself."""
    if value is None or value.strip().lower() in ("", "false", "no", "0"):
        return None
    return default if value.strip().lower() in ("true", "yes", "1") else value


def _program_args(args: Sequence[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for index, arg in enumerate(args):
        if arg.startswith("--") and index + 1 < len(args):
            parsed[arg[2:]] = args[index + 1]
    return parsed


@dataclass(frozen=True)
class JobScript:
    """What a simulated job will do, from its run request's `flinkConfiguration` and program arguments."""

    name: str
    fail_after: float | None = None
    failure: Cause = field(default_factory=lambda: Cause("java.lang.RuntimeException", "Simulated failure"))
    finish_after: float | None = None
    restarts: int = 0
    savepoint_failure: str | None = None
    savepoint_duration: float | None = None
    startup_failure: str | None = None
    checkpoint_interval: float | None = None  # None: the cluster's default; 0: checkpointing disabled
    checkpoint_retention: str = "NO_EXTERNALIZED_CHECKPOINTS"

    def retains_checkpoint(self, state: JobState) -> bool:
        """Whether the latest checkpoint outlives the job ending in `state` (Flink's CheckpointProperties)."""
        if state == JobState.FAILED:
            return self.checkpoint_retention != "NO_EXTERNALIZED_CHECKPOINTS"
        if state == JobState.CANCELED:
            return self.checkpoint_retention == "RETAIN_ON_CANCELLATION"
        return False

    @classmethod
    def parse(cls, entry_class: str, flink_config: Mapping[str, str], program_args: Sequence[str]) -> JobScript:
        """Read the scripted behaviour; raises ScriptError for values it cannot use."""
        config = {str(k): str(v) for k, v in flink_config.items()}
        args = _program_args(program_args)
        name = config.get(PIPELINE_NAME) or entry_class.rsplit(".", 1)[-1] or "Job"
        fail_after: float | None = None
        failure = Cause("java.lang.RuntimeException", "Simulated failure")
        if FAIL_AFTER in config:
            fail_after = parse_duration(FAIL_AFTER, config[FAIL_AFTER])
            failure = Cause(
                "java.lang.RuntimeException",
                config.get(FAILURE_MESSAGE) or f"{name} fails as scripted after {fail_after:g} s ({FAIL_AFTER})",
            )
        elif "fail-after" in args:
            # The example job's --fail-after N: it throws after N records at --rate records per second.
            try:
                records = int(args["fail-after"])
                rate = float(args.get("rate", "10"))
            except ValueError:
                raise ScriptError(f"--fail-after {args['fail-after']!r} / --rate {args.get('rate')!r}") from None
            if records >= 0 and rate > 0:
                fail_after = records / rate
                failure = Cause(
                    "java.lang.IllegalStateException",
                    f"{name} fails on purpose after {records} records (--fail-after {records})",
                )
        interval: float | None = None
        if CHECKPOINT_INTERVAL in config:
            interval = parse_duration(CHECKPOINT_INTERVAL, config[CHECKPOINT_INTERVAL], default_unit=0.001)
        elif "checkpoint-interval-ms" in args:
            interval = parse_duration("--checkpoint-interval-ms", args["checkpoint-interval-ms"], default_unit=0.001)
        retention = config.get(CHECKPOINT_RETENTION, RETENTIONS[0]).strip().upper()
        if retention not in RETENTIONS:
            raise ScriptError(
                f"{CHECKPOINT_RETENTION}: {config[CHECKPOINT_RETENTION]!r} is not one of {', '.join(RETENTIONS)}"
            )
        try:
            restarts = int(config.get(RESTARTS, "0"))
        except ValueError:
            raise ScriptError(f"{RESTARTS}: {config[RESTARTS]!r} is not a number") from None
        return cls(
            name=name,
            fail_after=fail_after,
            failure=failure,
            finish_after=parse_duration(FINISH_AFTER, config[FINISH_AFTER]) if FINISH_AFTER in config else None,
            restarts=max(0, restarts),
            savepoint_failure=_truthy_or_message(
                config.get(SAVEPOINT_FAILS), "Simulated savepoint failure (simulator.savepoint-fails)"
            ),
            savepoint_duration=(
                parse_duration(SAVEPOINT_DURATION, config[SAVEPOINT_DURATION]) if SAVEPOINT_DURATION in config else None
            ),
            startup_failure=_truthy_or_message(
                config.get(STARTUP_FAILS), "Simulated start-up failure (simulator.startup-fails)"
            ),
            checkpoint_interval=interval,
            checkpoint_retention=retention,
        )


class Tasks(enum.Enum):
    """Where the job's tasks are: what `/jobs/overview` counts under `tasks`."""

    NONE = "none"  # no execution graph yet (INITIALIZING), or the job failed before it had one
    SCHEDULED = "scheduled"  # waiting for slots
    DEPLOYING = "deploying"
    RUNNING = "running"
    CANCELING = "canceling"
    CANCELED = "canceled"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass
class CheckpointRecord:
    """A completed checkpoint or savepoint."""

    id: int
    checkpoint_type: str  # CHECKPOINT | SAVEPOINT | SYNC_SAVEPOINT
    triggered: float
    completed: float
    external_path: str
    size: int = 4257
    savepoint_format: str = "CANONICAL"  # the formatType a savepoint was triggered with

    @property
    def is_savepoint(self) -> bool:
        return self.checkpoint_type != "CHECKPOINT"


@dataclass(frozen=True)
class Restored:
    """What the current run of a job was restored from."""

    id: int
    external_path: str
    is_savepoint: bool
    at: float


@dataclass
class CheckpointBook:
    """A job's checkpoints: periodic ones are counted from the time the job's tasks started running
    (checkpoint k completes at `periodic_from + k * interval + duration`), savepoints are recorded."""

    directory: str
    interval: float
    duration: float
    next_id: int = 1
    completed_total: int = 0
    recent: deque[CheckpointRecord] = field(default_factory=lambda: deque(maxlen=HISTORY_SIZE))
    latest_checkpoint: CheckpointRecord | None = None
    latest_savepoint: CheckpointRecord | None = None
    periodic_from: float | None = None
    in_progress: int = 0
    failed: int = 0

    def _periodic_done(self, now: float) -> int:
        if self.periodic_from is None or self.interval <= 0:
            return 0
        return max(0, math.floor((now - self.periodic_from - self.duration) / self.interval))

    def _periodic(self, first: int, last: int) -> Iterator[CheckpointRecord]:
        """The periodic checkpoints number `first`..`last` (1-based) of the current stretch."""
        assert self.periodic_from is not None
        for k in range(first, last + 1):
            triggered = self.periodic_from + k * self.interval
            checkpoint_id = self.next_id + k - 1
            yield CheckpointRecord(
                checkpoint_id,
                "CHECKPOINT",
                triggered,
                triggered + self.duration,
                f"{self.directory}/chk-{checkpoint_id}",
            )

    def start_periodic(self, at: float) -> None:
        """The tasks run from `at` on: checkpoint every interval."""
        self.periodic_from = at

    def stop_periodic(self, at: float) -> None:
        """Record the periodic checkpoints completed until `at`, and take no more."""
        done = self._periodic_done(at)
        if done:
            for record in self._periodic(max(1, done - HISTORY_SIZE + 1), done):
                self._add(record)
            self.completed_total += done - min(done, HISTORY_SIZE)
            self.next_id += done
        self.periodic_from = None

    def reserve_id(self) -> int:
        """The id of a savepoint being triggered now (periodic checkpoints must be stopped first)."""
        checkpoint_id = self.next_id
        self.next_id += 1
        return checkpoint_id

    def record(self, record: CheckpointRecord) -> None:
        """A savepoint completed."""
        self._add(record)

    def _add(self, record: CheckpointRecord) -> None:
        self.recent.appendleft(record)
        self.completed_total += 1
        if record.is_savepoint:
            self.latest_savepoint = record
        else:
            self.latest_checkpoint = record

    def view(self, now: float) -> tuple[int, CheckpointRecord | None, CheckpointRecord | None, list[CheckpointRecord]]:
        """(completed count, latest checkpoint, latest savepoint, newest-first history) as of `now`."""
        done = self._periodic_done(now)
        if not done:
            return self.completed_total, self.latest_checkpoint, self.latest_savepoint, list(self.recent)
        virtual = list(self._periodic(max(1, done - HISTORY_SIZE + 1), done))[::-1]
        history = (virtual + list(self.recent))[:HISTORY_SIZE]
        return self.completed_total + done, virtual[0], self.latest_savepoint, history

    def latest_any(self, now: float) -> CheckpointRecord | None:
        """The newest completed checkpoint or savepoint (what a restart restores from)."""
        _, checkpoint, savepoint, _ = self.view(now)
        candidates = [record for record in (checkpoint, savepoint) if record is not None]
        return max(candidates, key=lambda record: record.id) if candidates else None


@dataclass(eq=False)
class SimJob:
    """A job of the simulated cluster. Times are seconds since the epoch; views convert them to ms."""

    job_id: str
    name: str
    jar_id: str
    entry_class: str
    parallelism: int
    script: JobScript
    checkpoints: CheckpointBook
    submitted: float
    state: JobState = JobState.INITIALIZING
    timestamps: dict[JobState, float] = field(default_factory=dict)
    end_time: float | None = None
    last_modification: float = 0.0
    tasks: Tasks = Tasks.NONE
    has_slots: bool = False
    attempt: int = 0
    restarts_done: int = 0
    epoch: int = 0
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    restored: Restored | None = None
    restored_count: int = 0
    stop_trigger: str | None = None
    claim_mode: str | None = None  # how the run restoring this job claimed its snapshot (NO_CLAIM by default)
    started_graph: bool = False  # false for a job that failed before its JobMaster started

    def __post_init__(self) -> None:
        self.timestamps.setdefault(JobState.INITIALIZING, self.submitted)
        self.last_modification = self.submitted

    @property
    def terminal(self) -> bool:
        return self.state.is_globally_terminal

    def enter(self, state: JobState, at: float) -> None:
        """Move to `state` at time `at`."""
        self.state = state
        self.timestamps[state] = at
        self.last_modification = at
        if state.is_globally_terminal:
            self.end_time = at

    def tasks_at(self, tasks: Tasks, at: float) -> None:
        self.tasks = tasks
        self.last_modification = max(self.last_modification, at)
