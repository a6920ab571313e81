"""One benchmark scenario at N executions: the fakes and the operator in their own processes, N Executions brought
to Running, then (optionally) a quiet steady state and the reaction to jobs that Flink fails."""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from flink_manager.kube.client import ARTIFACTS, EXECUTIONS, FLINK_CLUSTERS, JOB_SPECS, Credentials, KubeClient
from tests.bench import procs
from tests.bench.watch import PhaseWatch

NAMESPACE = "default"
ENTRY_CLASS = "com.example.BenchJob"
CREATE_CONCURRENCY = 16  # Executions created at once (kubectl apply of many objects, or a GitOps sync)
POLL_INTERVAL_SECONDS = 5  # FlinkCluster.spec.pollIntervalSeconds: the CRD's default
TRANSITION_POLL_SECONDS = 1.0  # the operator's default FLINK_MANAGER_TRANSITION_POLL_SECONDS
WORKERS = 16  # the operator's default FLINK_MANAGER_WORKERS
STABLE_AFTER_SECONDS = 120  # JobSpec.spec.rollback.windowSeconds: the CRD's default


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def manifests(flink_url: str, jar: pathlib.Path, sha256: str, entry_class: str) -> list[tuple[Any, dict[str, Any]]]:
    api = "flinkmanager.io/v1alpha1"
    return [
        (
            FLINK_CLUSTERS,
            {
                "apiVersion": api,
                "kind": "FlinkCluster",
                "metadata": {"name": "default"},
                "spec": {"restUrl": flink_url, "pollIntervalSeconds": POLL_INTERVAL_SECONDS},
            },
        ),
        (
            ARTIFACTS,
            {
                "apiVersion": api,
                "kind": "Artifact",
                "metadata": {"name": "bench-jar"},
                "spec": {"url": f"file://{jar}", "sha256": sha256, "version": "1.0.0", "entryClasses": [entry_class]},
            },
        ),
        (
            JOB_SPECS,
            {
                "apiVersion": api,
                "kind": "JobSpec",
                "metadata": {"name": "bench"},
                "spec": {"artifactRef": {"name": "bench-jar"}, "entryClass": entry_class, "parallelism": 1},
            },
        ),
    ]


def execution(name: str, job_spec: str = "bench") -> dict[str, Any]:
    return {
        "apiVersion": "flinkmanager.io/v1alpha1",
        "kind": "Execution",
        "metadata": {"name": name},
        "spec": {"jobSpecRef": {"name": job_spec}},
    }


