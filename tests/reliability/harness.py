"""The reliability harness: operators that can be killed at any mutating call, and observers of what they did.

Every replica of the operator runs in its own asyncio context, marked by `REPLICA`. The operator's only
mutating I/O goes through `KubeClient._request` (Kubernetes) and `FlinkClient._send` (Flink); both are
wrapped once per test session, and the wrapper looks up the replica making the call:

- it records every mutating call (a label such as `PATCH executions/run-1/status →Running` or
  `flink run_jar`), per trial and per replica;
- at an armed kill point — the n-th call with a given label — it kills the replica, before the call or
  after it with the answer lost, by raising `Killed` (a BaseException, so no `except Exception` in the
  operator swallows it); from then on every call of that replica raises `Killed`, and the trial cancels
  the replica's kopf task and work queue: all its in-memory state is gone, as in a killed pod.

Calls made outside a replica's context (the test's own client) pass untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import itertools
import json
import logging
import pathlib
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

import kopf
from kopf._cogs.clients import api as kopf_api
from kopf._core.engines import peering as kopf_peering

from flink_manager.controller import handlers
from flink_manager.controller.runner import run_operator
from flink_manager.flink.client import FlinkClient
from flink_manager.kube.client import KubeClient
from flink_manager.reconcile.ids import derive_job_id
from flink_manager.settings import Settings
from flink_manager_dev.kubeapi import EmbeddedKubernetes
from flink_manager_dev.simulator import SimulatedFlink, Timings
from tests.component.conftest import REPO, Stack
from tests.waiting import wait_for

Timing = Literal["before", "after"]
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
POLL_INTERVAL = 1.0  # the FlinkClusters' spec.pollIntervalSeconds in this tier (the CRD's minimum)
MAX_ATTEMPTS = 64  # job ids derived per execution when mapping Flink jobs to executions

PLURALS = {"Execution": "executions", "JobSpec": "jobspecs", "Artifact": "artifacts", "FlinkCluster": "flinkclusters"}

REPLICA: contextvars.ContextVar[Replica | None] = contextvars.ContextVar("flink_manager_replica", default=None)


class Killed(BaseException):
    """The operator process was killed at this call (not an Exception: nothing in the operator may catch it)."""


def reap(loop: asyncio.AbstractEventLoop, *, deadline_seconds: float = 10) -> list[str]:
    """Cancel every task of a dead replica's loop, again and again, until none is left; the names of those still
    pending at the deadline are returned (the loop is closed on them).

    asyncio.run cancels the tasks once, those alive at that moment: a task that a cancelled one starts in its
    `finally` is never cancelled. kopf's watcher does that (it closes its scheduler in a new task and waits for
    it), and that closing waits on the scheduler's own tasks, which the single round had cancelled: the loop
    never ends. Each round here cancels what the previous one started."""
    deadline = time.monotonic() + deadline_seconds
    pending: list[asyncio.Task[Any]] = []
    while time.monotonic() < deadline:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
    with contextlib.suppress(BaseException):
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), timeout=5))
    return [f"{task.get_name()}: {task.get_coro()!r}" for task in pending if not task.done()]


def _caused_by_kill(exc: BaseException | None) -> bool:
    """The exception is the kill, or was raised because of it (kopf wraps what kills its watchers)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, (Killed, asyncio.CancelledError)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


@dataclasses.dataclass(frozen=True)
class Call:
    """One mutating call of a replica."""

    replica: str
    label: str
    at: float


@dataclasses.dataclass(frozen=True)
class KillPoint:
    """Kill the operator at the `occurrence`-th mutating call labelled `label`: before it, or after it with the
    answer lost."""

    label: str
    occurrence: int
    timing: Timing

    def __str__(self) -> str:
        return f"{self.timing} {self.label} #{self.occurrence}"


# -- labels -------------------------------------------------------------------------------------------


