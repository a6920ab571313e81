"""Artifacts from where teams keep them, each source against a real server, on both Kubernetes backends:

- `maven`: a Maven repository layout (releases, SNAPSHOT builds with maven-metadata.xml, checksum files) served
  over HTTPS behind basic authentication, with a CA the test made;
- `https`: a file of the same server behind bearer authentication;
- `s3`: moto's standalone S3 server over HTTPS, enforcing signatures (a wrong key is refused by the server).

Each source × {good credentials, wrong credentials, missing Secret, rotated Secret, digest mismatch, refused
private host, redirect to a refused host}; then the snapshot flow, a content change behind a pin, credentials
kept from a redirect's host, an Execution of each source to Running; and last, a search of every log record,
status, Event and history entry the module produced for the Secret values (none may appear).

The operator allows loopback 127.0.0.1 and ::1 (where the servers listen) as private hosts; 127.0.0.2 is loopback
too and not allowed: a `Recorder` listens there and must never see a request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from flink_manager.kube.client import ARTIFACTS, EXECUTIONS, SECRETS, Credentials, KubeError
from flink_manager_dev.kubeapi import EmbeddedKubernetes
from flink_manager_dev.s3 import S3Server
from flink_manager_dev.simulator import SimulatedFlink, Timings
from tests.component.backends import EmbeddedBackend, KubeBackend, RealBackend
from tests.component.conftest import REPO, ArtifactPKI, Stack
from tests.infra.artifact_servers import MavenRepository, Recorder, make_jar, sha256
from tests.infra.tls import LocalCA

pytestmark = pytest.mark.asyncio(loop_scope="module")

GROUP_ID, ARTIFACT_ID = "com.example.jobs", "word-count"
ENTRY_CLASS = "com.example.jobs.WordCount"
BUCKET = "flink-jobs"
SOURCES = ("maven", "https", "s3")
ALLOWED_HOSTS = ("127.0.0.1", "::1")
REFUSED_HOST = "127.0.0.2"  # loopback as well, but not allowed


# ------------------------------------------------------------------------------------------------ the servers


@dataclass
class Servers:
    """The module's servers and what they hold."""

    ca: LocalCA
    repository: MavenRepository
    s3: S3Server
    trap: Recorder  # on the refused host: must see no request
    mirror: Recorder  # an allowed host of another origin, serving the JAR without authentication
    s3_redirector: Recorder  # an allowed S3 "endpoint" that redirects every request to the trap
    jar: bytes
    username: str
    password: str
    token: str

    @property
    def https_path(self) -> str:
        return f"/files/{ARTIFACT_ID}-1.0.0.jar"

    def rotate_repository(self) -> tuple[str, str, str]:
        """New repository credentials (the old ones stop working); returns (username, password, token)."""
        self.username, self.password, self.token = (
            f"user-{secrets.token_hex(6)}",
            secrets.token_hex(16),
            secrets.token_hex(24),
        )
        self.repository.set_credentials(username=self.username, password=self.password, token=self.token)
        return self.username, self.password, self.token


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers(
    artifact_pki: ArtifactPKI, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Servers]:
    certificate = artifact_pki.certificate
    jar = make_jar(ENTRY_CLASS)
    username, password, token = f"user-{secrets.token_hex(6)}", secrets.token_hex(16), secrets.token_hex(24)
    repository = MavenRepository(
        tmp_path_factory.mktemp("repository"), certificate, username=username, password=password, token=token
    ).start()
    repository.publish_release(GROUP_ID, ARTIFACT_ID, "1.0.0", jar)
    repository.write(f"files/{ARTIFACT_ID}-1.0.0.jar", jar, checksums=())
    trap = Recorder(host=REFUSED_HOST, certificate=certificate, body=jar).start()
    mirror = Recorder(host="localhost", certificate=certificate, body=jar).start()
    s3_redirector = Recorder(certificate=certificate, redirect_to=trap.url).start()
    try:
        await s3_server.create_bucket(BUCKET)
        await s3_server.put(BUCKET, f"{ARTIFACT_ID}/1.0.0/{ARTIFACT_ID}.jar", jar)
        yield Servers(
            artifact_pki.ca, repository, s3_server, trap, mirror, s3_redirector, jar, username, password, token
        )
    finally:
        for server in (repository, trap, mirror, s3_redirector):
            server.stop()


