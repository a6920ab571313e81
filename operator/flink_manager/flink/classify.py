"""Flink's error answers → the client's typed errors. The only place that reads Flink's error messages.

Flink answers an error with `{"errors": [...]}` whose strings are often whole Java stack traces, and a
500 may be a refusal (a missing entry class) rather than an outage. `classify_error` decides from the status
code and the body; `meaningful_line` reduces a stack trace to the one line a user needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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

MAX_MESSAGE = 500

# Calls whose 404 means "no such job", "no such operation" or "no such jar" when the body does not say more.
JOB_CALLS = frozenset({"job", "cancel_job", "checkpoints", "exceptions", "stop_with_savepoint", "trigger_savepoint"})
TRIGGER_CALLS = frozenset({"savepoint_status", "savepoint_disposal_status"})
JAR_CALLS = frozenset({"run_jar", "delete_jar"})

_SERVER_SIDE_START = "<Exception on server side:"
_SERVER_SIDE_END = "End of exception on server side>"
_JAVA_CLASS = re.compile(r"^(?:[a-zA-Z_$][\w$]*\.)*([A-Z][\w$]*(?:Exception|Error|Throwable))(?::\s?(.*))?$")
# Causes whose own message says less than the exception that wraps them.
_LOW_LEVEL_CAUSES = frozenset({"NumberFormatException", "ClassNotFoundException", "InvocationTargetException"})

_DUPLICATE = re.compile(r"Duplicate(?:Application|Job)SubmissionException")
_JAR_MISSING = re.compile(r"Jar file .* does not exist|File \S+ does not exist in ")
_TRIGGER_MISSING = re.compile(r"There is no savepoint operation with triggerId|Operation not found under key")
_JOB_MISSING = re.compile(r"FlinkJobNotFoundException|Job [0-9a-fA-F]{32} not found|Job could not be found")
_ROUTE_MISSING = re.compile(r"^(?:Not found: /|Unable to load requested file )")
# A 500 that is Flink refusing the program, not Flink failing: retrying will not help.
_PROGRAM_REFUSED = re.compile(r"ProgramInvocationException|ClassNotFoundException")


def classify_error(call: str, status: int | None, errors: Sequence[str]) -> FlinkError:
    """The typed error for a failed call: `status` is the HTTP status, or None for the failure cause of an
    asynchronous operation that Flink reported as COMPLETED with a `failure-cause`."""
    text = "\n".join(errors)
    message = meaningful_line(errors) or (f"HTTP {status}" if status is not None else "unknown failure")
    if status in (401, 403):
        return FlinkAuthError(f"Flink refused the credentials (HTTP {status}): {message}", status=status)
    if _DUPLICATE.search(text):
        return FlinkDuplicateJob(message, status=status)
    if _JAR_MISSING.search(text):
        return FlinkJarNotFound(message, status=status)
    if _TRIGGER_MISSING.search(text):
        return FlinkTriggerNotFound(message, status=status)
    if _JOB_MISSING.search(text):
        return FlinkJobNotFound(message, status=status)
    if status is None:
        return FlinkRequestRejected(message)
    if status == 404 and not any(_ROUTE_MISSING.search(error) for error in errors):
        if call in JOB_CALLS:
            return FlinkJobNotFound(message, status=status)
        if call in TRIGGER_CALLS:
            return FlinkTriggerNotFound(message, status=status)
        if call in JAR_CALLS:
            return FlinkJarNotFound(message, status=status)
    if status in (408, 429) or status >= 502:
        return FlinkUnavailable(f"HTTP {status}: {message}", status=status)
    if status >= 500:
        if _PROGRAM_REFUSED.search(text):
            return FlinkRequestRejected(message, status=status)
        return FlinkUnavailable(f"HTTP {status}: {message}", status=status)
    return FlinkRequestRejected(message, status=status)


def meaningful_line(errors: Sequence[str]) -> str:
    """The one line that explains Flink's error: the innermost cause of the Java exception chain, as
    `SimpleClassName: message` (its package dropped), or the first plain error line."""
    for error in errors:
        text = _unwrap_server_side(error).strip()
        if not text or text == "Internal server error.":
            continue
        chain = _exception_chain(text)
        if not chain:
            return _shorten(text.splitlines()[0])
        chosen = chain[-1]
        for name, detail in reversed(chain):
            if name not in _LOW_LEVEL_CAUSES and detail and not _JAVA_CLASS.match(detail.split(" ")[0].rstrip(":")):
                chosen = (name, detail)
                break
        name, detail = chosen
        return _shorten(f"{name}: {detail}" if detail else name)
    return ""


def _unwrap_server_side(error: str) -> str:
    """Flink wraps the trace of an unexpected server error in `<Exception on server side: … End of …>`."""
    if error.startswith(_SERVER_SIDE_START):
        error = error[len(_SERVER_SIDE_START) :]
        end = error.rfind(_SERVER_SIDE_END)
        if end >= 0:
            error = error[:end]
    return error


def _exception_chain(trace: str) -> list[tuple[str, str]]:
    """(simple class name, message) of the head exception and each `Caused by:` at the top level.

    Indented `Caused by:` lines belong to suppressed exceptions and are skipped; an unparseable head
    (not `pkg.SomeException: message`) yields an empty chain.
    """
    lines = trace.splitlines()
    chain: list[tuple[str, str]] = []
    head = _JAVA_CLASS.match(lines[0].strip())
    if head is None:
        return []
    chain.append((head.group(1), (head.group(2) or "").strip()))
    for line in lines[1:]:
        if line.startswith("Caused by: "):
            cause = _JAVA_CLASS.match(line[len("Caused by: ") :].strip())
            if cause is not None:
                chain.append((cause.group(1), (cause.group(2) or "").strip()))
    return chain


def _shorten(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
