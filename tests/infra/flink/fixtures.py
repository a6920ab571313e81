"""pytest plugin: `real_flink`, one real Flink 2.3 session cluster shared by the whole test session."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.infra.flink.cluster import FLINK_VERSION, FlinkNotInstalled, RealFlinkCluster
from tests.infra.processes import say

_REAL_FLINK_TEST_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember that a test using `real_flink` failed (so its logs are kept) and point its report at them."""
    report = yield
    if report.failed and "real_flink" in getattr(item, "fixturenames", ()):
        item.session.stash[_REAL_FLINK_TEST_FAILED] = True
        cluster = getattr(item, "funcargs", {}).get("real_flink")
        if isinstance(cluster, RealFlinkCluster):
            report.sections.append(("real Flink", f"logs: {cluster.log_dir}\nREST: {cluster.rest_url}"))
    return report




@pytest.fixture(scope="session")
def real_flink(request: pytest.FixtureRequest) -> Iterator[RealFlinkCluster]:
    """A started RealFlinkCluster (JobManager + one TaskManager with 4 slots) for the session.

    Fails, never skips, when Flink is not installed. Logs are kept under test-logs/ if any test using it failed.
    """
    try:
        cluster = RealFlinkCluster()
    except FlinkNotInstalled as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    cluster.start()
    say(
        request.config,
        f"\nreal Flink {FLINK_VERSION} started in {cluster.startup_seconds:.1f}s at {cluster.rest_url} (logs: {cluster.log_dir})",
    )
    yield cluster
    keep_logs = request.session.stash.get(_REAL_FLINK_TEST_FAILED, False) or not cluster.is_running()
    cluster.stop(keep_logs=keep_logs)
    if keep_logs:
        say(request.config, f"real Flink logs kept in {cluster.log_dir}")
