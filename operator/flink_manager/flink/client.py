"""The one Flink REST client: async, one HTTP session per cluster, a timeout on every call, typed errors.

Only idempotent reads (GET) are retried, a few times with backoff and only when Flink is unavailable;
anything that changes the cluster is sent once and its failure is left to the caller, which knows how to
find out whether it was applied (a run is found again by its job id, a savepoint by its trigger id).
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import logging
import pathlib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import aiohttp
import pydantic

from flink_manager.flink.classify import classify_error, meaningful_line
from flink_manager.flink.dialect import FlinkDialect, dialect_for, unsupported_reason
from flink_manager.flink.errors import (
    FlinkClientConfigError,
    FlinkError,
    FlinkUnavailable,
    FlinkUnsupportedVersion,
)
from flink_manager.flink.models import (
    CheckpointingStatistics,
    ClusterOverview,
    DashboardConfig,
    JarInfo,
    JobDetails,
    JobExceptions,
    JobOverview,
    OperationState,
    OperationStatus,
    SavepointStatus,
)

logger = logging.getLogger(__name__)

Observer = Callable[[str, str, float], None]
T = TypeVar("T")

UPLOAD_TIMEOUT = 120.0
MAX_BACKOFF = 2.0


class BasicAuth(NamedTuple):
    """HTTP basic credentials for a Flink REST endpoint behind an authenticating proxy."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='***')"

    def header(self) -> str:
        """The `Authorization` header value."""
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")


class BearerToken(NamedTuple):
    """A bearer token for a Flink REST endpoint behind an authenticating proxy."""

    token: str

    def __repr__(self) -> str:
        return "BearerToken(token='***')"

    def header(self) -> str:
        """The `Authorization` header value."""
        return f"Bearer {self.token}"


def _segment(value: str) -> str:
    """A path segment, quoted so that no id can change the path it is put into."""
    return urllib.parse.quote(value, safe="")


