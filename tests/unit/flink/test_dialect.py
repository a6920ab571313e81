"""The dialect table: which version speaks which dialect, which versions are refused, and the client speaking each
dialect to the simulator answering as that version (the contract suite holds both to real Flink)."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest

from flink_manager.api import FlinkClusterSpec, FlinkClusterStatus
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.dialect import DIALECTS, dialect_for, parse_version, unsupported_reason
from flink_manager.flink.errors import FlinkUnsupportedVersion
from flink_manager.reconcile.cluster import ClusterProbe, decide_cluster
from flink_manager.reconcile.targets import View, unsupported_version
from tests.unit.flink.test_simulator_server import ENTRY, jar_bytes

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)

DIALECT_OF = [
    ("1.18.1", "1.18"),
    ("1.19.3", "1.19"),
    ("1.20.5", "1.20"),
    ("2.0.2", "2.0"),
    ("2.1.3", "2.0"),
    ("2.2.1", "2.0"),
    ("2.3.0", "2.3"),
    ("2.4.0", "2.3"),
    ("3.0.0", "2.3"),
    ("1.20-SNAPSHOT", "1.20"),
]


@pytest.mark.parametrize(("version", "dialect"), DIALECT_OF, ids=[row[0] for row in DIALECT_OF])
def test_each_version_speaks_the_dialect_of_the_newest_row_not_after_it(version: str, dialect: str) -> None:
    assert unsupported_reason(version) is None
    assert dialect_for(version).name == dialect


REFUSED = [
    ("1.17.2", "the cluster runs Flink 1.17.2; supported: Flink 1.18 to 2.3"),
    ("1.9.0", "the cluster runs Flink 1.9.0; supported: Flink 1.18 to 2.3"),
    ("", "the cluster reports Flink version '', which is not a version number; supported: Flink 1.18 to 2.3"),
    (
        "<unknown>",
        "the cluster reports Flink version '<unknown>', which is not a version number; supported: Flink 1.18 to 2.3",
    ),
]


@pytest.mark.parametrize(("version", "reason"), REFUSED, ids=[row[0] or "empty" for row in REFUSED])
def test_older_or_unparseable_versions_are_refused_naming_the_supported_range(version: str, reason: str) -> None:
    assert unsupported_reason(version) == reason
    with pytest.raises(FlinkUnsupportedVersion, match=r"supported: Flink 1\.18 to 2\.3"):
        dialect_for(version)


def test_the_rows_are_ordered_and_each_differs_from_the_one_before() -> None:
    assert [row.since for row in DIALECTS] == sorted(row.since for row in DIALECTS)
    for before, after in itertools.pairwise(DIALECTS):
        assert {k: v for k, v in vars(before).items() if k != "since"} != {
            k: v for k, v in vars(after).items() if k != "since"
        }
    assert parse_version("1.18.1") == (1, 18, 1) and parse_version("x") is None


async def requests_of(simulator_factory: Any, version: str, **run: Any) -> tuple[list[str], dict[str, Any]]:
    simulator = await simulator_factory(flink_version=version)
    seen: dict[str, Any] = {}
    async with FlinkClient(simulator.url) as client:
        jar = await client.upload_jar(jar_bytes(), "job.jar")
        original = client._send

        async def spy(name: str, method: str, path: str, **kwargs: Any) -> Any:
            if name == "run_jar":
                seen.update(kwargs["json"])
            return await original(name, method, path, **kwargs)

        client._send = spy  # type: ignore[method-assign]
        await client.run_jar(jar, entry_class=ENTRY, job_id="a" * 32, **run)
    return [request["route"] for request in simulator.requests], seen


@pytest.mark.parametrize(
    ("version", "field"),
    [("1.18.1", "restoreMode"), ("1.19.3", "restoreMode"), ("1.20.5", "claimMode"), ("2.3.0", "claimMode")],
)
async def test_the_client_learns_the_version_once_and_sends_the_claim_mode_as_it_reads_it(
    simulator_factory: Any,
    version: str,
    field: str,
) -> None:
    routes, body = await requests_of(simulator_factory, version, claim_mode="NO_CLAIM")
    other = "claimMode" if field == "restoreMode" else "restoreMode"
    assert body[field] == "NO_CLAIM" and other not in body
    assert routes == ["POST /jars/upload", "GET /config", "POST /jars/:jarid/run"]


async def test_the_client_submits_nothing_to_an_unsupported_version(simulator_factory: Any) -> None:
    simulator = await simulator_factory(flink_version="1.17.2")
    async with FlinkClient(simulator.url) as client:
        jar = await client.upload_jar(jar_bytes(), "job.jar")
        with pytest.raises(FlinkUnsupportedVersion, match=r"runs Flink 1\.17\.2"):
            await client.run_jar(jar, entry_class=ENTRY, job_id="a" * 32)
        assert client.flink_version == "1.17.2"
    assert simulator.call_count("run") == 0 and simulator.job_states() == {}


def test_a_reachable_cluster_of_an_unsupported_version_is_degraded_and_blocks_new_attempts() -> None:
    view = View(
        "default", 1, FlinkClusterSpec.from_wire({"restUrl": "http://flink:8081"}), FlinkClusterStatus.from_wire({})
    )
    reason = unsupported_reason("1.17.2")
    status = decide_cluster(
        view,
        ClusterProbe(
            flink_version="1.17.2",
            task_managers=1,
            slots_total=4,
            slots_available=4,
            jobs_running=0,
            unsupported=reason,
        ),
        NOW,
    )
    conditions = {c.type: (c.status.value, c.reason, c.message) for c in status.conditions}
    assert conditions["Ready"] == ("False", "UnsupportedFlinkVersion", reason)
    assert conditions["Degraded"] == ("True", "UnsupportedFlinkVersion", reason)
    assert status.phase.value == "Ready" and status.flink_version == "1.17.2"  # reached, but not usable
    assert unsupported_version(View("default", 1, view.spec, status)) == reason
    upgraded = decide_cluster(
        View("default", 1, view.spec, status),
        ClusterProbe(flink_version="1.18.1", task_managers=1, slots_total=4, slots_available=4, jobs_running=0),
        NOW,
    )
    assert unsupported_version(View("default", 1, view.spec, upgraded)) is None
