"""A small async Kubernetes API client: the only code that writes to the Kubernetes API besides kopf itself.

It uses the credentials kopf logged in with (`kopf.ConnectionInfo`), so there is one login for both.
Writes carry `metadata.resourceVersion`, so a write based on a stale read fails with `KubeConflict`
instead of overwriting someone else's change.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from flink_manager import GROUP, VERSION

FIELD_MANAGER = "flink-manager"


@dataclass(frozen=True)
class Resource:
    """A Kubernetes resource type: group (empty for core), version, plural."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
            if subresource is not None:
                base += f"/{subresource}"
        return base

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


FLINK_CLUSTERS = Resource(GROUP, VERSION, "flinkclusters")
ARTIFACTS = Resource(GROUP, VERSION, "artifacts")
JOB_SPECS = Resource(GROUP, VERSION, "jobspecs")
EXECUTIONS = Resource(GROUP, VERSION, "executions")
EVENTS = Resource("", "v1", "events")
SECRETS = Resource("", "v1", "secrets")


class KubeError(Exception):
    """An error answer of the Kubernetes API (or no answer at all)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class KubeNotFound(KubeError):
    """404: the object (or the resource type) does not exist."""


class KubeForbidden(KubeError):
    """401/403: the identity may not do this (RBAC), or an API server that has just started refuses everyone until
    its authorizer has read the roles: retry later, and say so."""


class KubeConflict(KubeError):
    """409: a stale resourceVersion, or the object already exists."""


class KubeInvalid(KubeError):
    """422: the API server's validation rejected the write."""


class KubeUnavailable(KubeError):
    """No answer, a timeout, 429 or 5xx: retry later."""


@dataclass(frozen=True)
class Credentials:
    """How to reach and authenticate to the API server (mirrors kopf.ConnectionInfo)."""

    server: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    ca_path: str | None = None
    ca_data: bytes | None = None
    certificate_path: str | None = None
    certificate_data: bytes | None = None
    private_key_path: str | None = None
    private_key_data: bytes | None = None
    insecure: bool = False
    default_namespace: str | None = None

    @classmethod
    def from_kopf(cls, info: Any) -> Credentials:
        """Adopt kopf's `ConnectionInfo` from its login handlers."""
        return cls(
            server=info.server,
            token=info.token,
            username=info.username,
            password=info.password,
            ca_path=info.ca_path,
            ca_data=pem(info.ca_data),
            certificate_path=info.certificate_path,
            certificate_data=pem(info.certificate_data),
            private_key_path=info.private_key_path,
            private_key_data=pem(info.private_key_data),
            insecure=bool(info.insecure),
            default_namespace=info.default_namespace,
        )

    def to_kopf(self) -> Any:
        """The same credentials as kopf's `ConnectionInfo` (PEM data, which kopf accepts as is)."""
        import kopf  # only where kopf is wanted: the CLI's commands other than `run` do without it

        return kopf.ConnectionInfo(
            server=self.server,
            ca_path=self.ca_path,
            ca_data=self.ca_data,
            insecure=self.insecure,
            username=self.username,
            password=self.password,
            token=self.token,
            scheme="Bearer" if self.token else None,
            certificate_path=self.certificate_path,
            certificate_data=self.certificate_data,
            private_key_path=self.private_key_path,
            private_key_data=self.private_key_data,
            default_namespace=self.default_namespace,
        )


def pem(data: str | bytes | None) -> bytes | None:
    """PEM bytes from PEM text or bytes, or from the base64 of a kubeconfig's `*-data` fields (kopf passes those on
    as they are); ValueError when it is neither."""
    if not data:
        return None
    raw = data.encode() if isinstance(data, str) else data
    if raw.lstrip().startswith(b"-----BEGIN"):
        return raw
    return base64.b64decode(raw)


def _ssl_context(credentials: Credentials) -> ssl.SSLContext | bool:
    if not credentials.server.startswith("https"):
        return False
    if credentials.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        cadata = credentials.ca_data.decode() if credentials.ca_data else None
        context = ssl.create_default_context(cafile=credentials.ca_path, cadata=cadata)
    if credentials.certificate_path or credentials.certificate_data:
        cert_path, key_path = credentials.certificate_path, credentials.private_key_path
        # ssl can only load client certificates from files.
        if credentials.certificate_data:
            cert_path = _temp_file(credentials.certificate_data)
        if credentials.private_key_data:
            key_path = _temp_file(credentials.private_key_data)
        assert cert_path is not None
        context.load_cert_chain(cert_path, key_path)
    return context