# ------------------------------------------------------------------------------------------------ the world


class Leaks:
    """Everything the module produced that a user or an operator of the cluster could read: log records of every
    logger (DEBUG and up), and every version of every object in the namespace (statuses, history, Events)."""

    def __init__(self) -> None:
        self.values: set[str] = set()  # every value written into a Secret
        self.lines: list[str] = []
        self.objects: list[str] = []
        self.handler = _Collect(self.lines)

    def scan(self) -> list[str]:
        found = []
        for value in sorted(self.values):
            for where, texts in (("log", self.lines), ("object", self.objects)):
                hits = [t for t in texts if value in t]
                if hits:
                    found.append(f"a Secret value appears in {len(hits)} {where}(s), first: {hits[0][:300]}")
        return found


class _Collect(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(
                self.format(record)
                + " "
                + repr({k: v for k, v in record.__dict__.items() if k not in ("msg", "args", "message")})
            )


@dataclass
class World:
    """A namespace with its operator, the simulator, the servers, and helpers that create Secrets and Artifacts."""

    stack: Stack
    servers: Servers
    leaks: Leaks
    backend: str
    s3_keys: dict[str, str] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.stack.namespace

    async def secret(self, name: str, data: dict[str, str]) -> dict[str, Any]:
        self.leaks.values.update(v for v in data.values() if len(v) >= 8)
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        return await self.stack.kube.create(
            SECRETS,
            self.namespace,
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": encoded},
        )

    async def update_secret(self, name: str, data: dict[str, str]) -> None:
        self.leaks.values.update(v for v in data.values() if len(v) >= 8)
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        await self.stack.kube.patch(SECRETS, self.namespace, name, {"data": encoded})

    async def ca_secret(self) -> str:
        name = f"ca-{uuid.uuid4().hex[:6]}"
        await self.stack.kube.create(
            SECRETS,
            self.namespace,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name},
                "data": {"ca.crt": base64.b64encode(self.servers.ca.pem.encode()).decode()},
            },
        )
        return name

    def good_credentials(self, source: str) -> dict[str, str]:
        servers = self.servers
        if source == "s3":
            return dict(self.s3_keys)
        if source == "https":
            return {"token": servers.token}
        return {"username": servers.username, "password": servers.password}

    def wrong_credentials(self, source: str) -> dict[str, str]:
        good = self.good_credentials(source)
        return {k: (v if k in ("AWS_ACCESS_KEY_ID", "username") else secrets.token_hex(20)) for k, v in good.items()}

    def spec(self, source: str, *, host: str = "127.0.0.1", sha256_pin: str | None = None) -> dict[str, Any]:
        """The spec of an Artifact of this source (without Secrets)."""
        servers = self.servers
        if source == "maven":
            spec: dict[str, Any] = {
                "maven": {
                    "repository": f"https://{host}:{servers.repository.port}",
                    "groupId": GROUP_ID,
                    "artifactId": ARTIFACT_ID,
                    "version": "1.0.0",
                }
            }
            if sha256_pin:
                spec["sha256"] = sha256_pin
            return spec
        pin = sha256_pin or sha256(servers.jar)
        if source == "https":
            return {"url": f"https://{host}:{servers.repository.port}{servers.https_path}", "sha256": pin}
        endpoint = servers.s3.endpoint.replace("127.0.0.1", host)
        return {
            "url": f"s3://{BUCKET}/{ARTIFACT_ID}/1.0.0/{ARTIFACT_ID}.jar",
            "sha256": pin,
            "s3": {"endpoint": endpoint, "pathStyle": True},
        }

    async def artifact(
        self, name: str, spec: dict[str, Any], *, credentials: str | None = None, ca: bool = True
    ) -> None:
        full = {**spec, "entryClasses": [ENTRY_CLASS]}
        if credentials is not None:
            full["credentialsSecretRef"] = {"name": credentials}
        if ca:
            full["caSecretRef"] = {"name": await self.ca_secret()}
        await self.stack.apply(
            {"apiVersion": "flinkmanager.io/v1alpha1", "kind": "Artifact", "metadata": {"name": name}, "spec": full}
        )

    async def settled(self, name: str, *, timeout: float = 30) -> dict[str, Any]:
        """The Artifact once verified (Ready) or given up on (Failed) for its current generation."""

        def done(body: dict[str, Any]) -> bool:
            status = body.get("status") or {}
            return status.get("observedGeneration") == body["metadata"]["generation"] and status.get("phase") in (
                "Ready",
                "Failed",
            )

        return await self.stack.wait("Artifact", name, done, timeout=timeout, what=f"Artifact {name} to settle")


