"""Flink's error bodies and Java stack traces, as the simulated cluster writes them.

The shapes follow what Flink answers (tests/contract/OBSERVED.md): handler errors are
`{"errors": ["<trace>"]}`, unexpected server errors `{"errors": ["Internal server error.", "<Exception on
server side:\\n<trace>\\n\\nEnd of exception on server side>"]}`, and a trace is the head exception, a few
`\\tat` frames, then each `Caused by:` with its frames and `\\t... N more`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

REST_HANDLER = "org.apache.flink.runtime.rest.handler.RestHandlerException"
NOT_FOUND = "org.apache.flink.runtime.rest.NotFoundException"
JOB_NOT_FOUND = "org.apache.flink.runtime.messages.FlinkJobNotFoundException"
COMPLETION = "java.util.concurrent.CompletionException"
FLINK_RUNTIME = "org.apache.flink.util.FlinkRuntimeException"
FLINK_EXCEPTION = "org.apache.flink.util.FlinkException"
PROGRAM_INVOCATION = "org.apache.flink.client.program.ProgramInvocationException"
CHECKPOINT = "org.apache.flink.runtime.checkpoint.CheckpointException"
JOB_EXCEPTION = "org.apache.flink.runtime.JobException"
JOB_INITIALIZATION = "org.apache.flink.runtime.client.JobInitializationException"
FILE_NOT_FOUND = "java.io.FileNotFoundException"

_FRAMES = (
    "\tat java.base/java.util.concurrent.CompletableFuture.uniHandle(CompletableFuture.java:934)",
    "\tat java.base/java.util.concurrent.CompletableFuture$UniHandle.tryFire(CompletableFuture.java:911)",
    "\tat java.base/java.lang.Thread.run(Thread.java:840)",
)


@dataclass(frozen=True)
class Cause:
    """One exception of a Java cause chain: fully qualified class and message."""

    cls: str
    message: str = ""

    def line(self) -> str:
        return f"{self.cls}: {self.message}" if self.message else self.cls

    def wrapped_in(self, cls: str) -> Cause:
        """The wrapper Java builds around this cause (`new X(cause)`: message = cause.toString())."""
        return Cause(cls, self.line())


def java_trace(chain: Sequence[Cause]) -> str:
    """A Java stack trace for a chain of exceptions, outermost first."""
    lines: list[str] = []
    for index, cause in enumerate(chain):
        lines.append(cause.line() if index == 0 else f"Caused by: {cause.line()}")
        lines.extend(_FRAMES[: 3 if index == 0 else 1])
        if index > 0:
            lines.append(f"\t... {index + 3} more")
    return "\n".join(lines)


class SimulatedRestError(Exception):
    """An error answer of the simulated REST API: status and Flink's `errors` list."""

    def __init__(self, status: int, errors: list[str]) -> None:
        super().__init__(errors[0] if errors else str(status))
        self.status = status
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"errors": self.errors}


def handler_error(status: int, *chain: Cause) -> SimulatedRestError:
    """An error a REST handler raised on purpose (RestHandlerException and friends)."""
    return SimulatedRestError(status, [java_trace(chain)])


def server_error(*chain: Cause) -> SimulatedRestError:
    """An unexpected exception inside the JobManager: always 500, wrapped the way Flink wraps it."""
    return SimulatedRestError(
        500,
        [
            "Internal server error.",
            f"<Exception on server side:\n{java_trace(chain)}\n\nEnd of exception on server side>",
        ],
    )


def route_not_found(method: str, path: str) -> SimulatedRestError:
    """Flink's answer to a path it has no handler for (GET falls through to the static file server)."""
    if method == "GET":
        return SimulatedRestError(404, [f"Unable to load requested file {path}."])
    return SimulatedRestError(404, [f"Not found: {path}"])


def job_not_found(job_id: str) -> SimulatedRestError:
    """`GET /jobs/{id}`, `/checkpoints`, `/exceptions` of a job the cluster does not know."""
    return handler_error(404, Cause(NOT_FOUND, f"Job {job_id} not found"), _job_not_found_cause(job_id))


