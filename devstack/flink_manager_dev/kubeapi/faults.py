"""Fault injection and request counters for reliability tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class RequestInfo:
    """What a fault rule matches on."""

    verb: str
    resource: str  # plural
    group: str
    subresource: str | None
    namespace: str | None
    name: str | None

    @property
    def qualified(self) -> str:
        """`plural.group`, or `plural` for the core group."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass
class FaultRule:
    """Fail (or slow down) requests matching (verb, resource, subresource, namespace, name)."""

    status: int | None = None  # None: latency only
    times: int | None = 1  # how many more requests fail; None: until removed
    verb: str | None = None
    resource: str | None = None  # plural or plural.group
    subresource: str | None = None  # "" matches only the main resource
    namespace: str | None = None
    name: str | None = None
    latency: float = 0.0
    message: str | None = None

    def matches(self, info: RequestInfo) -> bool:
        """Whether the rule applies to a request."""
        if self.verb is not None and self.verb != info.verb:
            return False
        if self.resource is not None and self.resource not in (info.resource, info.qualified):
            return False
        if self.subresource is not None and (self.subresource or None) != info.subresource:
            return False
        if self.namespace is not None and self.namespace != info.namespace:
            return False
        if self.name is not None and self.name != info.name:
            return False
        return self.times is None or self.times > 0


@dataclass
class Faults:
    """The active fault rules; the first matching failing rule fails the request, latencies add up."""

    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        verb: str | None = None,
        resource: str | None = None,
        subresource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        message: str | None = None,
    ) -> FaultRule:
        """Fail the next `times` matching requests with `status` (500, 409, 429, 503…)."""
        rule = FaultRule(
            status=status,
            times=times,
            verb=verb,
            resource=resource,
            subresource=subresource,
            namespace=namespace,
            name=name,
            message=message,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def delay(
        self,
        seconds: float,
        *,
        times: int | None = None,
        verb: str | None = None,
        resource: str | None = None,
        subresource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
    ) -> FaultRule:
        """Add latency to matching requests (until removed, or for `times` requests)."""
        rule = FaultRule(
            status=None,
            times=times,
            verb=verb,
            resource=resource,
            subresource=subresource,
            namespace=namespace,
            name=name,
            latency=seconds,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Deactivate one rule."""
        with self._lock:
            if rule in self.rules:
                self.rules.remove(rule)

    def clear(self) -> None:
        """Deactivate every rule."""
        with self._lock:
            self.rules.clear()

    def decide(self, info: RequestInfo) -> tuple[float, FaultRule | None]:
        """(latency to add, the failing rule if any) for a request; consumes the rules' counts."""
        latency = 0.0
        failing: FaultRule | None = None
        with self._lock:
            for rule in list(self.rules):
                if not rule.matches(info):
                    continue
                if rule.status is None:
                    latency += rule.latency
                elif failing is None:
                    failing = rule
                else:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
        return latency, failing

    def add_from_dict(self, spec: dict[str, Any]) -> FaultRule:
        """A rule from the admin endpoint's JSON (`{"status": 503, "times": 2, "verb": "patch", …}`)."""
        if "latency" in spec and not spec.get("status"):
            return self.delay(
                float(spec["latency"]),
                times=spec.get("times"),
                verb=spec.get("verb"),
                resource=spec.get("resource"),
                subresource=spec.get("subresource"),
                namespace=spec.get("namespace"),
                name=spec.get("name"),
            )
        return self.fail(
            int(spec.get("status", 500)),
            times=spec.get("times", 1),
            verb=spec.get("verb"),
            resource=spec.get("resource"),
            subresource=spec.get("subresource"),
            namespace=spec.get("namespace"),
            name=spec.get("name"),
            message=spec.get("message"),
        )


@dataclass
class Counters:
    """Requests by (verb, resource) and committed writes, for assertions and benchmarks."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_requests: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, info: RequestInfo) -> None:
        """Count one request."""
        key = (info.verb, info.qualified + (f"/{info.subresource}" if info.subresource else ""))
        self.requests[key] += 1
        if info.verb in WRITE_VERBS:
            self.write_requests[key] += 1

    @property
    def writes(self) -> int:
        """Write requests (create/update/patch/delete) received so far."""
        return sum(self.write_requests.values())

    def reset(self) -> None:
        """Start counting from zero."""
        self.requests.clear()
        self.write_requests.clear()

    def snapshot(self) -> dict[str, Any]:
        """Counts as plain JSON."""
        return {
            "requests": {f"{v} {r}": n for (v, r), n in sorted(self.requests.items())},
            "writes": {f"{v} {r}": n for (v, r), n in sorted(self.write_requests.items())},
            "totalRequests": sum(self.requests.values()),
            "totalWrites": self.writes,
        }
