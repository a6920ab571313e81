"""A Kubernetes API server that accepts connections and answers nothing: every request of the operator fails at
the configured deadline, as KubeUnavailable (retried with backoff), instead of hanging."""

from __future__ import annotations

import asyncio
import time

import kopf
import pytest

from flink_manager.controller.handlers import build_context, configure_kopf
from flink_manager.kube.client import EXECUTIONS, Credentials, KubeUnavailable
from flink_manager.settings import Settings


async def silent_server() -> tuple[asyncio.base_events.Server, int]:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def test_every_request_to_a_silent_api_server_fails_at_the_configured_deadline() -> None:
    server, port = await silent_server()
    settings = Settings(kube_request_timeout_seconds=0.5)
    ctx = await build_context(settings, Credentials(server=f"http://127.0.0.1:{port}"))
    try:
        for call in (
            lambda: ctx.kube.get(EXECUTIONS, "ns", "run-1"),
            lambda: ctx.kube.patch(EXECUTIONS, "ns", "run-1", {"status": {}}, subresource="status"),
        ):
            began = time.monotonic()
            with pytest.raises(KubeUnavailable):
                await call()
            assert 0.5 <= time.monotonic() - began < 2.0
    finally:
        await ctx.kube.close()
        server.close()


def test_kopfs_own_requests_and_watch_reconnections_have_the_same_deadline() -> None:
    kopf_settings = kopf.OperatorSettings()
    configure_kopf(kopf_settings, Settings(kube_request_timeout_seconds=7.5))
    assert kopf_settings.networking.request_timeout == 7.5
    assert kopf_settings.watching.connect_timeout == 7.5
    assert kopf_settings.watching.inactivity_timeout < kopf_settings.watching.client_timeout  # a silent stream ends


def test_the_deadline_is_a_setting_of_its_own() -> None:
    assert Settings().kube_request_timeout_seconds == 30.0
    assert Settings.from_env({"FLINK_MANAGER_KUBE_REQUEST_TIMEOUT_SECONDS": "4"}).kube_request_timeout_seconds == 4.0
