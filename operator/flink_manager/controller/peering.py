"""Whether kopf peering lets this replica work, for the metric flink_manager_active.

kopf does not expose its pause state, so the operator reads its peering objects (the ClusterKopfPeering, or the
KopfPeering of each watched namespace) every few seconds and applies kopf's own rule to the peers recorded there
(kopf's docs, "Peering"; `process_peering_event` in kopf/_core/engines/peering.py): a replica pauses while any
live peer other than itself has a higher priority, or the same priority. A peer is live until `lastseen` plus its
`lifetime`. The replica's own record is the one named by POD_ID when that is set (the chart sets it); without it,
one record of the replica's own priority is taken to be its own.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import kopf

from flink_manager.controller.metrics import Metrics
from flink_manager.controller.views import parse_timestamp
from flink_manager.kube.client import KubeClient, KubeError, Resource

logger = logging.getLogger("flink_manager")

CLUSTER_PEERINGS = Resource("kopf.dev", "v1", "clusterkopfpeerings", namespaced=False)
PEERINGS = Resource("kopf.dev", "v1", "kopfpeerings")
CHECK_SECONDS = 10.0


def peers_allow(peers: Mapping[str, Any], *, priority: int, identity: str | None, now: datetime.datetime) -> bool:
    """kopf's rule: True when no live peer but this replica has a priority as high as its own or higher."""
    rivals = 0
    for peer, record in peers.items():
        if not isinstance(record, Mapping):
            continue
        lastseen = parse_timestamp(record.get("lastseen"))
        lifetime = datetime.timedelta(seconds=int(record.get("lifetime", 60)))
        if lastseen is not None and lastseen + lifetime <= now:
            continue  # dead: kopf ignores it (and cleans it up)
        peer_priority = int(record.get("priority", 0))
        if peer_priority > priority:
            return False
        if peer_priority == priority and peer != identity:
            rivals += 1
    return rivals <= (0 if identity else 1)


async def follow(
    kube: KubeClient,
    metrics: Metrics,
    settings: kopf.OperatorSettings,
    namespaces: Iterable[str],
    stopped: asyncio.Event,
) -> None:
    """Set flink_manager_active from the peering objects until `stopped` is set (1 throughout when standalone)."""
    if settings.peering.standalone:
        metrics.set_active(True)
        return
    targets: list[tuple[Resource, str | None]] = (
        [(CLUSTER_PEERINGS, None)] if settings.peering.clusterwide else [(PEERINGS, ns) for ns in namespaces]
    )
    identity = os.environ.get("POD_ID") or None
    while not stopped.is_set():
        allowed = True
        for resource, namespace in targets:
            try:
                body = await kube.get(resource, namespace, settings.peering.name)
            except KubeError as exc:
                if exc.status != 404 or settings.peering.mandatory:
                    # kopf waits for a mandatory peering that it cannot read; without a named peering (auto
                    # detection) a missing object means no peering at all.
                    allowed = False
                logger.debug("peering %s cannot be read: %s", settings.peering.name, exc)
                continue
            allowed &= peers_allow(
                body.get("status") or {},
                priority=settings.peering.priority,
                identity=identity,
                now=datetime.datetime.now(datetime.UTC),
            )
        metrics.set_active(allowed)
        try:
            await asyncio.wait_for(stopped.wait(), CHECK_SECONDS)
        except TimeoutError:
            pass
