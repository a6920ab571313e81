"""Waiting on a condition with a deadline: the only way tests here synchronise with the system under test."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(AssertionError):
    """The condition did not hold before the deadline; carries the last value seen."""


async def wait_for(
    probe: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Call `probe` until it returns a truthy value (returned) or `timeout` seconds pass (raises).

    Exceptions raised by the probe count as "not yet" until the deadline, then are re-raised as the cause.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            last, last_exc = value, None
            if value:
                return value  # type: ignore[return-value]
        except AssertionError as exc:
            last_exc = exc
        except Exception as exc:  # noqa: BLE001 - reported below if the deadline passes
            last_exc = exc
        if time.monotonic() >= deadline:
            raise DeadlineExceeded(f"{what} did not hold within {timeout}s; last value: {last!r}") from last_exc
        await asyncio.sleep(interval)


def wait_for_sync(
    probe: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """The blocking twin of `wait_for`, for tests that drive subprocesses (kubectl, real Flink)."""
    deadline = time.monotonic() + timeout
    last: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            value = probe()
            last, last_exc = value, None
            if value:
                return value
        except Exception as exc:  # noqa: BLE001
            last_exc = exc
        if time.monotonic() >= deadline:
            raise DeadlineExceeded(f"{what} did not hold within {timeout}s; last value: {last!r}") from last_exc
        time.sleep(interval)
