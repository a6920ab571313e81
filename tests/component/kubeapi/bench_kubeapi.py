"""Figures for the embedded API (printed, never asserted): 2,000 creates and status patches over HTTP, RSS after,
and watch delivery latency with 10 watchers.

    .venv/bin/python -m tests.component.kubeapi.bench_kubeapi [--objects 2000] [--watchers 10] [--soak 30000]

The server runs as `python -m flink_manager_dev.kubeapi` in a subprocess so its RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import aiohttp

MANIFESTS = pathlib.Path(__file__).parent / "manifests"
BASE = "/apis/test.flinkmanager.io/v1/namespaces/default/widgets"


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _bounded(n: int, concurrency: int, make: object) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await make(i)  # type: ignore[operator]

    await asyncio.gather(*(one(i) for i in range(n)))


async def run(objects: int, watchers: int, concurrency: int, probes: int, soak: int) -> None:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="kubeapi-bench-"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flink_manager_dev.kubeapi",
            "--crds",
            str(MANIFESTS / "widgets.crd.yaml"),
            "--kubeconfig",
            str(workdir / "kubeconfig"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[1]
        print(f"server pid {process.pid} at {url}; RSS at start {rss_mb(process.pid):.1f} MiB")
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(url, timeout=timeout) as http:

            async def create(i: int) -> None:
                body = {
                    "apiVersion": "test.flinkmanager.io/v1",
                    "kind": "Widget",
                    "metadata": {"name": f"w{i:05d}"},
                    "spec": {"owner": "bench", "size": 1 + i % 100, "tags": ["a"], "labels": {"k": "v"}},
                }
                async with http.post(BASE, json=body) as response:
                    assert response.status == 201, await response.text()

            async def patch_status(i: int) -> None:
                body = {
                    "status": {
                        "phase": "Running",
                        "observedGeneration": 1,
                        "conditions": [
                            {
                                "type": "Ready",
                                "status": "True",
                                "reason": "Running",
                                "message": "job is running",
                                "lastTransitionTime": "2025-01-01T00:00:00Z",
                            }
                        ],
                    }
                }
                async with http.patch(
                    f"{BASE}/w{i:05d}/status",
                    data=json.dumps(body),
                    headers={"Content-Type": "application/merge-patch+json"},
                ) as response:
                    assert response.status == 200, await response.text()

            started = time.perf_counter()
            await _bounded(objects, concurrency, create)
            created = time.perf_counter() - started
            print(f"create {objects} objects: {created:.2f} s ({objects / created:.0f}/s, concurrency {concurrency})")
            started = time.perf_counter()
            await _bounded(objects, concurrency, patch_status)
            patched = time.perf_counter() - started
            print(f"patch status of {objects} objects: {patched:.2f} s ({objects / patched:.0f}/s)")
            print(f"RSS after: {rss_mb(process.pid):.1f} MiB")
            started = time.perf_counter()
            async with http.get(BASE) as response:
                listed = len((await response.json())["items"])
            print(f"list {listed} objects: {(time.perf_counter() - started) * 1000:.0f} ms")

            await measure_watch_latency(http, watchers, probes)
            print(f"RSS after the watch test: {rss_mb(process.pid):.1f} MiB")
            if soak:

                async def rewrite(i: int) -> None:
                    body = {"status": {"phase": f"P{i}", "observedGeneration": 1}}
                    async with http.patch(
                        f"{BASE}/w{i % objects:05d}/status",
                        data=json.dumps(body),
                        headers={"Content-Type": "application/merge-patch+json"},
                    ) as response:
                        assert response.status == 200, await response.text()

                started = time.perf_counter()
                await _bounded(soak, concurrency, rewrite)
                elapsed = time.perf_counter() - started
                print(
                    f"soak: {soak} more status writes in {elapsed:.1f} s ({soak / elapsed:.0f}/s); "
                    f"RSS after: {rss_mb(process.pid):.1f} MiB"
                )
    finally:
        process.terminate()
        process.wait(10)


async def measure_watch_latency(http: aiohttp.ClientSession, watchers: int, probes: int) -> None:
    """Bump one object's counter `probes` times; each watcher records when it saw each value."""
    async with http.get(f"{BASE}/w00000") as response:
        rv = (await response.json())["metadata"]["resourceVersion"]
    seen: dict[int, list[float]] = {}
    streams = [
        await http.get(
            f"{BASE}?watch=true&resourceVersion={rv}", timeout=aiohttp.ClientTimeout(total=None, sock_read=None)
        )
        for _ in range(watchers)
    ]

    async def read(response: aiohttp.ClientResponse) -> None:
        async for line in response.content:
            counter = json.loads(line)["object"]["spec"].get("counter")
            if counter is not None:
                seen.setdefault(counter, []).append(time.perf_counter())

    readers = [asyncio.create_task(read(r)) for r in streams]
    latencies: list[float] = []
    for counter in range(1, probes + 1):
        sent = time.perf_counter()
        async with http.patch(
            f"{BASE}/w00000",
            data=json.dumps({"spec": {"counter": counter}}),
            headers={"Content-Type": "application/merge-patch+json"},
        ) as response:
            assert response.status == 200
        deadline = time.perf_counter() + 5
        while len(seen.get(counter, ())) < watchers and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        latencies += [(t - sent) * 1000 for t in seen.get(counter, ())]
        if counter <= 3 or max([(t - sent) * 1000 for t in seen.get(counter, ())] or [0]) > 100:
            print(
                f"  probe {counter}: slowest delivery {max([(t - sent) * 1000 for t in seen.get(counter, ())] or [0]):.1f} ms"
            )
    for task in readers:
        task.cancel()
    for response in streams:
        response.close()
    latencies.sort()
    if latencies:
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(
            f"watch delivery with {watchers} watchers over {probes} patches ({len(latencies)} deliveries): "
            f"p50 {statistics.median(latencies):.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms "
            f"(from sending the PATCH to the event arriving at each watcher, client in one process)"
        )


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--soak", type=int, default=0, help="this many more status writes, then RSS again")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(run(args.objects, args.watchers, args.concurrency, args.probes, args.soak))


if __name__ == "__main__":
    main()
