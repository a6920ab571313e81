"""A keyed work queue: level-triggered reconciles, as controller-runtime runs them.

A key is queued at most once however many events arrive for it; a key is never processed by two
workers at once (an event during processing queues it again for afterwards); a reconcile may ask to
run again after a delay, or to retry with exponential backoff.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What a reconcile asks of the queue afterwards."""

    requeue_after: float | None = None
    retry: bool = False


Reconciler = Callable[[Hashable], Awaitable[Outcome]]


class WorkQueue:
    """Run `reconcile(key)` for queued keys on a fixed number of worker tasks."""

    def __init__(
        self,
        reconcile: Reconciler,
        *,
        workers: int = 16,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reconcile = reconcile
        self._workers = workers
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._clock = clock
        self._ready: asyncio.Queue[Hashable] = asyncio.Queue()
        self._queued: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._dirty: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._delayed_at: dict[Hashable, float] = {}
        self._failures: dict[Hashable, int] = {}
        self._counter = 0
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.paused = False
        self.processed = 0

    def add(self, key: Hashable) -> None:
        """Queue a key now (a no-op if it is already queued; deferred if it is being processed)."""
        if key in self._processing:
            self._dirty.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._ready.put_nowait(key)

    def add_after(self, key: Hashable, delay: float) -> None:
        """Queue a key after `delay` seconds (the earliest of several requests wins)."""
        if delay <= 0:
            self.add(key)
            return
        due = self._clock() + delay
        if self._delayed_at.get(key, float("inf")) <= due:
            return
        self._delayed_at[key] = due
        self._counter += 1
        heapq.heappush(self._delayed, (due, self._counter, key))
        self._wakeup.set()

    def forget(self, key: Hashable) -> None:
        """Drop the backoff state of a key (e.g. its object is gone)."""
        self._failures.pop(key, None)
        self._delayed_at.pop(key, None)

    def __len__(self) -> int:
        return len(self._queued) + len(self._delayed_at)

    async def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._worker(), name=f"reconcile-worker-{i}") for i in range(self._workers)]
        self._tasks.append(asyncio.create_task(self._timer(), name="reconcile-timer"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _timer(self) -> None:
        while True:
            now = self._clock()
            while self._delayed and self._delayed[0][0] <= now:
                due, _, key = heapq.heappop(self._delayed)
                if self._delayed_at.get(key) == due:
                    del self._delayed_at[key]
                    self.add(key)
            timeout = self._delayed[0][0] - now if self._delayed else None
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                pass

    async def _worker(self) -> None:
        while True:
            key = await self._ready.get()
            self._queued.discard(key)
            if self.paused:
                continue
            self._processing.add(key)
            try:
                outcome = await self._reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception:  # one object's bug must not stop the others
                fields = ("kind", "namespace", "name")
                extra = {"k8s_ref": dict(zip(fields, key, strict=False))} if isinstance(key, tuple) else {}
                logger.exception("reconcile of %s failed", key, extra=extra)
                outcome = Outcome(retry=True)
            finally:
                self._processing.discard(key)
                self.processed += 1
            self._after(key, outcome)

    def _after(self, key: Hashable, outcome: Outcome) -> None:
        if outcome.retry:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay = min(self._backoff_max, self._backoff_base * 2 ** (failures - 1))
            if outcome.requeue_after is not None:
                delay = min(delay, outcome.requeue_after) if failures == 1 else delay
            self.add_after(key, delay)
        else:
            self._failures.pop(key, None)
            if outcome.requeue_after is not None:
                self.add_after(key, outcome.requeue_after)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)
