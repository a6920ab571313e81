"""The harness's kill: a killed replica's event loop ends, whatever kopf starts while it is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from kopf._cogs.aiokits import aiotasks

from tests.reliability.harness import reap


async def _watcher_like_kopf() -> None:
    """kopf's watcher: on cancellation it closes its scheduler in a new task and waits until that is done."""
    scheduler = aiotasks.Scheduler()
    try:
        await scheduler.spawn(asyncio.sleep(3600), name="worker")
        await asyncio.sleep(3600)
    finally:
        closing = asyncio.create_task(scheduler.close())
        while not closing.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(closing)


def test_a_killed_loop_ends_though_a_cancelled_task_starts_one_that_waits_on_cancelled_ones() -> None:
    leftover: list[list[str]] = []

    async def operator() -> None:
        asyncio.create_task(_watcher_like_kopf())  # noqa: RUF006 - left behind on purpose, as kopf's watcher is
        await asyncio.sleep(0.05)
        raise asyncio.CancelledError  # the kill

    def replica() -> None:
        loop = asyncio.new_event_loop()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(operator())
            leftover.append(reap(loop))
        finally:
            loop.close()

    thread = threading.Thread(target=replica, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the killed replica's loop did not end"
    assert leftover == [[]]
