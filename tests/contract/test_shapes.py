"""The simulator's raw JSON against real Flink's, version by version: the same scenario on both, then every answer
compared.

Compared: status codes, the key sets of every object (recursively; list items merged), and for errors the
chain of Java exception classes (`X`, `Caused by: Y`, …) in Flink's error strings and failure causes.
"""

from __future__ import annotations

import pathlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager.flink.client import FlinkClient
from flink_manager.flink.dialect import FlinkDialect
from flink_manager_dev.simulator import SimulatedFlink
from tests.contract.conftest import CONTRACT_TIMINGS
from tests.contract.steps import NO_RESTARTS, wait_listed
from tests.infra.flink.fixtures import RealFlinkClusters
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS
from tests.waiting import wait_for

pytestmark = pytest.mark.real_flink

Answers = dict[str, tuple[int, Any]]
_EXCEPTION_LINE = re.compile(
    r"^(?:Caused by: |<Exception on server side:\n)?((?:[\w$]+\.)*[A-Z][\w$]*(?:Exception|Error))(?::|$)"
)


class Scenario:
    """Runs the same requests against one backend and keeps every raw answer by name."""

    def __init__(self, url: str, savepoint_dir: str, session: aiohttp.ClientSession, client: FlinkClient) -> None:
        self.url, self.savepoint_dir, self.session, self.client = url, savepoint_dir, session, client
        self.answers: Answers = {}

    async def call(self, name: str, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        async with self.session.request(method, self.url + path, json=body, **kwargs) as response:
            answer = await response.json(content_type=None)
            self.answers[name] = (response.status, answer)
            return answer

    async def until(self, name: str, path: str, condition: Any) -> Any:
        """GET `path` until `condition(body)` holds (Flink caches job views for seconds), keeping the last answer."""

        async def probe() -> Any:
            body = await self.call(name, "GET", path)
            return body if condition(body) else None

        return await wait_for(probe, timeout=60, interval=0.1, what=f"{name} at {self.url}")

    def run_body(self, job_id: str, *args: str, savepoint: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "entryClass": EXAMPLE_ENTRY_CLASS,
            "parallelism": 1,
            "programArgsList": ["--rate", "20", *args],
            "jobId": job_id,
            "savepointPath": savepoint,
            "flinkConfiguration": NO_RESTARTS,
            **extra,
        }

    async def play(self, jar: pathlib.Path) -> Answers:
        await self.call("config", "GET", "/config")
        await self.call("overview", "GET", "/overview")
        form = aiohttp.FormData()
        form.add_field("jarfile", jar.read_bytes(), filename="shape.jar", content_type="application/x-java-archive")
        jar_id = pathlib.PurePosixPath((await self.call("upload", "POST", "/jars/upload", data=form))["filename"]).name
        await self.call("jars", "GET", "/jars")

        running, failing, restored, unknown = (uuid.uuid4().hex for _ in range(4))
        await self.call("run", "POST", f"/jars/{jar_id}/run", self.run_body(running))
        await wait_listed(self.client, running, JobState.RUNNING)
        await self.call("jobs overview", "GET", "/jobs/overview")
        await self.until(
            "job details (RUNNING)", f"/jobs/{running}", lambda b: b["state"] == "RUNNING" and b["vertices"]
        )
        await self.until("checkpoints (RUNNING)", f"/jobs/{running}/checkpoints", lambda b: b["latest"]["completed"])
        await self.call("exceptions (none)", "GET", f"/jobs/{running}/exceptions")

        trigger = (
            await self.call(
                "savepoint trigger",
                "POST",
                f"/jobs/{running}/savepoints",
                {"target-directory": None, "cancel-job": False, "triggerId": uuid.uuid4().hex},
            )
        )["request-id"]
        await self.until(
            "savepoint status", f"/jobs/{running}/savepoints/{trigger}", lambda b: b["status"]["id"] == "COMPLETED"
        )
        trigger = (
            await self.call(
                "stop",
                "POST",
                f"/jobs/{running}/stop",
                {"targetDirectory": None, "drain": False, "triggerId": uuid.uuid4().hex},
            )
        )["request-id"]
        stopped = await self.until(
            "stop status", f"/jobs/{running}/savepoints/{trigger}", lambda b: b["status"]["id"] == "COMPLETED"
        )
        location = stopped["operation"]["location"]
        await wait_listed(self.client, running, JobState.FINISHED)
        await self.until(
            "checkpoints (FINISHED)",
            f"/jobs/{running}/checkpoints",
            lambda b: (b["latest"]["savepoint"] or {}).get("checkpoint_type") == "SYNC_SAVEPOINT",
        )
        await self.until("job details (FINISHED)", f"/jobs/{running}", lambda b: b["state"] == "FINISHED")
        await self.call("stop of an ended job", "POST", f"/jobs/{running}/stop", {"drain": False})
        await self.until(
            "stop status of an ended job",
            f"/jobs/{running}/savepoints/{self.answers['stop of an ended job'][1]['request-id']}",
            lambda b: b["status"]["id"] == "COMPLETED",
        )

        await self.call("run restoring", "POST", f"/jars/{jar_id}/run", self.run_body(restored, savepoint=location))
        await wait_listed(self.client, restored, JobState.RUNNING)
        await self.until(
            "checkpoints (restored)",
            f"/jobs/{restored}/checkpoints",
            lambda b: b["latest"]["restored"] and b["latest"]["completed"],
        )
        await self.call("cancel", "PATCH", f"/jobs/{restored}?mode=cancel")

        await self.call("run failing", "POST", f"/jars/{jar_id}/run", self.run_body(failing, "--fail-after", "20"))
        await wait_listed(self.client, failing, JobState.FAILED)
        await self.until(
            "exceptions (FAILED)", f"/jobs/{failing}/exceptions", lambda b: b["exceptionHistory"]["entries"]
        )

        disposal = (await self.call("disposal trigger", "POST", "/savepoint-disposal", {"savepoint-path": location}))[
            "request-id"
        ]
        await self.until(
            "disposal status", f"/savepoint-disposal/{disposal}", lambda b: b["status"]["id"] == "COMPLETED"
        )
        disposal = (
            await self.call("disposal of a missing path", "POST", "/savepoint-disposal", {"savepoint-path": location})
        )["request-id"]
        await self.until(
            "failed disposal status", f"/savepoint-disposal/{disposal}", lambda b: b["status"]["id"] == "COMPLETED"
        )
        # A triggerId in a disposal request: refused until 1.19 (the request has no such field), ignored after.
        answer = await self.call(
            "disposal with a triggerId",
            "POST",
            "/savepoint-disposal",
            {"savepoint-path": location, "triggerId": uuid.uuid4().hex},
        )
        if "request-id" in answer:
            await self.until(
                "disposal with a triggerId status",
                f"/savepoint-disposal/{answer['request-id']}",
                lambda b: b["status"]["id"] == "COMPLETED",
            )

        await self.call("duplicate run", "POST", f"/jars/{jar_id}/run", self.run_body(running))
        for name, extra in (
            ("run with claimMode", {"claimMode": "NO_CLAIM"}),
            ("run with restoreMode", {"restoreMode": "NO_CLAIM"}),
            ("run with an unknown field", {"noSuchField": 1}),
        ):
            answer = await self.call(name, "POST", f"/jars/{jar_id}/run", self.run_body(uuid.uuid4().hex, **extra))
            if "jobid" in answer:
                await self.call(f"cancel of the {name}", "PATCH", f"/jobs/{answer['jobid']}?mode=cancel")
        overview = await self.call("applications overview", "GET", "/applications/overview")
        if isinstance(overview, dict) and "applications" in overview:
            # `jobs` counts an application's jobs by state: its keys are data (states), not fields.
            for application in overview["applications"]:
                application["jobs"] = {}
        await self.call(
            "wrong entry class", "POST", f"/jars/{jar_id}/run", {**self.run_body(unknown), "entryClass": "a.NoSuchJob"}
        )
        await self.call("malformed job id in run", "POST", f"/jars/{jar_id}/run", self.run_body("not-a-job-id"))
        await self.call(
            "missing savepoint",
            "POST",
            f"/jars/{jar_id}/run",
            self.run_body(uuid.uuid4().hex, savepoint=f"{self.savepoint_dir}/savepoint-000000-000000000000"),
        )
        await self.call("unknown jar run", "POST", f"/jars/{uuid.uuid4()}_x.jar/run", self.run_body(unknown))
        await self.call("unknown jar delete", "DELETE", f"/jars/{uuid.uuid4()}_x.jar")
        await self.call("unknown job details", "GET", f"/jobs/{unknown}")
        await self.call("unknown job cancel", "PATCH", f"/jobs/{unknown}?mode=cancel")
        await self.call("unknown job checkpoints", "GET", f"/jobs/{unknown}/checkpoints")
        await self.call("unknown job exceptions", "GET", f"/jobs/{unknown}/exceptions")
        await self.call("unknown trigger", "GET", f"/jobs/{unknown}/savepoints/{uuid.uuid4().hex}")
        await self.call("unknown disposal", "GET", f"/savepoint-disposal/{uuid.uuid4().hex}")
        await self.call("malformed job id", "GET", "/jobs/not-a-job-id")
        await self.call("malformed trigger id", "GET", f"/jobs/{unknown}/savepoints/not-a-trigger")
        await self.call("malformed trigger id in stop", "POST", f"/jobs/{unknown}/stop", {"triggerId": "not-a-trigger"})
        await self.call("disposal without a path", "POST", "/savepoint-disposal", {})
        await self.call("unknown path", "GET", "/no/such/path")
        await self.call("jar delete", "DELETE", f"/jars/{jar_id}")
        return self.answers


VARIANT = "className="


def shape(value: Any) -> Any:
    """The keys of every object, recursively; a list is the merged shape of its items; scalars vanish.

    A list of Flink's tagged objects (checkpoint statistics: `className` completed, failed, in_progress) is merged
    per variant, `{"className=failed": …}`: which variants occur depends on timing (a checkpoint that failed under
    load), so only the variants both sides show are compared (differences())."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, dict) and "className" in item for item in value):
            variants: dict[str, Any] = {}
            for item in value:
                _merge(variants.setdefault(VARIANT + str(item["className"]), {}), shape(item))
            return variants
        merged: dict[str, Any] = {}
        for item in value:
            if isinstance(item, dict):
                _merge(merged, shape(item))
        return [merged] if merged else []
    return None


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif key not in into or into[key] is None:
            into[key] = value


def differences(real: Any, simulated: Any, path: str = "") -> list[str]:
    """Where the simulator's shape differs from real Flink's (null on either side matches anything)."""
    if real is None or simulated is None:
        return []
    if isinstance(real, dict) and isinstance(simulated, dict):
        found = [
            f"{path}.{key}: only in real Flink" for key in real.keys() - simulated.keys() if not key.startswith(VARIANT)
        ]
        found += [
            f"{path}.{key}: only in the simulator"
            for key in simulated.keys() - real.keys()
            if not key.startswith(VARIANT)
        ]
        for key in real.keys() & simulated.keys():
            found += differences(real[key], simulated[key], f"{path}.{key}")
        return found
    if isinstance(real, list) and isinstance(simulated, list):
        if real and simulated:
            return differences(real[0], simulated[0], f"{path}[]")
        return [] if not real and not simulated else [f"{path}: empty list on one side only"]
    return [f"{path}: {type(real).__name__} in real Flink, {type(simulated).__name__} in the simulator"]


def exception_chains(value: Any) -> list[list[str]]:
    """The Java exception class chains of every stack-trace string in an answer (simple class names)."""
    chains: list[list[str]] = []
    if isinstance(value, str) and ("\n\tat " in value or "\nCaused by: " in value or value.startswith("<Exception")):
        chain = []
        for line in value.replace("<Exception on server side:\n", "").splitlines():
            match = _EXCEPTION_LINE.match(line)
            if match and (not chain or line.startswith("Caused by: ")):
                chain.append(match.group(1).rsplit(".", 1)[-1])
        chains.append(chain)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "serialized-throwable":
                chains += exception_chains(item)
    elif isinstance(value, list):
        for item in value:
            chains += exception_chains(item)
    return chains


@pytest.fixture
async def both(
    real_flink_clusters: RealFlinkClusters, flink_version: str, tmp_path: pathlib.Path, job_jar: pathlib.Path
) -> AsyncIterator[tuple[Answers, Answers]]:
    """The scenario's answers from real Flink of this version and from the simulator answering as it."""
    real_flink = real_flink_clusters.get(flink_version)
    simulator = SimulatedFlink(
        slots=4, savepoint_dir=f"file:{tmp_path}/savepoints", timings=CONTRACT_TIMINGS, flink_version=flink_version
    )
    await simulator.start("127.0.0.1", 0)
    results = []
    try:
        for url, savepoint_dir in (
            (real_flink.rest_url, f"file:{real_flink.savepoint_dir}"),
            (simulator.url, f"file:{tmp_path}/savepoints"),
        ):
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
                FlinkClient(url, timeout=30) as client,
            ):
                results.append(await Scenario(url, savepoint_dir, session, client).play(job_jar))
        yield results[0], results[1]
    finally:
        await simulator.stop()


