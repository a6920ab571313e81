"""The kopf handlers: thin glue from Kubernetes events to the work queue, and the lifecycle around it.

- `on.startup` logs in, fills the cache with one LIST per kind, starts the work queue;
- `on.event` for each kind keeps the cache current and queues the objects an event concerns;
- a daemon per FlinkCluster owns that cluster's runtime (client and poller): kopf stops it when the
  cluster is deleted, when the operator exits, and when peering pauses this replica — and with it
  every Flink call this replica could make;
- `on.cleanup` stops the queue and closes the clients.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import kopf

from flink_manager import GROUP, VERSION
from flink_manager.api.cluster import FlinkClusterSpec
from flink_manager.artifacts.http import FetchOptions
from flink_manager.artifacts.store import ArtifactStore
from flink_manager.controller import clusters, jars, peering
from flink_manager.controller.artifacts import reconcile_artifact
from flink_manager.controller.context import (
    ARTIFACT,
    EXECUTION,
    FLINK_CLUSTER,
    JOB_SPEC,
    KINDS,
    RESOURCES,
    OperatorContext,
)
from flink_manager.controller.diffbase import LeanDiffBaseStorage
from flink_manager.controller.executions import reconcile_execution
from flink_manager.controller.jobspecs import reconcile_job_spec
from flink_manager.controller.metadata import status_with_intent
from flink_manager.controller.queue import Outcome, WorkQueue
from flink_manager.controller.runtime import ClusterRuntime
from flink_manager.controller.views import cluster_view
from flink_manager.flink.client import FlinkClient
from flink_manager.kube.client import Credentials, KubeClient
from flink_manager.settings import Settings

logger = logging.getLogger("flink_manager")

KOPF_FINALIZER = "flinkmanager.io/cluster-poller"


def login(settings: kopf.OperatorSettings, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod: the ServiceAccount; elsewhere: the kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    return kopf.login_with_service_account(settings=settings, **kwargs) or kopf.login_with_kubeconfig(
        settings=settings, **kwargs
    )


@kopf.on.login()
def login_handler(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """Credentials given by an embedding program (memo["credentials"]) win; else the usual sources."""
    return memo.get("credentials") or login(settings=settings, **kwargs)


def configure_kopf(settings: kopf.OperatorSettings, operator_settings: Settings) -> None:
    """kopf settings that make the operator a quiet, native citizen."""
    settings.persistence.finalizer = KOPF_FINALIZER
    settings.persistence.diffbase_storage = LeanDiffBaseStorage()
    settings.posting.level = logging.WARNING
    if not settings.peering.mandatory:  # no peering named (--peering): join flink-manager's if it exists
        settings.peering.name = "flink-manager"
    # A named peering stays mandatory: kopf then starts paused until it has read its peers, so a replica started
    # beside an active one of higher priority never acts (it did until its first peering read).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # A request to an API server that accepts the connection and answers nothing fails at this deadline: kopf's
    # own (peering, listings) and a watch's reconnection (an open stream is ended by its inactivity timeout).
    settings.networking.request_timeout = operator_settings.kube_request_timeout_seconds
    settings.watching.connect_timeout = operator_settings.kube_request_timeout_seconds
    settings.execution.max_workers = max(4, operator_settings.workers)


def context_of(memo: kopf.Memo) -> OperatorContext:
    return memo["ctx"]


def add_indexes(ctx: OperatorContext) -> None:
    cache = ctx.cache
    cache.add_index(EXECUTION, "job-spec", lambda b: [((b.get("spec") or {}).get("jobSpecRef") or {}).get("name", "")])
    cache.add_index(EXECUTION, "cluster", lambda b: [c] if (c := (status_with_intent(b) or {}).get("cluster")) else [])
    cache.add_index(JOB_SPEC, "artifact", lambda b: [((b.get("spec") or {}).get("artifactRef") or {}).get("name", "")])
    cache.add_index(
        JOB_SPEC, "cluster", lambda b: [((b.get("spec") or {}).get("clusterRef") or {}).get("name", "default")]
    )


async def build_context(settings: Settings, credentials: Credentials | Any) -> OperatorContext:
    kube_credentials = credentials if isinstance(credentials, Credentials) else Credentials.from_kopf(credentials)
    store = ArtifactStore(settings.artifact_cache_dir, FetchOptions.from_settings(settings))
    kube = KubeClient(kube_credentials, timeout=settings.kube_request_timeout_seconds)
    ctx = OperatorContext(settings=settings, kube=kube, artifact_store=store)
    ctx.kube._observer = ctx.metrics.observe_write  # noqa: SLF001 - wired once, here
    ctx.metrics.watch_resources(
        lambda: ctx.cache.items(EXECUTION), lambda: ctx.cache.items(FLINK_CLUSTER), lambda: ctx.cache.items(JOB_SPEC)
    )
    add_indexes(ctx)
    ctx.cache.on_change = lambda kind, old, new: wake_dependents(ctx, kind, old, new)
    ctx.queue = WorkQueue(lambda key: dispatch(ctx, key), workers=settings.workers, clock=ctx.monotonic)
    return ctx


async def warm_cache(ctx: OperatorContext) -> None:
    """One LIST per kind (per watched namespace) before the first reconcile."""
    namespaces: tuple[str | None, ...] = ctx.settings.namespaces or (None,)
    for kind in KINDS:
        for namespace in namespaces:
            for body in await ctx.kube.list(RESOURCES[kind], namespace):
                ctx.cache.put(kind, body)


async def dispatch(ctx: OperatorContext, key: Any) -> Outcome:
    """Route a work key to the reconcile function of its kind."""
    kind, namespace, name = key
    outcome: Outcome
    started = time.monotonic()
    try:
        if kind == EXECUTION:
            outcome = await reconcile_execution(ctx, namespace, name)
        elif kind == JOB_SPEC:
            outcome = await reconcile_job_spec(ctx, namespace, name)
        elif kind == ARTIFACT:
            outcome = await reconcile_artifact(ctx, namespace, name)
        else:
            outcome = Outcome()
    except Exception:
        ctx.metrics.reconciles.labels(kind, "error").inc()
        raise
    finally:
        ctx.metrics.reconcile_seconds.labels(kind).observe(time.monotonic() - started)
    ctx.metrics.reconciles.labels(kind, "retry" if outcome.retry else "ok").inc()
    if ctx.queue is not None:
        ctx.metrics.queue_depth.set(len(ctx.queue))
    return outcome


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    operator_settings: Settings = memo.get("settings") or Settings.from_env()
    configure_kopf(settings, operator_settings)
    credentials = memo.get("credentials") or login(settings=settings, **kwargs)
    if credentials is None:
        raise kopf.PermanentError("no Kubernetes credentials: neither a ServiceAccount nor a kubeconfig was found")
    ctx = await build_context(operator_settings, credentials)
    memo["ctx"] = ctx
    await warm_cache(ctx)
    assert ctx.queue is not None
    await ctx.queue.start()
    memo["peering_follower_stopped"] = asyncio.Event()
    memo["peering_follower"] = asyncio.create_task(
        peering.follow(ctx.kube, ctx.metrics, settings, operator_settings.namespaces, memo["peering_follower_stopped"]),
        name="peering follower",
    )
    if operator_settings.metrics_port:
        ctx.metrics.serve(operator_settings.metrics_port)
    logger.info(
        "flink-manager started: %d executions, %d job specs, %d artifacts, %d clusters",
        ctx.cache.count(EXECUTION),
        ctx.cache.count(JOB_SPEC),
        ctx.cache.count(ARTIFACT),
        ctx.cache.count(FLINK_CLUSTER),
    )


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    ctx: OperatorContext | None = memo.get("ctx")
    if ctx is None:
        return
    if "peering_follower" in memo:
        memo["peering_follower_stopped"].set()
        await memo["peering_follower"]
    if ctx.queue is not None:
        await ctx.queue.stop()
    for runtime in list(ctx.runtimes.values()):
        await runtime.close()
    await ctx.kube.close()


def _name(body: kopf.Body) -> tuple[str, str]:
    return body.metadata.namespace or "", body.metadata.name or ""


def _store(ctx: OperatorContext, kind: str, event: kopf.RawEvent, body: kopf.Body) -> bool:
    """Update the cache from a watch event; False when it brought nothing new (e.g. the echo of an own write)."""
    namespace, name = _name(body)
    if event.get("type") == "DELETED":
        ctx.cache.remove(kind, namespace, name, body.metadata.uid)
        return True
    return ctx.cache.put(kind, dict(body))


def _status(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("status") or {}


def _meta(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("metadata") or {}


def _readiness(body: dict[str, Any] | None) -> Any:
    """What dependents of an Artifact or FlinkCluster care about."""
    if body is None:
        return None
    status = _status(body)
    ready = [c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return (
        status.get("phase"),
        status.get("sha256"),
        tuple(ready),
        _meta(body).get("generation"),
        bool(_meta(body).get("deletionTimestamp")),
        status.get("observedGeneration"),
    )


def _wake_users(ctx: OperatorContext, index: str, namespace: str, name: str) -> None:
    """Queue the JobSpecs that refer to an artifact or cluster, and their executions."""
    for job_spec in ctx.cache.lookup(JOB_SPEC, index, namespace, name):
        job_spec_name = job_spec["metadata"]["name"]
        ctx.enqueue(JOB_SPEC, namespace, job_spec_name)
        for execution in ctx.cache.lookup(EXECUTION, "job-spec", namespace, job_spec_name):
            ctx.enqueue(EXECUTION, namespace, execution["metadata"]["name"])


def wake_dependents(ctx: OperatorContext, kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """A cached object changed (a watch event or an own write): queue the other objects that depend on it."""
    body = new if new is not None else old
    namespace, name = _meta(body).get("namespace") or "", _meta(body).get("name") or ""
    if kind == EXECUTION:
        phase_changed = old is None or new is None or _status(old).get("phase") != _status(new).get("phase")
        if phase_changed or _upgrade_state(old) != _upgrade_state(new):
            ctx.enqueue(JOB_SPEC, namespace, ((body or {}).get("spec") or {}).get("jobSpecRef", {}).get("name", ""))
        if phase_changed:
            ctx.metrics.phase_changed(
                None if old is None else _status(old).get("phase") or "Pending",
                None if new is None else _status(new).get("phase") or "Pending",
            )
    elif kind == JOB_SPEC:
        for execution_name in _job_spec_dependents(ctx, old, new, namespace, name):
            ctx.enqueue(EXECUTION, namespace, execution_name)
    elif kind in (ARTIFACT, FLINK_CLUSTER) and _readiness(old) != _readiness(new):
        _wake_users(ctx, "artifact" if kind == ARTIFACT else "cluster", namespace, name)


def _upgrade_state(body: dict[str, Any] | None) -> Any:
    """What the rollout of an Execution's JobSpec reads of it, besides its phase (reconcile/rollout.py)."""
    status = _status(body) if body is not None else {}
    return (
        bool(status.get("pending")),
        status.get("jobSpecGeneration"),
        status.get("rollback"),
        status.get("failedOperation"),
        ((body or {}).get("spec") or {}).get("state"),
        (status.get("stableRunConfig") or {}).get("jobSpecGeneration"),
    )


