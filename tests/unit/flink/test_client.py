"""The Flink client's transport: retries only for reads, timeouts, authentication headers, TLS, observation."""

from __future__ import annotations

import pathlib
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from flink_manager.flink.client import BasicAuth, BearerToken, FlinkClient
from flink_manager.flink.errors import (
    FlinkAuthError,
    FlinkClientConfigError,
    FlinkJobNotFound,
    FlinkRequestRejected,
    FlinkUnavailable,
)
from flink_manager_dev.simulator import SimulatedFlink, Timings
from tests.infra.processes import free_port

OVERVIEW = {
    "taskmanagers": 1,
    "slots-total": 4,
    "slots-available": 4,
    "jobs-running": 0,
    "jobs-finished": 0,
    "jobs-cancelled": 0,
    "jobs-failed": 0,
    "flink-version": "2.3.0",
    "flink-commit": "c0f8d1a",
}


class Recorder:
    """A tiny HTTP server that answers /overview and records the headers it received."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.answer: Any = OVERVIEW

    async def overview(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        if self.status != 200:
            return web.json_response({"errors": ["Unauthorized: token user:secret rejected"]}, status=self.status)
        if isinstance(self.answer, str):
            return web.Response(text=self.answer, content_type="text/html")
        return web.json_response(self.answer)


ServerFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[ServerFactory]:
    """Start the recorder's app on a free port (optionally with TLS); returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(recorder: Recorder, ssl_context: ssl.SSLContext | None = None) -> str:
        app = web.Application()
        app.router.add_get("/overview", recorder.overview)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


# -- retries ------------------------------------------------------------------------------------

RETRIES = [
    ("a read retried through two 503s", "overview", 2, 503, None, 3),
    ("a read that stays unavailable fails after its retries", "overview", 3, 500, FlinkUnavailable, 3),
    ("a read Flink answers with 404 is not retried", "job_unknown", 0, 0, FlinkJobNotFound, 1),
    ("a run is never retried", "run", 1, 503, FlinkUnavailable, 1),
    ("a cancel is never retried", "cancel", 1, 500, FlinkUnavailable, 1),
]


@pytest.mark.parametrize(
    ("call", "failures", "status", "error", "calls"), [row[1:] for row in RETRIES], ids=[row[0] for row in RETRIES]
)
async def test_only_reads_are_retried_and_only_when_flink_is_unavailable(
    simulator: SimulatedFlink, call: str, failures: int, status: int, error: type[Exception] | None, calls: int
) -> None:
    endpoint = {"overview": "overview", "job_unknown": "job", "run": "run", "cancel": "cancel"}[call]
    if failures:
        simulator.fail_next(endpoint, failures, status=status)
    async with FlinkClient(simulator.url, read_retries=2, retry_backoff=0.001) as client:
        action: dict[str, Callable[[], Awaitable[Any]]] = {
            "overview": client.overview,
            "job_unknown": lambda: client.job("f" * 32),
            "run": lambda: client.run_jar("some_job.jar", entry_class="a.B"),
            "cancel": lambda: client.cancel_job("f" * 32),
        }
        if error is None:
            assert (await action[call]()).flink_version == "2.3.0"
        else:
            with pytest.raises(error):
                await action[call]()
    assert simulator.call_count(endpoint) == calls


async def test_every_attempt_is_reported_to_the_observer(simulator: SimulatedFlink) -> None:
    seen: list[tuple[str, str, float]] = []
    simulator.fail_next("jobs_overview", 1, status=503)
    async with FlinkClient(simulator.url, retry_backoff=0.001, observer=lambda *event: seen.append(event)) as client:
        await client.jobs_overview()
        with pytest.raises(FlinkJobNotFound):
            await client.job("e" * 32)
    assert [(name, outcome) for name, outcome, _ in seen] == [
        ("jobs_overview", "FlinkUnavailable"),
        ("jobs_overview", "ok"),
        ("job", "FlinkJobNotFound"),
    ]
    assert all(seconds >= 0 for _, _, seconds in seen)


async def test_an_observer_that_fails_does_not_fail_the_call(simulator: SimulatedFlink) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("metrics are down")

    async with FlinkClient(simulator.url, observer=broken) as client:
        assert (await client.overview()).taskmanagers == 1


# -- timeouts and connections --------------------------------------------------------------------


async def test_a_slow_answer_times_out_as_unavailable(
    simulator_factory: Callable[..., Awaitable[SimulatedFlink]],
) -> None:
    simulator = await simulator_factory(timings=Timings.fast())
    simulator.set_faults(latency=0.5)
    async with FlinkClient(simulator.url, timeout=0.1, read_retries=1, retry_backoff=0.001) as client:
        with pytest.raises(FlinkUnavailable, match=r"GET /overview timed out after 0.1s"):
            await client.overview()
    assert simulator.call_count("overview") == 2


