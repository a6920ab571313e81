"""Running the operator inside another program (the dev stack, tests, benchmarks) instead of `kopf run`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Sequence
from typing import Any

import kopf

from flink_manager.controller import handlers  # noqa: F401 - registers the handlers
from flink_manager.settings import Settings

# What kopf.operator() accepts as its stop and ready flags.
Flag = asyncio.Future[Any] | asyncio.Event | concurrent.futures.Future[Any] | threading.Event


async def run_operator(
    *,
    settings: Settings,
    credentials: kopf.ConnectionInfo | None = None,
    stop_flag: Flag | None = None,
    ready_flag: Flag | None = None,
    memo: kopf.Memo | None = None,
    standalone: bool = True,
    peering_name: str | None = None,
    priority: int = 0,
    liveness_endpoint: str | None = None,
    namespaces: Sequence[str] = (),
) -> None:
    """Run the operator until `stop_flag` is set. `memo["ctx"]` holds its context once it has started."""
    memo = memo if memo is not None else kopf.Memo()
    memo["settings"] = settings
    if credentials is not None:
        memo["credentials"] = credentials
    kwargs: dict[str, Any] = {}
    if namespaces or settings.namespaces:
        kwargs["namespaces"] = list(namespaces or settings.namespaces)
    else:
        kwargs["clusterwide"] = True
    if peering_name is not None:
        kwargs["peering_name"] = peering_name
    await kopf.operator(
        memo=memo,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        standalone=standalone,
        priority=priority,
        liveness_endpoint=liveness_endpoint,
        **kwargs,
    )