def _job_spec_dependents(
    ctx: OperatorContext, old: dict[str, Any] | None, new: dict[str, Any] | None, namespace: str, name: str
) -> list[str]:
    """The Executions a JobSpec change concerns: all of them when its generation or its rollout's generation or
    pause changed, else those its rollout newly admitted."""
    executions = [e["metadata"]["name"] for e in ctx.cache.lookup(EXECUTION, "job-spec", namespace, name)]
    if old is None or new is None or _meta(old).get("generation") != _meta(new).get("generation"):
        return executions
    before, after = _status(old).get("rollout") or {}, _status(new).get("rollout") or {}
    if (before.get("generation"), before.get("paused")) != (after.get("generation"), after.get("paused")):
        return executions
    admitted = set(after.get("admitted") or ()) - set(before.get("admitted") or ())
    return [execution for execution in executions if execution in admitted]


def _on_event(kind: str, event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo) -> None:
    """Keep the cache current; queue the object when the event is news — or part of a (re-)listing, which kopf
    delivers when it starts or resumes watching (so a replica that peering paused starts nothing before that)."""
    ctx = context_of(memo)
    stored = _store(ctx, kind, event, body)
    if (stored or event.get("type") is None) and kind != FLINK_CLUSTER:
        ctx.enqueue(kind, *_name(body))