async def test_a_refused_connection_is_unavailable() -> None:
    port = free_port()
    async with FlinkClient(f"http://127.0.0.1:{port}", read_retries=0) as client:
        with pytest.raises(FlinkUnavailable, match=f"cannot connect to http://127.0.0.1:{port}"):
            await client.overview()


async def test_ids_cannot_change_the_path(simulator: SimulatedFlink) -> None:
    async with FlinkClient(simulator.url) as client:
        with pytest.raises(FlinkRequestRejected, match=r"Cannot resolve path parameter \(jobid\)"):
            await client.job("../jars")
    assert simulator.call_count("job") == 1


BAD_SETTINGS = [
    ("not http", dict(rest_url="ftp://flink:8081")),
    ("no host", dict(rest_url="http://")),
    ("a CA that is not PEM", dict(rest_url="https://flink:8081", ca_pem="not a certificate")),
]


@pytest.mark.parametrize("settings", [row[1] for row in BAD_SETTINGS], ids=[row[0] for row in BAD_SETTINGS])
def test_unusable_settings_are_refused_when_the_client_is_made(settings: dict[str, Any]) -> None:
    with pytest.raises(FlinkClientConfigError):
        FlinkClient(**settings)


UNEXPECTED = [
    ("a field of the wrong type", {**OVERVIEW, "taskmanagers": "many"}, "the answer is not Flink's"),
    ("a field missing", {"taskmanagers": 1}, "the answer is not Flink's"),
    ("not JSON (a proxy's page)", "<html>maintenance</html>", "with a body that is not JSON"),
]


@pytest.mark.parametrize(("answer", "message"), [row[1:] for row in UNEXPECTED], ids=[row[0] for row in UNEXPECTED])
async def test_an_answer_that_is_not_flinks_is_unavailable_not_a_crash(
    serve: ServerFactory, answer: Any, message: str
) -> None:
    recorder = Recorder()
    recorder.answer = answer
    async with FlinkClient(await serve(recorder), read_retries=0) as client:
        with pytest.raises(FlinkUnavailable, match=message):
            await client.overview()


# -- authentication ------------------------------------------------------------------------------

AUTH = [
    ("basic", BasicAuth("flink", "s3cret"), "Basic Zmxpbms6czNjcmV0"),
    ("bearer", BearerToken("t0ken"), "Bearer t0ken"),
    ("none", None, None),
]


@pytest.mark.parametrize(("auth", "header"), [row[1:] for row in AUTH], ids=[row[0] for row in AUTH])
async def test_credentials_go_in_the_authorization_header(serve: ServerFactory, auth: Any, header: str | None) -> None:
    recorder = Recorder()
    async with FlinkClient(await serve(recorder), auth=auth) as client:
        await client.overview()
    assert recorder.headers[0].get("Authorization") == header


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_an_auth_error_that_does_not_repeat_them(
    serve: ServerFactory, status: int
) -> None:
    recorder = Recorder()
    recorder.status = status
    auth = BasicAuth("flink", "s3cret")
    async with FlinkClient(await serve(recorder), auth=auth) as client:
        with pytest.raises(FlinkAuthError) as refused:
            await client.overview()
        assert "s3cret" not in repr(client)
    assert refused.value.status == status
    assert "s3cret" not in repr(auth) and "t0ken" not in repr(BearerToken("t0ken"))
    assert len(recorder.headers) == 1  # not retried


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    """A self-signed certificate for 127.0.0.1 made with openssl: (cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


TLS = [
    ("trusted through the given CA", True, False, None),
    ("not trusted without it", False, False, FlinkUnavailable),
    ("accepted when verification is skipped", False, True, None),
]


@pytest.mark.parametrize(("give_ca", "insecure", "error"), [row[1:] for row in TLS], ids=[row[0] for row in TLS])
async def test_tls_with_a_custom_ca(
    serve: ServerFactory,
    certificate: tuple[pathlib.Path, pathlib.Path],
    give_ca: bool,
    insecure: bool,
    error: type[Exception] | None,
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    url = await serve(Recorder(), server_context)
    ca_pem = cert.read_text() if give_ca else None
    async with FlinkClient(url, ca_pem=ca_pem, insecure_skip_verify=insecure, read_retries=0) as client:
        if error is None:
            assert (await client.overview()).slots_total == 4
        else:
            with pytest.raises(error, match=r"TLS verification of https://127\.0\.0\.1:.* failed"):
                await client.overview()
