"""FlinkClusters: the daemon that owns a cluster's runtime (client + poller), and its status probe."""

from __future__ import annotations

import base64
import logging
from typing import Any

from flink_manager.api.cluster import AuthType, FlinkClusterSpec
from flink_manager.controller.context import EXECUTION, FLINK_CLUSTER, OperatorContext, ref
from flink_manager.controller.recording import write_status
from flink_manager.controller.runtime import ClusterRuntime
from flink_manager.controller.views import cluster_view
from flink_manager.flink.client import BasicAuth, BearerToken, FlinkClient
from flink_manager.flink.dialect import unsupported_reason
from flink_manager.flink.errors import FlinkError, FlinkUnavailable
from flink_manager.kube.client import FLINK_CLUSTERS, SECRETS, KubeConflict, KubeError, KubeNotFound
from flink_manager.reconcile.cluster import ClusterProbe, decide_cluster
from flink_manager.reconcile.reasons import UNREACHABLE

logger = logging.getLogger("flink_manager")


class ClusterConfigError(Exception):
    """A FlinkCluster whose credentials cannot be read (missing Secret or key)."""


def fingerprint(spec: FlinkClusterSpec) -> Any:
    """What the client is built from: a change rebuilds it."""
    return spec.to_wire()


async def build_client(ctx: OperatorContext, namespace: str, name: str, spec: FlinkClusterSpec) -> FlinkClient:
    """A Flink client for the cluster, with credentials and CA read from the referenced Secrets."""
    auth: BasicAuth | BearerToken | None = None
    if spec.auth is not None:
        data = await _secret_data(ctx, namespace, spec.auth.secret_ref.name)
        if spec.auth.type == AuthType.BASIC:
            secret = spec.auth.secret_ref.name
            auth = BasicAuth(_key(data, "username", secret), _key(data, "password", secret))
        else:
            auth = BearerToken(_key(data, "token", spec.auth.secret_ref.name))
    ca_pem = None
    insecure = False
    if spec.tls is not None:
        insecure = spec.tls.insecure_skip_verify
        if spec.tls.ca_secret_ref is not None:
            data = await _secret_data(ctx, namespace, spec.tls.ca_secret_ref.name)
            ca_pem = _key(data, spec.tls.ca_secret_ref.key, spec.tls.ca_secret_ref.name)
    return FlinkClient(
        spec.rest_url,
        auth=auth,
        ca_pem=ca_pem,
        insecure_skip_verify=insecure,
        timeout=float(spec.request_timeout_seconds),
        observer=ctx.metrics.flink_observer(namespace, name),
    )


async def _secret_data(ctx: OperatorContext, namespace: str, name: str) -> dict[str, str]:
    try:
        secret = await ctx.kube.get(SECRETS, namespace, name)
    except KubeNotFound:
        raise ClusterConfigError(f"Secret {name!r} does not exist") from None
    except KubeError as exc:
        raise ClusterConfigError(f"Secret {name!r} cannot be read: {exc.reason}") from None
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def _key(data: dict[str, str], key: str, secret: str) -> str:
    if key not in data:
        raise ClusterConfigError(f"Secret {secret!r} has no key {key!r}")
    return data[key]


async def probe(ctx: OperatorContext, runtime: ClusterRuntime) -> bool:
    """Write the cluster's status from its overview (or from the poller's error); nothing when unchanged."""
    body = ctx.cache.get(FLINK_CLUSTER, runtime.namespace, runtime.name)
    view = cluster_view(body)
    if body is None or view is None:
        return True
    if runtime.snapshot.ok:
        try:
            overview = await runtime.client.overview()
            result = ClusterProbe(
                flink_version=overview.flink_version,
                task_managers=overview.taskmanagers,
                slots_total=overview.slots_total,
                slots_available=overview.slots_available,
                jobs_running=overview.jobs_running,
                unsupported=unsupported_reason(overview.flink_version),
            )
        except FlinkError as exc:
            result = ClusterProbe(error_reason=probe_reason(exc), error=exc.message)
    else:
        error = runtime.last_error
        result = ClusterProbe(
            error_reason=probe_reason(error) if error else UNREACHABLE,
            error=error.message if error else "not probed yet",
        )
    return await record_probe(ctx, body, decide_cluster(view, result, ctx.clock()))


def probe_reason(error: FlinkError) -> str:
    """The condition reason of a failed probe: a cluster that does not answer (or answers 5xx) is unreachable;
    other errors keep their own reason (credentials refused, a client configuration that cannot work)."""
    return UNREACHABLE if isinstance(error, FlinkUnavailable) else error.reason


async def record_probe(ctx: OperatorContext, body: dict[str, Any], status: Any) -> bool:
    """Write a probe's status; False when it must be written again (a conflict or an API error)."""
    try:
        await write_status(ctx, FLINK_CLUSTER, FLINK_CLUSTERS, body, status)
    except KubeNotFound:
        return True
    except KubeConflict:
        return False  # the next poll probes again, from the newer version
    except KubeError as exc:
        logger.warning(
            "could not write the status of FlinkCluster %s: %s",
            body["metadata"]["name"],
            exc,
            extra=ref(FLINK_CLUSTER, body["metadata"].get("namespace"), body["metadata"]["name"]),
        )
        return False
    return True


def wake_job_owners(ctx: OperatorContext, runtime: ClusterRuntime, job_ids: set[str]) -> None:
    """The poller saw these jobs change: reconcile exactly the executions they belong to."""
    for job_id in job_ids:
        key = ctx.job_owners.get(job_id)
        if key is not None:
            ctx.enqueue(*key)


def executions_on(ctx: OperatorContext, namespace: str, cluster: str) -> list[dict[str, Any]]:
    """Executions whose current attempt runs on, or whose JobSpec points at, this cluster."""
    return ctx.cache.lookup(EXECUTION, "cluster", namespace, cluster)


async def report_config_error(ctx: OperatorContext, namespace: str, name: str, message: str) -> None:
    """A cluster whose credentials cannot be read: Ready=False with the reason, no Flink call."""
    body = ctx.cache.get(FLINK_CLUSTER, namespace, name)
    view = cluster_view(body)
    if body is None or view is None:
        return
    status = decide_cluster(view, ClusterProbe(error_reason="InvalidCredentials", error=message), ctx.clock())
    await record_probe(ctx, body, status)
