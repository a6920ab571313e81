"""`flink-manager start | stop | resume | restart | savepoint | history | status`: conveniences over the
Kubernetes API for Executions. Each is one write of the Execution's spec (or one read), as `kubectl` would make;
the operator does the rest. Writes use the field manager `flink-manager-cli`, which the operator records as
`performedBy` in the history."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from flink_manager.cli.common import CliError, Formatter
from flink_manager.cli.kubeconfig import load_target
from flink_manager.kube.client import (
    EXECUTIONS,
    JOB_SPECS,
    KubeClient,
    KubeConflict,
    KubeError,
    KubeNotFound,
    KubeUnavailable,
)

FIELD_MANAGER = "flink-manager-cli"
POLL_SECONDS = 0.5
T = TypeVar("T")


def _kube_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Kubernetes")
    group.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    group.add_argument("--context", help="kubeconfig context (default: the current one)")
    group.add_argument("-n", "--namespace", help="namespace (default: the context's, else default)")


def _wait_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"wait until {what}")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits at most")


def add_parsers(commands: Any) -> None:
    start = commands.add_parser(
        "start",
        help="create an Execution of a JobSpec (start a job)",
        formatter_class=Formatter,
        description="Create an Execution of JOBSPEC with state Running (named NAME, or JOBSPEC-xxxxx).\n\n"
        "example:\n  flink-manager start stateful-counter --wait",
    )
    start.add_argument("job_spec", metavar="JOBSPEC", help="the JobSpec to run")
    start.add_argument("--name", help="the Execution's name (default: generated from the JobSpec's)")
    _wait_options(start, "the Execution is Running")
    _kube_options(start)
    start.set_defaults(handler=start_execution)

    stop = commands.add_parser(
        "stop",
        help="stop an Execution's job with a savepoint (or --cancel it)",
        formatter_class=Formatter,
        description="Set spec.state to Stopped: the job is stopped with a savepoint, which `flink-manager resume` "
        "restores. With --cancel, spec.state Cancelled: cancelled without a savepoint.",
    )
    stop.add_argument("execution", metavar="EXECUTION")
    stop.add_argument("--cancel", action="store_true", help="cancel without a savepoint")
    _wait_options(stop, "the job is Stopped (prints the savepoint) or Cancelled")
    _kube_options(stop)
    stop.set_defaults(handler=stop_execution)

    resume = commands.add_parser(
        "resume",
        help="run a stopped Execution again, from its savepoint",
        formatter_class=Formatter,
        description="Set spec.state to Running: a Stopped Execution resumes from its last savepoint.",
    )
    resume.add_argument("execution", metavar="EXECUTION")
    _wait_options(resume, "the Execution is Running")
    _kube_options(resume)
    resume.set_defaults(handler=resume_execution)

    restart = commands.add_parser(
        "restart",
        help="restart an Execution's job (bumps spec.restartNonce)",
        formatter_class=Formatter,
        description="Increase spec.restartNonce by one: the job is stopped with a savepoint and a new attempt "
        "is submitted from it (without state when the JobSpec's upgradeMode is stateless).",
    )
    restart.add_argument("execution", metavar="EXECUTION")
    _wait_options(restart, "the new attempt is Running")
    _kube_options(restart)
    restart.set_defaults(handler=restart_execution)

    savepoint = commands.add_parser(
        "savepoint",
        help="take a savepoint of a running job (bumps spec.savepointNonce)",
        formatter_class=Formatter,
        description="Increase spec.savepointNonce by one: the operator triggers a savepoint; the job keeps "
        "running. Its path appears in status.lastSavepoint and in the history.",
    )
    savepoint.add_argument("execution", metavar="EXECUTION")
    _wait_options(savepoint, "the savepoint is taken (prints its path)")
    _kube_options(savepoint)
    savepoint.set_defaults(handler=savepoint_execution)

    history = commands.add_parser(
        "history",
        help="print an Execution's history as a table",
        formatter_class=Formatter,
        description="Print status.history: one row per transition (START, STOP, SAVEPOINT, FAIL, …), oldest "
        "first. The operator keeps the newest entries (FLINK_MANAGER_HISTORY_LIMIT); SEQ counts all.",
    )
    history.add_argument("execution", metavar="EXECUTION")
    history.add_argument("-o", "--output", choices=("table", "json"), default="table", help="output format")
    _kube_options(history)
    history.set_defaults(handler=history_of_execution)

    status = commands.add_parser(
        "status",
        help="print where an Execution is: phase, Flink job, savepoint, conditions",
        formatter_class=Formatter,
        description="Print an Execution's state in a few lines.",
    )
    status.add_argument("execution", metavar="EXECUTION")
    _kube_options(status)
    status.set_defaults(handler=status_of_execution)


# ---------------------------------------------------------------------------------------------------- plumbing


def _run(args: argparse.Namespace, work: Callable[[KubeClient, str], Awaitable[T]]) -> T:
    target = load_target(args.kubeconfig, args.context, args.namespace)

    async def main() -> T:
        client = KubeClient(target.credentials, field_manager=FIELD_MANAGER)
        try:
            return await work(client, target.namespace)
        except KubeUnavailable as exc:
            raise CliError(f"cannot reach the Kubernetes API at {target.credentials.server}: {exc.message}") from None
        except KubeError as exc:
            raise CliError(exc.message) from None
        finally:
            await client.close()

    return asyncio.run(main())


async def _get_execution(client: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    try:
        return await client.get(EXECUTIONS, namespace, name)
    except KubeNotFound:
        raise CliError(f"Execution {name!r} not found in namespace {namespace!r}") from None


async def _patch_spec(
    client: KubeClient, namespace: str, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read, compute a spec patch from the current object, write it guarded by resourceVersion; retry conflicts."""
    for _ in range(5):
        current = await _get_execution(client, namespace, name)
        patch = change(current)
        try:
            updated = await client.patch(
                EXECUTIONS, namespace, name, {"spec": patch}, resource_version=current["metadata"]["resourceVersion"]
            )
            return current, updated
        except KubeConflict:
            continue
    raise CliError(f"Execution {name!r} keeps changing under this command; try again")