def _temp_file(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(delete=False, prefix="flink-manager-", suffix=".pem") as handle:
        handle.write(data)
        return handle.name


class KubeClient:
    """Typed access to the handful of Kubernetes calls the operator makes."""

    def __init__(
        self,
        credentials: Credentials | Callable[[], Credentials],
        *,
        timeout: float = 30.0,
        observer: Callable[[str, str], None] | None = None,
        field_manager: str = FIELD_MANAGER,
    ) -> None:
        self._credentials = credentials
        self.field_manager = field_manager
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._session_for: Credentials | None = None
        self._observer = observer  # (verb, resource plural) of every write, for metrics and benchmarks
        self._lock = asyncio.Lock()

    @property
    def credentials(self) -> Credentials:
        return self._credentials() if callable(self._credentials) else self._credentials

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get_session(self) -> tuple[aiohttp.ClientSession, Credentials]:
        credentials = self.credentials
        async with self._lock:
            if self._session is None or self._session_for != credentials:
                if self._session is not None:
                    await self._session.close()
                headers = {"User-Agent": f"{FIELD_MANAGER}/0.1"}
                if credentials.token:
                    headers["Authorization"] = f"Bearer {credentials.token}"
                elif credentials.username and credentials.password:
                    basic = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
                    headers["Authorization"] = f"Basic {basic}"
                connector = aiohttp.TCPConnector(ssl=_ssl_context(credentials), limit=64)
                self._session = aiohttp.ClientSession(
                    base_url=credentials.server.rstrip("/"),
                    headers=headers,
                    connector=connector,
                    timeout=self._timeout,
                )
                self._session_for = credentials
            return self._session, credentials

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """The JSON object the API server answered (empty when it answered nothing)."""
        session, credentials = await self._get_session()
        url = credentials.server.rstrip("/") + path
        data = json.dumps(body) if body is not None else None
        try:
            async with session.request(
                method,
                url,
                params=params,
                data=data,
                headers={"Content-Type": content_type},
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise _error_of(response.status, text)
                answer: dict[str, Any] = json.loads(text) if text else {}
                return answer
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise KubeUnavailable(0, type(exc).__name__, str(exc) or type(exc).__name__) from exc

    def _observe(self, verb: str, resource: Resource) -> None:
        if self._observer is not None:
            self._observer(verb, resource.plural)

    async def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        """Read one object."""
        return await self._request("GET", resource.path(namespace, name))

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """List objects (cluster-wide when namespace is None)."""
        params = {"labelSelector": label_selector} if label_selector else None
        result = await self._request("GET", resource.path(namespace), params=params)
        return list(result.get("items") or [])

    async def create(self, resource: Resource, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Create an object."""
        self._observe("create", resource)
        return await self._request(
            "POST", resource.path(namespace), body=body, params={"fieldManager": self.field_manager}
        )

    async def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        patch: dict[str, Any],
        *,
        subresource: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """JSON merge-patch an object (or its status); with a resourceVersion, fail on a concurrent change."""
        if resource_version is not None:
            patch = {**patch, "metadata": {**patch.get("metadata", {}), "resourceVersion": resource_version}}
        self._observe("patch", resource)
        return await self._request(
            "PATCH",
            resource.path(namespace, name, subresource),
            body=patch,
            content_type="application/merge-patch+json",
            params={"fieldManager": self.field_manager},
        )

    async def delete(self, resource: Resource, namespace: str | None, name: str) -> None:
        """Delete an object (missing objects are fine)."""
        self._observe("delete", resource)
        try:
            await self._request("DELETE", resource.path(namespace, name))
        except KubeNotFound:
            pass


def _error_of(status: int, text: str) -> KubeError:
    try:
        payload = json.loads(text)
        reason = str(payload.get("reason") or status)
        message = str(payload.get("message") or text)
    except ValueError:
        reason, message = str(status), text[:500]
    if status == 404:
        return KubeNotFound(status, reason, message)
    if status in (401, 403):
        return KubeForbidden(status, reason, message)
    if status == 409:
        return KubeConflict(status, reason, message)
    if status == 422:
        return KubeInvalid(status, reason, message)
    if status == 429 or status >= 500:
        return KubeUnavailable(status, reason, message)
    return KubeError(status, reason, message)
