"""Servers the Artifact tests fetch from, each on its own event loop in a thread (so that async component tests
and blocking e2e tests use them alike):

- `MavenRepository`: a Maven repository layout on disk (releases, SNAPSHOT builds with maven-metadata.xml as
  Maven 3 writes it, .sha1/.sha256 checksum files) served over HTTPS with basic or bearer authentication, as
  Nexus or Artifactory serve a private repository; paths can be made to redirect elsewhere;
- `Recorder`: a server that answers every request (200 with a body, or a redirect) and records it, to show
  what the operator sent where (a refused host must see no request; a redirect's host no credentials).

The S3 server is moto's (flink_manager_dev.s3).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import pathlib
import ssl
import threading
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from tests.infra.tls import ServingCertificate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_jar(entry_class: str, marker: str = "") -> bytes:
    """A small job JAR whose manifest names its entry class (`marker` makes two builds differ)."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nEntry-Class: {entry_class}\n")
        archive.writestr(entry_class.replace(".", "/") + ".class", b"\xca\xfe\xba\xbe" + marker.encode())
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Seen:
    """One request a server received."""

    method: str
    path: str
    authorization: str | None


class ThreadedServer:
    """An aiohttp application on its own loop in a thread, over https with `certificate`."""

    def __init__(
        self, handler: Handler, *, host: str = "127.0.0.1", certificate: ServingCertificate | None = None
    ) -> None:
        self.host = host
        self.port = 0
        self.seen: list[Seen] = []
        self._handler = handler
        self._certificate = certificate
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"server-{host}", daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self._certificate else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> ThreadedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _start(self) -> None:
        async def record(request: web.Request) -> web.StreamResponse:
            self.seen.append(Seen(request.method, request.path_qs, request.headers.get("Authorization")))
            return await self._handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = None
        if self._certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self._certificate.certificate, self._certificate.key)
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class Recorder(ThreadedServer):
    """Answers every request with `body` (or a redirect to `redirect_to` + the path), and records it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        certificate: ServingCertificate | None = None,
        body: bytes = b"recorded",
        redirect_to: str | None = None,
        chunked: bool = False,
    ) -> None:
        self.body = body
        self.redirect_to = redirect_to
        self.chunked = chunked  # stream the body without a Content-Length
        super().__init__(self._answer, host=host, certificate=certificate)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        if self.redirect_to is not None:
            raise web.HTTPTemporaryRedirect(self.redirect_to + request.path_qs)
        if not self.chunked:
            return web.Response(body=self.body)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(self.body), 1 << 16):
                await response.write(self.body[start : start + (1 << 16)])
            await response.write_eof()
        except ConnectionError:
            pass  # the client stopped reading
        return response


class MavenRepository(ThreadedServer):
    """A Maven repository folder served over https, behind credentials like a private Nexus."""

    def __init__(
        self,
        root: pathlib.Path,
        certificate: ServingCertificate,
        *,
        host: str = "127.0.0.1",
        username: str,
        password: str,
        token: str,
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.accepted: set[str] = set()
        self.redirects: dict[str, str] = {}  # path prefix → URL base it redirects to
        self.set_credentials(username=username, password=password, token=token)
        super().__init__(self._serve, host=host, certificate=certificate)

    def set_credentials(self, *, username: str, password: str, token: str) -> None:
        """The one basic pair and the one bearer token accepted from now on (a rotation revokes the old ones)."""
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.accepted = {f"Basic {basic}", f"Bearer {token}"}

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") not in self.accepted:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="maven"'})
        for prefix, target in self.redirects.items():
            if request.path.startswith(prefix):
                raise web.HTTPFound(target + request.path)
        path = (self.root / request.path.lstrip("/")).resolve()
        if self.root.resolve() not in path.parents or not path.is_file():
            return web.Response(status=404)
        return web.FileResponse(path)

    # -- publishing, as `mvn deploy` lays files out

    def write(self, relative: str, data: bytes, *, checksums: tuple[str, ...] = ("sha1",)) -> str:
        """Write a file and its checksum files; returns its URL."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        for algorithm in checksums:
            (path.parent / f"{path.name}.{algorithm}").write_text(hashlib.new(algorithm, data).hexdigest())
        return f"{self.url}/{relative}"

    def publish_release(
        self,
        group: str,
        artifact: str,
        version: str,
        jar: bytes,
        *,
        classifier: str | None = None,
        checksums: tuple[str, ...] = ("sha1",),
    ) -> str:
        suffix = f"-{classifier}" if classifier else ""
        return self.write(
            f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}{suffix}.jar", jar, checksums=checksums
        )

    def publish_snapshot(
        self, group: str, artifact: str, version: str, jar: bytes, *, timestamp: str, build: int
    ) -> str:
        """Deploy one build of a -SNAPSHOT: the timestamped JAR, and the version's maven-metadata.xml naming it."""
        value = f"{version.removesuffix('SNAPSHOT')}{timestamp}-{build}"
        folder = f"{group.replace('.', '/')}/{artifact}/{version}"
        url = self.write(f"{folder}/{artifact}-{value}.jar", jar, checksums=("sha1", "sha256"))
        metadata = f"""<?xml version="1.0" encoding="UTF-8"?>
<metadata modelVersion="1.1.0">
  <groupId>{group}</groupId>
  <artifactId>{artifact}</artifactId>
  <version>{version}</version>
  <versioning>
    <snapshot>
      <timestamp>{timestamp}</timestamp>
      <buildNumber>{build}</buildNumber>
    </snapshot>
    <lastUpdated>{timestamp.replace(".", "")}</lastUpdated>
    <snapshotVersions>
      <snapshotVersion>
        <extension>jar</extension>
        <value>{value}</value>
        <updated>{timestamp.replace(".", "")}</updated>
      </snapshotVersion>
      <snapshotVersion>
        <extension>pom</extension>
        <value>{value}</value>
        <updated>{timestamp.replace(".", "")}</updated>
      </snapshotVersion>
    </snapshotVersions>
  </versioning>
</metadata>
"""
        self.write(f"{folder}/maven-metadata.xml", metadata.encode(), checksums=("sha1",))
        return url