# The event handlers are coroutines so that kopf runs them on the event loop, where the cache and the work queue
# live: a plain function would be run in a thread of kopf's executor (a thread hop per watch event, and the cache
# and asyncio's queue touched from another thread).
@kopf.on.event(GROUP, VERSION, "executions")
async def execution_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _on_event(EXECUTION, event, body, memo)


@kopf.on.event(GROUP, VERSION, "jobspecs")
async def job_spec_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _on_event(JOB_SPEC, event, body, memo)


@kopf.on.event(GROUP, VERSION, "artifacts")
async def artifact_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _on_event(ARTIFACT, event, body, memo)


@kopf.on.event(GROUP, VERSION, "flinkclusters")
async def cluster_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _on_event(FLINK_CLUSTER, event, body, memo)
    runtime = context_of(memo).runtimes.get(_name(body))
    if runtime is not None:
        runtime.poke()  # a spec change (URL, credentials) is picked up at once


@kopf.daemon(GROUP, VERSION, "flinkclusters", id="poller", cancellation_timeout=2.0)
async def cluster_poller(
    stopped: kopf.DaemonStopped,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Own the cluster's runtime for as long as kopf runs this daemon."""
    ctx = context_of(memo)
    namespace = namespace or ""  # FlinkClusters are namespaced: kopf always gives one
    key = (namespace, name)
    if ctx.queue is not None:
        ctx.queue.paused = False
    ctx.pollers_started.add(key)
    try:
        while not stopped:
            view = cluster_view(ctx.cache.get(FLINK_CLUSTER, namespace, name))
            if view is None:
                await stopped.wait(1.0)
                continue
            try:
                client = await clusters.build_client(ctx, namespace, name, view.spec)
            except clusters.ClusterConfigError as exc:
                await clusters.report_config_error(ctx, namespace, name, str(exc))
                await stopped.wait(float(view.spec.poll_interval_seconds))
                continue
            runtime = _runtime(ctx, namespace, name, client, view.spec)
            ctx.runtimes[key] = runtime
            _wake_users(ctx, "cluster", namespace, name)
            for execution in clusters.executions_on(ctx, namespace, name):
                ctx.enqueue(EXECUTION, namespace, execution["metadata"]["name"])
            waker = asyncio.create_task(_poke_when_stopped(stopped, runtime))
            try:
                await runtime.run(
                    functools.partial(_stops, stopped, ctx, runtime),
                    lambda rt: clusters.probe(ctx, rt),
                    lambda rt: jars.housekeep(ctx, rt),
                )
            finally:
                waker.cancel()
                ctx.runtimes.pop(key, None)
                await runtime.close()
    finally:
        if stopped.reason is not None and stopped.reason & kopf.DaemonStoppingReason.OPERATOR_PAUSING:
            logger.info("pausing: another replica of the operator is active")
            ctx.pollers_started.discard(key)  # it starts again when this replica resumes
            if ctx.queue is not None:
                ctx.queue.paused = True


def _runtime(
    ctx: OperatorContext, namespace: str, name: str, client: FlinkClient, spec: FlinkClusterSpec
) -> ClusterRuntime:
    """The runtime of one cluster, on the operator's clock."""
    return ClusterRuntime(
        namespace,
        name,
        client,
        poll_interval=float(spec.poll_interval_seconds),
        transition_poll_interval=ctx.settings.transition_poll_seconds,
        on_jobs_changed=lambda rt, jobs: clusters.wake_job_owners(ctx, rt, jobs),
        clock=ctx.monotonic,
        fingerprint=clusters.fingerprint(spec),
        probe_interval=float(ctx.settings.probe_interval_seconds),
        housekeeping_interval=float(ctx.settings.jar_housekeeping_seconds),
    )


async def _poke_when_stopped(stopped: kopf.DaemonStopped, runtime: ClusterRuntime) -> None:
    await stopped.wait()
    runtime.poke()


def _stops(stopped: kopf.DaemonStopped, ctx: OperatorContext, runtime: ClusterRuntime) -> bool:
    """The runtime stops when kopf stops the daemon, or to be rebuilt after a change of the cluster's spec."""
    return bool(stopped) or _spec_changed(ctx, runtime)


def _spec_changed(ctx: OperatorContext, runtime: ClusterRuntime) -> bool:
    view = cluster_view(ctx.cache.get(FLINK_CLUSTER, runtime.namespace, runtime.name))
    return view is None or clusters.fingerprint(view.spec) != runtime.fingerprint
