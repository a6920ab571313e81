"""GET over http(s) for artifact sources: the host policy at every hop, credentials only to the source's own
origin, a private CA, and sizes bounded while streaming.

Redirects are followed here, one hop at a time (aiohttp's own following would connect before we could look):
each Location is checked like the first URL (scheme, host policy), an https URL never leads to http unless
insecure artifacts are allowed, and the Authorization header goes only to the origin (scheme, host, port) of the
URL the Artifact names. A redirect to a file store (S3 pre-signed URLs, CDNs) is common for Maven repositories;
those hosts get no credentials, which is what they expect.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from flink_manager.artifacts.credentials import HttpCredentials
from flink_manager.artifacts.errors import (
    ArtifactError,
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
from flink_manager.settings import Settings

CHUNK = 1 << 16
MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Authorize = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class FetchOptions:
    """What the operator's settings say about every fetch."""

    policy: HostPolicy
    allow_insecure: bool
    max_bytes: int
    timeout: float = 300.0
    s3_endpoint: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        """The operator's settings that concern fetching (ValueError for an allowance entry that is no host)."""
        return cls(
            policy=HostPolicy.from_setting(settings.allow_private_artifact_hosts),
            allow_insecure=settings.allow_insecure_artifacts,
            max_bytes=settings.max_artifact_bytes,
            s3_endpoint=settings.s3_endpoint,
        )


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
        raise InsecureURL(
            f"{shown(url)}{where}: http:// is refused unless the operator runs with --allow-insecure-artifacts"
        )
    raise UnsupportedURL(f"{shown(url)}: the scheme {scheme!r} cannot be fetched over HTTP")


def authentication_failed(url: str, said: str, secret: str | None, sent: bool) -> AuthenticationFailed:
    if secret is None:
        return AuthenticationFailed(
            f"{shown(url)} refused anonymous access ({said}): name a Secret with "
            "credentials in spec.credentialsSecretRef"
        )
    if not sent:
        return AuthenticationFailed(
            f"{shown(url)} refused access ({said}); it is a redirect to another "
            f"origin, which is never sent the credentials of Secret {secret!r}"
        )
    return AuthenticationFailed(f"{shown(url)} refused the credentials of Secret {secret!r} ({said})")


async def _error_code(response: aiohttp.ClientResponse) -> str | None:
    """The <Code> of an S3-style XML error body (SignatureDoesNotMatch, NoSuchKey…), and nothing else of it: such
    a body may echo the access key id."""
    if "xml" not in response.headers.get("Content-Type", ""):
        return None
    try:
        body = await response.content.read(16384)
    except (aiohttp.ClientError, TimeoutError):
        return None
    match = re.search(rb"<Code>([A-Za-z0-9.]{1,64})</Code>", body)
    return match.group(1).decode() if match else None


class HttpFetcher:
    """One source's HTTP client: its credentials, its CA, the operator's host policy.

    `authorize` gives the headers that authenticate a request to a URL of the source's origin (basic or bearer
    credentials; an S3 signature); `secret` names the Secret they come from, for messages. A source that does not
    follow redirects (S3: a redirect there means another region or endpoint) gets a FetchFailed saying so.
    """

    def __init__(
        self,
        options: FetchOptions,
        *,
        credentials: HttpCredentials | None = None,
        authorize: Authorize | None = None,
        secret: str | None = None,
        ca_pem: str | None = None,
        ca_secret: str | None = None,
        follow_redirects: bool = True,
    ) -> None:
        self.options = options
        if credentials is not None:
            header = credentials.header()
            authorize, secret = (lambda _url: {"Authorization": header}), credentials.secret
        self.authorize = authorize
        self.secret = secret
        self.follow_redirects = follow_redirects
        self._ssl = ssl_context(ca_pem, ca_secret)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=PolicyResolver(self.options.policy), ssl=self._ssl, use_dns_cache=False
            )
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
            send = self.authorize is not None and origin(url) == first
            headers = dict(self.authorize(url)) if send and self.authorize is not None else {}
            try:
                self.options.policy.check_literal(urlsplit(url).hostname or "")
                async with self._client().get(
                    URL(url, encoded=True), headers=headers, allow_redirects=False
                ) as response:
                    if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                        target = urljoin(url, response.headers["Location"])
                        if not self.follow_redirects:
                            raise FetchFailed(
                                f"{shown(url)} answered a redirect (HTTP {response.status}) to "
                                f"{shown(target)}, which is not followed"
                            )
                        previous, url = url, target
                        continue
                    if response.status >= 300:
                        raise self._status_error(url, response.status, send, await _error_code(response))
                    yield response
                    return
            except HostRefusedError as exc:
                raise HostRefused(_hop(exc.message, previous)) from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, HostRefusedError):
                    raise HostRefused(_hop(exc.os_error.message, previous)) from None
                if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError)):
                    raise FetchFailed(
                        f"{shown(url)}: the server's certificate is not trusted ({type(exc).__name__});"
                        " a private CA goes in spec.caSecretRef"
                    ) from None
                raise FetchFailed(f"{shown(url)}: cannot connect: {exc.os_error}", retryable=True) from None
            except aiohttp.ClientSSLError as exc:
                raise FetchFailed(f"{shown(url)}: TLS failed ({type(exc).__name__})") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise FetchFailed(f"{shown(url)}: {type(exc).__name__}", retryable=True) from None
        raise FetchFailed(f"{shown(url)}: more than {MAX_REDIRECTS} redirects")

    def _status_error(self, url: str, status: int, sent: bool, code: str | None) -> ArtifactError:
        said = f"HTTP {status}" + (f" {code}" if code else "")
        if status in (401, 403):
            return authentication_failed(url, said, self.secret if self.authorize is not None else None, sent)
        if status in (404, 410):
            return ArtifactNotFound(f"{shown(url)}: {said}, no such file")
        return FetchFailed(f"{shown(url)}: {said}", retryable=status == 429 or status >= 500)

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
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise FetchFailed(f"{shown(url)}: {type(exc).__name__} while reading", retryable=True) from None


def _hop(message: str, previous: str | None) -> str:
    return f"{message} (a redirect from {shown(previous)})" if previous else message