def _ready(body: dict[str, Any] | None) -> bool:
    conditions = ((body or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass
class Stack:
    """The embedded Kubernetes API, a simulated (or real) Flink and the operator, each in its own process."""

    workdir: pathlib.Path
    logs: pathlib.Path
    kubeapi: procs.Process
    kube_url: str
    kubeconfig: pathlib.Path
    flink_url: str
    simulator: procs.Process | None
    operator: procs.Process | None = None
    kube: KubeClient = field(init=False)
    http: aiohttp.ClientSession = field(init=False)

    def __post_init__(self) -> None:
        self.kube = KubeClient(
            Credentials(server=self.kube_url), field_manager="kubectl-client-side-apply", timeout=120
        )
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    @classmethod
    async def start(
        cls, workdir: pathlib.Path, logs: pathlib.Path, *, slots: int, flink_url: str | None = None
    ) -> Stack:
        workdir.mkdir(parents=True, exist_ok=True)
        kubeapi, kube_url, kubeconfig = procs.start_kubeapi(workdir, logs)
        simulator = None
        if flink_url is None:
            simulator, flink_url = procs.start_simulator(workdir, logs, slots=slots)
        return cls(workdir, logs, kubeapi, kube_url, kubeconfig, flink_url, simulator)

    def start_operator(self, metrics_port: int | None = None) -> None:
        extra = ["--metrics-port", str(metrics_port)] if metrics_port else []
        self.operator = procs.start_operator(self.kubeconfig, self.workdir, self.logs, extra)

    async def stop(self) -> None:
        await self.kube.close()
        await self.http.close()
        for process in (self.operator, self.simulator, self.kubeapi):
            if process is not None:
                process.stop()

    # -- counters of the fakes (their admin APIs are not counted themselves)

    async def flink_calls(self) -> dict[str, int]:
        assert self.simulator is not None
        async with self.http.get(self.flink_url + "/_simulator/stats") as response:
            return dict((await response.json())["requests"])

    async def kube_counters(self) -> dict[str, Any]:
        async with self.http.get(self.kube_url + "/_emulator/counters") as response:
            return dict(await response.json())

    async def flink_jobs_overview(self) -> list[dict[str, Any]]:
        async with self.http.get(self.flink_url + "/jobs/overview") as response:
            return list((await response.json())["jobs"])

    # -- set-up

    async def apply_basics(self, jar: pathlib.Path, sha256: str, entry_class: str) -> None:
        for resource, body in manifests(self.flink_url, jar, sha256, entry_class):
            await self.kube.create(resource, NAMESPACE, body)
        for resource, name in ((FLINK_CLUSTERS, "default"), (ARTIFACTS, "bench-jar"), (JOB_SPECS, "bench")):
            await self.wait_ready(resource, name, timeout=120)

    async def wait_ready(self, resource: Any, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not _ready(await self.kube.get(resource, NAMESPACE, name)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{resource.plural}/{name} not Ready within {timeout:.0f} s")
            await asyncio.sleep(0.2)

    async def create_executions(self, names: list[str], job_spec: str = "bench") -> None:
        semaphore = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def create(name: str) -> None:
            async with semaphore:
                await self.kube.create(EXECUTIONS, NAMESPACE, execution(name, job_spec))

        await asyncio.gather(*(create(name) for name in names))

    async def wait_quiet(self, quiet_seconds: float = 10.0, timeout: float = 180.0) -> float:
        """Wait until the Kubernetes API has committed no write for `quiet_seconds`; returns the seconds waited."""
        started = time.monotonic()
        last = (await self.kube_counters())["committedWrites"]
        last_change = time.monotonic()
        while time.monotonic() - last_change < quiet_seconds:
            if time.monotonic() - started > timeout:
                break
            await asyncio.sleep(1.0)
            now = (await self.kube_counters())["committedWrites"]
            if now != last:
                last, last_change = now, time.monotonic()
        return time.monotonic() - started


@dataclass
class BringUp:
    n: int
    started_at: float
    seconds: float
    flink_calls: dict[str, int]
    kube_writes: int
    kube_committed: int
    kube_writes_by: dict[str, int]
    operator_cpu: float
    fakes_cpu: float
    kubeapi_cpu: float
    operator_rss_mb: float


async def bring_up(stack: Stack, watch: PhaseWatch, n: int, prefix: str = "run") -> BringUp:
    """Create N Executions and time until the last one shows phase Running (from before the first create)."""
    assert stack.operator is not None
    names = [f"{prefix}-{i:05d}" for i in range(n)]
    calls_before = await stack.flink_calls() if stack.simulator is not None else {}
    kube_before = await stack.kube_counters()
    cpu_before = stack.operator.cpu_seconds()
    kubeapi_before = stack.kubeapi.cpu_seconds()
    fakes_before = kubeapi_before + (stack.simulator.cpu_seconds() if stack.simulator else 0.0)
    started_wall, started = time.time(), time.perf_counter()
    await stack.create_executions(names)
    last = await watch.wait_all("Running", set(names), timeout=120 + n * 0.5)
    seconds = last - started_wall
    del started
    calls_after = await stack.flink_calls() if stack.simulator is not None else {}
    kube_after = await stack.kube_counters()
    return BringUp(
        n=n,
        started_at=started_wall,
        seconds=seconds,
        flink_calls={
            k: calls_after.get(k, 0) - calls_before.get(k, 0)
            for k in calls_after
            if calls_after.get(k, 0) != calls_before.get(k, 0)
        },
        kube_writes=kube_after["totalWrites"] - kube_before["totalWrites"],
        kube_committed=kube_after["committedWrites"] - kube_before["committedWrites"],
        kube_writes_by={
            k: v - kube_before["writes"].get(k, 0)
            for k, v in kube_after["writes"].items()
            if v != kube_before["writes"].get(k, 0)
        },
        operator_cpu=stack.operator.cpu_seconds() - cpu_before,
        fakes_cpu=stack.kubeapi.cpu_seconds()
        + (stack.simulator.cpu_seconds() if stack.simulator else 0.0)
        - fakes_before,
        kubeapi_cpu=stack.kubeapi.cpu_seconds() - kubeapi_before,
        operator_rss_mb=stack.operator.rss_mb(),
    )


@dataclass
class Steady:
    seconds: float
    flink_calls: dict[str, int]
    rest_calls_per_poll_interval: float
    kube_write_requests: dict[str, int]
    kube_writes_per_min: float
    kube_committed_writes_per_min: float
    kube_requests_per_min: float
    operator_cpu_s_per_min: float
    operator_rss_mb: float
    operator_rss_max_mb: float
    operator_peak_rss_mb: float
    kubeapi_rss_mb: float
    simulator_rss_mb: float
    load: tuple[float, float, float]


async def steady_state(stack: Stack, seconds: float) -> Steady:
    """Nothing changes for `seconds`: count Flink REST calls, Kubernetes writes, operator CPU and RSS."""
    assert stack.operator is not None and stack.simulator is not None
    calls_before = await stack.flink_calls()
    kube_before = await stack.kube_counters()
    cpu_before = stack.operator.cpu_seconds()
    started = time.monotonic()
    rss: list[float] = []
    while time.monotonic() - started < seconds:
        rss.append(stack.operator.rss_mb())
        await asyncio.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - started))))
    elapsed = time.monotonic() - started
    cpu = stack.operator.cpu_seconds() - cpu_before
    calls_after = await stack.flink_calls()
    kube_after = await stack.kube_counters()
    calls = {
        k: calls_after.get(k, 0) - calls_before.get(k, 0)
        for k in calls_after
        if calls_after.get(k, 0) != calls_before.get(k, 0)
    }
    writes = {
        k: v - kube_before["writes"].get(k, 0)
        for k, v in kube_after["writes"].items()
        if v != kube_before["writes"].get(k, 0)
    }
    minutes = elapsed / 60
    rss.append(stack.operator.rss_mb())
    return Steady(
        seconds=round(elapsed, 1),
        flink_calls=calls,
        rest_calls_per_poll_interval=sum(calls.values()) / (elapsed / POLL_INTERVAL_SECONDS),
        kube_write_requests=writes,
        kube_writes_per_min=(kube_after["totalWrites"] - kube_before["totalWrites"]) / minutes,
        kube_committed_writes_per_min=(kube_after["committedWrites"] - kube_before["committedWrites"]) / minutes,
        kube_requests_per_min=(kube_after["totalRequests"] - kube_before["totalRequests"]) / minutes,
        operator_cpu_s_per_min=cpu / minutes,
        operator_rss_mb=rss[-1],
        operator_rss_max_mb=max(rss),
        operator_peak_rss_mb=stack.operator.peak_rss_mb(),
        kubeapi_rss_mb=stack.kubeapi.rss_mb(),
        simulator_rss_mb=stack.simulator.rss_mb(),
        load=procs.load_average(),
    )