def status(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status(body).get("conditions", []) if c["type"] == type_), {})


def failure(body: dict[str, Any]) -> tuple[str, str, str, str]:
    """(phase, Ready reason, Degraded status, Degraded reason)."""
    return (
        status(body).get("phase", ""),
        condition(body, "Ready").get("reason", ""),
        condition(body, "Degraded").get("status", ""),
        condition(body, "Degraded").get("reason", ""),
    )


async def _watch(credentials: Credentials, paths: list[str], sink: list[str], stop: asyncio.Event) -> None:
    """Every version of every object under `paths` (list, then watch), as JSON text into `sink`."""
    context: ssl.SSLContext | bool = False
    if credentials.ca_path:
        context = ssl.create_default_context(cafile=credentials.ca_path)
    headers = {"Authorization": f"Bearer {credentials.token}"} if credentials.token else {}
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(ssl=context)) as session:

        async def follow(path: str) -> None:
            while not stop.is_set():
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    async with session.get(credentials.server.rstrip("/") + path) as listing:
                        body = await listing.json()
                    sink.extend(json.dumps(item) for item in body.get("items") or [])
                    version = (body.get("metadata") or {}).get("resourceVersion", "")
                    url = f"{credentials.server.rstrip('/')}{path}?watch=1&resourceVersion={version}"
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as watch:
                        async for line in watch.content:
                            if line.strip():
                                sink.append(line.decode())
                await asyncio.sleep(0.2)  # the watch ended (a timeout of the server): list and watch again

        await asyncio.gather(*(follow(p) for p in paths))


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["embedded", pytest.param("real", marks=pytest.mark.real_k8s)]
)
async def world(
    request: pytest.FixtureRequest, servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """One namespace and one operator per backend for the whole module (each test names its own objects)."""
    tmp = tmp_path_factory.mktemp(f"artifacts-{request.param}")
    api: EmbeddedKubernetes | None = None
    backend: KubeBackend
    if request.param == "embedded":
        api = EmbeddedKubernetes(crds=[REPO / "crds"])
        await api.start()
        backend = EmbeddedBackend(api)
    else:
        backend = RealBackend(request.getfixturevalue("real_kube_with_flink_manager"))
    flink = SimulatedFlink(slots=16, timings=Timings.fast(checkpoint_interval=0.2), seed=11)
    flink_url = await flink.start("127.0.0.1", 0)
    stack = Stack(api, flink, flink_url, tmp, backend=backend)
    leaks = Leaks()
    root, cel = logging.getLogger(), logging.getLogger("celpy")
    levels = root.level, cel.level
    root.addHandler(leaks.handler)
    root.setLevel(logging.DEBUG)
    cel.setLevel(logging.INFO)  # the embedded API's CEL evaluator logs every step of every rule at DEBUG
    stop = asyncio.Event()
    group = f"/apis/flinkmanager.io/v1alpha1/namespaces/{stack.namespace}"
    watcher = asyncio.create_task(
        _watch(
            backend.user_credentials,
            [
                f"{group}/artifacts",
                f"{group}/executions",
                f"{group}/jobspecs",
                f"{group}/flinkclusters",
                f"/api/v1/namespaces/{stack.namespace}/events",
            ],
            leaks.objects,
            stop,
        )
    )
    world = World(stack, servers, leaks, request.param)
    assert servers.s3.keys is not None
    world.s3_keys = {
        "AWS_ACCESS_KEY_ID": servers.s3.keys.access_key_id,
        "AWS_SECRET_ACCESS_KEY": servers.s3.keys.secret_access_key,
    }
    try:
        await stack.start_operator(
            allow_insecure_artifacts=False,
            allow_private_artifact_hosts=ALLOWED_HOSTS,
            artifact_secret_recheck_seconds=0.5,
        )
        await stack.apply(stack.cluster())
        yield world
    finally:
        try:
            await stack.stop_operator()
            await _drop_finalizers(stack)
        finally:
            stop.set()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            root.removeHandler(leaks.handler)
            root.setLevel(levels[0])
            cel.setLevel(levels[1])
            await stack.kube.close()
            await backend.close()
            await flink.stop()
            if api is not None:
                await api.stop()


async def _drop_finalizers(stack: Stack) -> None:
    """What the stopped operator left: without finalizers the backend deletes the namespace's objects at once."""
    for resource in (EXECUTIONS, ARTIFACTS):
        for body in await stack.kube.list(resource, stack.namespace):
            if body["metadata"].get("finalizers"):
                with contextlib.suppress(KubeError):
                    await stack.kube.patch(
                        resource, stack.namespace, body["metadata"]["name"], {"metadata": {"finalizers": None}}
                    )


def name_of(request: pytest.FixtureRequest) -> str:
    """An object name for this test: its parameters, shortened."""
    return request.node.name.split("[", 1)[-1].rstrip("]").replace("_", "-").lower()[:50] + "-" + uuid.uuid4().hex[:4]


# ------------------------------------------------------------------------------- each source × each case


@pytest.mark.parametrize("source", SOURCES)
async def test_good_credentials_verify_the_jar(world: World, source: str, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    await world.secret(name, world.good_credentials(source))
    await world.artifact(name, world.spec(source), credentials=name)
    body = await world.settled(name)
    assert status(body)["phase"] == "Ready", condition(body, "Ready")
    assert status(body)["sha256"] == sha256(world.servers.jar)
    assert status(body)["sizeBytes"] == len(world.servers.jar)
    assert condition(body, "Degraded")["status"] == "False"
    resolved = status(body)["resolved"]
    if source == "maven":
        assert resolved["url"].endswith(f"/{GROUP_ID.replace('.', '/')}/{ARTIFACT_ID}/1.0.0/{ARTIFACT_ID}-1.0.0.jar")
        assert resolved["version"] == "1.0.0"
        assert resolved["verifiedBy"] == f"{ARTIFACT_ID}-1.0.0.jar.sha1"  # no spec.sha256: the repository's
    else:
        assert resolved["url"] == body["spec"]["url"]
        assert resolved["verifiedBy"] == "spec.sha256"


@pytest.mark.parametrize("source", SOURCES)
async def test_wrong_credentials_are_refused_by_the_server(
    world: World, source: str, request: pytest.FixtureRequest
) -> None:
    name = name_of(request)
    await world.secret(name, world.wrong_credentials(source))
    await world.artifact(name, world.spec(source), credentials=name)
    body = await world.settled(name)
    assert failure(body) == ("Failed", "AuthenticationFailed", "True", "AuthenticationFailed")
    message = condition(body, "Degraded")["message"]
    assert f"Secret {name!r}" in message
    if source == "s3":
        assert "SignatureDoesNotMatch" in message  # what moto answered: the server checked the signature
    else:
        assert "HTTP 401" in message


@pytest.mark.parametrize("source", SOURCES)
async def test_a_missing_secret_is_named(world: World, source: str, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    before = len(world.servers.repository.seen)
    await world.artifact(name, world.spec(source), credentials=f"{name}-absent")
    body = await world.settled(name)
    assert failure(body) == ("Failed", "SecretNotFound", "True", "SecretNotFound")
    assert (
        f"Secret '{name}-absent' does not exist (named in spec.credentialsSecretRef)"
        in condition(body, "Ready")["message"]
    )
    if source != "s3":
        assert not [s for s in world.servers.repository.seen[before:] if ARTIFACT_ID in s.path], (
            "nothing is fetched without the credentials"
        )


async def test_a_secret_without_the_keys_of_its_source_is_named(world: World, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    await world.secret(name, {"username": "someone-" + secrets.token_hex(4)})
    await world.artifact(name, world.spec("s3"), credentials=name)
    body = await world.settled(name)
    assert failure(body) == ("Failed", "SecretKeyMissing", "True", "SecretKeyMissing")
    assert "has no AWS_ACCESS_KEY_ID and no AWS_SECRET_ACCESS_KEY" in condition(body, "Ready")["message"]


@pytest.mark.parametrize("source", SOURCES)
async def test_a_rotated_secret_is_used_at_once(world: World, source: str, request: pytest.FixtureRequest) -> None:
    """The Secret is fixed after the failure: the Artifact is fetched again without any change of its own."""
    name = name_of(request)
    await world.secret(name, world.wrong_credentials(source))
    await world.artifact(name, world.spec(source), credentials=name)
    failed = await world.settled(name)
    assert status(failed)["phase"] == "Failed"
    await world.update_secret(name, world.good_credentials(source))
    body = await world.stack.wait(
        "Artifact",
        name,
        lambda b: status(b).get("phase") == "Ready",
        timeout=30,
        what=f"Artifact {name} Ready after the Secret was rotated",
    )
    assert body["metadata"]["generation"] == failed["metadata"]["generation"]
    assert status(body)["fetchKey"] != status(failed)["fetchKey"]
    assert condition(body, "Degraded")["status"] == "False"


@pytest.mark.parametrize("source", SOURCES)
async def test_a_digest_mismatch_is_degraded(world: World, source: str, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    await world.secret(name, world.good_credentials(source))
    if source == "maven":  # the repository's checksum file disagrees with the JAR
        version = f"1.0.{secrets.randbelow(10**6)}"
        world.servers.repository.publish_release(GROUP_ID, ARTIFACT_ID, version, world.servers.jar)
        jar = (
            world.servers.repository.root
            / GROUP_ID.replace(".", "/")
            / ARTIFACT_ID
            / version
            / f"{ARTIFACT_ID}-{version}.jar"
        )
        jar.with_name(jar.name + ".sha1").write_text("0" * 40)
        spec = world.spec(source)
        spec["maven"]["version"] = version
    else:
        spec = world.spec(source, sha256_pin="0" * 64)
    await world.artifact(name, spec, credentials=name)
    body = await world.settled(name)
    assert failure(body) == ("Failed", "DigestMismatch", "True", "DigestMismatch")
    said = "as the repository's" if source == "maven" else "as spec.sha256 says"
    assert said in condition(body, "Degraded")["message"]
    assert status(body).get("sha256") is None


@pytest.mark.parametrize("source", SOURCES)
async def test_a_private_host_is_refused(world: World, source: str, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    before = len(world.servers.trap.seen)
    await world.secret(name, world.good_credentials(source))
    spec = world.spec(source, host=REFUSED_HOST)
    if source == "s3":
        spec["s3"]["endpoint"] = world.servers.trap.url
    await world.artifact(name, spec, credentials=name)
    body = await world.settled(name)
    assert failure(body) == ("Failed", "HostRefused", "True", "HostRefused")
    assert f"host {REFUSED_HOST} is a loopback address" in condition(body, "Ready")["message"]
    assert world.servers.trap.seen[before:] == []


@pytest.mark.parametrize("source", SOURCES)
async def test_a_redirect_to_a_refused_host_is_not_followed(
    world: World, source: str, request: pytest.FixtureRequest
) -> None:
    name = name_of(request)
    before = len(world.servers.trap.seen)
    await world.secret(name, world.good_credentials(source))
    spec = world.spec(source)
    repository = world.servers.repository
    if source == "s3":  # the endpoint itself redirects (S3 never follows a redirect)
        spec["s3"]["endpoint"] = world.servers.s3_redirector.url
    else:
        prefix = f"/redirected-{uuid.uuid4().hex[:6]}"
        repository.redirects[prefix] = world.servers.trap.url
        if source == "maven":
            spec["maven"]["repository"] += prefix
        else:
            spec["url"] = spec["url"].replace("/files/", f"{prefix}/files/")
    await world.artifact(name, spec, credentials=name)
    body = await world.settled(name)
    if source == "s3":
        assert failure(body) == ("Failed", "FetchFailed", "True", "FetchFailed")
        assert f"to {world.servers.trap.url}" in condition(body, "Ready")["message"]
        assert "not followed" in condition(body, "Ready")["message"]
    else:
        assert failure(body) == ("Failed", "HostRefused", "True", "HostRefused")
        assert "(a redirect from https://127.0.0.1:" in condition(body, "Ready")["message"]
    assert world.servers.trap.seen[before:] == []


# ------------------------------------------------------------------------------------------- the flows


async def test_credentials_never_reach_the_host_a_redirect_leads_to(
    world: World, request: pytest.FixtureRequest
) -> None:
    """An allowed redirect is followed, to a host of another origin, which gets no Authorization header."""
    name = name_of(request)
    await world.secret(name, world.good_credentials("https"))
    prefix = f"/to-mirror-{uuid.uuid4().hex[:6]}"
    world.servers.repository.redirects[prefix] = world.servers.mirror.url
    before = len(world.servers.mirror.seen)
    spec = world.spec("https")
    spec["url"] = spec["url"].replace("/files/", f"{prefix}/files/")
    await world.artifact(name, spec, credentials=name)
    body = await world.settled(name)
    assert status(body)["phase"] == "Ready", condition(body, "Ready")
    seen = world.servers.mirror.seen[before:]
    assert [s.path for s in seen] == [f"{prefix}/files/{ARTIFACT_ID}-1.0.0.jar"]
    assert [s.authorization for s in seen] == [None]
    assert [s.authorization for s in world.servers.repository.seen if s.path.startswith(prefix)] == [
        f"Bearer {world.servers.token}"
    ]


async def test_a_snapshot_resolves_to_its_newest_build_when_asked(world: World, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    repository = world.servers.repository
    version = f"2.{secrets.randbelow(10**6)}-SNAPSHOT"
    first, second = make_jar(ENTRY_CLASS, "build 1"), make_jar(ENTRY_CLASS, "build 2")
    repository.publish_snapshot(GROUP_ID, ARTIFACT_ID, version, first, timestamp="20260301.101500", build=1)
    await world.secret(name, world.good_credentials("maven"))
    spec = world.spec("maven")
    spec["maven"]["version"] = version
    await world.artifact(name, spec, credentials=name)
    body = await world.settled(name)
    base = version.removesuffix("SNAPSHOT")
    assert status(body)["resolved"]["version"] == f"{base}20260301.101500-1"
    assert status(body)["sha256"] == sha256(first)
    assert f"{version} resolved to build {base}20260301.101500-1" in condition(body, "Ready")["message"]

    repository.publish_snapshot(GROUP_ID, ARTIFACT_ID, version, second, timestamp="20260302.080000", build=2)
    await world.stack.patch_spec("Artifact", name, {"maven": {"resolveNonce": 1}})
    body = await world.stack.wait(
        "Artifact",
        name,
        lambda b: status(b).get("observedGeneration") == 2 and status(b).get("phase") == "Ready",
        what="the newer build",
    )
    assert status(body)["resolved"]["version"] == f"{base}20260302.080000-2"
    assert status(body)["resolved"]["url"].endswith(f"{ARTIFACT_ID}-{base}20260302.080000-2.jar")
    assert status(body)["sha256"] == sha256(second)


async def test_content_changed_behind_the_same_release_is_never_uploaded(
    world: World, request: pytest.FixtureRequest
) -> None:
    """A release without spec.sha256 is pinned by the digest first verified: when the file (and its checksum) at
    the same URL change, fetching it again fails with DigestMismatch and the running job keeps its JAR."""
    name = name_of(request)
    stack, repository = world.stack, world.servers.repository
    version = f"3.{secrets.randbelow(10**6)}"
    repository.publish_release(GROUP_ID, ARTIFACT_ID, version, world.servers.jar)
    await world.secret(name, world.good_credentials("maven"))
    spec = world.spec("maven")
    spec["maven"]["version"] = version
    await world.artifact(name, spec, credentials=name)
    await stack.apply(stack.job_spec(name, artifactRef={"name": name}, entryClass=ENTRY_CLASS))
    await stack.apply(stack.execution(name, job_spec=name))
    await stack.wait_phase(name, "Running", timeout=30)
    uploads = stack.flink.call_count("upload_jar")

    repository.publish_release(GROUP_ID, ARTIFACT_ID, version, make_jar(ENTRY_CLASS, "rebuilt"))
    await stack.patch_spec("Artifact", name, {"maven": {"resolveNonce": 1}})
    body = await stack.wait(
        "Artifact",
        name,
        lambda b: status(b).get("observedGeneration") == 2 and status(b).get("phase") == "Failed",
        what="the changed release refused",
    )
    assert failure(body) == ("Failed", "DigestMismatch", "True", "DigestMismatch")
    assert "changed" in condition(body, "Degraded")["message"]
    assert status(body)["sha256"] == sha256(world.servers.jar)  # the digest verified before stays the pin
    job_spec = await stack.wait("JobSpec", name, lambda b: condition(b, "Ready").get("reason") == "ArtifactFailed")
    assert "DigestMismatch" not in json.dumps(job_spec["spec"])
    execution = await stack.get("Execution", name)
    assert execution is not None and status(execution)["phase"] == "Running"
    assert stack.flink.call_count("upload_jar") == uploads


@pytest.mark.parametrize("source", SOURCES)
async def test_an_execution_of_each_source_runs(world: World, source: str, request: pytest.FixtureRequest) -> None:
    name = name_of(request)
    stack = world.stack
    await world.secret(name, world.good_credentials(source))
    await world.artifact(name, world.spec(source), credentials=name)
    await stack.apply(stack.job_spec(name, artifactRef={"name": name}, entryClass=ENTRY_CLASS))
    await stack.apply(stack.execution(name, job_spec=name))
    body = await stack.wait_phase(name, "Running", timeout=30)
    job = stack.job(status(body)["flinkJobId"])
    assert job.state.value == "RUNNING"
    artifact = await stack.get("Artifact", name)
    assert artifact is not None and [u["cluster"] for u in status(artifact)["uploads"]] == ["default"]


# ------------------------------------------------------------------------------------------- no leaks


async def test_no_secret_value_reaches_a_log_status_event_or_history(world: World) -> None:
    """Run last in the module: every Secret value written above is absent from everything the module produced,
    while the names of those Secrets, which the messages do give, are present (so the search looked there)."""
    leaks = world.leaks
    assert len(leaks.values) >= 10
    assert any("AuthenticationFailed" in o and "refused the credentials of Secret" in o for o in leaks.objects)
    assert any('"kind": "Event"' in o or '"kind":"Event"' in o for o in leaks.objects)
    assert any('"history"' in o for o in leaks.objects)
    assert any("verified Artifact" in line for line in leaks.lines)
    assert leaks.scan() == []
