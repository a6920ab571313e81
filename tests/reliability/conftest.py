"""The reliability tier: the whole operator (kopf, queue, cache, clients) killed, faulted and fuzzed in-process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.reliability.harness import Env, install_interceptors, uninstall_interceptors, watch_errors
from tests.reliability.summary import SUMMARY, trials

EnvFactory = Callable[..., Awaitable[Env]]


@pytest.fixture(scope="session", autouse=True)
def interceptors() -> Iterator[None]:
    """The kill points and call counters on the operator's I/O, and the log watch for unhandled errors."""
    install_interceptors()
    with watch_errors():
        yield
    uninstall_interceptors()


@pytest.fixture
async def make_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EnvFactory]:
    """Start environments (embedded API + simulated Flink); all are closed when the test ends."""
    envs: list[Env] = []

    async def make(**options: object) -> Env:
        env = await Env.create(tmp_path_factory.mktemp("env"), **options)  # type: ignore[arg-type]
        envs.append(env)
        return env

    yield make
    for env in envs:
        await env.close()


@pytest.fixture
async def env(make_env: EnvFactory) -> Env:
    """One environment with one operator replica running."""
    environment = await make_env()
    await environment.start_replica()
    return environment


def pytest_sessionstart(session: pytest.Session) -> None:
    SUMMARY.set("trials", trials())
    session.config.stash[_STARTED] = time.monotonic()


_STARTED = pytest.StashKey[float]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    started = config.stash.get(_STARTED, None)
    if started is not None:
        SUMMARY.set("tier_seconds", round(time.monotonic() - started, 1))
    text = SUMMARY.write()
    terminalreporter.write_sep("=", "reliability-summary.json")
    terminalreporter.write_line(text)
