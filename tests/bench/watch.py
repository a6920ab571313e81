"""What a user sees: Executions as the Kubernetes API reports them, watched from the benchmark process, with the
moment each Execution was first seen in each phase."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

from flink_manager.kube.client import EXECUTIONS


class PhaseWatch:
    """Watches Executions in one namespace and records, per name, when each phase was first seen (wall clock)."""

    def __init__(self, server: str, namespace: str = "default") -> None:
        self.server = server.rstrip("/")
        self.namespace = namespace
        self.first_seen: dict[str, dict[str, float]] = {}
        self.attempts: dict[str, dict[tuple[str, int], float]] = {}  # name → (phase, status.attempt) → first seen
        self.restored: dict[tuple[str, int], str | None] = {}  # (name, attempt) → status.restoredFrom
        self.events = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=None))
        path = EXECUTIONS.path(self.namespace)
        async with self._session.get(self.server + path) as response:
            listing = await response.json()
        for item in listing.get("items") or []:
            self._record(item, time.time())
        rv = listing["metadata"]["resourceVersion"]
        response = await self._session.get(f"{self.server}{path}?watch=true&resourceVersion={rv}")
        self._task = asyncio.create_task(self._read(response))

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        async for line in response.content:
            now = time.time()
            if not line.strip():
                continue
            event = json.loads(line)
            if event.get("type") in ("ADDED", "MODIFIED"):
                self.events += 1
                self._record(event["object"], now)
                self._changed.set()

    def _record(self, body: dict[str, Any], now: float) -> None:
        status = body.get("status") or {}
        phase, name, attempt = (
            status.get("phase") or "Pending",
            body["metadata"]["name"],
            int(status.get("attempt") or 0),
        )
        self.first_seen.setdefault(name, {}).setdefault(phase, now)
        self.attempts.setdefault(name, {}).setdefault((phase, attempt), now)
        self.restored[(name, attempt)] = status.get("restoredFrom")

    def names_in(self, phase: str, names: set[str] | None = None) -> set[str]:
        return {
            name for name, phases in self.first_seen.items() if phase in phases and (names is None or name in names)
        }

    async def wait_all(self, phase: str, names: set[str], timeout: float) -> float:
        """Wait until every name has been seen in `phase`; returns the wall-clock time the last one was."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.names_in(phase, names)
            if len(seen) == len(names):
                return max(self.first_seen[name][phase] for name in names)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(names) - len(seen)} of {len(names)} Executions never reached {phase} within {timeout:.0f} s"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

    def seen_after(self, phase: str, attempts: dict[str, int]) -> dict[str, float]:
        """The names seen in `phase` with an attempt beyond the one given for each, and when first."""
        seen = {}
        for name, beyond in attempts.items():
            times = [t for (p, attempt), t in self.attempts.get(name, {}).items() if p == phase and attempt > beyond]
            if times:
                seen[name] = min(times)
        return seen

    async def wait_attempts(self, phase: str, attempts: dict[str, int], timeout: float) -> float:
        """Wait until every name has been seen in `phase` with a later attempt than given; returns when the last was."""
        deadline = time.monotonic() + timeout
        while len(seen := self.seen_after(phase, attempts)) < len(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(attempts) - len(seen)} of {len(attempts)} Executions never reached {phase} "
                    f"with a new attempt within {timeout:.0f} s"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
        return max(seen.values())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._session is not None:
            await self._session.close()