def kube_label(method: str, path: str, body: Any) -> str:
    """`PATCH executions/run-1/status →Running`, `POST events Start`, `PATCH artifacts/job-jar/status`."""
    parts = path.strip("/").split("/")
    if "namespaces" in parts:
        parts = parts[parts.index("namespaces") + 2 :]
    elif parts and parts[0] == "apis":
        parts = parts[3:]
    elif parts and parts[0] == "api":
        parts = parts[2:]
    label = f"{method} {'/'.join(parts)}"
    if isinstance(body, dict):
        if parts and parts[0] == "events":
            label = f"{method} events {body.get('reason', '')}"
        phase = (body.get("status") or {}).get("phase") if isinstance(body.get("status"), dict) else None
        if phase:
            label += f" →{phase}"
        metadata = body.get("metadata") or {}
        if "finalizers" in metadata:
            label += " finalizers"
    return label


# -- replicas -----------------------------------------------------------------------------------------


class Trial:
    """What all replicas of one trial share: the call log and the armed kill point (replicas run in threads)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.kill_point: KillPoint | None = None
        self.seen: Counter[str] = Counter()
        self.killed = threading.Event()
        self.killed_at: Call | None = None
        self.hooks: dict[tuple[str, int], Callable[[Replica], None]] = {}
        self._lock = threading.Lock()

    def at_call(self, label: str, occurrence: int, hook: Callable[[Replica], None]) -> None:
        """Run `hook` (in the replica's thread, its loop blocked) just before the `occurrence`-th call `label`."""
        self.hooks[(label, occurrence)] = hook

    def arm(self, point: KillPoint | None) -> None:
        """Count labels from now on; kill at `point` (None: only record)."""
        with self._lock:
            self.kill_point = point
            self.seen.clear()
            self.killed.clear()
            self.killed_at = None

    def mark(self) -> int:
        """An index into the call log, to slice the calls made after it."""
        return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]

    def take(self, replica: Replica, label: str) -> tuple[Timing | None, Callable[[Replica], None] | None]:
        """Record one mutating call; the kill timing when it is the armed kill point, and the hook to run."""
        with self._lock:
            call = Call(replica.name, label, time.monotonic())
            self.calls.append(call)
            self.seen[label] += 1
            hook = self.hooks.pop((label, self.seen[label]), None)
            point = self.kill_point
            if (
                point is not None
                and not self.killed.is_set()
                and label == point.label
                and self.seen[label] == point.occurrence
            ):
                self.killed_at = call
                self.killed.set()
                return point.timing, hook
            return None, hook


