"""pytest plugin: real Flink session clusters, one per version, shared by the whole test session.

`real_flink` is the newest version's cluster; `real_flink_clusters.get(version)` starts (once) and returns any
other. `--flink-version V` (repeatable) selects the versions of the matrix that version-parametrized tests run
(`flink_versions(config)`); by default all of tests/infra/flink/versions.py.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator

import pytest

from tests.infra.flink.cluster import FlinkNotInstalled, RealFlinkCluster
from tests.infra.flink.versions import DISTRIBUTIONS, NEWEST, distribution
from tests.infra.processes import say

_REAL_FLINK_TEST_FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--flink-version",
        action="append",
        default=[],
        metavar="VERSION",
        help="run the version-parametrized tests on this Flink version only (repeatable; default: all)",
    )


def flink_versions(config: pytest.Config) -> list[str]:
    """The versions chosen with --flink-version (each a version or release line), else every version."""
    chosen = config.getoption("--flink-version") or []
    try:
        return [distribution(version).version for version in chosen] or [row.version for row in DISTRIBUTIONS]
    except KeyError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember that a test using real Flink failed (so the logs are kept) and point its report at them."""
    report = yield
    names = getattr(item, "fixturenames", ())
    if report.failed and ("real_flink" in names or "real_flink_clusters" in names):
        item.session.stash[_REAL_FLINK_TEST_FAILED] = True
        for cluster in getattr(item, "funcargs", {}).values():
            if isinstance(cluster, RealFlinkCluster):
                report.sections.append(("real Flink", f"logs: {cluster.log_dir}\nREST: {cluster.rest_url}"))
    return report


class RealFlinkClusters:
    """Started real clusters by version; each starts on first use and stops when the session ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started: dict[str, RealFlinkCluster] = {}
        self._lock = threading.Lock()

    def get(self, version: str) -> RealFlinkCluster:
        """The started cluster of this version; fails (never skips) when the version is not installed."""
        version = distribution(version).version
        with self._lock:
            if version in self.started:
                return self.started[version]
            try:
                cluster = RealFlinkCluster(version=version)
            except FlinkNotInstalled as exc:
                pytest.fail(str(exc), pytrace=False)
            cluster.start()
            self.started[version] = cluster
        queued = (
            f" (after {cluster.queued_seconds:.1f}s waiting for a start slot)" if cluster.queued_seconds >= 1 else ""
        )
        say(
            self.config,
            f"\nreal Flink {version} started in {cluster.startup_seconds:.1f}s{queued} at {cluster.rest_url} "
            f"(logs: {cluster.log_dir})",
        )
        return cluster

    def stop(self, *, failed: bool) -> None:
        for cluster in self.started.values():
            keep_logs = failed or not cluster.is_running()
            cluster.stop(keep_logs=keep_logs)
            if keep_logs:
                say(self.config, f"real Flink {cluster.version} logs kept in {cluster.log_dir}")
        self.started.clear()


@pytest.fixture(scope="session")
def real_flink_clusters(request: pytest.FixtureRequest) -> Iterator[RealFlinkClusters]:
    """Real clusters of any version (JobManager + one TaskManager with 4 slots each), for the session.

    Logs are kept under test-logs/ if any test using real Flink failed.
    """
    clusters = RealFlinkClusters(request.config)
    yield clusters
    clusters.stop(failed=request.session.stash.get(_REAL_FLINK_TEST_FAILED, False))


@pytest.fixture(scope="session")
def real_flink(real_flink_clusters: RealFlinkClusters) -> RealFlinkCluster:
    """The real cluster of the newest version, started for the session."""
    return real_flink_clusters.get(NEWEST.version)
