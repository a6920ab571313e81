"""`make bench` (`python -m tests.bench`): figures of the operator's overhead over Flink, printed and written to
bench-results/bench.json and bench-results/scaling.png. Figures, never assertions.

    .venv/bin/python -m tests.bench [--overhead-n 50,200,1000] [--scale-n 100,500,1000,2000] [--steady-seconds 300]
                                    [--repeat 3] [--probes 200] [--no-real-flink] [--profile] [--quick]
                                    [--rollout-n 50] [--rollout-max 5,50]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import pathlib
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from typing import Any

from tests.bench import procs, report, resume, rollout
from tests.bench.direct import run_direct
from tests.bench.scenario import (
    ENTRY_CLASS,
    POLL_INTERVAL_SECONDS,
    STABLE_AFTER_SECONDS,
    TRANSITION_POLL_SECONDS,
    WORKERS,
    Stack,
    bring_up,
    reaction,
    steady_state,
)
from tests.bench.watch import PhaseWatch
from tests.jars import write_jar

RESULTS = procs.REPO / "bench-results"

FAIRNESS = f"""\
Set-up and fairness rules
  * processes: the embedded Kubernetes API (python -m flink_manager_dev.kubeapi), the simulated Flink
    (flink-manager simulate, default realistic Timings) and the operator (flink-manager run --standalone, default
    settings: {WORKERS} workers, transition poll {TRANSITION_POLL_SECONDS:g} s) each run in their own process; the
    benchmark (creating Executions, watching them, the direct script) is a fourth. All share the machine's cores.
    Operator RSS and CPU are read from /proc for the operator process alone.
  * each run gets fresh processes: a new simulator (and, for the operator, a new API and operator), so no run
    inherits jobs, jars or caches from another.
  * operator time: from before the first of N Executions is created (through the Kubernetes API,
    {16} at a time, as a GitOps sync or kubectl apply would) until the benchmark's watch has seen the last one with
    status.phase Running. The FlinkCluster, Artifact (downloaded, verified) and JobSpec are Ready before; the jar is
    not yet uploaded to Flink: the upload is inside the time, as for the direct script.
  * direct time: from before the jar upload until a poll of /jobs/overview shows all N jobs RUNNING: one upload,
    N run_jar calls with job ids ({WORKERS} at a time, the operator's worker count), then /jobs/overview at once and
    every {TRANSITION_POLL_SECONDS:g} s (the operator's poll interval while jobs change state).
  * both count a job as started when Flink reports it RUNNING in /jobs/overview; the operator additionally writes it
    into the Execution's status, which the watch must deliver.
  * steady state and reaction: FlinkCluster.spec.pollIntervalSeconds = {POLL_INTERVAL_SECONDS} (the default); REST calls
    and Kubernetes writes are counted by the fakes themselves (every endpoint, every verb). The steady window starts
    after each Execution has recorded its configuration as stable ({STABLE_AFTER_SECONDS} s after Running, the JobSpec's
    default rollback window: one status write each, reported as the settle writes) and the API has seen no write for
    10 s; it is real time, not simulated (the operator, kopf and aiohttp run on the real clock).
"""


async def overhead_run(
    n: int,
    workdir: pathlib.Path,
    jar: pathlib.Path,
    sha: str,
    *,
    steady_seconds: float,
    probes: int,
    probe_gap: float,
    profile: bool,
    restart: bool = False,
) -> dict[str, Any]:
    """One direct run and one operator run at N on fresh processes; then, when asked, steady state, reaction and an
    operator restart (resume.py)."""
    result: dict[str, Any] = {"n": n, "load_start": procs.load_average()}
    logs = workdir / "logs"
    simulator, url = procs.start_simulator(workdir / "direct", logs, slots=n + 8, name="simulator-direct")
    try:
        direct = await run_direct(url, jar, ENTRY_CLASS, n, concurrency=WORKERS, poll_seconds=TRANSITION_POLL_SECONDS)
    finally:
        simulator.stop()
    result["direct"] = dataclasses.asdict(direct)
    stack = await Stack.start(workdir / "operator", logs, slots=n + probes + 8)
    watch = PhaseWatch(stack.kube_url)
    profiler = api_profiler = None
    metrics_port = resume.free_port()
    try:
        stack.start_operator(metrics_port)
        await stack.apply_basics(jar, sha, ENTRY_CLASS)
        await watch.start()
        assert stack.operator is not None
        result["operator_rss_idle_mb"] = round(stack.operator.rss_mb(), 1)
        if profile:
            profiler = procs.start_profiler(
                stack.operator.pid, RESULTS / f"profile-bringup-n{n}.txt", max(5.0, direct.seconds * 3 + 5), logs
            )
            api_profiler = procs.start_profiler(
                stack.kubeapi.pid, RESULTS / f"profile-bringup-kubeapi-n{n}.txt", max(5.0, direct.seconds * 3 + 5), logs
            )
        up = await bring_up(stack, watch, n)
        result["operator"] = dataclasses.asdict(up)
        result["ratio"] = up.seconds / direct.seconds
        print(
            f"  N={n}: operator {up.seconds:.2f} s, direct {direct.seconds:.2f} s (submitted in "
            f"{direct.submit_seconds:.2f} s, {direct.polls} polls): ratio {result['ratio']:.2f}; "
            f"operator CPU {up.operator_cpu:.1f} s, fakes CPU {up.fakes_cpu:.1f} s, RSS {up.operator_rss_mb:.0f} MB; "
            f"Flink calls {sum(up.flink_calls.values())}, Kubernetes writes {up.kube_writes}; load {procs.load_average()}",
            flush=True,
        )
        for running in (profiler, api_profiler):
            if running is not None:
                running.popen.wait()
        if steady_seconds > 0:
            # An Execution records its configuration as stable (for rollbacks) once its job has run for the JobSpec's
            # rollback window: one status write each, STABLE_AFTER seconds after Running. Past that, nothing changes.
            kube_before = await stack.kube_counters()
            settle_started = time.monotonic()
            await asyncio.sleep(max(0.0, up.started_at + up.seconds + STABLE_AFTER_SECONDS + 5 - time.time()))
            await stack.wait_quiet()
            kube_after = await stack.kube_counters()
            result["settle"] = {
                "seconds": round(time.monotonic() - settle_started, 1),
                "writes": {
                    k: v - kube_before["writes"].get(k, 0)
                    for k, v in kube_after["writes"].items()
                    if v != kube_before["writes"].get(k, 0)
                },
            }
            print(
                f"  N={n} settle {result['settle']['seconds']:.0f} s (past the {STABLE_AFTER_SECONDS} s rollback window): "
                f"writes {result['settle']['writes']}",
                flush=True,
            )
            if profile:
                profiler = procs.start_profiler(
                    stack.operator.pid, RESULTS / f"profile-steady-n{n}.txt", steady_seconds, logs
                )
            steady = await steady_state(stack, steady_seconds)
            result["steady"] = dataclasses.asdict(steady)
            print(
                f"  N={n} steady {steady.seconds:.0f} s: {steady.rest_calls_per_poll_interval:.3f} REST calls per poll "
                f"interval ({steady.flink_calls}), {steady.kube_writes_per_min:.2f} Kubernetes writes/min "
                f"({steady.kube_write_requests}), operator CPU {steady.operator_cpu_s_per_min:.2f} s/min, "
                f"RSS {steady.operator_rss_mb:.0f} MB (max {steady.operator_rss_max_mb:.0f}, peak "
                f"{steady.operator_peak_rss_mb:.0f}); kubeapi RSS {steady.kubeapi_rss_mb:.0f} MB, simulator RSS "
                f"{steady.simulator_rss_mb:.0f} MB; load {steady.load}",
                flush=True,
            )
            if profiler is not None:
                profiler.popen.wait()
            if restart:
                result["restart"] = await resume.operator_restart(stack, n, metrics_port, timeout=120 + n * 0.1)
            if probes > 0:
                await reaction_run(stack, watch, sha, n, probes, probe_gap, result)
    finally:
        for running in (profiler, api_profiler):
            if running is not None and running.alive():
                running.stop()
        await watch.stop()
        await stack.stop()
    result["load_end"] = procs.load_average()
    return result


async def reaction_run(
    stack: Stack, watch: PhaseWatch, sha: str, n: int, probes: int, probe_gap: float, result: dict[str, Any]
) -> None:
    react = await reaction(stack, watch, sha, probes=probes, gap=probe_gap)
    result["reaction"] = dataclasses.asdict(react)
    print(
        f"  N={n} reaction over {react.samples} failed jobs: p50 {react.p50_s:.2f} s, p99 {react.p99_s:.2f} s, "
        f"max {react.max_s:.2f} s (poll interval {POLL_INTERVAL_SECONDS} s; failures {probe_gap:g} s apart, about "
        f"{POLL_INTERVAL_SECONDS / probe_gap:.0f} per poll); missed {react.missed}; "
        f"load {procs.load_average()}",
        flush=True,
    )


async def recovery_run(n: int, workdir: pathlib.Path, jar: pathlib.Path, sha: str) -> dict[str, Any]:
    """N Executions brought up on fresh processes, then the whole-cluster recovery of resume.py."""
    stack = await Stack.start(workdir, workdir / "logs", slots=n + 8)
    watch = PhaseWatch(stack.kube_url)
    try:
        stack.start_operator()
        await stack.apply_basics(jar, sha, ENTRY_CLASS)
        await watch.start()
        up = await bring_up(stack, watch, n, prefix="rec")
        print(f"  recovery stack: {n} Running after {up.seconds:.2f} s; load {procs.load_average()}", flush=True)
        names = [f"rec-{i:05d}" for i in range(n)]
        return await resume.cluster_recovery(stack, watch, names, jar, ENTRY_CLASS, timeout=120 + n * 0.5)
    finally:
        await watch.stop()
        await stack.stop()


async def real_flink_point(n: int, workdir: pathlib.Path) -> dict[str, Any]:
    """N executions of the example job on a real Flink 2.3 session cluster, against direct REST submission."""
    from flink_manager.flink.client import FlinkClient
    from tests.infra.flink.cluster import RealFlinkCluster
    from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS, example_job_jar

    jar = example_job_jar()
    sha = __import__("hashlib").sha256(jar.read_bytes()).hexdigest()
    result: dict[str, Any] = {"n": n, "load_start": procs.load_average()}
    cluster = RealFlinkCluster(slots=max(24, n + 4))
    cluster.start()
    try:
        direct = await run_direct(
            cluster.rest_url, jar, EXAMPLE_ENTRY_CLASS, n, concurrency=WORKERS, poll_seconds=TRANSITION_POLL_SECONDS
        )
        result["direct"] = dataclasses.asdict(direct)
        async with FlinkClient(cluster.rest_url, timeout=30) as client:  # free the slots for the operator's run
            for job in await client.jobs_overview():
                await client.cancel_job(job.job_id)
            deadline = time.monotonic() + 120
            while any(not j.state.is_globally_terminal for j in await client.jobs_overview()):
                if time.monotonic() > deadline:
                    raise TimeoutError("the direct run's jobs were not cancelled")
                await asyncio.sleep(0.5)
            while (await client.overview()).slots_available < n:
                if time.monotonic() > deadline:
                    raise TimeoutError("the direct run's slots were not freed")
                await asyncio.sleep(0.5)
        stack = await Stack.start(workdir / "real", workdir / "logs", slots=0, flink_url=cluster.rest_url)
        watch = PhaseWatch(stack.kube_url)
        try:
            stack.start_operator()
            await stack.apply_basics(jar, sha, EXAMPLE_ENTRY_CLASS)
            await watch.start()
            up = await bring_up(stack, watch, n)
            result["operator"] = dataclasses.asdict(up)
        finally:
            await watch.stop()
            await stack.stop()
        result["ratio"] = up.seconds / direct.seconds
        print(
            f"  real Flink 2.3, N={n}: operator {up.seconds:.2f} s, direct {direct.seconds:.2f} s: ratio "
            f"{result['ratio']:.2f}; load {procs.load_average()}",
            flush=True,
        )
    finally:
        cluster.stop()
    result["load_end"] = procs.load_average()
    return result


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    workroot = pathlib.Path(tempfile.mkdtemp(prefix="flink-manager-bench-"))
    jar = workroot / "bench-job.jar"
    sha = write_jar(jar, ENTRY_CLASS)
    print(FAIRNESS)
    print(
        f"machine: {platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average at start {procs.load_average()}",
        flush=True,
    )
    overhead_n, scale_n = _ints(args.overhead_n), _ints(args.scale_n)
    runs: dict[int, list[dict[str, Any]]] = {}
    try:
        for n in sorted(set(overhead_n) | set(scale_n)):
            repeats = args.repeat if n <= 200 else args.repeat_large
            for attempt in range(repeats):
                last = attempt == repeats - 1
                print(f"N={n} run {attempt + 1}/{repeats}", flush=True)
                runs.setdefault(n, []).append(
                    await overhead_run(
                        n,
                        workroot / f"n{n}-{attempt}",
                        jar,
                        sha,
                        steady_seconds=args.steady_seconds if (last and n in scale_n) else 0,
                        probes=args.probes,
                        probe_gap=args.probe_gap,
                        profile=args.profile and last,
                        restart=last and n == args.restart_n and n in scale_n and args.steady_seconds > 0,
                    )
                )
        recovery = None
        if args.recovery_n > 0:
            print(f"whole-cluster recovery at N={args.recovery_n}", flush=True)
            recovery = await recovery_run(args.recovery_n, workroot / f"recovery-{args.recovery_n}", jar, sha)
        print(f"rollouts of {args.rollout_n} Executions at maxConcurrent {args.rollout_max}", flush=True)
        rollouts = await rollout.run(args.rollout_n, _ints(args.rollout_max)) if args.rollout_n else []
        real = None
        if args.real_flink:
            try:
                real = await real_flink_point(args.real_n, workroot)
            except Exception as exc:  # noqa: BLE001 - a missing Flink must not lose the other figures
                print(f"  real Flink point skipped: {type(exc).__name__}: {exc}")
                real = {"skipped": f"{type(exc).__name__}: {exc}"}
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    results = summarise(runs, overhead_n, scale_n, real, args)
    results["rollouts"] = rollouts  # seconds from a JobSpec change until all N run it, per maxConcurrent
    results.update(headline_keys(runs, recovery, args))
    results["recovery"] = recovery
    return results


def headline_keys(
    runs: dict[int, list[dict[str, Any]]], recovery: dict[str, Any] | None, args: argparse.Namespace
) -> dict[str, Any]:
    """The figures issue-level targets name; a figure whose scenario did not run is None, and the reason is printed."""
    keys: dict[str, Any] = {}
    for n in (1000, 2000):
        ratios = [a["ratio"] for a in runs.get(n, [])]
        keys[f"overhead_ratio_n{n}"] = round(statistics.median(ratios), 3) if ratios else None
    starts = [(a["n"], a["operator"]) for attempts in runs.values() for a in attempts]
    if starts:
        n, up = max(starts, key=lambda item: item[0])
        # the operator's writes while N Executions start: all the API server counted, less the N creates
        keys["k8s_writes_per_start"] = round((up["kube_writes"] - n) / n, 2)
        by = up.get("kube_writes_by") or {}
        # of those, the writes to the Executions themselves and their Events (no cluster or JobSpec status)
        keys["k8s_execution_writes_per_start"] = round(
            sum(v for k, v in by.items() if k.startswith(("patch executions.", "create events"))) / n, 2
        )
        keys["k8s_writes_per_start_by"] = by
    restart = next((a["restart"] for a in runs.get(args.restart_n, []) if "restart" in a), None)
    keys[f"operator_restart_seconds_n{args.restart_n}"] = restart["seconds"] if restart else None
    keys[f"operator_restart_writes_n{args.restart_n}"] = (
        restart["until_one_poll_later"]["kube_writes"] if restart else None
    )
    keys[f"operator_restart_peak_rss_mb_n{args.restart_n}"] = restart["peak_rss_mb"] if restart else None
    keys["operator_restart"] = restart
    keys[f"cluster_recovery_ratio_n{args.recovery_n}"] = recovery["ratio"] if recovery else None
    for key, value in keys.items():
        if value is None:
            print(f"  {key}: not measured (its scenario was not run with these options)")
    return keys


def summarise(
    runs: dict[int, list[dict[str, Any]]],
    overhead_n: list[int],
    scale_n: list[int],
    real: dict[str, Any] | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    table = []
    for n, attempts in sorted(runs.items()):
        ratios = [a["ratio"] for a in attempts]
        last = attempts[-1]
        row: dict[str, Any] = {
            "n": n,
            "overhead_ratio": round(statistics.median(ratios), 3),
            "overhead_ratios": [round(r, 3) for r in ratios],
            "operator_seconds": round(statistics.median(a["operator"]["seconds"] for a in attempts), 3),
            "direct_seconds": round(statistics.median(a["direct"]["seconds"] for a in attempts), 3),
            "bringup_operator_cpu_s": round(last["operator"]["operator_cpu"], 2),
            "bringup_fakes_cpu_s": round(last["operator"]["fakes_cpu"], 2),
            "bringup_flink_calls": last["operator"]["flink_calls"],
            "bringup_kube_writes": last["operator"]["kube_writes"],
            "load": [a["load_start"] for a in attempts] + [last["load_end"]],
        }
        if "steady" in last:
            steady = last["steady"]
            row.update(
                {
                    "settle_writes": last["settle"]["writes"],
                    "rest_calls_per_poll_per_cluster": round(steady["rest_calls_per_poll_interval"], 3),
                    "steady_flink_calls": steady["flink_calls"],
                    "idle_writes_per_min": round(steady["kube_writes_per_min"], 3),
                    "idle_committed_writes_per_min": round(steady["kube_committed_writes_per_min"], 3),
                    "idle_write_requests": steady["kube_write_requests"],
                    "operator_cpu_s_per_min": round(steady["operator_cpu_s_per_min"], 3),
                    "rss_mb": round(steady["operator_rss_mb"], 1),
                    "rss_max_mb": round(steady["operator_rss_max_mb"], 1),
                    "peak_rss_mb": round(steady["operator_peak_rss_mb"], 1),
                    "kubeapi_rss_mb": round(steady["kubeapi_rss_mb"], 1),
                    "simulator_rss_mb": round(steady["simulator_rss_mb"], 1),
                    "steady_seconds": steady["seconds"],
                    "steady_load": steady["load"],
                }
            )
        if "reaction" in last:
            row.update({f"reaction_{k}": v for k, v in last["reaction"].items()})
        table.append(row)
    by_n = {row["n"]: row for row in table}
    headline_n = max(scale_n) if scale_n else None
    headline = by_n.get(headline_n, {}) if headline_n else {}
    results: dict[str, Any] = {
        "overhead_ratio_n200": by_n.get(200, {}).get("overhead_ratio"),
        "rest_calls_per_poll_per_cluster": headline.get("rest_calls_per_poll_per_cluster"),
        "idle_writes_per_min": headline.get("idle_writes_per_min"),
        "operator_cpu_s_per_min": headline.get("operator_cpu_s_per_min"),
        f"rss_mb_n{headline_n}": headline.get("rss_mb"),
        "rss_mb_n2000": by_n.get(2000, {}).get("rss_mb"),
        "reaction_p50_s": headline.get("reaction_p50_s"),
        "reaction_p99_s": headline.get("reaction_p99_s"),
        "poll_interval_s": POLL_INTERVAL_SECONDS,
        "headline_n": headline_n,
        "real_flink": real,
        "table": table,
        "settings": {
            "overhead_n": overhead_n,
            "scale_n": scale_n,
            "steady_seconds": args.steady_seconds,
            "repeat": args.repeat,
            "probes": args.probes,
            "probe_gap": args.probe_gap,
            "workers": WORKERS,
            "transition_poll_seconds": TRANSITION_POLL_SECONDS,
        },
        "fairness": FAIRNESS,
        "load_end": procs.load_average(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": runs,
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--overhead-n", default="50,200,1000", help="N of the overhead ratio")
    parser.add_argument(
        "--scale-n", default="100,500,1000,2000", help="N of the scaling curve (overhead, steady state, reaction)"
    )
    parser.add_argument(
        "--steady-seconds", type=float, default=300.0, help="length of the steady-state window (real time)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="overhead runs at each N up to 200 (the median is reported)"
    )
    parser.add_argument("--repeat-large", type=int, default=1, help="overhead runs at each N above 200")
    parser.add_argument(
        "--restart-n",
        type=int,
        default=2000,
        help="replace the operator after the steady state at this N (one of --scale-n)",
    )
    parser.add_argument("--recovery-n", type=int, default=500, help="whole-cluster recovery at this N (0: none)")
    parser.add_argument("--probes", type=int, default=100, help="jobs failed by the simulator for the reaction figures")
    parser.add_argument("--probe-gap", type=float, default=0.5, help="seconds between the probe Executions' creation")
    parser.add_argument(
        "--real-flink",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure on a real Flink 2.3 session cluster (needs `make infra-flink infra-job`)",
    )
    parser.add_argument("--real-n", type=int, default=20)
    parser.add_argument("--rollout-n", type=int, default=50, help="Executions of the rollout figures (0: none)")
    parser.add_argument("--rollout-max", default="5,50", help="the JobSpec's rollout.maxConcurrent of each rollout")
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of the operator into bench-results/")
    parser.add_argument(
        "--quick", action="store_true", help="a short run for trying changes: N 50,200,500; 30 s steady"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs of every process)")
    parser.add_argument("--output", default=str(RESULTS / "bench.json"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the child processes on the way out
    if args.quick:
        args.overhead_n, args.scale_n, args.steady_seconds, args.repeat, args.probes = "50,200", "500", 30.0, 1, 60
    results = asyncio.run(run(args))
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    report.print_table(results)
    png = report.plot(results, output.with_name("scaling.png" if output.name == "bench.json" else output.stem + ".png"))
    print(f"\nwritten: {output}" + (f", {png}" if png else ""))


if __name__ == "__main__":
    main()
