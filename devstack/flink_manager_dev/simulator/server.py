"""The simulated Flink session cluster's REST API (aiohttp), its admin API, and `SimulatedFlink`.

Flink's paths, JSON, status codes and error bodies come from cluster.py (state) and views.py (JSON);
this module parses requests, applies injected faults, counts calls per endpoint and serves `/_simulator/*`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from flink_manager.api.flinkjob import JobState
from flink_manager_dev.simulator import traces, views
from flink_manager_dev.simulator.cluster import RunRequest, SessionCluster
from flink_manager_dev.simulator.faults import EndpointFault, FaultConfigError, Faults, Respond, endpoint_key
from flink_manager_dev.simulator.jobs import SimJob
from flink_manager_dev.simulator.timings import Timings
from flink_manager_dev.simulator.traces import Cause, SimulatedRestError
from flink_manager_dev.simulator.versions import NEWEST

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/_simulator"
MAX_UPLOAD = 256 * 1024 * 1024  # rest.server.max-content-length is 100 MiB; be generous
REQUEST_LOG_SIZE = 10_000
DEFAULT_MAX_EXCEPTIONS = 20
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_REST_APP: web.AppKey[SimulatedFlink] = web.AppKey("rest")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_response(error: SimulatedRestError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


def _job_id(request: web.Request) -> str:
    value = request.match_info["jobid"]
    if not _HEX32.match(value):
        raise traces.bad_path_parameter("jobid", value)
    return value.lower()


def _trigger_id(request: web.Request) -> str:
    value = request.match_info["triggerid"]
    if not _HEX32.match(value):
        raise traces.bad_path_parameter("triggerid", value)
    return value.lower()


async def _json_body(request: web.Request, body_type: str) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise traces.bad_request_body(
            body_type, Cause("org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParseException", str(exc))
        ) from None
    if not isinstance(body, dict):
        raise traces.bad_request_body(
            body_type,
            Cause(
                "org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.exc.MismatchedInputException",
                f"Cannot deserialize value of type `{body_type}` from Array value",
            ),
        )
    return body


RUN_BODY = "org.apache.flink.runtime.webmonitor.handlers.JarRunRequestBody"
STOP_BODY = "org.apache.flink.runtime.rest.messages.job.savepoints.stop.StopWithSavepointRequestBody"
SAVEPOINT_BODY = "org.apache.flink.runtime.rest.messages.job.savepoints.SavepointTriggerRequestBody"
DISPOSAL_BODY = "org.apache.flink.runtime.rest.messages.job.savepoints.SavepointDisposalRequest"
# The fields of each request body until 1.19, in the order Flink lists them when it refuses another one
# (FlinkDialect.rejects_unknown_fields); later versions ignore fields they do not know.
KNOWN_FIELDS = {
    RUN_BODY: (
        "programArgs",
        "entryClass",
        "allowNonRestoredState",
        "jobId",
        "parallelism",
        "programArgsList",
        "restoreMode",
        "flinkConfiguration",
        "savepointPath",
    ),
    STOP_BODY: ("targetDirectory", "triggerId", "drain", "formatType"),
    SAVEPOINT_BODY: ("target-directory", "cancel-job", "triggerId", "formatType"),
    DISPOSAL_BODY: ("savepoint-path",),
}


def _optional_id(body: dict[str, Any], key: str, body_class: str) -> str | None:
    """A job id or trigger id field of a request body, refused as Flink's JSON mapper refuses it."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX32.match(value):
        if key == "triggerId":
            raise traces.bad_trigger_id_in_body(str(value), body_class)
        raise traces.bad_job_id_in_body(str(value), body_class.rsplit(".", 1)[-1])
    return value.lower()


# The enums a request field names, as Flink's JSON mapper lists their values when it refuses another one.
CLAIM_MODES = ("CLAIM", "NO_CLAIM", "LEGACY")
FORMAT_TYPES = ("CANONICAL", "NATIVE")
SAVEPOINT_FORMAT = "org.apache.flink.core.execution.SavepointFormatType"


def _enum(body: dict[str, Any], key: str, values: tuple[str, ...], enum_class: str, body_class: str) -> str | None:
    """An enum field of a request body (None when absent), refused as Flink's JSON mapper refuses another value."""
    value = body.get(key)
    if value is None:
        return None
    if value not in values:
        raise traces.bad_request_body(
            body_class.rsplit(".", 1)[-1],
            Cause(
                "org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.exc.InvalidFormatException",
                f'Cannot deserialize value of type `{enum_class}` from String "{value}": not one of the values '
                f"accepted for Enum class: [{', '.join(values)}]",
            ),
        )
    return str(value)


