"""Flink's error answers → the client's typed errors, with the bodies a real Flink 2.3 cluster sent."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from flink_manager.flink.classify import classify_error, meaningful_line
from flink_manager.flink.errors import (
    FlinkAuthError,
    FlinkDuplicateJob,
    FlinkError,
    FlinkJarNotFound,
    FlinkJobNotFound,
    FlinkRequestRejected,
    FlinkTriggerNotFound,
    FlinkUnavailable,
)

ANSWERS: dict[str, Any] = json.loads((pathlib.Path(__file__).parent / "flink_2_3_answers.json").read_text())


def errors_of(answer: str) -> tuple[int, list[str]]:
    recorded = ANSWERS[answer]
    return recorded["status"], recorded["body"]["errors"]


# (recorded answer, the client call that got it) → (error type, Flink's meaningful line)
REAL_ANSWERS = [
    (
        "duplicate",
        "run_jar",
        FlinkDuplicateJob,
        "DuplicateApplicationSubmissionException: Application has already been submitted.",
    ),
    (
        "run_wrong_entry",
        "run_jar",
        FlinkRequestRejected,
        "ProgramInvocationException: The program's entry point class 'io.nope.NoSuchJob' was not found in the jar file.",
    ),
    ("run_unknown_jar", "run_jar", FlinkJarNotFound, "RestHandlerException: Jar file /tmp/real-flink-"),
    ("delete_unknown_jar", "delete_jar", FlinkJarNotFound, "RestHandlerException: File 3eeb6bcc-"),
    (
        "run_program_error",
        "run_jar",
        FlinkRequestRejected,
        "IllegalArgumentException: --rate and --keys must be positive",
    ),
    (
        "run_missing_savepoint",
        "run_jar",
        FlinkRequestRejected,
        "FileNotFoundException: Cannot find checkpoint or savepoint file/directory 'file:///tmp/no-such-savepoint' on file system 'file'.",
    ),
    (
        "run_bad_job_id",
        "run_jar",
        FlinkRequestRejected,
        'IllegalArgumentException: Cannot parse JobID from "nope". The expected format is [0-9a-fA-F]{32}',
    ),
    (
        "run_zero_parallelism",
        "run_jar",
        FlinkRequestRejected,
        "IllegalArgumentException: Parallelism must be at least one",
    ),
    ("run_bad_json", "run_jar", FlinkRequestRejected, "JsonParseException: "),
    ("run_garbage_jar", "run_jar", FlinkRequestRejected, "ZipException: zip END header not found"),
    ("upload_not_jar_name", "upload_jar", FlinkRequestRejected, "RestHandlerException: Only Jar files are allowed."),
    (
        "job_unknown",
        "job",
        FlinkJobNotFound,
        "FlinkJobNotFoundException: Could not find Flink job (0fe3547ec6934b99913b6c28f39eb976)",
    ),
    ("cancel_unknown", "cancel_job", FlinkJobNotFound, "FlinkJobNotFoundException: Could not find Flink job ("),
    ("checkpoints_unknown", "checkpoints", FlinkJobNotFound, "FlinkJobNotFoundException: Could not find Flink job ("),
    ("exceptions_unknown", "exceptions", FlinkJobNotFound, "FlinkJobNotFoundException: Could not find Flink job ("),
    (
        "job_malformed",
        "job",
        FlinkRequestRejected,
        'HandlerRequestException: Cannot resolve path parameter (jobid) from value "nope".',
    ),
    (
        "trigger_unknown",
        "savepoint_status",
        FlinkTriggerNotFound,
        "RestHandlerException: There is no savepoint operation with triggerId=",
    ),
    (
        "savepoint_status_other_job",
        "savepoint_status",
        FlinkTriggerNotFound,
        "RestHandlerException: There is no savepoint operation with triggerId=9f3d43a7465fd22504b4a8686e2f394c for job",
    ),
    (
        "trigger_malformed",
        "savepoint_status",
        FlinkRequestRejected,
        'HandlerRequestException: Cannot resolve path parameter (triggerid) from value "nope".',
    ),
    (
        "disposal_unknown",
        "savepoint_disposal_status",
        FlinkTriggerNotFound,
        "NotFoundException: Operation not found under key: org.apache.flink.runtime.rest.handler.async.OperationKey@",
    ),
    (
        "disposal_malformed",
        "savepoint_disposal_status",
        FlinkRequestRejected,
        "HandlerRequestException: Cannot resolve path parameter (triggerid)",
    ),
    (
        "disposal_no_path",
        "dispose_savepoint",
        FlinkRequestRejected,
        "RestHandlerException: Field savepoint-path must not be omitted or be null.",
    ),
    (
        "stop_bad_trigger",
        "stop_with_savepoint",
        FlinkRequestRejected,
        'JsonMappingException: For input string: "no" under radix 16',
    ),
    (
        "cancel_stop_mode",
        "cancel_job",
        FlinkRequestRejected,
        'RestHandlerException: The termination mode "stop" has been removed.',
    ),
    ("unknown_route", "job", FlinkRequestRejected, "Unable to load requested file /no/such/route."),
    ("method_not_allowed", "overview", FlinkRequestRejected, "Not found: /overview"),
]


@pytest.mark.parametrize(
    ("answer", "call", "error_type", "message"), REAL_ANSWERS, ids=[row[0] for row in REAL_ANSWERS]
)
def test_real_flink_error_answers_map_to_typed_errors_with_one_line(
    answer: str, call: str, error_type: type[FlinkError], message: str
) -> None:
    status, errors = errors_of(answer)
    error = classify_error(call, status, errors)
    assert type(error) is error_type
    assert error.message.startswith(message)
    assert "\n" not in error.message and "\tat " not in error.message
    assert error.status == status


SYNTHETIC = [
    ("unauthorized", "overview", 401, ["Unauthorized"], FlinkAuthError),
    ("forbidden proxy", "run_jar", 403, [], FlinkAuthError),
    ("bare internal error", "overview", 500, ["Internal server error."], FlinkUnavailable),
    (
        "timeout inside the JobManager",
        "jobs_overview",
        500,
        [
            "Internal server error.",
            "<Exception on server side:\njava.util.concurrent.CompletionException: "
            "java.util.concurrent.TimeoutException: Invocation timed out.\n\tat x.y(Z.java:1)\nCaused by: "
            "java.util.concurrent.TimeoutException: Invocation timed out.\n\nEnd of exception on server side>",
        ],
        FlinkUnavailable,
    ),
    (
        "leader election",
        "job",
        503,
        ["Service temporarily unavailable due to an ongoing leader election. Please refresh."],
        FlinkUnavailable,
    ),
    ("gateway", "run_jar", 502, ["<html>Bad Gateway</html>"], FlinkUnavailable),
    ("gateway timeout", "job", 504, [], FlinkUnavailable),
    ("too many requests", "overview", 429, [], FlinkUnavailable),
    ("payload too large", "upload_jar", 413, ["Request entity too large"], FlinkRequestRejected),
    ("404 without Flink's words on a job call", "job", 404, ["no such thing"], FlinkJobNotFound),
    ("404 without Flink's words on a trigger call", "savepoint_status", 404, [], FlinkTriggerNotFound),
    ("404 without Flink's words on a jar call", "delete_jar", 404, [], FlinkJarNotFound),
]


@pytest.mark.parametrize(
    ("call", "status", "errors", "error_type"), [row[1:] for row in SYNTHETIC], ids=[row[0] for row in SYNTHETIC]
)
def test_status_codes_without_a_flink_refusal_map_by_status(
    call: str, status: int, errors: list[str], error_type: type[FlinkError]
) -> None:
    assert type(classify_error(call, status, errors)) is error_type


def test_an_unauthorized_answer_says_so_without_the_body_being_needed() -> None:
    error = classify_error("overview", 401, [])
    assert error.message == "Flink refused the credentials (HTTP 401): HTTP 401"


def _failure_trace(answer: str) -> str:
    return str(ANSWERS[answer]["body"]["operation"]["failure-cause"]["stack-trace"])


# The failure cause of an asynchronous operation (status None: it was answered 200 COMPLETED).
OPERATION_FAILURES = [
    (
        "stop of a job whose tasks are not running",
        _failure_trace("stop_initializing_status"),
        FlinkRequestRejected,
        "CheckpointException: Checkpoint triggering task Source: numbers (1/1) of job 9e26c3620d2b439a9dfb6704e838e916 "
        "is not being executed at the moment. Aborting checkpoint. Failure reason: Not all required tasks are currently running.",
    ),
    (
        "disposal of a path that does not exist",
        _failure_trace("disposal_missing_status"),
        FlinkRequestRejected,
        "FileNotFoundException: Cannot find checkpoint or savepoint file/directory 'file:///tmp/no-such-savepoint-x' on file system 'file'.",
    ),
    # tests/contract/OBSERVED.md: a stop of a job that already ended (trace abridged there as here).
    (
        "stop of a job that ended",
        "java.util.concurrent.CompletionException: org.apache.flink.runtime.messages."
        "FlinkJobNotFoundException: Could not find Flink job (98e8405d289643d8b86c65a87e987c54)\n\tat x.y(Z.java:1)\n"
        "Caused by: org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job "
        "(98e8405d289643d8b86c65a87e987c54)\n\t... 5 more",
        FlinkJobNotFound,
        "FlinkJobNotFoundException: Could not find Flink job (98e8405d289643d8b86c65a87e987c54)",
    ),
    (
        "savepoint into an unwritable directory (OBSERVED.md)",
        "java.util.concurrent.CompletionException: org.apache.flink."
        "runtime.checkpoint.CheckpointException: An Exception occurred while triggering the checkpoint. IO-problem detected.\n"
        "Caused by: org.apache.flink.runtime.checkpoint.CheckpointException: An Exception occurred while triggering the "
        "checkpoint. IO-problem detected.\nCaused by: java.io.IOException: Failed to create savepoint directory at "
        "file:/proc/flink-savepoints",
        FlinkRequestRejected,
        "IOException: Failed to create savepoint directory at file:/proc/flink-savepoints",
    ),
]


@pytest.mark.parametrize(
    ("trace", "error_type", "message"),
    [row[1:] for row in OPERATION_FAILURES],
    ids=[row[0] for row in OPERATION_FAILURES],
)
def test_failed_operations_give_their_innermost_cause(trace: str, error_type: type[FlinkError], message: str) -> None:
    error = classify_error("operation_failure", None, [trace])
    assert type(error) is error_type
    assert error.message == message


def _root_stacktrace(answer: str) -> str:
    return str(ANSWERS[answer]["body"]["exceptionHistory"]["entries"][0]["stacktrace"])


ROOT_CAUSES = [
    (
        "failed without restarts (JobException wrapper)",
        _root_stacktrace("exceptions_failed"),
        "IllegalStateException: StatefulCounterJob fails on purpose after 10 records (--fail-after 10)",
    ),
    (
        "restarting (the task's own exception)",
        _root_stacktrace("exceptions_restarting"),
        "IllegalStateException: StatefulCounterJob fails on purpose after 10 records (--fail-after 10)",
    ),
    (
        "JobMaster could not start",
        _root_stacktrace("exceptions_missing_savepoint"),
        "FileNotFoundException: Cannot find checkpoint or savepoint file/directory 'file:///tmp/no-such-savepoint' on file system 'file'.",
    ),
    ("a line that is not a Java exception", "Not found: /jobs/x/y", "Not found: /jobs/x/y"),
    (
        "server-side wrapper only",
        "<Exception on server side:\njava.lang.NullPointerException\n\tat a.b(C.java:1)\n\n"
        "End of exception on server side>",
        "NullPointerException",
    ),
    (
        "a low-level cause explained by its wrapper",
        "org.apache.flink.client.program.ProgramInvocationException: Entry class 'a.B' not found\n"
        "Caused by: java.lang.ClassNotFoundException: a.B",
        "ProgramInvocationException: Entry class 'a.B' not found",
    ),
    ("nothing at all", "", ""),
]


@pytest.mark.parametrize(("trace", "line"), [row[1:] for row in ROOT_CAUSES], ids=[row[0] for row in ROOT_CAUSES])
def test_meaningful_line_of_a_stack_trace(trace: str, line: str) -> None:
    assert meaningful_line([trace]) == line


def test_a_very_long_message_is_cut_to_one_bounded_line() -> None:
    line = meaningful_line(["java.lang.RuntimeException: " + "x" * 5000])
    assert len(line) == 500 and line.endswith("…")
