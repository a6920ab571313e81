"""pytest plugin: simulated Flink 2.3 session clusters (`flink-manager simulate`, in-process).

`simulator` is a started SimulatedFlink with fast timings; `simulator_factory` starts more with any
settings (slots, timings, seed, savepoint directory). All are stopped when the test ends.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from flink_manager_dev.simulator import SimulatedFlink, Timings

SimulatorFactory = Callable[..., Awaitable[SimulatedFlink]]


def _seed(request: pytest.FixtureRequest) -> int:
    """A seed per test: ids and injected faults are the same in every run of that test."""
    return zlib.crc32(request.node.nodeid.encode())


@pytest.fixture
async def simulator_factory(request: pytest.FixtureRequest) -> AsyncIterator[SimulatorFactory]:
    """Start simulated clusters: `await simulator_factory(slots=2, timings=Timings.fast(savepoint=1))`."""
    started: list[SimulatedFlink] = []

    async def start(**settings: Any) -> SimulatedFlink:
        settings.setdefault("seed", _seed(request) + len(started))
        settings.setdefault("timings", Timings.fast())
        simulator = SimulatedFlink(**settings)
        await simulator.start("127.0.0.1", 0)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        await simulator.stop()


@pytest.fixture
async def simulator(simulator_factory: SimulatorFactory) -> SimulatedFlink:
    """A started simulated Flink 2.3 session cluster (4 slots, fast timings, seeded per test); `.url` is its REST URL."""
    return await simulator_factory()