def _claim_mode(body: dict[str, Any], field: str) -> str | None:
    """The run request's claim mode: `restoreMode` until 1.19; `claimMode` from 1.20, which still reads `restoreMode`."""
    key = field if body.get(field) is not None else "restoreMode"
    return _enum(body, key, CLAIM_MODES, "org.apache.flink.core.execution.RecoveryClaimMode", RUN_BODY)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _route_name(request: web.Request) -> str:
    """`METHOD /template/:param` for counting and faults (the `/v1` prefix dropped)."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or route.handler is None or isinstance(request.match_info.http_exception, web.HTTPException):
        return f"{request.method} {request.path}"
    canonical = re.sub(r"\{(\w+)\}", r":\1", resource.canonical).removeprefix("/v1")
    return f"{request.method} {canonical}"


class SimulatedFlink:
    """A simulated Flink session cluster served over HTTP, with faults and inspection for tests; it answers as
    `flink_version` does (default: the newest), following the operator's dialect table.

    `url = await SimulatedFlink(slots=4, seed=1).start("127.0.0.1", 0)`; `await sim.stop()`.
    """

    def __init__(
        self,
        *,
        slots: int = 4,
        savepoint_dir: str | None = "file:/tmp/flink-simulator/savepoints",
        checkpoint_dir: str = "file:/tmp/flink-simulator/checkpoints",
        seed: int | None = None,
        timings: Timings | None = None,
        clock: Callable[[], float] = time.time,
        flink_version: str = NEWEST,
    ) -> None:
        self.cluster = SessionCluster(
            slots=slots,
            timings=timings or Timings(),
            savepoint_dir=savepoint_dir,
            checkpoint_dir=checkpoint_dir,
            seed=seed,
            clock=clock,
            flink_version=flink_version,
        )
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.host = "127.0.0.1"
        self.port = 0
        self._fault_rng = random.Random(None if seed is None else seed + 1)
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._reopen: asyncio.Task[None] | None = None
        self._refusing_until: float | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def timings(self) -> Timings:
        return self.cluster.timings

    @property
    def url(self) -> str:
        """The REST URL (valid after `start`)."""
        return f"http://{self.host}:{self.port}"

    def app(self) -> web.Application:
        """The aiohttp application: Flink's REST paths (also under `/v1`) and the admin API."""
        app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[self._middleware])
        app[_REST_APP] = self
        rest = [
            ("GET", "/config", self._config),
            ("GET", "/jobmanager/config", self._jobmanager_config),
            ("GET", "/overview", self._overview),
            ("POST", "/jars/upload", self._upload),
            ("GET", "/jars", self._jars),
            ("POST", "/jars/{jarid}/run", self._run),
            ("DELETE", "/jars/{jarid}", self._delete_jar),
            ("GET", "/jobs/overview", self._jobs_overview),
            ("GET", "/jobs", self._jobs),
            ("GET", "/jobs/{jobid}", self._job),
            ("PATCH", "/jobs/{jobid}", self._cancel),
            ("POST", "/jobs/{jobid}/stop", self._stop),
            ("POST", "/jobs/{jobid}/savepoints", self._savepoint),
            ("GET", "/jobs/{jobid}/savepoints/{triggerid}", self._savepoint_status),
            ("GET", "/jobs/{jobid}/checkpoints", self._checkpoints),
            ("GET", "/jobs/{jobid}/exceptions", self._exceptions),
            ("POST", "/savepoint-disposal", self._dispose),
            ("GET", "/savepoint-disposal/{triggerid}", self._disposal_status),
        ]
        if self.cluster.release.dialect.applications:
            rest.append(("GET", "/applications/overview", self._applications_overview))
        for prefix in ("", "/v1"):
            for method, path, handler in rest:
                app.router.add_route(method, prefix + path, handler)
        admin = web.RouteTableDef()
        admin.get(f"{ADMIN_PREFIX}/faults")(self._admin_faults_get)
        admin.post(f"{ADMIN_PREFIX}/faults")(self._admin_faults_set)
        admin.put(f"{ADMIN_PREFIX}/faults")(self._admin_faults_set)
        admin.delete(f"{ADMIN_PREFIX}/faults")(self._admin_faults_clear)
        admin.post(f"{ADMIN_PREFIX}/restart")(self._admin_restart)
        admin.get(f"{ADMIN_PREFIX}/stats")(self._admin_stats)
        admin.delete(f"{ADMIN_PREFIX}/stats")(self._admin_stats_reset)
        admin.get(f"{ADMIN_PREFIX}/requests")(self._admin_requests)
        admin.get(f"{ADMIN_PREFIX}/jobs")(self._admin_jobs)
        app.router.add_routes(admin)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on `host:port` (0: a free port); returns the REST URL."""
        # A short shutdown timeout: `stop()` must not wait for answers held back by injected faults.
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        self.host = host
        await self._listen(port)
        return self.url

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, port, reuse_address=True)
        await self._site.start()
        sockets = self._runner.addresses  # the addresses actually bound: port 0 becomes a free port
        if sockets:
            self.port = int(sockets[0][1])

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._site = None

    async def __aenter__(self) -> SimulatedFlink:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- faults ----------------------------------------------------------------------------------

    def set_faults(
        self,
        *,
        error_rate: float | None = None,
        error_statuses: tuple[int, ...] | list[int] | None = None,
        latency: float | None = None,
        jitter: float | None = None,
    ) -> None:
        """Answer a fraction of REST calls with 500/503 and/or hold every answer back by latency + U(0, jitter)."""
        self.faults.set(error_rate=error_rate, error_statuses=error_statuses, latency=latency, jitter=jitter)

    def fail_next(
        self,
        endpoint: str,
        times: int = 1,
        *,
        status: int = 500,
        apply: bool = False,
        respond: Respond = "error",
        delay: float = 30.0,
    ) -> None:
        """Fail the next `times` calls of `endpoint` (`run`, `run_jar` or `POST /jars/:jarid/run`; -1: all).

        With `apply=True` the call takes effect first and only its answer is lost: `respond="error"` answers
        `status`, `"drop"` closes the connection, `"hang"` answers after `delay` seconds.
        """
        self.faults.set(
            endpoints={endpoint: EndpointFault(times=times, status=status, apply=apply, respond=respond, delay=delay)}
        )

    def clear_faults(self) -> None:
        """No injected faults (connection refusal is ended by `accept_connections`)."""
        self.faults.clear()

    async def refuse_connections(self, seconds: float | None = None) -> None:
        """Close the listening socket and every open connection (clients get "connection refused"), and listen
        again on the same port after `seconds` (None: only when `accept_connections` is called)."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._runner is not None and self._runner.server is not None:
            for connection in self._runner.server.connections:
                connection.force_close()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        self._refusing_until = None if seconds is None else time.monotonic() + seconds
        if seconds is not None:
            self._reopen = asyncio.create_task(self._accept_after(seconds), name="simulated-flink-reopen")

    async def _accept_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)  # the simulated outage itself, not a test synchronisation
        self._reopen = None
        await self.accept_connections()

    async def accept_connections(self) -> None:
        """Listen again on the same port."""
        if self._reopen is not None and self._reopen is not asyncio.current_task():
            self._reopen.cancel()
            self._reopen = None
        self._refusing_until = None
        if self._site is None and self._runner is not None:
            await self._listen(self.port)

    @property
    def refusing_connections(self) -> bool:
        """Whether the listening socket is closed right now."""
        return self._runner is not None and self._site is None

    async def restart_cluster(self, downtime: float = 0.0) -> None:
        """A JobManager restart without HA: jars, jobs and job ids are lost (savepoints stay on storage);
        with `downtime`, connections are refused for that long."""
        self.cluster.restart()
        self._cache.clear()
        if downtime > 0:
            await self.refuse_connections(downtime)

    # -- inspection ------------------------------------------------------------------------------

    def call_count(self, endpoint: str) -> int:
        """How many REST calls an endpoint got (`jobs_overview`, `GET /jobs/overview`, …)."""
        return self.calls[endpoint_key(endpoint)]

    def reset_calls(self) -> None:
        """Zero the counters and empty the request log."""
        self.calls.clear()
        self.requests.clear()

    def job(self, job_id: str) -> SimJob | None:
        """A listed job, brought up to date."""
        return self.cluster.job(job_id)

    def job_states(self) -> dict[str, JobState]:
        """Every listed job's current state."""
        self.cluster.advance()
        return {job_id: job.state for job_id, job in self.cluster.jobs.items()}

    # -- middleware: faults, counting, Flink-shaped errors ---------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        began = time.monotonic()
        route = _route_name(request)
        self.calls[route] += 1
        fault: EndpointFault | None = None
        try:
            delay = self.faults.delay(self._fault_rng)
            if delay:
                await asyncio.sleep(delay)  # injected latency
            fault = self.faults.take(route, self._fault_rng)
            if fault is not None and not fault.apply:
                response: web.StreamResponse = _error_response(self._injected(fault.status))
            else:
                response = await self._handle(request, handler)
            if fault is not None and fault.apply:
                response = await self._spoil(request, response, fault)
            return response
        finally:
            self.requests.append(
                {
                    "at": time.time(),
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "seconds": round(time.monotonic() - began, 6),
                    "fault": None if fault is None else ("applied+" if fault.apply else "") + fault.respond,
                }
            )

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimulatedRestError as error:
            return _error_response(error)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return _error_response(traces.route_not_found(request.method, request.path))
        except web.HTTPException:
            raise
        except Exception as exc:
            logger.exception("simulated Flink failed on %s %s", request.method, request.path)
            return _error_response(
                traces.server_error(Cause("java.lang.RuntimeException", f"{type(exc).__name__}: {exc}"))
            )

    @staticmethod
    def _injected(status: int) -> SimulatedRestError:
        if status == 503:
            return traces.injected_unavailable()
        if status == 500:
            return traces.injected_server_error()
        return SimulatedRestError(status, [f"Injected fault: HTTP {status}"])

    async def _spoil(
        self, request: web.Request, response: web.StreamResponse, fault: EndpointFault
    ) -> web.StreamResponse:
        """The request took effect; now lose its answer as the fault says."""
        if fault.respond == "error":
            return _error_response(self._injected(fault.status))
        if fault.respond == "hang":
            await asyncio.sleep(fault.delay)  # injected: an answer that comes too late
            return response
        if request.protocol is not None:
            request.protocol.force_close()
        raise asyncio.CancelledError()  # the connection is gone: nothing is written

    # -- REST handlers ---------------------------------------------------------------------------

    async def _config(self, request: web.Request) -> web.Response:
        return web.json_response(views.dashboard_config(self.cluster))

    async def _jobmanager_config(self, request: web.Request) -> web.Response:
        return web.json_response(views.jobmanager_config(self.cluster))

    async def _overview(self, request: web.Request) -> web.Response:
        self.cluster.advance()
        return web.json_response(views.cluster_overview(self.cluster))

    async def _upload(self, request: web.Request) -> web.Response:
        files: list[tuple[str, bytes]] = []
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, aiohttp.BodyPartReader) and part.filename:
                    files.append((part.filename, bytes(await part.read())))
        if len(files) != 1:
            raise traces.handler_error(
                400, Cause(traces.REST_HANDLER, f"Exactly 1 file must be sent, received {len(files)}.")
            )
        filename, content = files[0]
        jar = self.cluster.upload_jar(filename, content)
        return web.json_response(views.jar_upload(self.cluster, jar))

    async def _jars(self, request: web.Request) -> web.Response:
        return web.json_response(views.jar_list(self.cluster, self.url))

    async def _body(self, request: web.Request, body_class: str) -> dict[str, Any]:
        """The request's JSON body, refused as the version's JSON mapper refuses it."""
        body = await _json_body(request, body_class.rsplit(".", 1)[-1])
        if self.cluster.release.dialect.rejects_unknown_fields:
            known = KNOWN_FIELDS[body_class]
            for key in body:
                if key not in known:
                    column = (await request.read()).find(f'"{key}"'.encode()) + 1
                    raise traces.unknown_request_field(body_class, key, known, column)
        return body

    async def _run(self, request: web.Request) -> web.Response:
        body = await self._body(request, RUN_BODY)
        dialect = self.cluster.release.dialect
        job_id = _optional_id(body, "jobId", "JarRunRequestBody")
        args = body.get("programArgsList") or []
        config = body.get("flinkConfiguration") or {}
        parallelism = body.get("parallelism")
        try:
            parallelism = None if parallelism is None else int(parallelism)
        except (TypeError, ValueError):
            raise traces.bad_request_body(
                "JarRunRequestBody",
                Cause(
                    "org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.exc.InvalidFormatException",
                    f'Cannot deserialize value of type `java.lang.Integer` from String "{parallelism}"',
                ),
            ) from None
        run = RunRequest(
            entry_class=body.get("entryClass") or None,
            parallelism=parallelism,
            program_args=[str(arg) for arg in args],
            job_id=job_id,
            savepoint_path=body.get("savepointPath") or None,
            allow_non_restored_state=_flag(body.get("allowNonRestoredState")),
            flink_config={str(k): str(v) for k, v in config.items()} if isinstance(config, dict) else {},
            claim_mode=_claim_mode(body, dialect.claim_mode_field),
        )
        if self.timings.run_request:
            await asyncio.sleep(self.timings.run_request)  # the JobManager building the job graph
        submitted = self.cluster.submit(request.match_info["jarid"], run)
        answer = {"jobid": submitted, "applicationId": submitted} if dialect.applications else {"jobid": submitted}
        return web.json_response(answer)

    async def _delete_jar(self, request: web.Request) -> web.Response:
        self.cluster.delete_jar(request.match_info["jarid"])
        return web.json_response({})

    async def _jobs_overview(self, request: web.Request) -> web.Response:
        now = self.cluster.advance()
        return web.json_response(views.jobs_overview(self.cluster, now))

    async def _jobs(self, request: web.Request) -> web.Response:
        self.cluster.advance()
        return web.json_response(
            {"jobs": [{"id": j.job_id, "status": j.state.value} for j in self.cluster.jobs.values()]}
        )

    def _cached(self, kind: str, job_id: str, render: Callable[[SimJob, float], Any]) -> Any:
        """Flink serves job views from a cache refreshed every `web.refresh-interval` (Timings.rest_cache)."""
        now = self.cluster.advance()
        ttl = self.timings.rest_cache
        cached = self._cache.get((kind, job_id))
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        job = self.cluster.jobs.get(job_id)
        if job is None:
            self._cache.pop((kind, job_id), None)
            raise traces.job_not_found(job_id)
        body = render(job, now)
        if ttl > 0:
            if len(self._cache) > 4 * len(self.cluster.jobs) + 64:
                self._cache = {key: value for key, value in self._cache.items() if now - value[0] < ttl}
            self._cache[(kind, job_id)] = (now, body)
        return body

    async def _job(self, request: web.Request) -> web.Response:
        return web.json_response(
            self._cached("details", _job_id(request), lambda job, now: views.job_details(self.cluster, job, now))
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        job_id = _job_id(request)
        mode = request.query.get("mode", "cancel")
        if mode == "stop":
            raise traces.handler_error(
                308,
                Cause(
                    traces.REST_HANDLER,
                    'The termination mode "stop" has been removed. For an ungraceful shutdown, please use '
                    '"cancel" instead. For a graceful shutdown, please use "jobs/:jobId/stop" instead.',
                ),
            )
        if mode != "cancel":
            raise traces.handler_error(
                400,
                Cause(
                    traces.REST_HANDLER,
                    f'Bad request, could not parse parameters: Cannot resolve query parameter (mode) from value "{mode}".',
                ),
            )
        self.cluster.cancel(job_id)
        return web.json_response({}, status=202)

    async def _stop(self, request: web.Request) -> web.Response:
        job_id = _job_id(request)
        body = await self._body(request, STOP_BODY)
        trigger = self.cluster.trigger_savepoint(
            job_id,
            trigger_id=_optional_id(body, "triggerId", STOP_BODY),
            target=body.get("targetDirectory") or None,
            stop=True,
            format_type=_enum(body, "formatType", FORMAT_TYPES, SAVEPOINT_FORMAT, STOP_BODY),
        )
        return web.json_response({"request-id": trigger}, status=202)

    async def _savepoint(self, request: web.Request) -> web.Response:
        job_id = _job_id(request)
        body = await self._body(request, SAVEPOINT_BODY)
        trigger = self.cluster.trigger_savepoint(
            job_id,
            trigger_id=_optional_id(body, "triggerId", SAVEPOINT_BODY),
            target=body.get("target-directory") or None,
            cancel_job=_flag(body.get("cancel-job")),
            format_type=_enum(body, "formatType", FORMAT_TYPES, SAVEPOINT_FORMAT, SAVEPOINT_BODY),
        )
        return web.json_response({"request-id": trigger}, status=202)

    async def _savepoint_status(self, request: web.Request) -> web.Response:
        job_id, trigger_id = _job_id(request), _trigger_id(request)
        return web.json_response(views.savepoint_status(self.cluster.savepoint_operation(job_id, trigger_id)))

    async def _checkpoints(self, request: web.Request) -> web.Response:
        return web.json_response(self._cached("checkpoints", _job_id(request), views.checkpoint_statistics))

    async def _exceptions(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("maxExceptions", DEFAULT_MAX_EXCEPTIONS))
        except ValueError:
            limit = DEFAULT_MAX_EXCEPTIONS
        body = self._cached(
            "exceptions", _job_id(request), lambda job, now: views.job_exceptions(self.cluster, job, 1 << 16)
        )
        entries = body["exceptionHistory"]["entries"]
        return web.json_response(
            {**body, "exceptionHistory": {"entries": entries[:limit], "truncated": len(entries) > limit}}
        )

    async def _applications_overview(self, request: web.Request) -> web.Response:
        now = self.cluster.advance()
        return web.json_response(views.applications_overview(self.cluster, now))

    async def _dispose(self, request: web.Request) -> web.Response:
        body = await self._body(request, DISPOSAL_BODY)
        path = body.get("savepoint-path")
        if not path:
            raise traces.handler_error(
                400, Cause(traces.REST_HANDLER, "Field savepoint-path must not be omitted or be null.")
            )
        return web.json_response({"request-id": self.cluster.dispose(str(path))})

    async def _disposal_status(self, request: web.Request) -> web.Response:
        return web.json_response(views.disposal_status(self.cluster.disposal(_trigger_id(request))))

    # -- admin API -------------------------------------------------------------------------------

    def _fault_view(self) -> dict[str, Any]:
        remaining = None if self._refusing_until is None else max(0.0, self._refusing_until - time.monotonic())
        return {
            **self.faults.to_json(),
            "refusing_connections": self.refusing_connections,
            "refusing_for": remaining,
            "restarts": self.cluster.restarts,
        }

    async def _admin_faults_get(self, request: web.Request) -> web.Response:
        return web.json_response(self._fault_view())

    async def _admin_faults_set(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise FaultConfigError("the body must be a JSON object")
            restart = body.pop("restart", None)
            refuse_for = body.pop("refuse_for", None)
            self.faults.set(**body)
        except (ValueError, TypeError) as exc:
            return web.json_response({"errors": [str(exc)]}, status=400)
        if restart:
            self.cluster.restart()
            self._cache.clear()
            downtime = float(restart.get("downtime", 0.0)) if isinstance(restart, dict) else 0.0
            if downtime > 0:
                self._after_answer(self.refuse_connections(downtime))
        if refuse_for is not None:
            self._after_answer(self.refuse_connections(float(refuse_for)))
        return web.json_response(self._fault_view())

    async def _admin_faults_clear(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response(self._fault_view())

    async def _admin_restart(self, request: web.Request) -> web.Response:
        body = await request.json() if (await request.read()).strip() else {}
        downtime = float(body.get("downtime", 0.0)) if isinstance(body, dict) else 0.0
        self.cluster.restart()
        self._cache.clear()
        if downtime > 0:
            self._after_answer(self.refuse_connections(downtime))
        return web.json_response({"restarts": self.cluster.restarts})

    def _after_answer(self, action: Awaitable[None]) -> None:
        """Run an admin action that closes connections once the admin request has been answered."""

        async def later() -> None:
            await asyncio.sleep(0.05)  # let the admin answer reach the client before its connection closes
            await action

        task = asyncio.get_running_loop().create_task(later())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": dict(self.calls), "total": sum(self.calls.values())})

    async def _admin_stats_reset(self, request: web.Request) -> web.Response:
        self.reset_calls()
        return web.json_response({"requests": {}, "total": 0})

    async def _admin_requests(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", REQUEST_LOG_SIZE))
        return web.json_response(list(self.requests)[-limit:])

    async def _admin_jobs(self, request: web.Request) -> web.Response:
        self.cluster.advance()
        return web.json_response(
            {
                "jobs": [
                    {
                        "jid": job.job_id,
                        "state": job.state.value,
                        "tasks": job.tasks.value,
                        "parallelism": job.parallelism,
                        "has_slots": job.has_slots,
                        "attempt": job.attempt,
                        "jar": job.jar_id,
                    }
                    for job in self.cluster.jobs.values()
                ],
                "slots_used": self.cluster.slots_used,
                "waiting": list(self.cluster.waiting),
            }
        )