class FlinkClient:
    """Async client of one Flink session cluster's REST API, in the dialect of the cluster's version (dialect.py).

    The version is learnt from `/config` before the first call that depends on it, and again from every
    `/config` and `/overview` answer, so a cluster upgraded behind the same URL is spoken to in its new dialect.
    """

    def __init__(
        self,
        rest_url: str,
        *,
        auth: BasicAuth | BearerToken | None = None,
        ca_pem: str | None = None,
        insecure_skip_verify: bool = False,
        timeout: float = 10.0,
        read_retries: int = 2,
        observer: Observer | None = None,
        retry_backoff: float = 0.2,
    ) -> None:
        parsed = urllib.parse.urlsplit(rest_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise FlinkClientConfigError(f"the Flink REST URL must be http(s)://host[:port][/path], got {rest_url!r}")
        self.rest_url = rest_url.rstrip("/")
        self.timeout = timeout
        self.read_retries = max(0, read_retries)
        self.retry_backoff = retry_backoff
        self._observer = observer
        self._headers = {"Accept": "application/json"}
        if auth is not None:
            self._headers["Authorization"] = auth.header()
        self._ssl: ssl.SSLContext | bool | None = (
            self._ssl_context(ca_pem, insecure_skip_verify) if parsed.scheme == "https" else None
        )
        self._session: aiohttp.ClientSession | None = None
        self.flink_version: str | None = None
        self._dialect: FlinkDialect | None = None
        self._target = f"{parsed.scheme}://{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")

    @staticmethod
    def _ssl_context(ca_pem: str | None, insecure: bool) -> ssl.SSLContext | bool | None:
        if insecure:
            return False
        if ca_pem is None:
            return None
        try:
            return ssl.create_default_context(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise FlinkClientConfigError(f"the CA certificate is not valid PEM: {exc}") from None

    def __repr__(self) -> str:
        return f"FlinkClient({self._target!r})"

    async def __aenter__(self) -> FlinkClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (and its pooled connections)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True, limit=64)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return self._session

    # -- cluster ---------------------------------------------------------------------------------

    async def config(self) -> DashboardConfig:
        """`GET /config`: the Flink version and revision."""
        config = await self._call("config", "GET", "/config", parse=DashboardConfig.model_validate)
        self._learn(config.flink_version)
        return config

    async def jobmanager_config(self) -> dict[str, str]:
        """`GET /jobmanager/config`: the JobManager's effective configuration, key → value."""
        return await self._call(
            "jobmanager_config",
            "GET",
            "/jobmanager/config",
            parse=lambda body: {str(item["key"]): str(item["value"]) for item in body},
        )

    async def overview(self) -> ClusterOverview:
        """`GET /overview`: task managers, slots and job counts."""
        overview = await self._call("overview", "GET", "/overview", parse=ClusterOverview.model_validate)
        self._learn(overview.flink_version)
        return overview

    async def dialect(self) -> FlinkDialect:
        """The dialect of the cluster's version (read from `/config` once); FlinkUnsupportedVersion if the
        client does not speak it."""
        if self._dialect is None:
            await self.config()
        if self._dialect is None:
            raise FlinkUnsupportedVersion(unsupported_reason(self.flink_version) or "unsupported Flink version")
        return self._dialect

    def _learn(self, version: str) -> None:
        if version == self.flink_version:
            return
        self.flink_version = version
        try:
            self._dialect = dialect_for(version)
        except FlinkUnsupportedVersion:
            self._dialect = None
        logger.debug("%r runs Flink %s (dialect %s)", self, version, self._dialect.name if self._dialect else "none")

    # -- jars ------------------------------------------------------------------------------------

    async def upload_jar(self, jar: pathlib.Path | bytes, filename: str, *, timeout: float | None = None) -> str:
        """Upload a jar (multipart field `jarfile`); returns the jar id Flink gave it (`<uuid>_<filename>`)."""
        content = await asyncio.to_thread(jar.read_bytes) if isinstance(jar, pathlib.Path) else jar

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("jarfile", content, filename=filename, content_type="application/x-java-archive")
            return data

        return await self._call(
            "upload_jar",
            "POST",
            "/jars/upload",
            form=form,
            timeout=timeout or max(self.timeout, UPLOAD_TIMEOUT),
            parse=lambda body: pathlib.PurePosixPath(str(body["filename"])).name,
        )

    async def list_jars(self) -> list[JarInfo]:
        """`GET /jars`: the uploaded jars, newest first."""
        return await self._call(
            "list_jars",
            "GET",
            "/jars",
            parse=lambda body: [JarInfo.model_validate(item) for item in body.get("files") or []],
        )

    async def delete_jar(self, jar_id: str) -> None:
        """`DELETE /jars/{id}`; raises FlinkJarNotFound if there is no such jar."""
        await self._call("delete_jar", "DELETE", f"/jars/{_segment(jar_id)}", parse=_ignore)

    async def run_jar(
        self,
        jar_id: str,
        *,
        entry_class: str | None,
        parallelism: int | None = None,
        program_args: Sequence[str] = (),
        job_id: str | None = None,
        savepoint_path: str | None = None,
        allow_non_restored_state: bool = False,
        flink_config: Mapping[str, str] | None = None,
        claim_mode: str | None = None,
    ) -> str:
        """`POST /jars/{id}/run`: start a job (with this job id, restoring from this savepoint); returns the job id.

        Never retried: if the answer is lost the job may have started, and a second run with the same job id
        is refused with FlinkDuplicateJob. Refused without a call (FlinkUnsupportedVersion) on a cluster whose
        version the client does not speak. `claim_mode` is sent in the field the cluster's version reads.
        """
        dialect = await self.dialect()
        request: dict[str, Any] = {
            "programArgsList": list(program_args),
            "allowNonRestoredState": allow_non_restored_state,
        }
        optional = {
            "entryClass": entry_class,
            "parallelism": parallelism,
            "jobId": job_id,
            "savepointPath": savepoint_path,
            dialect.claim_mode_field: claim_mode,
            "flinkConfiguration": {str(k): str(v) for k, v in flink_config.items()} if flink_config else None,
        }
        request.update({key: value for key, value in optional.items() if value is not None})
        return await self._call(
            "run_jar", "POST", f"/jars/{_segment(jar_id)}/run", json=request, parse=lambda body: str(body["jobid"])
        )

    # -- jobs ------------------------------------------------------------------------------------

    async def jobs_overview(self) -> list[JobOverview]:
        """`GET /jobs/overview`: every job the cluster knows, with its state (one call for all jobs)."""
        return await self._call(
            "jobs_overview",
            "GET",
            "/jobs/overview",
            parse=lambda body: [JobOverview.model_validate(item) for item in body.get("jobs") or []],
        )

    async def job(self, job_id: str) -> JobDetails:
        """`GET /jobs/{id}`; raises FlinkJobNotFound. Cached by Flink for up to `web.refresh-interval`."""
        return await self._call("job", "GET", f"/jobs/{_segment(job_id)}", parse=JobDetails.from_flink)

    async def cancel_job(self, job_id: str) -> None:
        """`PATCH /jobs/{id}?mode=cancel`; accepted (again) for a job that already ended; FlinkJobNotFound if unknown."""
        await self._call("cancel_job", "PATCH", f"/jobs/{_segment(job_id)}", params={"mode": "cancel"}, parse=_ignore)

    async def stop_with_savepoint(
        self,
        job_id: str,
        *,
        target_directory: str | None = None,
        drain: bool = False,
        trigger_id: str | None = None,
        format_type: str | None = None,
    ) -> str:
        """`POST /jobs/{id}/stop`: take a savepoint and finish the job; returns the trigger id.

        With `trigger_id` (32 hex) the request is idempotent: Flink answers a repeated trigger id with the same
        operation instead of starting another one.
        """
        request = {
            "targetDirectory": target_directory,
            "drain": drain,
            "triggerId": trigger_id,
            "formatType": format_type,
        }
        return await self._call(
            "stop_with_savepoint",
            "POST",
            f"/jobs/{_segment(job_id)}/stop",
            json={k: v for k, v in request.items() if v is not None},
            parse=_request_id,
        )

    async def trigger_savepoint(
        self,
        job_id: str,
        *,
        target_directory: str | None = None,
        cancel_job: bool = False,
        trigger_id: str | None = None,
        format_type: str | None = None,
    ) -> str:
        """`POST /jobs/{id}/savepoints`: take a savepoint (and cancel the job after it); returns the trigger id."""
        request = {
            "target-directory": target_directory,
            "cancel-job": cancel_job,
            "triggerId": trigger_id,
            "formatType": format_type,
        }
        return await self._call(
            "trigger_savepoint",
            "POST",
            f"/jobs/{_segment(job_id)}/savepoints",
            json={k: v for k, v in request.items() if v is not None},
            parse=_request_id,
        )

    async def savepoint_status(self, job_id: str, trigger_id: str) -> SavepointStatus:
        """`GET /jobs/{id}/savepoints/{trigger}` for a savepoint or a stop; FlinkTriggerNotFound if unknown."""
        return await self._call(
            "savepoint_status",
            "GET",
            f"/jobs/{_segment(job_id)}/savepoints/{_segment(trigger_id)}",
            parse=_savepoint_status,
        )

    async def checkpoints(self, job_id: str) -> CheckpointingStatistics:
        """`GET /jobs/{id}/checkpoints`: counts, latest completed checkpoint and savepoint, and the restored one."""
        return await self._call(
            "checkpoints", "GET", f"/jobs/{_segment(job_id)}/checkpoints", parse=CheckpointingStatistics.from_flink
        )

    async def exceptions(self, job_id: str, *, max_exceptions: int = 1) -> JobExceptions:
        """`GET /jobs/{id}/exceptions`: the newest failure, reduced to its root cause's meaningful line, and how many
        entries the exception history lists (at most `max_exceptions`, and at most web.exception-history-size)."""
        return await self._call(
            "exceptions",
            "GET",
            f"/jobs/{_segment(job_id)}/exceptions",
            params={"maxExceptions": str(max_exceptions)},
            parse=_job_exceptions,
        )

    # -- savepoint disposal ----------------------------------------------------------------------

    async def dispose_savepoint(self, path: str) -> str:
        """`POST /savepoint-disposal`: delete a savepoint; returns the trigger id to poll.

        The request has no `triggerId` on any version (1.18 and 1.19 refuse one, later versions ignore it): Flink
        always picks the trigger id, so a repeated disposal is another operation.
        """
        return await self._call(
            "dispose_savepoint", "POST", "/savepoint-disposal", json={"savepoint-path": path}, parse=_request_id
        )

    async def savepoint_disposal_status(self, trigger_id: str) -> OperationStatus:
        """`GET /savepoint-disposal/{trigger}`; FlinkTriggerNotFound if unknown."""
        return await self._call(
            "savepoint_disposal_status", "GET", f"/savepoint-disposal/{_segment(trigger_id)}", parse=_operation_status
        )

    # -- transport -------------------------------------------------------------------------------

    async def _call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        parse: Callable[[Any], T],
        json: Any = None,
        params: Mapping[str, str] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        timeout: float | None = None,
    ) -> T:
        """One REST call, with retries for reads: the parsed answer, or a typed FlinkError."""
        attempts = 1 + (self.read_retries if method == "GET" else 0)
        for attempt in range(attempts):
            began = time.monotonic()
            try:
                body = await self._send(
                    name,
                    method,
                    path,
                    json=json,
                    params=params,
                    data=form() if form else None,
                    timeout=timeout or self.timeout,
                )
                try:
                    result = parse(body)
                except (pydantic.ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise FlinkUnavailable(f"{method} {path}: the answer is not Flink's: {_first_line(exc)}") from None
            except FlinkError as exc:
                self._observe(name, exc.reason, time.monotonic() - began)
                if isinstance(exc, FlinkUnavailable) and attempt + 1 < attempts:
                    logger.debug("Flink %s %s unavailable (attempt %d): %s", method, path, attempt + 1, exc.message)
                    await asyncio.sleep(min(MAX_BACKOFF, self.retry_backoff * 2**attempt))
                    continue
                raise
            self._observe(name, "ok", time.monotonic() - began)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self,
        name: str,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, str] | None,
        data: aiohttp.FormData | None,
        timeout: float,
    ) -> Any:
        url = self.rest_url + path
        try:
            async with self._http().request(
                method, url, json=json, params=params, data=data, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise FlinkUnavailable(f"{method} {path} timed out after {timeout:g}s") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise FlinkUnavailable(f"TLS verification of {self._target} failed: {exc.certificate_error}") from None
        except aiohttp.ClientConnectorError as exc:
            raise FlinkUnavailable(f"cannot connect to {self._target}: {exc.strerror or exc.os_error}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FlinkUnavailable(f"{method} {path} failed: {type(exc).__name__}: {exc}") from None
        logger.debug("Flink %s %s → %d", method, path, status)
        body = self._decode(raw)
        if status >= 400:
            errors = body.get("errors") if isinstance(body, dict) else None
            if not isinstance(errors, list):
                errors = [raw.decode(errors="replace")[:2000]] if raw else []
            raise classify_error(name, status, [str(error) for error in errors])
        if body is None and raw:
            raise FlinkUnavailable(f"{method} {path}: HTTP {status} with a body that is not JSON")
        return body if body is not None else {}

    @staticmethod
    def _decode(raw: bytes) -> Any:
        if not raw:
            return None
        try:
            return jsonlib.loads(raw)
        except ValueError:
            return None

    def _observe(self, name: str, outcome: str, seconds: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer(name, outcome, seconds)
        except Exception:
            logger.exception("the Flink call observer failed")


# -- answers → results -------------------------------------------------------------------------------


def _ignore(body: Any) -> None:
    return None


def _request_id(body: Any) -> str:
    return str(body["request-id"])


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _operation_failure(operation: Mapping[str, Any]) -> FlinkError | None:
    """The typed error of an operation Flink reports COMPLETED with a `failure-cause`, or None if it succeeded."""
    cause = operation.get("failure-cause")
    if not cause:
        return None
    return classify_error("operation_failure", None, [str(cause.get("stack-trace") or cause.get("class") or "")])


def _savepoint_status(body: Any) -> SavepointStatus:
    operation = body.get("operation") or {}
    failure = _operation_failure(operation)
    return SavepointStatus(
        state=OperationState(body["status"]["id"]),
        location=operation.get("location"),
        failure=failure.message if failure else None,
    )


def _operation_status(body: Any) -> OperationStatus:
    failure = _operation_failure(body.get("operation") or {})
    return OperationStatus(state=OperationState(body["status"]["id"]), failure=failure.message if failure else None)


def _job_exceptions(body: Any) -> JobExceptions:
    """The newest entry of the exception history, its stack trace reduced to the root cause's line."""
    entries = (body.get("exceptionHistory") or {}).get("entries") or []
    if not entries:
        return JobExceptions()
    newest = entries[0]
    return JobExceptions(
        root_cause=meaningful_line([newest.get("stacktrace") or newest.get("exceptionName") or ""]) or None,
        exception_name=newest.get("exceptionName"),
        timestamp=newest.get("timestamp"),
        task_name=newest.get("taskName"),
        entries=len(entries),
    )
