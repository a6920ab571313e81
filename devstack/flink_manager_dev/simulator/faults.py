"""Injected faults of the simulated cluster: which request fails, how, and how slowly everything answers.

Decisions draw from one seeded generator, so a run with the same seed and the same requests injects the
same faults. Connection refusal and cluster restarts are actions of the server (server.py), configured here.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Respond = Literal["error", "drop", "hang"]

# Short names (and the client's call names) for the REST endpoints, as `METHOD /path/:param` keys.
ENDPOINTS: dict[str, str] = {
    "config": "GET /config",
    "jobmanager-config": "GET /jobmanager/config",
    "jobmanager_config": "GET /jobmanager/config",
    "overview": "GET /overview",
    "upload": "POST /jars/upload",
    "upload_jar": "POST /jars/upload",
    "jars": "GET /jars",
    "list_jars": "GET /jars",
    "run": "POST /jars/:jarid/run",
    "run_jar": "POST /jars/:jarid/run",
    "delete-jar": "DELETE /jars/:jarid",
    "delete_jar": "DELETE /jars/:jarid",
    "jobs-overview": "GET /jobs/overview",
    "jobs_overview": "GET /jobs/overview",
    "job": "GET /jobs/:jobid",
    "cancel": "PATCH /jobs/:jobid",
    "cancel_job": "PATCH /jobs/:jobid",
    "stop": "POST /jobs/:jobid/stop",
    "stop_with_savepoint": "POST /jobs/:jobid/stop",
    "savepoint": "POST /jobs/:jobid/savepoints",
    "trigger_savepoint": "POST /jobs/:jobid/savepoints",
    "savepoint-status": "GET /jobs/:jobid/savepoints/:triggerid",
    "savepoint_status": "GET /jobs/:jobid/savepoints/:triggerid",
    "checkpoints": "GET /jobs/:jobid/checkpoints",
    "exceptions": "GET /jobs/:jobid/exceptions",
    "dispose": "POST /savepoint-disposal",
    "dispose_savepoint": "POST /savepoint-disposal",
    "disposal-status": "GET /savepoint-disposal/:triggerid",
    "savepoint_disposal_status": "GET /savepoint-disposal/:triggerid",
}


class FaultConfigError(ValueError):
    """A fault setting the simulator cannot apply (unknown endpoint, rate outside 0..1, …)."""


def endpoint_key(name: str) -> str:
    """`run`, `run_jar` or `POST /jars/:jarid/run` → `POST /jars/:jarid/run`."""
    if name in ENDPOINTS:
        return ENDPOINTS[name]
    if name in ENDPOINTS.values():
        return name
    raise FaultConfigError(
        f"unknown endpoint {name!r}; use one of {sorted(set(ENDPOINTS.values()))} or {sorted(ENDPOINTS)}"
    )


@dataclass
class EndpointFault:
    """Fail the next `times` calls of one endpoint (-1: every call).

    `apply` runs the request first (the job starts, the savepoint is triggered); `respond` is what the client
    then gets: `error` (HTTP `status`), `drop` (the connection closes without an answer) or `hang` (the answer
    comes only after `delay` seconds, past any sane client timeout).
    """

    times: int = 1
    status: int = 500
    apply: bool = False
    respond: Respond = "error"
    delay: float = 30.0

    def __post_init__(self) -> None:
        if self.respond not in ("error", "drop", "hang"):
            raise FaultConfigError(f"respond must be error, drop or hang, not {self.respond!r}")
        if not (self.times == -1 or self.times >= 0):
            raise FaultConfigError("times must be -1 (always) or at least 0")


@dataclass
class Faults:
    """The faults in force: a random error rate and added latency for all REST calls, and per-endpoint failures."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    latency: float = 0.0
    jitter: float = 0.0
    endpoints: dict[str, EndpointFault] = field(default_factory=dict)

    def set(
        self,
        *,
        error_rate: float | None = None,
        error_statuses: tuple[int, ...] | list[int] | None = None,
        latency: float | None = None,
        jitter: float | None = None,
        endpoints: dict[str, EndpointFault | dict[str, Any]] | None = None,
    ) -> None:
        """Change the given settings, keep the others."""
        if error_rate is not None:
            if not 0.0 <= error_rate <= 1.0:
                raise FaultConfigError(f"error_rate must be within 0..1, not {error_rate}")
            self.error_rate = float(error_rate)
        if error_statuses is not None:
            self.error_statuses = tuple(int(status) for status in error_statuses) or (500,)
        if latency is not None:
            self.latency = max(0.0, float(latency))
        if jitter is not None:
            self.jitter = max(0.0, float(jitter))
        for name, fault in (endpoints or {}).items():
            self.endpoints[endpoint_key(name)] = fault if isinstance(fault, EndpointFault) else EndpointFault(**fault)

    def clear(self) -> None:
        """No faults at all."""
        self.__init__()  # type: ignore[misc]

    def delay(self, rng: random.Random) -> float:
        """Seconds to hold the next answer back."""
        return self.latency + (rng.uniform(0.0, self.jitter) if self.jitter else 0.0)

    def take(self, endpoint: str, rng: random.Random) -> EndpointFault | None:
        """The fault for this call, if any: a scripted endpoint failure first, else the random error rate."""
        fault = self.endpoints.get(endpoint)
        if fault is not None and fault.times != 0:
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    del self.endpoints[endpoint]
            return EndpointFault(
                times=1, status=fault.status, apply=fault.apply, respond=fault.respond, delay=fault.delay
            )
        if self.error_rate and rng.random() < self.error_rate:
            return EndpointFault(times=1, status=rng.choice(self.error_statuses))
        return None

    def to_json(self) -> dict[str, Any]:
        """The settings as the admin API shows them."""
        return {
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "latency": self.latency,
            "jitter": self.jitter,
            "endpoints": {name: asdict(fault) for name, fault in self.endpoints.items()},
        }
