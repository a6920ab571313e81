"""A small blocking HTTP client for any kubeconfig (token or client certificates), for side-by-side tests."""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import tempfile
import urllib.parse
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    body: Any
    headers: dict[str, str]
    raw: bytes

    @property
    def reason(self) -> str | None:
        """The Status `reason` (for failures)."""
        return self.body.get("reason") if isinstance(self.body, dict) else None


class KubeClient:
    """Raw requests to the API server a kubeconfig points at."""

    def __init__(self, kubeconfig: str | os.PathLike[str], user_agent: str = "conformance-test/1.0") -> None:
        with open(kubeconfig) as file:
            config = yaml.safe_load(file)
        context_name = config.get("current-context")
        context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next((u["user"] for u in config.get("users", []) if u["name"] == context.get("user")), {})
        self.url = urllib.parse.urlsplit(cluster["server"])
        self.user_agent = user_agent
        self.headers: dict[str, str] = {}
        if user.get("token"):
            self.headers["Authorization"] = f"Bearer {user['token']}"
        self.ssl: ssl.SSLContext | None = None
        if self.url.scheme == "https":
            self.ssl = ssl.create_default_context()
            ca = _materialise(cluster, "certificate-authority")
            if ca:
                self.ssl.load_verify_locations(ca)
            if cluster.get("insecure-skip-tls-verify"):
                self.ssl.check_hostname = False
                self.ssl.verify_mode = ssl.CERT_NONE
            cert, key = _materialise(user, "client-certificate"), _materialise(user, "client-key")
            if cert and key:
                self.ssl.load_cert_chain(cert, key)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        host, port = self.url.hostname or "127.0.0.1", self.url.port
        if self.ssl is not None:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self.ssl)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """Send one request; JSON bodies are encoded, strings and bytes sent as they are."""
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json", **self.headers, **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = content_type
        connection = self._connection(timeout)
        try:
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            try:
                decoded: Any = json.loads(raw) if raw else None
            except ValueError:
                decoded = raw.decode(errors="replace")
            return Reply(response.status, decoded, dict(response.getheaders()), raw)
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        """GET."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Reply:
        """POST."""
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Reply:
        """PUT."""
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, patch_type: str = "merge", **kwargs: Any) -> Reply:
        """PATCH with `merge`, `json`, `strategic` or `apply`."""
        types = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "apply": "application/apply-patch+yaml",
        }
        return self.request("PATCH", path, body, content_type=types[patch_type], **kwargs)

    def delete(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        """DELETE."""
        return self.request("DELETE", path, body, **kwargs)

    def watch(self, path: str, *, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Read `count` events of a watch stream (or fewer if it ends first)."""
        connection = self._connection(timeout)
        events: list[dict[str, Any]] = []
        try:
            connection.request("GET", path, headers={"User-Agent": self.user_agent, **self.headers})
            response = connection.getresponse()
            buffer = b""
            while len(events) < count:
                chunk = response.read1(65536) if hasattr(response, "read1") else response.read(1)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer and len(events) < count:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        events.append(json.loads(line))
        finally:
            connection.close()
        return events


def _materialise(section: dict[str, Any], key: str) -> str | None:
    if section.get(key):
        return str(section[key])
    data = section.get(f"{key}-data")
    if not data:
        return None
    with tempfile.NamedTemporaryFile(delete=False, suffix=".pem") as handle:
        handle.write(base64.b64decode(data))
    return handle.name
