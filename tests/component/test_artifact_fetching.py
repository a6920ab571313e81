"""The artifact store against real HTTPS servers: the size limit holds while the content streams (with or without
a Content-Length), and nothing unverified is left in the cache."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import pytest

from flink_manager.artifacts.errors import TooLarge
from flink_manager.artifacts.hosts import HostPolicy
from flink_manager.artifacts.http import FetchOptions, HttpFetcher
from flink_manager.artifacts.sources import HttpSource
from flink_manager.artifacts.store import ArtifactStore
from flink_manager.reconcile.artifact import Pin
from tests.component.conftest import ArtifactPKI
from tests.infra.artifact_servers import Recorder, sha256

LIMIT = 256 * 1024
BODY = os.urandom(4 * LIMIT)


@pytest.fixture(params=["content-length", "chunked"])
def server(request: pytest.FixtureRequest, artifact_pki: ArtifactPKI) -> Iterator[Recorder]:
    recorder = Recorder(certificate=artifact_pki.certificate, body=BODY, chunked=request.param == "chunked").start()
    try:
        yield recorder
    finally:
        recorder.stop()


async def test_a_jar_over_the_limit_is_refused_and_not_kept(
    server: Recorder, artifact_pki: ArtifactPKI, tmp_path: pathlib.Path
) -> None:
    store = ArtifactStore(tmp_path, FetchOptions(HostPolicy.from_setting(["127.0.0.1"]), False, LIMIT))
    source = HttpSource(f"{server.url}/big.jar", HttpFetcher(store.options, ca_pem=artifact_pki.ca.pem))
    # Without a Content-Length only the count of what streamed in can refuse it.
    said = f"is larger than the limit of {LIMIT} bytes" if server.chunked else f"is {len(BODY)} bytes, over the limit"
    with pytest.raises(TooLarge, match=said):
        await store.verify(source, Pin(sha256=sha256(BODY)))
    assert list(tmp_path.iterdir()) == []


async def test_the_same_jar_within_the_limit_is_kept_by_its_digest(
    server: Recorder, artifact_pki: ArtifactPKI, tmp_path: pathlib.Path
) -> None:
    store = ArtifactStore(tmp_path, FetchOptions(HostPolicy.from_setting(["127.0.0.1"]), False, len(BODY)))
    source = HttpSource(f"{server.url}/big.jar", HttpFetcher(store.options, ca_pem=artifact_pki.ca.pem))
    verified = await store.verify(source, Pin(sha256=sha256(BODY)))
    assert verified.path == tmp_path / f"{sha256(BODY)}.jar" and verified.path.read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == [verified.path.name]
