"""Record what a real Flink 2.3 REST API answers to every call the operator makes (the source of tests/contract/OBSERVED.md).

`python -m tests.infra.flink.observe [--rest-url URL] [--out FILE]` runs the scenarios against a cluster
(a fresh RealFlinkCluster unless --rest-url is given) and writes each request with its status code, the
JSON body (long strings such as stack traces abridged) and the job state sequences with timings.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from tests.infra.flink.cluster import RealFlinkCluster
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS, example_job_jar
from tests.waiting import wait_for_sync

TERMINAL_STATES = {"FINISHED", "CANCELED", "FAILED"}


def abridge(value: Any, *, max_string: int = 300, max_items: int = 12) -> Any:
    """Shorten long strings (stack traces: first two lines) and long lists, keeping the JSON shape."""
    if isinstance(value, str) and len(value) > max_string:
        lines = value.splitlines()
        # The first line and every "Caused by:" line carry the meaning of a Java stack trace.
        head = lines[:2] if lines[0].startswith("<Exception on server side") else lines[:1]
        kept = [line[:max_string] for line in head] + [
            line[:max_string] for line in lines[len(head) :] if line.startswith("Caused by:")
        ]
        return "\n".join(kept) + f" …[{len(value)} chars]"
    if isinstance(value, list):
        items = [abridge(item, max_string=max_string, max_items=max_items) for item in value[:max_items]]
        if len(value) > max_items:
            items.append(f"…[{len(value) - max_items} more]")
        return items
    if isinstance(value, dict):
        return {key: abridge(item, max_string=max_string, max_items=max_items) for key, item in value.items()}
    return value


class Rest:
    """A minimal blocking REST caller that never raises on HTTP errors."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any, dict[str, str]]:
        """One request: (status, decoded JSON or text, response headers)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        return self._send(request, timeout)

    def upload(self, path: str, field: str, file: pathlib.Path) -> tuple[int, Any, dict[str, str]]:
        """POST a multipart/form-data upload of one file."""
        boundary = secrets.token_hex(16)
        payload = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{file.name}"\r\n'
                "Content-Type: application/java-archive\r\n\r\n"
            ).encode()
            + file.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(self.base_url + path, data=payload, method="POST")
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        return self._send(request, 60.0)

    @staticmethod
    def _send(request: urllib.request.Request, timeout: float) -> tuple[int, Any, dict[str, str]]:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, headers = (
                    response.status,
                    response.read(),
                    {k.lower(): v for k, v in response.headers.items()},
                )
        except urllib.error.HTTPError as error:
            status, raw, headers = error.code, error.read(), {k.lower(): v for k, v in error.headers.items()}
        try:
            return status, json.loads(raw) if raw else None, headers
        except ValueError:
            return status, raw.decode(errors="replace"), headers


class StateRecorder:
    """Polls GET /jobs/{id} and GET /jobs/overview in a thread and records each change of the job's state in each."""

    def __init__(self, rest: Rest, job_id: str) -> None:
        self.rest, self.job_id = rest, job_id
        self.changes: list[tuple[float, str]] = []
        self.overview_changes: list[tuple[float, str]] = []
        self.first_bodies: dict[str, Any] = {}
        self.polls = 0
        self._stop = threading.Event()
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StateRecorder:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            status, body, _ = self.rest.call("GET", f"/jobs/{self.job_id}", timeout=10)
            state = f"{body.get('state')}" if status == 200 else f"HTTP {status}"
            self._record(self.changes, state)
            self.first_bodies.setdefault(state, body)
            status, body, _ = self.rest.call("GET", "/jobs/overview", timeout=10)
            jobs = [job["state"] for job in body.get("jobs", []) if job["jid"] == self.job_id] if status == 200 else []
            self._record(self.overview_changes, jobs[0] if jobs else "absent" if status == 200 else f"HTTP {status}")
            self.polls += 1
            self._stop.wait(0.005)

    def _record(self, changes: list[tuple[float, str]], state: str) -> None:
        if not changes or changes[-1][1] != state:
            changes.append((time.monotonic() - self._began, state))

    def reached(self, states: set[str]) -> bool:
        """Both endpoints show one of `states`."""
        return (
            bool(self.changes and self.overview_changes)
            and {self.changes[-1][1], self.overview_changes[-1][1]} <= states
        )

    def last(self) -> str | None:
        """The newest state seen by either endpoint (the overview is the fresher one)."""
        return self.overview_changes[-1][1] if self.overview_changes else None

    def stop(self) -> str:
        self._stop.set()
        self._thread.join(timeout=15)

        def steps(changes: list[tuple[float, str]]) -> str:
            return " → ".join(f"{state} (+{at:.2f}s)" for at, state in changes)

        return (
            f"\n- `GET /jobs/{{id}}`: {steps(self.changes)}"
            f"\n- `GET /jobs/overview`: {steps(self.overview_changes)}"
            f"\n- ({self.polls} polls of each)"
        )