async def test_the_simulator_answers_with_real_flinks_status_codes_shapes_and_exceptions(
    both: tuple[Answers, Answers],
    dialect: FlinkDialect,
) -> None:
    real, simulated = both
    assert list(simulated) == list(real)
    assert {name: answer[0] for name, answer in simulated.items()} == {name: answer[0] for name, answer in real.items()}
    mismatched = {
        name: found for name in real if (found := differences(shape(real[name][1]), shape(simulated[name][1])))
    }
    assert mismatched == {}, "\n".join(f"{name}: {found}" for name, found in mismatched.items())
    chains = {name: (exception_chains(real[name][1]), exception_chains(simulated[name][1])) for name in real}
    different = {name: pair for name, pair in chains.items() if pair[0] != pair[1]}
    assert different == {}, "\n".join(
        f"{name}: real {pair[0]}, simulated {pair[1]}" for name, pair in different.items()
    )
    # The comparison has substance: deep shapes and whole exception chains were compared.
    assert chains["duplicate run"][0][0][-1] == dialect.duplicate_job[0]
    assert chains["exceptions (FAILED)"][0][0] == ["JobException", "IllegalStateException"]
    assert set(shape(real["job details (RUNNING)"][1])["vertices"][0]["metrics"]) >= {"read-bytes", "write-records"}
    print(
        f"\ncompared {len(real)} answers; {sum(bool(pair[0]) for pair in chains.values())} carried Java exception chains"
    )