async def _wait(
    client: KubeClient, namespace: str, name: str, done: Callable[[dict[str, Any]], bool], timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body = await _get_execution(client, namespace, name)
    while not done(body):
        status = body.get("status") or {}
        if status.get("phase") == "Failed" and not status.get("pending"):
            raise CliError(f"Execution {name!r} failed: {status.get('errorMessage') or 'see its history'}")
        if time.monotonic() >= deadline:
            raise CliError(f"Execution {name!r} did not become {what} within {timeout:g}s: {_blocker(body)}")
        await asyncio.sleep(POLL_SECONDS)
        body = await _get_execution(client, namespace, name)
    return body


def _blocker(body: dict[str, Any]) -> str:
    status = body.get("status") or {}
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready" and condition.get("status") != "True":
            return (
                f"phase {status.get('phase', 'Pending')}, Ready={condition.get('status')} "
                f"{condition.get('reason')}: {condition.get('message')}"
            )
    return f"phase {status.get('phase', 'Pending')}"


def _phase(body: dict[str, Any]) -> str | None:
    return (body.get("status") or {}).get("phase")


def _settled(body: dict[str, Any], phase: str) -> bool:
    status = body.get("status") or {}
    generation = body["metadata"].get("generation")
    return status.get("phase") == phase and not status.get("pending") and status.get("observedGeneration") == generation


def _say(text: str) -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------------------------------- commands


def start_execution(args: argparse.Namespace) -> int:
    """Create an Execution of a JobSpec."""

    async def work(client: KubeClient, namespace: str) -> int:
        try:
            await client.get(JOB_SPECS, namespace, args.job_spec)
        except KubeNotFound:
            raise CliError(f"JobSpec {args.job_spec!r} not found in namespace {namespace!r}") from None
        metadata = {"name": args.name} if args.name else {"generateName": f"{args.job_spec}-"}
        body = {
            "apiVersion": EXECUTIONS.api_version,
            "kind": "Execution",
            "metadata": metadata,
            "spec": {"jobSpecRef": {"name": args.job_spec}, "state": "Running"},
        }
        try:
            created = await client.create(EXECUTIONS, namespace, body)
        except KubeConflict:
            raise CliError(f"Execution {args.name!r} already exists in namespace {namespace!r}") from None
        name = created["metadata"]["name"]
        _say(f"execution.flinkmanager.io/{name} created")
        if args.wait:
            running = await _wait(client, namespace, name, lambda b: _settled(b, "Running"), args.timeout, "Running")
            _say(f"execution.flinkmanager.io/{name} Running (Flink job {running['status'].get('flinkJobId')})")
        return 0

    return _run(args, work)


def stop_execution(args: argparse.Namespace) -> int:
    """Stop (with a savepoint) or cancel an Execution's job."""
    state = "Cancelled" if args.cancel else "Stopped"

    async def work(client: KubeClient, namespace: str) -> int:
        await _patch_spec(client, namespace, args.execution, lambda _: {"state": state})
        _say(f"execution.flinkmanager.io/{args.execution} spec.state={state}")
        if args.wait:
            body = await _wait(client, namespace, args.execution, lambda b: _settled(b, state), args.timeout, state)
            savepoint = ((body.get("status") or {}).get("lastSavepoint") or {}).get("path")
            suffix = f" (savepoint {savepoint})" if state == "Stopped" and savepoint else ""
            _say(f"execution.flinkmanager.io/{args.execution} {state}{suffix}")
        return 0

    return _run(args, work)


def resume_execution(args: argparse.Namespace) -> int:
    """Set a stopped Execution Running again."""

    async def work(client: KubeClient, namespace: str) -> int:
        before, _ = await _patch_spec(client, namespace, args.execution, lambda _: {"state": "Running"})
        _say(f"execution.flinkmanager.io/{args.execution} spec.state=Running")
        if args.wait:
            attempt = (before.get("status") or {}).get("attempt", 0)
            was_running = _phase(before) == "Running"

            def resumed(body: dict[str, Any]) -> bool:
                return _settled(body, "Running") and (was_running or body["status"].get("attempt", 0) > attempt)

            body = await _wait(client, namespace, args.execution, resumed, args.timeout, "Running")
            status = body["status"]
            origin = f" from {status['restoredFrom']}" if status.get("restoredFrom") else ""
            _say(f"execution.flinkmanager.io/{args.execution} Running (Flink job {status.get('flinkJobId')}{origin})")
        return 0

    return _run(args, work)


async def _bump_nonce(client: KubeClient, namespace: str, name: str, field: str) -> int:
    """Add one to a nonce of the spec (restartNonce, savepointNonce), which asks the operator to act once more."""
    _, updated = await _patch_spec(
        client, namespace, name, lambda current: {field: int((current.get("spec") or {}).get(field) or 0) + 1}
    )
    nonce = int(updated["spec"][field])
    _say(f"execution.flinkmanager.io/{name} spec.{field}={nonce}")
    return nonce


def restart_execution(args: argparse.Namespace) -> int:
    """Bump spec.restartNonce."""

    async def work(client: KubeClient, namespace: str) -> int:
        nonce = await _bump_nonce(client, namespace, args.execution, "restartNonce")
        if args.wait:

            def restarted(body: dict[str, Any]) -> bool:
                return _settled(body, "Running") and (body.get("status") or {}).get("observedRestartNonce", 0) >= nonce

            body = await _wait(client, namespace, args.execution, restarted, args.timeout, "Running again")
            status = body["status"]
            _say(
                f"execution.flinkmanager.io/{args.execution} Running (attempt {status.get('attempt')}, "
                f"Flink job {status.get('flinkJobId')})"
            )
        return 0

    return _run(args, work)


def savepoint_execution(args: argparse.Namespace) -> int:
    """Bump spec.savepointNonce."""

    async def work(client: KubeClient, namespace: str) -> int:
        nonce = await _bump_nonce(client, namespace, args.execution, "savepointNonce")
        if args.wait:

            def taken(body: dict[str, Any]) -> bool:
                status = body.get("status") or {}
                return status.get("observedSavepointNonce", 0) >= nonce and not status.get("pending")

            body = await _wait(client, namespace, args.execution, taken, args.timeout, "savepointed")
            status = body["status"]
            failed = status.get("failedOperation") or {}
            if failed.get("operation") == "savepoint":
                raise CliError(f"the savepoint failed: {failed.get('reason')}: {failed.get('message')}")
            _say(f"savepoint {(status.get('lastSavepoint') or {}).get('path')}")
        return 0

    return _run(args, work)


HISTORY_COLUMNS = ("SEQ", "ACTION", "BY", "AT", "FROM → TO", "FLINK JOB", "DETAILS")


def history_rows(history: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per history entry, oldest first, in the columns of HISTORY_COLUMNS."""
    rows: list[tuple[str, ...]] = []
    for entry in sorted(history, key=lambda e: e.get("seq", 0)):
        details = entry.get("details") or {}
        text = ", ".join(f"{key}={value}" for key, value in details.items() if value not in (None, ""))
        rows.append(
            (
                str(entry.get("seq", "")),
                str(entry.get("action", "")),
                str(entry.get("performedBy", "")),
                str(entry.get("performedAt", "")),
                f"{entry.get('oldStatus') or '-'} → {entry.get('newStatus') or '-'}",
                str(entry.get("flinkJobId") or "-"),
                text or "-",
            )
        )
    return rows


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, kubectl-style (three spaces apart, the last one unpadded)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)] + [row[-1]]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


def history_of_execution(args: argparse.Namespace) -> int:
    """Print status.history."""

    async def work(client: KubeClient, namespace: str) -> int:
        body = await _get_execution(client, namespace, args.execution)
        status = body.get("status") or {}
        history = list(status.get("history") or ())
        if args.output == "json":
            json.dump(history, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
        if not history:
            _say(f"Execution {args.execution!r} has no history yet")
            return 0
        _say(format_table(HISTORY_COLUMNS, history_rows(history)))
        total = status.get("historyTotal", len(history))
        if total > len(history):
            _say(f"({total - len(history)} older entries not kept; historyTotal={total})")
        return 0

    return _run(args, work)


def status_of_execution(args: argparse.Namespace) -> int:
    """Print phase, job, savepoint and conditions."""

    async def work(client: KubeClient, namespace: str) -> int:
        body = await _get_execution(client, namespace, args.execution)
        spec, status = body.get("spec") or {}, body.get("status") or {}
        savepoint = status.get("lastSavepoint") or {}
        lines = [
            f"Execution:   {namespace}/{args.execution} (JobSpec {(spec.get('jobSpecRef') or {}).get('name')})",
            f"Desired:     {spec.get('state', 'Running')}   restartNonce={spec.get('restartNonce', 0)}   "
            f"savepointNonce={spec.get('savepointNonce', 0)}",
            f"Phase:       {status.get('phase', 'Pending')}"
            + (f"   since {status['startedAt']}" if status.get("startedAt") else ""),
            f"Flink job:   {status.get('flinkJobId') or '-'}   attempt {status.get('attempt', 0)}   "
            f"restarts {status.get('restarts', 0)}   cluster {status.get('cluster') or '-'}",
            f"Savepoint:   {savepoint.get('path') or '-'}"
            + (f"   ({savepoint.get('reason')}, {savepoint.get('takenAt')})" if savepoint else ""),
        ]
        if status.get("pending"):
            pending = status["pending"]
            lines.append(
                f"In flight:   {pending.get('operation')} ({pending.get('action')}) since {pending.get('since')}"
            )
        if status.get("errorMessage"):
            lines.append(f"Error:       {status['errorMessage']}")
        for condition in status.get("conditions") or ():
            lines.append(
                f"{condition.get('type') + ':':<12} {condition.get('status')}   {condition.get('reason')}: "
                f"{condition.get('message')}"
            )
        _say("\n".join(lines))
        return 0

    return _run(args, work)