class Replica:
    """One operator process: kopf, the work queue, the cache, the clients — in a thread with its own event loop.

    kopf assumes the event loop is its own (when it exits it cancels every task created after it started), so
    each replica gets one; killing it cancels everything on that loop and closes it: nothing of its memory
    survives, as when a pod is killed."""

    def __init__(self, trial: Trial, name: str, options: dict[str, Any]) -> None:
        self.trial = trial
        self.name = name
        self.options = options
        self.dead = False
        self.memo = kopf.Memo()
        self.calls: Counter[str] = Counter()
        self.flink_log: list[tuple[float, str]] = []  # (monotonic time, call name) of every Flink call, reads too
        self.errors: list[str] = []
        self.read_filter: Callable[[str, str, Any], Any] | None = None  # (method, path, answer) → what it sees
        self.stale: dict[tuple[str, str], dict[str, Any]] = {}  # (plural, name) → the body this replica sees
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.outcome: BaseException | None = None
        self.leftover: list[str] = []  # tasks still pending when the loop was closed (see reap)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._stop_flag: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"operator-{name}", daemon=True)

    # -- life

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        REPLICA.set(self)  # a new thread starts with an empty context: everything below inherits this one
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._operate())
        except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
            self.outcome = exc
        finally:
            try:
                self.leftover = reap(loop)
            finally:
                loop.close()
                self.finished.set()

    async def _operate(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(self._loop_exception)
        self._main = asyncio.current_task()
        self._stop_flag = asyncio.Event()
        ready = asyncio.Event()
        waiter = asyncio.create_task(self._when_ready(ready))
        try:
            await run_operator(stop_flag=self._stop_flag, ready_flag=ready, memo=self.memo, **self.options)
        finally:
            waiter.cancel()
            await self._close_clients()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """A task that died of the kill is the kill, not news (nor is any garbage of a killed replica); anything
        else is reported as asyncio reports it."""
        if self.dead or _caused_by_kill(context.get("exception")):
            return
        loop.default_exception_handler(context)

    async def _when_ready(self, ready: asyncio.Event) -> None:
        await ready.wait()
        self.ready.set()

    async def _close_clients(self) -> None:
        """Release sockets (no API call: closing a client session sends nothing)."""
        ctx = self.memo.get("ctx")
        if ctx is None:
            return
        for runtime in list(ctx.runtimes.values()):
            with contextlib.suppress(BaseException):
                await runtime.client.close()
        with contextlib.suppress(BaseException):
            await ctx.kube.close()

    def kill(self) -> None:
        """Kill -9 (from any thread): every further call raises Killed; every task of the replica is cancelled."""
        self.dead = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._abort)

    def _abort(self) -> None:
        if self._stop_flag is not None:
            self._stop_flag.set()  # without it, kopf would schedule a SIGKILL of this thread on cancellation
        if self._main is not None:
            self._main.cancel()

    def stop(self) -> None:
        """A graceful stop (SIGTERM): kopf finishes its handlers and exits."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and self._stop_flag is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop_flag.set)

    async def wait_finished(self, timeout: float = 30) -> None:
        try:
            await wait_for(self.finished.is_set, timeout=timeout, what=f"operator {self.name} to exit")
        except AssertionError as exc:
            raise AssertionError(f"operator {self.name} did not exit within {timeout}s:\n{self.where()}") from exc
        self._thread.join(timeout=5)
        assert not self.leftover, f"operator {self.name}: tasks that ignored cancellation: {self.leftover}"

    def where(self) -> str:
        """Where the replica's thread is, and what its loop still runs (to tell why it does not exit)."""
        frame = sys._current_frames().get(self._thread.ident or -1)
        stack = "".join(traceback.format_stack(frame)[-12:]) if frame is not None else "(no thread)\n"
        loop = self._loop
        tasks = (
            []
            if loop is None or loop.is_closed()
            else [f"{t.get_name()}: {t.get_coro()!r}" for t in list(asyncio.all_tasks(loop)) if not t.done()]
        )
        return stack + "pending tasks:\n  " + "\n  ".join(tasks[:30])

    # -- I/O

    async def intercept(
        self, label: str | None, call: Callable[[], Awaitable[Any]], *, method: str = "", path: str = ""
    ) -> Any:
        """Run one I/O call of this replica (label None: a read) under the trial's kill plan."""
        if self.dead:
            raise Killed(self.name)
        if label is None:
            answer = await call()
            answer = self._staled(path, answer) if self.stale else answer
            return self.read_filter(method, path, answer) if self.read_filter is not None else answer
        self.calls[label] += 1
        timing, hook = self.trial.take(self, label)
        if hook is not None:
            hook(self)
        if timing == "before":
            self.die()
        result = await call()
        if timing == "after":
            self.die()
        return result

    def _staled(self, path: str, answer: Any) -> Any:
        """A LIST through a lagging view (a watch cache behind etcd): the stale bodies in place of the current ones.
        A GET of one object is a consistent read on the apiserver, so it stays fresh."""
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            return answer
        plural = path.rstrip("/").rsplit("/", 1)[-1]
        return {
            **answer,
            "items": [
                self.stale.get((plural, (item.get("metadata") or {}).get("name")), item) for item in answer["items"]
            ],
        }

    def die(self) -> None:
        self.kill()
        raise Killed(self.name)

    @property
    def ctx(self) -> Any:
        return self.memo.get("ctx")

    def mutating_calls(self, prefix: str = "") -> int:
        return sum(n for label, n in list(self.calls.items()) if label.startswith(prefix))


