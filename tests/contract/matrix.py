"""Run the contract tier on every Flink version of the matrix, several versions side by side.

`python -m tests.contract.matrix [--jobs N] [--flink-version V ...] [PYTEST ARGS]` runs one pytest per version
(`pytest tests/contract --flink-version V`, each with its own real cluster), N at a time (default
$FLINK_MANAGER_CONTRACT_JOBS or 3), prints each version's output and time as it ends, and exits non-zero if
any version failed. Most of a contract test is waiting for Flink, so versions overlap well on two cores; the
real clusters' start-ups are still limited machine-wide (tests/infra/flink/cluster.py, START_SLOTS).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys
import time

from tests.infra.flink.versions import DISTRIBUTIONS, distribution

REPO = pathlib.Path(__file__).resolve().parents[2]
_COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected)")


def run_version(version: str, pytest_args: list[str]) -> tuple[str, int, float, str]:
    """One version's contract tier: (version, exit code, seconds, output). The output is written as it comes to
    test-logs/contract-<version>.log (to follow a run), and printed whole when the version is done."""
    began = time.monotonic()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rs",
        "tests/contract",
        "--flink-version",
        version,
        *pytest_args,
    ]
    log = REPO / "test-logs" / f"contract-{version}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        code = subprocess.run(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, check=False).returncode
    return version, code, time.monotonic() - began, log.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("FLINK_MANAGER_CONTRACT_JOBS", "3")))
    parser.add_argument("--flink-version", action="append", default=[], dest="versions")
    args, pytest_args = parser.parse_known_args(argv)
    versions = [distribution(v).version for v in args.versions] or [row.version for row in DISTRIBUTIONS]
    began = time.monotonic()
    totals: dict[str, int] = {}
    failed: list[str] = []
    times: dict[str, float] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_version, version, pytest_args) for version in versions]
        for future in concurrent.futures.as_completed(futures):
            version, code, seconds, output = future.result()
            times[version] = seconds
            print(f"\n{'=' * 30} contract tier on Flink {version}: exit {code} in {seconds:.0f}s {'=' * 30}")
            print(output.rstrip(), flush=True)
            summary = output.strip().splitlines()[-1] if output.strip() else ""
            for count, word in _COUNTS.findall(summary):
                key = "errors" if word.startswith("error") else word
                totals[key] = totals.get(key, 0) + int(count)
            if code != 0:
                failed.append(version)
    print(
        f"\n{'=' * 30} contract tier: {len(versions)} Flink versions in {time.monotonic() - began:.0f}s "
        f"({args.jobs} at a time) {'=' * 30}"
    )
    for version in versions:
        print(f"  Flink {version}: {times[version]:.0f}s{'  FAILED' if version in failed else ''}")
    print(
        f"{totals.get('passed', 0)} passed, {totals.get('failed', 0) + totals.get('errors', 0)} failed, "
        f"{totals.get('skipped', 0)} skipped"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
