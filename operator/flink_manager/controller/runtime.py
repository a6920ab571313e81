"""One runtime per FlinkCluster: its REST client, the poller that observes all its jobs with one call per
interval, and the lock that serialises jar uploads. It lives in the cluster's kopf daemon, so it stops
when the cluster is deleted, when the operator exits, and when kopf peering pauses this replica.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.errors import FlinkError
from flink_manager.flink.models import JobOverview

logger = logging.getLogger(__name__)

ENDING_STATES = frozenset({JobState.FAILING, JobState.CANCELLING})  # a terminal state follows within moments
FAILOVER_STATES = frozenset({JobState.FAILING, JobState.RESTARTING})  # Flink handles a failure of the job


@dataclass
class Snapshot:
    """The states of all jobs of a cluster at one moment (monotonic clock), as `/jobs/overview` reported them."""

    states: dict[str, JobState] = field(default_factory=dict)
    taken_at: float = float("-inf")
    ok: bool = False
    deploying: frozenset[str] = frozenset()  # RUNNING jobs whose tasks are not all running yet (see tasks_deploying)
    # Jobs Flink is restarting on its own (a TaskManager lost, a task failed): FAILING or RESTARTING, or RUNNING
    # with tasks not running again after all had run, until they all run again.
    recovering: frozenset[str] = frozenset()


def tasks_deploying(job: JobOverview) -> bool:
    """A RUNNING job some of whose tasks are still scheduled, deploying or initializing: Flink refuses a savepoint
    until every task runs ("Not all required tasks are currently running"). Finished tasks do not hold one back."""
    total = job.tasks.get("total", 0)
    done = job.tasks.get("running", 0) + job.tasks.get("finished", 0)
    return JobState(job.state) == JobState.RUNNING and total > 0 and done < total


class ClusterRuntime:
    """Everything that talks to one Flink cluster."""

    def __init__(
        self,
        namespace: str,
        name: str,
        client: FlinkClient,
        *,
        poll_interval: float,
        transition_poll_interval: float,
        on_jobs_changed: Callable[[ClusterRuntime, set[str]], None],
        clock: Callable[[], float] = time.monotonic,
        fingerprint: Any = None,
        probe_interval: float = 300.0,
        housekeeping_interval: float = 600.0,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.client = client
        self.poll_interval = poll_interval
        self.transition_poll_interval = min(transition_poll_interval, poll_interval)
        self.fingerprint = fingerprint
        self.probe_interval = probe_interval
        self.housekeeping_interval = housekeeping_interval
        self.snapshot = Snapshot()
        self.last_error: FlinkError | None = None
        self.upload_locks: dict[str, asyncio.Lock] = {}
        self.missing_jars: set[str] = set()  # jar ids a run was refused for (FlinkJarNotFound): not to run again
        self._in_transition: set[Hashable] = set()  # keys of executions with an operation in flight
        self._last_action_at: dict[Hashable, float] = {}  # when an execution's last Flink call began (this clock)
        self.polls = 0
        self.jobs_ending = False  # the last overview listed a job in one of ENDING_STATES
        self._awaited: set[str] = set()  # job ids whose executions wait for a poll newer than their last action
        self._on_jobs_changed = on_jobs_changed
        self._clock = clock
        self._poke = asyncio.Event()

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def now(self) -> float:
        return self._clock()

    def interval(self) -> float:
        """Poll faster while an execution on this cluster waits for a job to change state, or a job is ending
        (FAILING, CANCELLING: its terminal state is then seen within the transition interval, not a whole one)."""
        return self.transition_poll_interval if self._in_transition or self.jobs_ending else self.poll_interval

    def track_transition(self, key: Hashable, in_flight: bool) -> None:
        """Whether an execution on this cluster has an operation in flight (the poller then polls faster)."""
        if in_flight:
            self._in_transition.add(key)
        else:
            self._in_transition.discard(key)

    def mark_action(self, key: Hashable, at: float | None = None) -> None:
        """An execution's Flink call began at `at` (now by default): its next decision waits for a poll after it."""
        self._last_action_at[key] = self._clock() if at is None else at

    def polled_since_action(self, key: Hashable) -> bool:
        """The last overview was read after the execution's last Flink call (or no overview was read yet)."""
        return not (self.snapshot.ok and self.snapshot.taken_at <= self._last_action_at.get(key, float("-inf")))

    def poke(self) -> None:
        """Poll now (after an action, so its effect is seen without waiting a whole interval)."""
        self._poke.set()

    def await_poll(self, job_id: str) -> None:
        """Poll now, and wake the job's execution after that poll even if the job did not change (it waits for an
        overview newer than its last action: after a jar upload, say, the job may not exist yet)."""
        self._awaited.add(job_id)
        self._poke.set()

    def upload_lock(self, sha256: str) -> asyncio.Lock:
        return self.upload_locks.setdefault(sha256, asyncio.Lock())

    async def poll_once(self) -> set[str]:
        """Read `/jobs/overview` once; return the ids of jobs whose state changed, appeared or vanished."""
        started = self._clock()
        self.polls += 1
        try:
            jobs = await self.client.jobs_overview()
        except FlinkError as exc:
            self.last_error = exc
            was_ok = self.snapshot.ok
            self.snapshot = dataclasses.replace(self.snapshot, ok=False)
            return set(self.snapshot.states) if was_ok else set()
        self.last_error = None
        states = {job.job_id: JobState(job.state) for job in jobs}
        deploying = frozenset(job.job_id for job in jobs if tasks_deploying(job))
        # The states before are those of the last successful poll, however long ago: jobs that vanished while the
        # cluster could not be read (a JobManager restarted without HA) are news when it answers again.
        previous = self.snapshot.states
        changed = {job_id for job_id, state in states.items() if previous.get(job_id) != state}
        changed |= set(previous) - set(states)
        changed |= (deploying ^ self.snapshot.deploying) & set(states)  # its tasks began (or stopped) running
        was_running = {
            job_id
            for job_id, state in previous.items()
            if state == JobState.RUNNING and job_id not in self.snapshot.deploying
        }
        recovering = frozenset(
            job_id
            for job_id, state in states.items()
            if state in FAILOVER_STATES
            or (job_id in deploying and (job_id in self.snapshot.recovering or job_id in was_running))
        )
        changed |= (recovering ^ self.snapshot.recovering) & set(states)
        if not self.snapshot.ok:
            changed |= set(states)
        self.snapshot = Snapshot(states, started, ok=True, deploying=deploying, recovering=recovering)
        self.jobs_ending = not ENDING_STATES.isdisjoint(states.values())
        return changed

    async def run(
        self,
        stopped: Callable[[], bool],
        probe: Callable[[ClusterRuntime], Awaitable[bool]],
        housekeep: Callable[[ClusterRuntime], Awaitable[None]] | None = None,
    ) -> None:
        """Poll until stopped: `/jobs/overview` every interval; the cluster probe when jobs changed or it is due;
        jar housekeeping now and then. A quiet cluster costs one REST call per interval, plus these rare ones."""
        last_probe = last_housekeeping = float("-inf")
        probe_again = True
        while not stopped():
            polled_at = self._clock()
            awaited, self._awaited = self._awaited, set()  # asked before this poll began: it is newer than their action
            was_ok = self.snapshot.ok
            changed = await self.poll_once()
            if changed or awaited:
                self._on_jobs_changed(self, changed | awaited)
            now = self._clock()
            back = self.snapshot.ok and not was_ok  # reachable again: say so now, not at the next periodic probe
            if changed or back or probe_again or not self.snapshot.ok or now - last_probe >= self.probe_interval:
                probe_again = not await probe(self)
                last_probe = self._clock()
            if housekeep is not None and self.snapshot.ok and now - last_housekeeping >= self.housekeeping_interval:
                try:
                    await housekeep(self)
                except FlinkError as exc:
                    logger.info("jar housekeeping on %s/%s: %s", self.namespace, self.name, exc.message)
                last_housekeeping = self._clock()
            self._poke.clear()
            try:  # at a fixed rate: a change is seen within one interval, however long a poll and a probe take
                await asyncio.wait_for(self._poke.wait(), timeout=max(0.0, polled_at + self.interval() - self._clock()))
            except TimeoutError:
                pass

    async def close(self) -> None:
        await self.client.close()


def utcnow() -> datetime.datetime:
    """Now, in UTC with whole seconds (the precision of Kubernetes timestamps)."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)
