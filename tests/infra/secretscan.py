"""A scan for Secret values in everything the operator produced: its logs, the status, Events and history entries it
wrote, its metrics page.

The values come from the cluster (every Secret in the namespaces the tests used, read as the admin before those
namespaces go), not from a list, so Secrets that new tests create (credentials of Artifacts, CA bundles, …) are
covered without changing the scan. Each value is looked for as it is, as a log line would escape it (newlines as
`\\n`), base64-encoded, and line by line for multi-line values (a PEM block); a `username`/`password` pair also as the
`Authorization: Basic` header it makes.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

RESOURCES = ("flinkclusters,artifacts,jobspecs,executions", "events")
MIN_LENGTH = 8  # shorter values (a user name such as "admin") would match ordinary words: counted, not searched


@dataclasses.dataclass(frozen=True)
class Leak:
    secret: str  # namespace/name:key
    form: str  # how the value appeared (as is, base64, …)
    source: str  # where it appeared

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) found in {self.source}"


class SecretScan:
    """Collects Secret values and texts during a test session; `leaks()` says which values appear in which text."""

    def __init__(self) -> None:
        self.values: dict[str, list[tuple[str, str]]] = {}  # needle -> [(secret key, form)]
        self.secrets: set[str] = set()
        self.too_short: set[str] = set()
        self.texts: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    # -- what to look for

    def add_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        """One Secret as the API returns it (`data`: base64 values)."""
        decoded = {}
        for key, encoded in (data or {}).items():
            try:
                decoded[key] = base64.b64decode(encoded).decode()
            except (ValueError, UnicodeDecodeError):
                continue  # binary data: not something a log line or a status would carry as text
        with self._lock:
            for key, value in decoded.items():
                label = f"{namespace}/{name}:{key}"
                self.secrets.add(label)
                if len(value.strip()) < MIN_LENGTH:
                    self.too_short.add(label)
                    continue
                for form, needle in _forms(value):
                    self.values.setdefault(needle, []).append((label, form))
            if "username" in decoded and "password" in decoded:
                header = base64.b64encode(f"{decoded['username']}:{decoded['password']}".encode()).decode()
                self.values.setdefault(header, []).append(
                    (f"{namespace}/{name}:username+password", "basic auth header")
                )

    def add_secrets_from(self, secret_list: dict[str, Any]) -> int:
        """`kubectl get secrets -A -o json`; returns how many Secrets it held."""
        items = secret_list.get("items") or []
        for item in items:
            metadata = item.get("metadata") or {}
            self.add_secret(metadata.get("namespace", ""), metadata.get("name", ""), item.get("data") or {})
        return len(items)

    def collect_namespace(self, namespace: str, get: Callable[[str], dict[str, Any]]) -> None:
        """Before a test namespace goes: its Secrets, and everything the operator wrote in it (the status and history
        of the four kinds, and the Events). `get(kinds)` is `kubectl get KINDS -o json` in that namespace."""
        self.add_secrets_from(get("secrets"))
        for kinds in RESOURCES:
            self.add_objects(f"{namespace} {kinds}", get(kinds).get("items") or [])

    # -- where to look

    def add_text(self, source: str, text: str) -> None:
        with self._lock:
            self.texts.append((source, text))

    def add_objects(self, source: str, objects: Iterable[dict[str, Any]]) -> None:
        """Resources (their status and history) and Events, as JSON text."""
        self.add_text(source, json.dumps(list(objects), sort_keys=True))

    # -- the verdict

    def leaks(self) -> list[Leak]:
        found: list[Leak] = []
        with self._lock:
            for needle, owners in self.values.items():
                for source, text in self.texts:
                    if needle in text:
                        found.extend(Leak(secret, form, source) for secret, form in owners)
        return sorted(set(found), key=str)

    def summary(self) -> str:
        return (
            f"{len(self.secrets)} Secret values ({len(self.too_short)} shorter than {MIN_LENGTH} characters, not "
            f"searched), {len(self.values)} forms, searched in {len(self.texts)} texts "
            f"({sum(len(t) for _, t in self.texts) // 1024} KiB)"
        )


def _forms(value: str) -> Iterable[tuple[str, str]]:
    yield "as is", value
    if "\n" in value:
        yield "escaped", value.replace("\n", "\\n")
        for line in value.splitlines():
            if len(line.strip()) >= 32:  # a line of a PEM body
                yield "one line of it", line.strip()
    yield "base64", base64.b64encode(value.encode()).decode()