class Observer:
    """Runs the scenarios and writes a Markdown log."""

    def __init__(self, rest: Rest, savepoint_dir: pathlib.Path | None, out: Callable[[str], None]) -> None:
        self.rest, self.savepoint_dir, self.out = rest, savepoint_dir, out

    def show(self, title: str, method: str, path: str, body: Any = None, **abridging: int) -> tuple[int, Any]:
        """Make a call and log it."""
        began = time.monotonic()
        status, answer, headers = self.rest.call(method, path, body)
        took = time.monotonic() - began
        self.log_call(title, method, path, body, status, answer, took, headers.get("content-type"), **abridging)
        return status, answer

    def log_call(
        self,
        title: str,
        method: str,
        path: str,
        body: Any,
        status: int,
        answer: Any,
        took: float,
        content_type: str | None,
        **abridging: int,
    ) -> None:
        self.out(f"\n### {title}\n\n`{method} {path}`" + (f" body `{json.dumps(body)}`" if body is not None else ""))
        self.out(f"\n→ **{status}** ({took * 1000:.0f} ms, Content-Type `{content_type}`)\n")
        self.out("```json\n" + json.dumps(abridge(answer, **abridging), indent=2) + "\n```")

    def note(self, text: str) -> None:
        self.out(f"\n{text}")

    def wait_state(self, job_id: str, states: set[str], timeout: float = 120.0) -> str:
        def probe() -> str | None:
            status, body, _ = self.rest.call("GET", "/jobs/overview", timeout=10)
            listed = [job["state"] for job in body["jobs"] if job["jid"] == job_id] if status == 200 else []
            return listed[0] if listed and listed[0] in states else None

        return wait_for_sync(probe, timeout=timeout, interval=0.1, what=f"job {job_id} in {states}")

    def run_body(
        self,
        job_id: str,
        *args: str,
        savepoint: str | None = None,
        config: dict[str, str] | None = None,
        parallelism: int = 2,
    ) -> dict[str, Any]:
        return {
            "entryClass": EXAMPLE_ENTRY_CLASS,
            "parallelism": parallelism,
            "programArgsList": list(args),
            "jobId": job_id,
            "savepointPath": savepoint,
            "allowNonRestoredState": False,
            "flinkConfiguration": config if config is not None else {"restart-strategy.type": "none"},
        }

    def submit_and_watch(self, title: str, jar_id: str, body: dict[str, Any], until: set[str]) -> tuple[int, Any]:
        recorder = StateRecorder(self.rest, body["jobId"]).start()
        status, answer = self.show(title, "POST", f"/jars/{jar_id}/run", body)
        if status == 200:
            wait_for_sync(lambda: recorder.reached(until), timeout=120, interval=0.05, what=f"job in {until}")
        self.note(f"States from just before the run request:{recorder.stop()}")
        self.last_recorder = recorder
        return status, answer

    def poll_savepoint(self, job_id: str, trigger: str, path_kind: str = "savepoints") -> list[tuple[float, Any]]:
        """Poll a savepoint (or disposal) status until it is no longer IN_PROGRESS; returns each distinct body."""
        seen: list[tuple[float, Any]] = []
        began = time.monotonic()
        url = f"/jobs/{job_id}/savepoints/{trigger}" if path_kind == "savepoints" else f"/savepoint-disposal/{trigger}"

        def probe() -> bool:
            _, body, _ = self.rest.call("GET", url, timeout=10)
            if not seen or seen[-1][1] != body:
                seen.append((time.monotonic() - began, body))
            return body.get("status", {}).get("id") != "IN_PROGRESS"

        wait_for_sync(probe, timeout=120, interval=0.02, what="savepoint operation done")
        return seen

    def log_polls(self, url: str, seen: list[tuple[float, Any]]) -> None:
        for at, body in seen:
            self.out(f"\n`GET {url}` at +{at:.2f}s →\n```json\n{json.dumps(abridge(body), indent=2)}\n```")

    def checkpoints_completed(self, job_id: str, at_least: int = 1) -> Any:
        def probe() -> Any:
            status, body, _ = self.rest.call("GET", f"/jobs/{job_id}/checkpoints", timeout=10)
            return body if status == 200 and body["counts"]["completed"] >= at_least else None

        return wait_for_sync(probe, timeout=60, interval=0.2, what="a completed checkpoint")

    def show_counter_metrics(self, job_id: str, label: str, keys: int = 8) -> None:
        """The example job's metrics once all `keys` report restored state (they lag: the fetcher refreshes every 10 s)."""
        _, details, _ = self.rest.call("GET", f"/jobs/{job_id}")
        vertex = next(v["id"] for v in details["vertices"] if v["name"].startswith("count-per-key"))
        path = f"/jobs/{job_id}/vertices/{vertex}/subtasks/metrics?get=count-per-key.recordsThisAttempt,count-per-key.restoredKeys"

        def probe() -> Any:
            status, body, _ = self.rest.call("GET", path)
            restored = (
                [metric["sum"] for metric in body if metric["id"] == "count-per-key.restoredKeys"]
                if status == 200
                else []
            )
            return body if restored and restored[0] >= keys else None

        began = time.monotonic()
        wait_for_sync(probe, timeout=60, interval=0.5, what="count-per-key metrics")
        self.note(
            f"`restoredKeys` summed to {keys} (all keys) {time.monotonic() - began:.1f}s after the first request."
        )
        self.show(f"Example job metrics of {label}", "GET", path)

    def show_failed_run(self, title: str, jar_id: str, body: dict[str, Any]) -> None:
        """A run request expected to fail, then what /jobs/overview says about its jobId."""
        self.show(title, "POST", f"/jars/{jar_id}/run", body)
        if "jobId" in body and len(str(body["jobId"])) == 32:
            _, overview, _ = self.rest.call("GET", "/jobs/overview")
            listed = [job for job in overview["jobs"] if job["jid"] == body["jobId"]]
            if listed:
                self.note(f"Afterwards `/jobs/overview` lists this jobId: `{json.dumps(abridge(listed[0]))}`")
            else:
                self.note("Afterwards `/jobs/overview` does not list this jobId.")

    def run(self) -> None:
        rest = self.rest
        self.out("# Raw observations of the Flink 2.3 REST API\n")
        self.show("GET /config", "GET", "/config")
        self.show("GET /overview", "GET", "/overview")

        jar = example_job_jar()
        began = time.monotonic()
        status, upload, headers = rest.upload("/jars/upload", "jarfile", jar)
        self.log_call(
            "POST /jars/upload (multipart field `jarfile`)",
            "POST",
            "/jars/upload",
            None,
            status,
            upload,
            time.monotonic() - began,
            headers.get("content-type"),
        )
        jar_id = pathlib.Path(upload["filename"]).name
        status, wrong_field, headers = rest.upload("/jars/upload", "file", jar)
        self.log_call(
            "POST /jars/upload with the wrong multipart field name (`file`)",
            "POST",
            "/jars/upload",
            None,
            status,
            wrong_field,
            0,
            headers.get("content-type"),
        )
        self.show("GET /jars", "GET", "/jars")

        # A: run with flinkConfiguration, duplicate id, overview, details, cancel.
        job_a = uuid.uuid4().hex
        self.submit_and_watch(
            "POST /jars/{id}/run (job A, restart-strategy none via flinkConfiguration)",
            jar_id,
            self.run_body(job_a, "--rate", "20"),
            {"RUNNING"},
        )
        if "INITIALIZING" in self.last_recorder.first_bodies:
            self.out(
                "\n### GET /jobs/{id} while INITIALIZING (A, first body seen)\n\n```json\n"
                + json.dumps(abridge(self.last_recorder.first_bodies["INITIALIZING"], max_items=2), indent=2)
                + "\n```"
            )
        self.show("Job config of A (does flinkConfiguration apply?)", "GET", f"/jobs/{job_a}/config")
        self.show("The same jobId a second time", "POST", f"/jars/{jar_id}/run", self.run_body(job_a, "--rate", "20"))
        self.show("GET /jobs/overview", "GET", "/jobs/overview")
        self.show("GET /jobs/{id} (A, RUNNING)", "GET", f"/jobs/{job_a}", max_items=3)
        self.show(
            "GET /jobs/{id}/checkpoints (A, before any checkpoint may have completed)",
            "GET",
            f"/jobs/{job_a}/checkpoints",
        )
        recorder = StateRecorder(rest, job_a).start()
        self.show("PATCH /jobs/{id}?mode=cancel (A)", "PATCH", f"/jobs/{job_a}?mode=cancel")
        wait_for_sync(lambda: recorder.reached({"CANCELED"}), timeout=60, interval=0.05, what="A canceled")
        self.note(f"States after cancel: {recorder.stop()}")
        self.show("PATCH /jobs/{id}?mode=cancel again on the CANCELED job", "PATCH", f"/jobs/{job_a}?mode=cancel")
        self.show("GET /jobs/{id} (A, CANCELED)", "GET", f"/jobs/{job_a}", max_items=1)
        for path, body in (
            (f"/jobs/{job_a}/stop", {"targetDirectory": None, "drain": False}),
            (f"/jobs/{job_a}/savepoints", {"target-directory": None, "cancel-job": False}),
        ):
            status, answer = self.show(f"POST {path.replace(job_a, '{id}')} on the CANCELED job", "POST", path, body)
            if status == 202:
                self.log_polls(
                    f"/jobs/{job_a}/savepoints/{answer['request-id']}", self.poll_savepoint(job_a, answer["request-id"])
                )
        self.show(
            "POST /jars/{id}/run with the jobId of the CANCELED job A",
            "POST",
            f"/jars/{jar_id}/run",
            self.run_body(job_a, "--rate", "20"),
        )

        # B: checkpoints, savepoint without stopping, stop with savepoint (same trigger twice).
        job_b = uuid.uuid4().hex
        self.submit_and_watch("POST /jars/{id}/run (job B)", jar_id, self.run_body(job_b, "--rate", "50"), {"RUNNING"})
        self.checkpoints_completed(job_b, 2)
        self.show(
            "GET /jobs/{id}/checkpoints (B, with completed checkpoints)",
            "GET",
            f"/jobs/{job_b}/checkpoints",
            max_items=3,
        )
        self.show("GET /jobs/{id}/checkpoints/config (B)", "GET", f"/jobs/{job_b}/checkpoints/config")
        trigger_sp = secrets.token_hex(16)
        status, answer = self.show(
            "POST /jobs/{id}/savepoints (B, no cancel, own triggerId)",
            "POST",
            f"/jobs/{job_b}/savepoints",
            {"target-directory": None, "cancel-job": False, "triggerId": trigger_sp, "formatType": "CANONICAL"},
        )
        self.show(
            "Same savepoint trigger again (same triggerId)",
            "POST",
            f"/jobs/{job_b}/savepoints",
            {"target-directory": None, "cancel-job": False, "triggerId": trigger_sp},
        )
        seen = self.poll_savepoint(job_b, answer["request-id"])
        self.log_polls(f"/jobs/{job_b}/savepoints/{answer['request-id']}", seen)
        self.show(
            "Same savepoint triggerId after it COMPLETED",
            "POST",
            f"/jobs/{job_b}/savepoints",
            {"target-directory": None, "cancel-job": False, "triggerId": trigger_sp},
        )
        self.show(
            "GET /jobs/{id}/savepoints/{unknown trigger} (B)",
            "GET",
            f"/jobs/{job_b}/savepoints/{secrets.token_hex(16)}",
        )
        self.show(
            "GET /jobs/{id}/savepoints/{trigger} with a malformed trigger",
            "GET",
            f"/jobs/{job_b}/savepoints/not-a-trigger",
        )

        target = (self.savepoint_dir / "stopped").as_uri() if self.savepoint_dir else None
        trigger_stop = secrets.token_hex(16)
        recorder = StateRecorder(rest, job_b).start()
        stop_began = time.monotonic()
        status, first = self.show(
            "POST /jobs/{id}/stop (B, drain false, own triggerId)",
            "POST",
            f"/jobs/{job_b}/stop",
            {"targetDirectory": target, "drain": False, "triggerId": trigger_stop},
        )
        self.show(
            "POST /jobs/{id}/stop again with the same triggerId",
            "POST",
            f"/jobs/{job_b}/stop",
            {"targetDirectory": target, "drain": False, "triggerId": trigger_stop},
        )
        seen = self.poll_savepoint(job_b, first["request-id"])
        stop_took = time.monotonic() - stop_began
        self.log_polls(f"/jobs/{job_b}/savepoints/{first['request-id']}", seen)
        wait_for_sync(
            lambda: recorder.reached(TERMINAL_STATES), timeout=120, interval=0.05, what="both endpoints terminal"
        )
        self.note(
            f"States after stop: {recorder.stop()}; stop-with-savepoint took {stop_took:.2f}s from the request to COMPLETED."
        )
        stopped_savepoint = seen[-1][1]["operation"]["location"]
        self.show(
            "POST /jobs/{id}/stop once more with the same triggerId after the job FINISHED",
            "POST",
            f"/jobs/{job_b}/stop",
            {"targetDirectory": target, "drain": False, "triggerId": trigger_stop},
        )
        self.show(
            "GET /jobs/{id}/savepoints/{trigger} of the stop, after the job FINISHED",
            "GET",
            f"/jobs/{job_b}/savepoints/{trigger_stop}",
        )
        self.show("GET /jobs/{id} (B, after stop)", "GET", f"/jobs/{job_b}", max_items=1)
        began = time.monotonic()

        def stop_savepoint_listed() -> Any:
            _, stats, _ = rest.call("GET", f"/jobs/{job_b}/checkpoints")
            return any(c["checkpoint_type"] == "SYNC_SAVEPOINT" for c in stats["history"])

        wait_for_sync(
            stop_savepoint_listed, timeout=30, interval=0.05, what="the stop savepoint in the checkpoint history"
        )
        self.note(
            f"The stop savepoint appeared in `/jobs/{{id}}/checkpoints` {time.monotonic() - began:.2f}s after the job was FINISHED."
        )
        status, stats = self.show(
            "GET /jobs/{id}/checkpoints (B, FINISHED)", "GET", f"/jobs/{job_b}/checkpoints", max_items=2
        )
        savepoints = [
            (c["id"], c["checkpoint_type"], c["external_path"]) for c in stats["history"] if c["is_savepoint"]
        ]
        self.note(
            f"Savepoints in B's checkpoint history (one savepoint trigger sent 3 times, one stop trigger sent 3 times): {savepoints}"
        )

        # C: restore from B's savepoint; savepoint with cancel-job.
        job_c = uuid.uuid4().hex
        self.submit_and_watch(
            "POST /jars/{id}/run restoring from B's savepoint (job C)",
            jar_id,
            self.run_body(job_c, "--rate", "50", savepoint=stopped_savepoint),
            {"RUNNING"},
        )
        self.show(
            "GET /jobs/{id}/checkpoints (C, restored; right after RUNNING)",
            "GET",
            f"/jobs/{job_c}/checkpoints",
            max_items=2,
        )
        self.checkpoints_completed(job_c, 1)
        self.show(
            "GET /jobs/{id}/checkpoints (C, restored, after a checkpoint)",
            "GET",
            f"/jobs/{job_c}/checkpoints",
            max_items=2,
        )
        self.show_counter_metrics(job_c, "C (restored)")
        recorder = StateRecorder(rest, job_c).start()
        status, answer = self.show(
            "POST /jobs/{id}/savepoints with cancel-job true (C)",
            "POST",
            f"/jobs/{job_c}/savepoints",
            {"target-directory": None, "cancel-job": True},
        )
        seen = self.poll_savepoint(job_c, answer["request-id"])
        self.log_polls(f"/jobs/{job_c}/savepoints/{answer['request-id']}", seen)
        wait_for_sync(
            lambda: recorder.reached(TERMINAL_STATES), timeout=120, interval=0.05, what="both endpoints terminal"
        )
        self.note(f"States after savepoint with cancel-job: {recorder.stop()}")
        cancel_savepoint = seen[-1][1]["operation"].get("location")

        # D: failing job without restarts; E: failing job with the default restart strategy.
        job_d = uuid.uuid4().hex
        self.submit_and_watch(
            "POST /jars/{id}/run --fail-after 20 with restart-strategy none (job D)",
            jar_id,
            self.run_body(job_d, "--rate", "20", "--fail-after", "20"),
            {"FAILED"},
        )
        self.show("GET /jobs/{id} (D, FAILED)", "GET", f"/jobs/{job_d}", max_items=1)
        self.show("GET /jobs/{id}/exceptions (D)", "GET", f"/jobs/{job_d}/exceptions", max_items=2)
        self.show(
            "GET /jobs/{id}/exceptions?maxExceptions=1 (D)",
            "GET",
            f"/jobs/{job_d}/exceptions?maxExceptions=1",
            max_items=1,
        )
        job_e = uuid.uuid4().hex
        recorder = StateRecorder(rest, job_e).start()
        self.show(
            "POST /jars/{id}/run --fail-after 20 with the cluster's default restart strategy (job E)",
            "POST",
            f"/jars/{jar_id}/run",
            self.run_body(job_e, "--rate", "40", "--fail-after", "20", config={}),
        )
        self.show("Job config of E", "GET", f"/jobs/{job_e}/config")
        wait_for_sync(
            lambda: [s for _, s in recorder.overview_changes].count("RESTARTING") >= 2,
            timeout=120,
            interval=0.1,
            what="E restarted twice",
        )
        self.note(f"States of E (default restart strategy): {recorder.stop()}")
        began = time.monotonic()
        wait_for_sync(
            lambda: rest.call("GET", f"/jobs/{job_e}/exceptions")[1]["exceptionHistory"]["entries"],
            timeout=60,
            interval=0.1,
            what="E's exception history",
        )
        self.note(
            f"E's exception history had entries {time.monotonic() - began:.2f}s after its second restart was seen."
        )
        self.show("GET /jobs/{id}/exceptions (E, restarting)", "GET", f"/jobs/{job_e}/exceptions", max_items=2)
        self.show("PATCH /jobs/{id}?mode=cancel (E)", "PATCH", f"/jobs/{job_e}?mode=cancel")
        self.wait_state(job_e, TERMINAL_STATES)

        # G: a second stop with another triggerId while the first is in progress.
        job_g = uuid.uuid4().hex
        self.submit_and_watch("POST /jars/{id}/run (job G)", jar_id, self.run_body(job_g, "--rate", "50"), {"RUNNING"})
        self.checkpoints_completed(job_g, 1)
        recorder = StateRecorder(rest, job_g).start()
        status, first = self.show(
            "POST /jobs/{id}/stop (G, first)",
            "POST",
            f"/jobs/{job_g}/stop",
            {"targetDirectory": None, "drain": False, "triggerId": secrets.token_hex(16)},
        )
        status, second = self.show(
            "POST /jobs/{id}/stop (G) with another triggerId while the first is in progress",
            "POST",
            f"/jobs/{job_g}/stop",
            {"targetDirectory": None, "drain": False, "triggerId": secrets.token_hex(16)},
        )
        for answer in (first, second):
            self.log_polls(
                f"/jobs/{job_g}/savepoints/{answer['request-id']}", self.poll_savepoint(job_g, answer["request-id"])
            )
        wait_for_sync(
            lambda: recorder.reached(TERMINAL_STATES), timeout=120, interval=0.05, what="both endpoints terminal"
        )
        self.note(f"States of G after two stops: {recorder.stop()}")
        self.show("GET /jobs/{id}/exceptions (G)", "GET", f"/jobs/{job_g}/exceptions", max_items=1)

        # A savepoint that fails: an unwritable target directory.
        job_f = uuid.uuid4().hex
        self.submit_and_watch("POST /jars/{id}/run (job F)", jar_id, self.run_body(job_f, "--rate", "20"), {"RUNNING"})
        status, answer = self.show(
            "POST /jobs/{id}/stop into an unwritable directory (F)",
            "POST",
            f"/jobs/{job_f}/stop",
            {"targetDirectory": "file:///proc/flink-savepoints", "drain": False},
        )
        seen = self.poll_savepoint(job_f, answer["request-id"])
        self.log_polls(f"/jobs/{job_f}/savepoints/{answer['request-id']}", seen)
        self.show("GET /jobs/{id} (F, after the failed stop)", "GET", f"/jobs/{job_f}", max_items=1)
        status, answer = self.show(
            "POST /jobs/{id}/savepoints with a relative target directory (F)",
            "POST",
            f"/jobs/{job_f}/savepoints",
            {"target-directory": "relative/dir", "cancel-job": False},
        )
        if status == 202:
            self.log_polls(
                f"/jobs/{job_f}/savepoints/{answer['request-id']}", self.poll_savepoint(job_f, answer["request-id"])
            )
        self.show("PATCH /jobs/{id}?mode=cancel (F)", "PATCH", f"/jobs/{job_f}?mode=cancel")
        self.wait_state(job_f, TERMINAL_STATES)

        # Savepoint disposal.
        if cancel_savepoint and cancel_savepoint.startswith("file:"):
            self.note(
                f"Before disposal, `{cancel_savepoint}` exists: {pathlib.Path(cancel_savepoint.removeprefix('file:')).exists()}"
            )
        for location in (cancel_savepoint, "file:///tmp/no-such-savepoint-" + secrets.token_hex(4)):
            status, answer = self.show(
                "POST /savepoint-disposal", "POST", "/savepoint-disposal", {"savepoint-path": location}
            )
            if status == 200:
                seen = self.poll_savepoint("", answer["request-id"], path_kind="disposal")
                self.log_polls(f"/savepoint-disposal/{answer['request-id']}", seen)
            if location and location.startswith("file:"):
                self.note(
                    f"After disposal, `{location}` exists: {pathlib.Path(location.removeprefix('file:')).exists()}"
                )
        self.show("GET /savepoint-disposal/{unknown trigger}", "GET", f"/savepoint-disposal/{secrets.token_hex(16)}")

        # Errors.
        unknown = uuid.uuid4().hex
        self.show("GET /jobs/{unknown id}", "GET", f"/jobs/{unknown}")
        self.show("PATCH /jobs/{unknown id}?mode=cancel", "PATCH", f"/jobs/{unknown}?mode=cancel")
        for path, body in (
            (f"/jobs/{unknown}/stop", {"targetDirectory": None, "drain": False}),
            (f"/jobs/{unknown}/savepoints", {"target-directory": None, "cancel-job": False}),
        ):
            status, answer = self.show(f"POST {path.replace(unknown, '{unknown id}')}", "POST", path, body)
            if status == 202:
                self.log_polls(
                    f"/jobs/{unknown}/savepoints/{answer['request-id']}",
                    self.poll_savepoint(unknown, answer["request-id"]),
                )
        self.show(
            "GET /jobs/{unknown id}/savepoints/{unknown trigger}",
            "GET",
            f"/jobs/{unknown}/savepoints/{secrets.token_hex(16)}",
        )
        self.show("GET /jobs/{unknown id}/checkpoints", "GET", f"/jobs/{unknown}/checkpoints")
        self.show("GET /jobs/{unknown id}/exceptions", "GET", f"/jobs/{unknown}/exceptions")
        self.show("GET /jobs/{malformed id}", "GET", "/jobs/not-a-job-id")
        self.show("PATCH /jobs/{malformed id}?mode=cancel", "PATCH", "/jobs/not-a-job-id?mode=cancel")
        self.show("PATCH /jobs/{id} without mode", "PATCH", f"/jobs/{unknown}")
        self.show(
            "POST /jars/{id}/run with a malformed jobId", "POST", f"/jars/{jar_id}/run", self.run_body("not-a-job-id")
        )
        self.show_failed_run(
            "POST /jars/{id}/run with a wrong entry class",
            jar_id,
            {**self.run_body(uuid.uuid4().hex), "entryClass": "io.flinkmanager.examples.NoSuchJob"},
        )
        self.show(
            "POST /jars/{id}/run with parallelism above the free slots",
            "POST",
            f"/jars/{jar_id}/run",
            self.run_body(job_large := uuid.uuid4().hex, parallelism=64),
        )
        if self.rest.call("GET", f"/jobs/{job_large}")[0] == 200:
            self.note("The oversized job was accepted:")
            self.show("GET /jobs/{id} (oversized)", "GET", f"/jobs/{job_large}", max_items=1)
            self.show("PATCH /jobs/{id}?mode=cancel (oversized)", "PATCH", f"/jobs/{job_large}?mode=cancel")
        self.show_failed_run(
            "POST /jars/{id}/run with program args that make main() throw",
            jar_id,
            self.run_body(uuid.uuid4().hex, "--rate", "-1"),
        )
        self.show_failed_run(
            "POST /jars/{id}/run with a savepointPath that does not exist",
            jar_id,
            self.run_body(uuid.uuid4().hex, savepoint="file:///tmp/no-such-savepoint"),
        )
        self.show_failed_run("POST /jars/{unknown jar}/run", f"{uuid.uuid4()}_job.jar", self.run_body(uuid.uuid4().hex))
        self.show("DELETE /jars/{unknown jar}", "DELETE", f"/jars/{uuid.uuid4()}_job.jar")
        self.show(
            "POST /jars/{id}/run with an unknown field in the body",
            "POST",
            f"/jars/{jar_id}/run",
            {**self.run_body(uuid.uuid4().hex), "noSuchField": 1},
        )
        job_plain = uuid.uuid4().hex
        self.show(
            "POST /jars/{id}/run with only jobId (entry class from the jar manifest)",
            "POST",
            f"/jars/{jar_id}/run",
            {"jobId": job_plain},
        )
        self.show("Job config of that job", "GET", f"/jobs/{job_plain}/config")
        self.show("DELETE /jars/{id}", "DELETE", f"/jars/{jar_id}")
        self.show("DELETE /jars/{id} a second time", "DELETE", f"/jars/{jar_id}")
        self.show("GET /jars after delete", "GET", "/jars")
        self.show("GET /jobs/overview at the end", "GET", "/jobs/overview", max_items=4)
        self.show("GET /applications/overview at the end (new in 2.x)", "GET", "/applications/overview", max_items=4)
        for job in rest.call("GET", "/jobs/overview")[1]["jobs"]:
            if job["state"] not in TERMINAL_STATES:
                rest.call("PATCH", f"/jobs/{job['jid']}?mode=cancel")
        self.show("GET /overview at the end", "GET", "/overview")