@kopf.on.startup()
def peering_lifetime(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """A replica's peering keep-alive lifetime, when the test sets one (kopf's default is a minute)."""
    if memo.get("peering_lifetime"):
        settings.peering.lifetime = int(memo["peering_lifetime"])


def _replica_identity(*, manual: bool) -> Any:
    """kopf's peering identity: the replica's name (all replicas share one process, hence one pid)."""
    replica = REPLICA.get()
    if replica is not None:
        return kopf_peering.Identity(f"{replica.name}@reliability")
    return _ORIGINALS["identity"](manual=manual)


_ORIGINALS: dict[str, Any] = {}


def install_interceptors() -> None:
    """Wrap the operator's two I/O choke points (once per process)."""
    if _ORIGINALS:
        return
    kube_request = KubeClient._request
    flink_send = FlinkClient._send
    _ORIGINALS.update(kube=kube_request, flink=flink_send, identity=kopf_peering.detect_own_id)
    kopf_peering.detect_own_id = _replica_identity

    async def request(self: KubeClient, method: str, path: str, **kwargs: Any) -> Any:
        replica = REPLICA.get()
        if replica is None:
            return await kube_request(self, method, path, **kwargs)
        label = kube_label(method, path, kwargs.get("body")) if method in MUTATING else None
        return await replica.intercept(
            label, lambda: kube_request(self, method, path, **kwargs), method=method, path=path
        )

    async def send(self: FlinkClient, name: str, method: str, path: str, **kwargs: Any) -> Any:
        replica = REPLICA.get()
        if replica is None:
            return await flink_send(self, name, method, path, **kwargs)
        label = f"flink {name}" if method in MUTATING else None
        replica.flink_log.append((time.monotonic(), name))
        return await replica.intercept(
            label, lambda: flink_send(self, name, method, path, **kwargs), method=method, path=path
        )

    on_event = handlers._on_event
    _ORIGINALS["on_event"] = on_event

    def event(kind: str, event: Any, body: Any, memo: Any) -> None:
        replica = REPLICA.get()
        if replica is not None and replica.stale:
            stale = replica.stale.get((PLURALS[kind], body.get("metadata", {}).get("name")))
            if stale is not None:
                body = kopf.Body(stale)
        return on_event(kind, event, body, memo)

    kopf_request = kopf_api.request
    _ORIGINALS["kopf_request"] = kopf_request

    async def kopf_call(method: str, url: str, **kwargs: Any) -> Any:
        replica = REPLICA.get()
        if replica is not None and replica.dead:  # a killed process says no goodbye (e.g. to its peering record)
            raise Killed(replica.name)
        return await kopf_request(method, url, **kwargs)

    KubeClient._request = request  # type: ignore[method-assign]
    FlinkClient._send = send  # type: ignore[method-assign]
    handlers._on_event = event
    kopf_api.request = kopf_call


def uninstall_interceptors() -> None:
    if _ORIGINALS:
        KubeClient._request = _ORIGINALS.pop("kube")  # type: ignore[method-assign]
        FlinkClient._send = _ORIGINALS.pop("flink")  # type: ignore[method-assign]
        kopf_peering.detect_own_id = _ORIGINALS.pop("identity")
        handlers._on_event = _ORIGINALS.pop("on_event")
        kopf_api.request = _ORIGINALS.pop("kopf_request")


# -- unhandled errors: what the operator logged with a traceback ------------------------------------------


UNATTRIBUTED: list[str] = []  # tracebacks logged outside any replica's context (e.g. asyncio's "never retrieved")


class _ErrorWatch(logging.Handler):
    """Counts the tracebacks a live replica logs (a reconcile that raised, a kopf handler that crashed); a killed
    replica's dying words do not count."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        exc_info = record.exc_info
        if not isinstance(exc_info, tuple) or exc_info[0] is None:
            return
        if _caused_by_kill(exc_info[1]):
            return
        message = f"{record.name}: {record.getMessage()}: {exc_info[1]!r}"
        replica = REPLICA.get()
        if replica is None:
            UNATTRIBUTED.append(message)
        elif not replica.dead:
            replica.errors.append(message)


@contextlib.contextmanager
def watch_errors() -> Iterator[None]:
    handler = _ErrorWatch()
    loggers = [logging.getLogger(name) for name in ("flink_manager", "kopf", "asyncio")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# -- Flink jobs per execution, sampled continuously -------------------------------------------------------


@dataclasses.dataclass
class JobRecord:
    """A Flink job seen in the simulator, with the interval during which it was not terminal."""

    job_id: str
    execution: str
    attempt: int
    started: float
    ended: float | None = None


class JobSampler:
    """Samples the simulator's jobs every few milliseconds: at most one non-terminal job per execution at any time.

    Besides sampling, each job's whole life is known from the simulator (submission and end times), so
    overlaps between two jobs of one execution are also found exactly, however short."""

    def __init__(self, flink: SimulatedFlink, interval: float = 0.01) -> None:
        self.flink = flink
        self.interval = interval
        self.owners: dict[str, tuple[str, int]] = {}  # job id -> (execution uid, attempt)
        self.jobs: dict[str, JobRecord] = {}
        self.violations: list[str] = []
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def uids(self) -> list[str]:
        """The tracked executions' uids, in the order they were tracked."""
        return list(dict.fromkeys(uid for uid, _ in self.owners.values()))

    def track(self, uid: str) -> None:
        """Map the job ids of an execution's attempts to it."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.owners.setdefault(derive_job_id(uid, attempt), (uid, attempt))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="job-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sample()

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)  # the sampling period, not a synchronisation

    def sample(self) -> None:
        self.samples += 1
        states = self.flink.job_states()
        now = time.time()
        live: dict[str, list[str]] = {}
        for job_id, state in states.items():
            job = self.flink.cluster.jobs[job_id]
            record = self.jobs.get(job_id)
            if record is None:
                record = self.jobs[job_id] = JobRecord(job_id, "", 0, job.submitted)
            if state.is_globally_terminal:
                record.ended = job.end_time if job.end_time is not None else now
            else:
                owner = self.owners.get(job_id, (f"unknown {job_id}", 0))[0]
                live.setdefault(owner, []).append(job_id)
        for job_id, record in self.jobs.items():
            if record.ended is None and job_id not in states:  # lost in a cluster restart
                record.ended = now
        for uid, job_ids in live.items():
            if len(job_ids) > 1:
                self._violation(f"execution {uid}: {len(job_ids)} live jobs at once: {sorted(job_ids)}")

    def _violation(self, message: str) -> None:
        if message not in self.violations:
            self.violations.append(message)

    def overlaps(self) -> list[str]:
        """Pairs of jobs of one execution whose lives overlapped (exact, from the simulator's own times), and jobs
        that belong to no execution of the trial."""
        found = []
        by_execution: dict[str, list[JobRecord]] = {}
        for record in self.jobs.values():
            if record.job_id not in self.owners:
                found.append(f"job {record.job_id} belongs to no execution of this trial")
                continue
            record.execution, record.attempt = self.owners[record.job_id]
            by_execution.setdefault(record.execution, []).append(record)
        for uid, records in by_execution.items():
            records.sort(key=lambda r: r.started)
            for earlier, later in itertools.pairwise(records):
                if earlier.ended is None or earlier.ended > later.started:
                    found.append(
                        f"execution {uid}: job {earlier.job_id} (attempt {earlier.attempt}) still live when "
                        f"job {later.job_id} (attempt {later.attempt}) was submitted"
                    )
        return found

    def duplicate_live_jobs(self) -> list[str]:
        """Every violation of "at most one non-terminal Flink job per execution at any time"."""
        self.sample()
        return self.violations + [o for o in self.overlaps() if o not in self.violations]


# -- the environment of one trial ---------------------------------------------------------------------------


class Env(Stack):
    """One embedded Kubernetes API, one simulated Flink, and the operator replicas of one trial."""

    def __init__(self, api: EmbeddedKubernetes, flink: SimulatedFlink, flink_url: str, tmp: pathlib.Path) -> None:
        super().__init__(api, flink, flink_url, tmp)
        self.trial = Trial()
        self.replicas: list[Replica] = []
        self.sampler = JobSampler(flink)
        self.loop = asyncio.get_running_loop()
        self.restored_at_submission: dict[str, str | None] = {}  # job id → the savepoint its run request named
        submit = flink.cluster.submit

        def recording_submit(jar_id: str, request: Any) -> str:
            job_id = submit(jar_id, request)
            self.restored_at_submission[job_id] = request.savepoint_path
            return job_id

        flink.cluster.submit = recording_submit  # type: ignore[method-assign]
        self.settings: dict[str, Any] = dict(
            allow_insecure_artifacts=True, artifact_cache_dir=tmp / "artifacts", transition_poll_seconds=0.2, workers=4
        )

    @classmethod
    async def create(cls, tmp: pathlib.Path, *, seed: int = 7, timings: Timings | None = None, slots: int = 64) -> Env:
        api = EmbeddedKubernetes(crds=[REPO / "crds"])
        await api.start()
        flink = SimulatedFlink(
            slots=slots,
            timings=timings or Timings.fast(checkpoint_interval=0.2),
            seed=seed,
            savepoint_dir=f"file:{tmp}/savepoints",
            checkpoint_dir=f"file:{tmp}/checkpoints",
        )
        url = await flink.start("127.0.0.1", 0)
        env = cls(api, flink, url, tmp)
        env.sampler.start()
        return env

    async def close(self) -> None:
        for replica in list(self.replicas):
            await self.kill(replica)
        await self.sampler.stop()
        await self.kube.close()
        await self.flink.stop()
        await self.api.stop()

    def cluster(self, name: str = "default", **spec: Any) -> dict[str, Any]:
        """A FlinkCluster polled every second, whose calls time out after two (an answer held back is lost)."""
        return super().cluster(name, **{"requestTimeoutSeconds": 2, **spec})

    # -- replicas

    @property
    def live(self) -> Replica:
        alive = [r for r in self.replicas if not r.dead]
        assert alive, "no live replica"
        return alive[-1]

    @property
    def memo(self) -> Any:  # Stack's view: the live replica's memo
        alive = [r for r in self.replicas if not r.dead]
        return alive[-1].memo if alive else None

    @memo.setter
    def memo(self, value: Any) -> None:
        pass  # Stack.__init__ sets it; replicas own theirs

    async def start_replica(
        self,
        name: str | None = None,
        *,
        wait: bool = True,
        standalone: bool = True,
        priority: int = 0,
        peering_name: str | None = None,
        peering_lifetime: int | None = None,
        stale: dict[tuple[str, str], dict[str, Any]] | None = None,
        **settings: Any,
    ) -> Replica:
        """Start a fresh operator process: new memo, new cache, new clients. With `stale`, its view of those
        objects ((plural, name) → body) lags until `catch_up`."""
        options = dict(
            settings=Settings(**{**self.settings, **settings}),
            credentials=kopf.ConnectionInfo(server=self.api.url),
            standalone=standalone,
            priority=priority,
            peering_name=peering_name,
        )
        replica = Replica(self.trial, name or f"replica-{len(self.replicas) + 1}", options)
        replica.stale = dict(stale or {})
        if peering_lifetime is not None:
            replica.memo["peering_lifetime"] = peering_lifetime
        self.replicas.append(replica)
        replica.start()
        if wait:
            await wait_for(
                lambda: replica.ready.is_set() or replica.finished.is_set(),
                timeout=30,
                what=f"operator {replica.name} to start",
            )
            if replica.outcome is not None:
                raise replica.outcome
            await wait_for(lambda: replica.ctx is not None, timeout=30, what=f"operator {replica.name}'s context")
        return replica

    def catch_up(self, replica: Replica) -> None:
        """End a replica's lagging view: its watches are closed as expired, so kopf lists everything afresh."""
        replica.stale = {}
        self.api.close_watches(expire=True)

    async def kill(self, replica: Replica) -> None:
        """Kill -9 and wait until its thread has exited."""
        replica.kill()
        await replica.wait_finished()

    async def stop_operator(self) -> None:
        for replica in list(self.replicas):
            await self.kill(replica)

    async def restart_after_kill(self, **settings: Any) -> Replica:
        """Reap the killed replicas and start a fresh one against the same API and simulator."""
        for replica in self.replicas:
            if replica.dead:
                await self.kill(replica)
        return await self.start_replica(**settings)

    def idle(self) -> bool:
        """No reconcile in progress or waiting to start in any live replica (one may be scheduled for later)."""
        for replica in self.replicas:
            queue = None if replica.dead or replica.ctx is None else replica.ctx.queue
            if queue is not None and (queue._processing or queue._queued):  # the harness looks inside
                return False
        return True

    def from_replica(self, coroutine: Awaitable[Any]) -> Any:
        """Run a coroutine on the test's loop from a replica's thread (a hook), and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)  # type: ignore[arg-type]

    # -- observation

    async def track(self, name: str) -> str:
        """Let the sampler map the jobs of this execution to it; returns its uid."""
        body = await self.get("Execution", name)
        assert body is not None, f"Execution {name} does not exist"
        uid = body["metadata"]["uid"]
        self.sampler.track(uid)
        return uid

    async def quiet(self, seconds: float = 2 * POLL_INTERVAL) -> list[Call]:
        """The mutating calls made during `seconds` (the tier's oracle: a converged operator makes none)."""
        mark = self.trial.mark()
        started = time.monotonic()
        await wait_for(
            lambda: time.monotonic() - started >= seconds, timeout=seconds + 5, interval=0.1, what=f"{seconds}s to pass"
        )
        return self.trial.since(mark)

    async def settle(self, seconds: float = 0.6, timeout: float = 20) -> None:
        """Wait until no mutating call was made for `seconds` (the operator has finished what it was doing)."""

        def calm() -> bool:
            last = self.trial.calls[-1].at if self.trial.calls else 0.0
            return time.monotonic() - last >= seconds

        try:
            await wait_for(calm, timeout=timeout, interval=0.05, what=f"{seconds}s without a mutating call")
        except AssertionError as exc:
            recent = [f"{c.replica}: {c.label}" for c in self.trial.calls[-8:]]
            raise AssertionError(f"the operator kept writing for {timeout}s; the last calls: {recent}") from exc

    def simulator_jobs(self, uid: str) -> list[Any]:
        """The simulator's jobs of one execution, by attempt."""
        self.flink.cluster.advance()
        jobs = [
            (self.sampler.owners[j][1], job)
            for j, job in self.flink.cluster.jobs.items()
            if self.sampler.owners.get(j, ("", 0))[0] == uid
        ]
        return [job for _, job in sorted(jobs, key=lambda pair: pair[0])]

    def stop_savepoints(self, job_id: str) -> list[str]:
        """Locations of the completed stop-with-savepoint operations of one job."""
        return [
            op.location
            for (j, _), op in self.flink.cluster.operations.items()
            if j == job_id and op.stop and op.location
        ]

    def savepoint_operations(self) -> int:
        """Completed savepoints of every kind (stop or not) on the simulator."""
        return sum(1 for op in self.flink.cluster.operations.values() if op.location)


def history_of(body: dict[str, Any] | None) -> list[tuple[str, str | None, str, str]]:
    """(action, from, to, by) of each history entry: what a user compares between two runs."""
    entries = ((body or {}).get("status") or {}).get("history") or []
    return [(h["action"], h.get("oldStatus"), h["newStatus"], h["performedBy"]) for h in entries]


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
