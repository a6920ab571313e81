"""GET over http(s) for artifact sources: the host policy at every hop, credentials only to the source's own
origin, a private CA, and sizes bounded while streaming.

Redirects are followed here, one hop at a time (aiohttp's own following would connect before we could look):
each Location is checked like the first URL (scheme, host policy), an https URL never leads to http unless
insecure artifacts are allowed, and the Authorization header goes only to the origin (scheme, host, port) of the
URL the Artifact names. A redirect to a file store (S3 pre-signed URLs, CDNs) is common for Maven repositories;
those hosts get no credentials, which is what they expect.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from flink_manager.artifacts.credentials import HttpCredentials
from flink_manager.artifacts.errors import (
    ArtifactNotFound,
    AuthenticationFailed,
    FetchFailed,
    HostRefused,
    InsecureURL,
    InvalidCA,
    TooLarge,
    UnsupportedURL,
)
from flink_manager.artifacts.hosts import HostPolicy, HostRefusedError, PolicyResolver

CHUNK = 1 << 16
MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchOptions:
    """What the operator's settings say about every fetch."""

    policy: HostPolicy
    allow_insecure: bool
    max_bytes: int
    timeout: float = 300.0
    s3_endpoint: str = ""


def shown(url: str) -> str:
    """A URL as messages show it: without a query or fragment (a pre-signed redirect carries its signature there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def ssl_context(ca_pem: str | None, ca_secret: str | None) -> ssl.SSLContext:
    """The system's trust, plus the PEM bundle of caSecretRef when given."""
    context = ssl.create_default_context()
    if ca_pem:
        try:
            context.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError):
            raise InvalidCA(f"the CA bundle in Secret {ca_secret!r} is not PEM certificates") from None
    return context


def check_scheme(url: str, allow_insecure: bool, *, after: str | None = None) -> None:
    scheme = urlsplit(url).scheme
    if scheme == "https":
        return
    if scheme == "http":
        if allow_insecure:
            return
        where = f" (a redirect from {shown(after)})" if after else ""
        raise InsecureURL(f"{shown(url)}{where}: http:// is refused unless the operator runs with "
                          "--allow-insecure-artifacts")
    raise UnsupportedURL(f"{shown(url)}: the scheme {scheme!r} cannot be fetched over HTTP")


def authentication_failed(url: str, status: int, credentials: HttpCredentials | None, sent: bool) -> AuthenticationFailed:
    if credentials is None:
        return AuthenticationFailed(f"{shown(url)} refused anonymous access (HTTP {status}): name a Secret with "
                                    "credentials in spec.credentialsSecretRef")
    if not sent:
        return AuthenticationFailed(f"{shown(url)} refused access (HTTP {status}); it is a redirect to another "
                                    f"host, which is never sent the credentials of Secret {credentials.secret!r}")
    return AuthenticationFailed(f"{shown(url)} refused the credentials of Secret {credentials.secret!r} "
                                f"(HTTP {status})")


class HttpFetcher:
    """One source's HTTP client: its credentials, its CA, the operator's host policy."""

    def __init__(self, options: FetchOptions, *, credentials: HttpCredentials | None = None,
                 ca_pem: str | None = None, ca_secret: str | None = None) -> None:
        self.options = options
        self.credentials = credentials
        self._ssl = ssl_context(ca_pem, ca_secret)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=PolicyResolver(self.options.policy), ssl=self._ssl,
                                             use_dns_cache=False)
            timeout = aiohttp.ClientTimeout(total=self.options.timeout, sock_connect=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @asynccontextmanager
    async def get(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response of GET `url` (a 2xx), redirects followed and checked; typed errors otherwise."""
        first = origin(url)
        previous: str | None = None
        for _ in range(MAX_REDIRECTS + 1):
            check_scheme(url, self.options.allow_insecure, after=previous)
            send = self.credentials is not None and origin(url) == first
            headers = {"Authorization": self.credentials.header()} if send and self.credentials else {}
            try:
                self.options.policy.check_literal(urlsplit(url).hostname or "")
                async with self._client().get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                        previous, url = url, urljoin(url, response.headers["Location"])
                        continue
                    self._raise_for_status(url, response.status, send)
                    yield response
                    return
            except HostRefusedError as exc:
                raise HostRefused(_hop(exc.message, previous)) from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, HostRefusedError):
                    raise HostRefused(_hop(exc.os_error.message, previous)) from None
                if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError)):
                    raise FetchFailed(f"{shown(url)}: the server's certificate is not trusted ({type(exc).__name__});"
                                      " a private CA goes in spec.caSecretRef") from None
                raise FetchFailed(f"{shown(url)}: cannot connect: {exc.os_error}", retryable=True) from None
            except aiohttp.ClientSSLError as exc:
                raise FetchFailed(f"{shown(url)}: TLS failed ({type(exc).__name__})") from None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise FetchFailed(f"{shown(url)}: {type(exc).__name__}", retryable=True) from None
        raise FetchFailed(f"{shown(url)}: more than {MAX_REDIRECTS} redirects")

    def _raise_for_status(self, url: str, status: int, sent: bool) -> None:
        if status < 300:
            return
        if status in (401, 403):
            raise authentication_failed(url, status, self.credentials, sent)
        if status in (404, 410):
            raise ArtifactNotFound(f"{shown(url)}: HTTP {status}, no such file")
        if status == 429 or status >= 500:
            raise FetchFailed(f"{shown(url)}: HTTP {status}", retryable=True)
        raise FetchFailed(f"{shown(url)}: HTTP {status}")

    async def read_small(self, url: str, limit: int = 1 << 20) -> bytes:
        """A small file (Maven metadata, a checksum), bounded to `limit` bytes."""
        async with self.get(url) as response:
            body = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                body += chunk
                if len(body) > limit:
                    raise FetchFailed(f"{shown(url)} is larger than {limit} bytes")
            return bytes(body)

    async def chunks(self, url: str) -> AsyncIterator[bytes]:
        """The body of `url`, refused early when its announced length is over the operator's limit."""
        async with self.get(url) as response:
            length = response.content_length
            if length is not None and length > self.options.max_bytes:
                raise TooLarge(f"{shown(url)} is {length} bytes, over the limit of {self.options.max_bytes}")
            try:
                async for chunk in response.content.iter_chunked(CHUNK):
                    yield chunk
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise FetchFailed(f"{shown(url)}: {type(exc).__name__} while reading", retryable=True) from None


def _hop(message: str, previous: str | None) -> str:
    return f"{message} (a redirect from {shown(previous)})" if previous else message