def observe_expiry(out: Callable[[str], None], seconds: int = 5) -> None:
    """How long a finished job stays in /jobs/overview, on a cluster whose job store expires after `seconds`."""
    configuration = {"jobstore.expiration-time": seconds, "completed-application-store.expiration-time": f"{seconds} s"}
    with RealFlinkCluster(slots=2, configuration=configuration) as cluster:
        rest = Rest(cluster.rest_url)
        observer = Observer(rest, cluster.savepoint_dir, out)
        out(f"\n## Expiry of finished jobs (cluster with {configuration})")
        _, upload, _ = rest.upload("/jars/upload", "jarfile", example_job_jar())
        jar_id = pathlib.Path(upload["filename"]).name
        job_id = uuid.uuid4().hex
        rest.call("POST", f"/jars/{jar_id}/run", observer.run_body(job_id, "--rate", "5", parallelism=1))
        observer.wait_state(job_id, {"RUNNING"})
        rest.call("PATCH", f"/jobs/{job_id}?mode=cancel")
        observer.wait_state(job_id, {"CANCELED"})
        canceled = time.monotonic()

        def gone() -> bool:
            jobs = rest.call("GET", "/jobs/overview")[1]["jobs"]
            return all(job["jid"] != job_id for job in jobs)

        wait_for_sync(gone, timeout=120, interval=0.2, what="the finished job leaves /jobs/overview")
        out(f"\nThe CANCELED job left `/jobs/overview` {time.monotonic() - canceled:.1f}s after it was CANCELED.")
        observer.show("GET /jobs/{id} of the expired job", "GET", f"/jobs/{job_id}")
        observer.show("GET /jobs/{id}/checkpoints of the expired job", "GET", f"/jobs/{job_id}/checkpoints")
        observer.show("GET /applications/overview after the expiry", "GET", "/applications/overview")
        observer.show_failed_run(
            "POST /jars/{id}/run with the jobId of the expired job",
            jar_id,
            observer.run_body(job_id, "--rate", "5", parallelism=1),
        )


def main(argv: list[str] | None = None) -> int:
    """Run the observations and print (or write) the log."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rest-url", help="an already running cluster (default: start one)")
    parser.add_argument("--savepoint-dir", type=pathlib.Path, help="that cluster's savepoint directory")
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--expiry", action="store_true", help="also measure how long finished jobs stay listed")
    args = parser.parse_args(argv)
    lines: list[str] = []

    def out(text: str) -> None:
        lines.append(text)
        print(text, flush=True)

    if args.rest_url:
        Observer(Rest(args.rest_url), args.savepoint_dir, out).run()
    else:
        with RealFlinkCluster() as cluster:
            out(f"Cluster started in {cluster.startup_seconds:.1f}s")
            Observer(Rest(cluster.rest_url), cluster.savepoint_dir, out).run()
    if args.expiry:
        observe_expiry(out)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