def cancel_job_not_found(job_id: str) -> SimulatedRestError:
    """`PATCH /jobs/{id}` of a job the cluster does not know."""
    return handler_error(404, Cause(REST_HANDLER, "Job could not be found."), _job_not_found_cause(job_id))


def bad_path_parameter(name: str, value: str) -> SimulatedRestError:
    """A job id or trigger id that is not 32 hex characters."""
    detail = f'Cannot resolve path parameter ({name}) from value "{value}".'
    return handler_error(
        400,
        Cause(REST_HANDLER, f"Bad request, could not parse parameters: {detail}"),
        Cause("org.apache.flink.runtime.rest.handler.HandlerRequestException", detail),
    )


def bad_request_body(body_type: str, *detail: Cause) -> SimulatedRestError:
    """A request body Flink's JSON mapper refuses."""
    return handler_error(400, Cause(REST_HANDLER, f"Request did not match expected format {body_type}."), *detail)


def bad_job_id_in_body(value: str, body_type: str = "JarRunRequestBody") -> SimulatedRestError:
    """A `jobId` (or `triggerId`) in a request body that is not 32 hex characters."""
    message = f'Cannot parse JobID from "{value}". The expected format is [0-9a-fA-F]{{32}}, e.g. fd72014d4c864993a2e5a9287b4a9c5d.'
    return bad_request_body(
        body_type,
        Cause("org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonMappingException", message),
        Cause("java.lang.IllegalArgumentException", message),
        Cause("java.lang.NumberFormatException", f'For input string: "{value[:2]}" under radix 16'),
    )


def bad_trigger_id_in_body(value: str, body_class: str) -> SimulatedRestError:
    """A `triggerId` in a stop or savepoint request that is not 32 hex characters."""
    number = f'For input string: "{value[:2]}" under radix 16'
    return bad_request_body(
        body_class.rsplit(".", 1)[-1],
        Cause(
            "org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonMappingException",
            f'{number} (through reference chain: {body_class}["triggerId"])',
        ),
        Cause("java.lang.NumberFormatException", number),
    )


def savepoint_trigger_not_found(trigger_id: str, job_id: str) -> SimulatedRestError:
    """`GET /jobs/{id}/savepoints/{trigger}` of an operation this job never had (or that expired)."""
    return handler_error(
        404, Cause(REST_HANDLER, f"There is no savepoint operation with triggerId={trigger_id} for job {job_id}.")
    )


def operation_not_found(key: int) -> SimulatedRestError:
    """`GET /savepoint-disposal/{trigger}` of an unknown operation."""
    return handler_error(
        404,
        Cause(
            NOT_FOUND,
            f"Operation not found under key: org.apache.flink.runtime.rest.handler.async.OperationKey@{key:x}",
        ),
    )


def run_failed(*inner: Cause) -> SimulatedRestError:
    """A run request whose program failed on the JobManager: 400 with the program's cause chain."""
    return handler_error(
        400,
        Cause(REST_HANDLER, "Could not execute application."),
        Cause(FLINK_RUNTIME, "Could not execute application.").wrapped_in(COMPLETION),
        Cause(FLINK_RUNTIME, "Could not execute application."),
        *inner,
    )


def main_method_failed(cause: Cause) -> SimulatedRestError:
    """The program's main() threw (bad arguments, `simulator.startup-fails`)."""
    return run_failed(Cause(PROGRAM_INVOCATION, f"The main method caused an error: {cause.message}"), cause)


def submission_failed(job_name: str, *inner: Cause) -> list[Cause]:
    """The chain of a run whose job the dispatcher refused (duplicate id, unusable savepoint)."""
    return [
        Cause(PROGRAM_INVOCATION, f"The main method caused an error: Failed to execute job '{job_name}'."),
        Cause(FLINK_EXCEPTION, f"Failed to execute job '{job_name}'."),
        *inner,
    ]


def duplicate_job(job_name: str, exception: str, message: str) -> SimulatedRestError:
    """A run with a job id the cluster has already seen (even if that job ended or expired); the exception
    class and message are the version's (FlinkDialect.duplicate_job)."""
    return run_failed(*submission_failed(job_name, Cause(f"org.apache.flink.runtime.client.{exception}", message)))