@dataclass
class Reaction:
    samples: int
    p50_s: float
    p99_s: float
    max_s: float
    from_failing_p50_s: float
    from_failing_p99_s: float
    missed: int
    delays_s: list[float]


async def reaction(stack: Stack, watch: PhaseWatch, jar_sha: str, *, probes: int, gap: float) -> Reaction:
    """Jobs that Flink fails while nothing else happens: from the job's FAILED to the Execution's phase Failed.

    A JobSpec whose jobs the simulator fails `fail_after` seconds after their tasks run (its scripted
    `simulator.fail-after`); its Executions are created `gap` seconds apart, so the failures fall at every phase of
    the poll interval, and all are Running (nothing in transition, the poller at its normal interval) before the
    first one fails."""
    fail_after = probes * gap + 20.0
    body = {
        "apiVersion": "flinkmanager.io/v1alpha1",
        "kind": "JobSpec",
        "metadata": {"name": "probe"},
        "spec": {
            "artifactRef": {"name": "bench-jar"},
            "entryClass": ENTRY_CLASS,
            "parallelism": 1,
            "flinkConfig": {"simulator.fail-after": f"{fail_after:g}"},
        },
    }
    await stack.kube.create(JOB_SPECS, NAMESPACE, body)
    await stack.wait_ready(JOB_SPECS, "probe", timeout=60)
    names = [f"probe-{i:04d}" for i in range(probes)]
    began = time.monotonic()
    for i, name in enumerate(names):
        await asyncio.sleep(max(0.0, began + i * gap - time.monotonic()))
        await stack.kube.create(EXECUTIONS, NAMESPACE, execution(name, "probe"))
    await watch.wait_all("Running", set(names), timeout=60 + fail_after)
    missed = 0
    try:
        await watch.wait_all("Failed", set(names), timeout=fail_after + 120)
    except TimeoutError:
        missed = len(set(names) - watch.names_in("Failed", set(names)))
    items = await stack.kube.list(EXECUTIONS, NAMESPACE)
    job_of = {item["metadata"]["name"]: (item.get("status") or {}).get("flinkJobId") for item in items}
    ended = {
        job["jid"]: job.get("end-time") for job in await stack.flink_jobs_overview() if job.get("state") == "FAILED"
    }
    failing_seconds = 0.07  # Timings().failing: FAILING → FAILED
    delays = []
    for name in names:
        job_id = job_of.get(name)
        seen = watch.first_seen.get(name, {}).get("Failed")
        end = ended.get(job_id) if job_id else None
        if seen and end:
            delays.append(seen - end / 1000)
    return Reaction(
        samples=len(delays),
        p50_s=round(statistics.median(delays), 3) if delays else float("nan"),
        p99_s=round(percentile(delays, 99), 3),
        max_s=round(max(delays), 3) if delays else float("nan"),
        from_failing_p50_s=round(statistics.median(delays) + failing_seconds, 3) if delays else float("nan"),
        from_failing_p99_s=round(percentile(delays, 99) + failing_seconds, 3),
        missed=missed,
        delays_s=sorted(round(d, 3) for d in delays),
    )
