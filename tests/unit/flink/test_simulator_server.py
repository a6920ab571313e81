"""The simulated cluster over HTTP: Flink's paths and error shapes, each injected fault, the admin API, counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.errors import FlinkDuplicateJob, FlinkUnavailable
from flink_manager_dev.simulator import RunRequest, SimulatedFlink, Timings
from tests.jars import jar_bytes
from tests.waiting import wait_for

ENTRY = "com.example.Job"
JAR = jar_bytes(ENTRY, manifest_key="Main-Class")  # Flink reads Main-Class when there is no Entry-Class
SimulatorFactory = Callable[..., Awaitable[SimulatedFlink]]


async def raw(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.request(method, url, json=body) as response,
    ):
        return response.status, await response.json(content_type=None)


async def started_job(client: FlinkClient, job_id: str = "a" * 32, **config: str) -> str:
    jar = await client.upload_jar(JAR, "job.jar")
    await client.run_jar(jar, entry_class=ENTRY, job_id=job_id, flink_config=config)
    return jar


# -- Flink's shapes over HTTP --------------------------------------------------------------------

UNROUTED = [
    ("GET of an unknown path", "GET", "/no/such/route", 404, "Unable to load requested file /no/such/route."),
    ("a method Flink has no handler for", "DELETE", "/overview", 404, "Not found: /overview"),
    (
        "the removed stop mode",
        "PATCH",
        "/jobs/" + "a" * 32 + "?mode=stop",
        308,
        'The termination mode "stop" has been removed.',
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "text"), [row[1:] for row in UNROUTED], ids=[row[0] for row in UNROUTED]
)
async def test_unrouted_requests_get_flinks_answers(
    simulator: SimulatedFlink, method: str, path: str, status: int, text: str
) -> None:
    code, body = await raw(method, simulator.url + path)
    assert code == status
    assert text in body["errors"][0]


async def test_paths_are_also_served_under_v1_and_counted_once_per_endpoint(simulator: SimulatedFlink) -> None:
    for path in ("/overview", "/v1/overview", "/jobs/overview", "/v1/jobs/overview", "/jobs/overview"):
        assert (await raw("GET", simulator.url + path))[0] == 200
    assert simulator.call_count("overview") == 2
    assert simulator.call_count("GET /jobs/overview") == 3
    _, stats = await raw("GET", simulator.url + "/_simulator/stats")
    assert stats == {"requests": {"GET /overview": 2, "GET /jobs/overview": 3}, "total": 5}


async def test_upload_accepts_any_field_name_but_exactly_one_file(simulator: SimulatedFlink) -> None:
    async with aiohttp.ClientSession() as session:
        form = aiohttp.FormData()
        form.add_field("file", JAR, filename="job.jar")
        async with session.post(simulator.url + "/jars/upload", data=form) as response:
            assert response.status == 200
            assert (await response.json())["filename"].endswith("_job.jar")
        async with session.post(simulator.url + "/jars/upload", data=aiohttp.FormData({"x": "y"})) as response:
            assert response.status == 400
            assert "Exactly 1 file must be sent, received 0." in (await response.json())["errors"][0]


async def test_job_views_are_cached_for_the_refresh_interval(simulator_factory: SimulatorFactory) -> None:
    simulator = await simulator_factory(timings=Timings.fast(rest_cache=0.5))
    async with FlinkClient(simulator.url) as client:
        await started_job(client)
        await wait_for(lambda: simulator.job_states().get("a" * 32) == JobState.RUNNING, timeout=10)
        assert (await client.job("a" * 32)).state == JobState.RUNNING
        await client.cancel_job("a" * 32)
        await wait_for(lambda: simulator.job_states()["a" * 32] == JobState.CANCELED, timeout=10)
        assert (await client.job("a" * 32)).state == JobState.RUNNING  # from Flink's cache, as real Flink answers
        assert {job.state for job in await client.jobs_overview()} == {JobState.CANCELED}  # never cached
        await wait_for(lambda: _details_state(client), timeout=10, what="the cache to expire")


async def _details_state(client: FlinkClient) -> bool:
    return (await client.job("a" * 32)).state == JobState.CANCELED


# -- injected faults ------------------------------------------------------------------------------


async def _statuses(simulator: SimulatedFlink, requests: int) -> list[int]:
    return [(await raw("GET", simulator.url + "/overview"))[0] for _ in range(requests)]


async def test_the_error_rate_is_deterministic_with_a_seed(simulator_factory: SimulatorFactory) -> None:
    runs = []
    for _ in range(2):
        simulator = await simulator_factory(seed=99)
        simulator.set_faults(error_rate=0.5)
        runs.append(await _statuses(simulator, 40))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500, 503}
    print(f"\nerror rate 0.5 over 40 requests: {sum(s != 200 for s in runs[0])} errors")


async def test_injected_errors_are_flinks_own_shapes_and_read_as_unavailable(simulator: SimulatedFlink) -> None:
    simulator.set_faults(error_rate=1.0, error_statuses=[500])
    status, body = await raw("GET", simulator.url + "/overview")
    assert status == 500 and body["errors"][0] == "Internal server error."
    async with FlinkClient(simulator.url, read_retries=0) as client:
        with pytest.raises(FlinkUnavailable):
            await client.overview()
    simulator.clear_faults()
    assert (await raw("GET", simulator.url + "/overview"))[0] == 200


async def test_added_latency_outlasts_a_short_client_timeout(simulator: SimulatedFlink) -> None:
    simulator.set_faults(latency=0.3, jitter=0.1)
    async with FlinkClient(simulator.url, timeout=0.05, read_retries=0) as client:
        with pytest.raises(FlinkUnavailable, match="timed out"):
            await client.overview()
    simulator.set_faults(latency=0.0, jitter=0.0)
    async with FlinkClient(simulator.url, timeout=5) as client:
        assert (await client.overview()).taskmanagers == 1


async def test_refused_connections_then_the_same_port_again(simulator: SimulatedFlink) -> None:
    async with FlinkClient(simulator.url, read_retries=0) as client:
        await client.overview()  # a pooled keep-alive connection exists
        await simulator.refuse_connections(0.3)
        assert simulator.refusing_connections
        with pytest.raises(FlinkUnavailable, match=r"cannot connect|failed"):
            await client.overview()
        overview = await wait_for(client.overview, timeout=10, what="the simulator to listen again")
        assert overview.taskmanagers == 1 and not simulator.refusing_connections


async def test_refusing_until_told_and_through_the_admin_api(simulator: SimulatedFlink) -> None:
    async with FlinkClient(simulator.url, read_retries=0) as client:
        await simulator.refuse_connections(None)
        with pytest.raises(FlinkUnavailable):
            await client.overview()
        await simulator.accept_connections()
        await client.overview()
        status, _ = await raw("POST", simulator.url + "/_simulator/faults", {"refuse_for": 0.3})
        assert status == 200
        await wait_for(lambda: simulator.refusing_connections, timeout=5, what="the admin refusal")
        await wait_for(client.overview, timeout=10, what="listening again")


async def test_a_cluster_restart_loses_jars_and_jobs(simulator: SimulatedFlink) -> None:
    async with FlinkClient(simulator.url) as client:
        jar = await started_job(client)
        await simulator.restart_cluster()
        assert await client.list_jars() == [] and await client.jobs_overview() == []
        jar = await client.upload_jar(JAR, "job.jar")
        assert await client.run_jar(jar, entry_class=ENTRY, job_id="a" * 32) == "a" * 32  # the id is free again
        status, answer = await raw("POST", simulator.url + "/_simulator/restart", {})
        assert (status, answer) == (200, {"restarts": 2})
        assert await client.jobs_overview() == []
        await started_job(client, "c" * 32)
        status, faults = await raw("POST", simulator.url + "/_simulator/faults", {"restart": True})
        assert (status, faults["restarts"]) == (200, 3)
        assert await client.jobs_overview() == []


FAIL_NEXT = [
    ("refused, not applied", dict(status=500), FlinkUnavailable, False),
    ("applied, then an error answer", dict(status=503, apply=True), FlinkUnavailable, True),
    ("applied, then the connection drops", dict(apply=True, respond="drop"), FlinkUnavailable, True),
    ("applied, then no answer in time", dict(apply=True, respond="hang", delay=1.0), FlinkUnavailable, True),
]


@pytest.mark.parametrize(
    ("fault", "error", "applied"), [row[1:] for row in FAIL_NEXT], ids=[row[0] for row in FAIL_NEXT]
)
async def test_a_run_that_fails_on_the_wire_may_have_started_the_job(
    simulator: SimulatedFlink, fault: dict[str, Any], error: type[Exception], applied: bool
) -> None:
    async with FlinkClient(simulator.url, timeout=0.5) as client:
        jar = await client.upload_jar(JAR, "job.jar")
        simulator.fail_next("run_jar", **fault)
        with pytest.raises(error):
            await client.run_jar(jar, entry_class=ENTRY, job_id="b" * 32)
        assert (simulator.job("b" * 32) is not None) is applied
        if applied:
            with pytest.raises(FlinkDuplicateJob):
                await client.run_jar(jar, entry_class=ENTRY, job_id="b" * 32)
        else:
            assert await client.run_jar(jar, entry_class=ENTRY, job_id="b" * 32) == "b" * 32
    assert simulator.call_count("POST /jars/:jarid/run") == 2


async def test_fail_next_counts_down_and_endpoint_names_are_checked(simulator: SimulatedFlink) -> None:
    simulator.fail_next("jobs_overview", 2)
    statuses = [(await raw("GET", simulator.url + "/jobs/overview"))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    with pytest.raises(ValueError, match="unknown endpoint"):
        simulator.fail_next("no-such-endpoint")


async def test_the_admin_api_shows_sets_and_clears_faults(simulator: SimulatedFlink) -> None:
    url = simulator.url + "/_simulator/faults"
    status, shown = await raw(
        "PUT",
        url,
        {"error_rate": 0.25, "latency": 0.01, "endpoints": {"run": {"times": 2, "apply": True, "respond": "drop"}}},
    )
    assert status == 200
    assert shown["error_rate"] == 0.25 and shown["latency"] == 0.01
    assert shown["endpoints"] == {
        "POST /jars/:jarid/run": {"times": 2, "status": 500, "apply": True, "respond": "drop", "delay": 30.0}
    }
    assert (await raw("GET", url))[1] == shown
    assert (await raw("POST", url, {"error_rate": 2}))[0] == 400
    assert (await raw("POST", url, {"endpoints": {"nope": {}}}))[0] == 400
    status, cleared = await raw("DELETE", url)
    assert cleared["error_rate"] == 0.0 and cleared["endpoints"] == {}
    assert simulator.calls == {}  # admin calls are not counted


async def test_the_request_log_and_job_listing(simulator: SimulatedFlink) -> None:
    async with FlinkClient(simulator.url, read_retries=0) as client:
        await started_job(client)
        simulator.fail_next("job", 1)
        with pytest.raises(FlinkUnavailable):
            await client.job("a" * 32)
    _, log = await raw("GET", simulator.url + "/_simulator/requests?limit=2")
    assert [entry["route"] for entry in log] == ["POST /jars/:jarid/run", "GET /jobs/:jobid"]
    assert [entry["fault"] for entry in log] == [None, "error"]
    _, jobs = await raw("GET", simulator.url + "/_simulator/jobs")
    assert [job["jid"] for job in jobs["jobs"]] == ["a" * 32]
    simulator.reset_calls()
    assert simulator.call_count("run") == 0 and not simulator.requests


async def test_polling_counts_one_jobs_overview_call_per_poll(simulator: SimulatedFlink) -> None:
    async with FlinkClient(simulator.url) as client:
        await asyncio.gather(*(client.jobs_overview() for _ in range(7)))
    assert simulator.call_count("jobs_overview") == 7


async def test_two_thousand_jobs_are_listed_in_one_cheap_call(simulator_factory: SimulatorFactory) -> None:
    simulator = await simulator_factory(slots=2000)
    jar = simulator.cluster.upload_jar("job.jar", JAR).id
    for index in range(2000):
        simulator.cluster.submit(jar, RunRequest(entry_class=ENTRY, job_id=f"{index:032x}"))
    async with FlinkClient(simulator.url) as client:
        await wait_for(lambda: _all_running(client), timeout=30, what="2000 jobs RUNNING")
        began = time.perf_counter()
        for _ in range(5):
            jobs = await client.jobs_overview()
        took = (time.perf_counter() - began) / 5
    assert len(jobs) == 2000
    print(f"\nGET /jobs/overview with 2000 jobs, parsed by the client: {took * 1000:.0f} ms per call")


async def _all_running(client: FlinkClient) -> bool:
    return {job.state for job in await client.jobs_overview()} == {JobState.RUNNING}