def unknown_request_field(body_class: str, field: str, known: Sequence[str], column: int) -> SimulatedRestError:
    """A request body with a field the server does not know, on a version that refuses those (until 1.19)."""
    simple = body_class.rsplit(".", 1)[-1]
    listed = ", ".join(f'"{name}"' for name in known)
    count = "one known property" if len(known) == 1 else f"{len(known)} known properties"
    return bad_request_body(
        simple,
        Cause(
            "org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException",
            f'Unrecognized field "{field}" (class {body_class}), not marked as ignorable ({count}: '
            f"{listed}])\n at [Source: (org.apache.flink.shaded.netty4.io.netty.buffer.ByteBufInputStream); line: 1, "
            f'column: {column}] (through reference chain: {body_class}["{field}"])',
        ),
    )


def savepoint_missing_chain(path: str) -> list[Cause]:
    """Why a job restoring from a savepoint that does not exist could not start."""
    missing = Cause(
        FILE_NOT_FOUND, f"Cannot find checkpoint or savepoint file/directory '{path}' on file system '{_scheme(path)}'."
    )
    runtime = missing.wrapped_in("java.lang.RuntimeException")
    return [
        Cause(JOB_INITIALIZATION, "Could not start the JobMaster."),
        runtime.wrapped_in(COMPLETION),
        runtime,
        missing,
    ]


def savepoint_missing(job_name: str, path: str) -> SimulatedRestError:
    """A run with a `savepointPath` that does not exist: 400 (and the job is listed as FAILED)."""
    chain = savepoint_missing_chain(path)
    return run_failed(*submission_failed(job_name, chain[0].wrapped_in("java.lang.RuntimeException"), *chain))


def jar_missing(upload_dir: str, jar_id: str) -> SimulatedRestError:
    """A run of a jar id that was never uploaded (or was deleted, or lost in a restart): 500."""
    cause = Cause(REST_HANDLER, f"Jar file {upload_dir}/{jar_id} does not exist")
    return server_error(cause.wrapped_in(COMPLETION), cause)


def jar_delete_missing(upload_dir: str, jar_id: str) -> SimulatedRestError:
    """`DELETE /jars/{id}` of an unknown jar: 400."""
    return handler_error(400, Cause(REST_HANDLER, f"File {jar_id} does not exist in {upload_dir}."))


def entry_class_missing(entry_class: str) -> SimulatedRestError:
    """A run naming an entry class the jar does not contain: 500."""
    cause = Cause(PROGRAM_INVOCATION, f"The program's entry point class '{entry_class}' was not found in the jar file.")
    return server_error(cause.wrapped_in(COMPLETION), cause, Cause("java.lang.ClassNotFoundException", entry_class))


def entry_class_undeclared() -> SimulatedRestError:
    """A run without an entry class of a jar whose manifest names none: 500."""
    cause = Cause(PROGRAM_INVOCATION, "Neither a 'Main-Class', nor a 'program-class' entry was found in the jar file.")
    return server_error(cause.wrapped_in(COMPLETION), cause)


def injected_server_error() -> SimulatedRestError:
    """An injected fault: a 500 that is not a refusal (the client must treat it as the cluster being unavailable)."""
    cause = Cause("java.util.concurrent.TimeoutException", "Injected fault of the simulated Flink cluster.")
    return server_error(cause.wrapped_in(COMPLETION), cause)


def injected_unavailable() -> SimulatedRestError:
    """An injected fault: Flink's 503 while its REST leader is unknown."""
    return SimulatedRestError(
        503, ["Service temporarily unavailable due to an ongoing leader election. Please refresh."]
    )


def failure_cause(*chain: Cause) -> dict[str, Any]:
    """An asynchronous operation's `failure-cause`, as in a COMPLETED savepoint or disposal that failed."""
    trace = java_trace(chain)
    return {
        "class": chain[0].cls,
        "stack-trace": trace,
        "serialized-throwable": base64.b64encode(trace.encode()[:256]).decode("ascii"),
    }


def _job_not_found_cause(job_id: str) -> Cause:
    return Cause(JOB_NOT_FOUND, f"Could not find Flink job ({job_id})")


def _scheme(path: str) -> str:
    return path.split(":", 1)[0] if ":" in path else "file"
