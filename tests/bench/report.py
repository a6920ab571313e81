"""Printing the benchmark's table and plotting its scaling curve."""

from __future__ import annotations

import math
import pathlib
from typing import Any

COLUMNS = [
    ("N", "n", "{:d}"),
    ("operator s", "operator_seconds", "{:.2f}"),
    ("direct s", "direct_seconds", "{:.2f}"),
    ("ratio", "overhead_ratio", "{:.2f}"),
    ("REST/poll", "rest_calls_per_poll_per_cluster", "{:.3f}"),
    ("writes/min", "idle_writes_per_min", "{:.2f}"),
    ("CPU s/min", "operator_cpu_s_per_min", "{:.2f}"),
    ("RSS MB", "rss_mb", "{:.0f}"),
    ("peak RSS", "peak_rss_mb", "{:.0f}"),
    ("react p50 s", "reaction_p50_s", "{:.2f}"),
    ("react p99 s", "reaction_p99_s", "{:.2f}"),
    ("bring-up CPU s", "bringup_operator_cpu_s", "{:.1f}"),
]


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def print_table(results: dict[str, Any]) -> None:
    rows = results["table"]
    header = [name for name, _, _ in COLUMNS]
    cells = [[_cell(row, key, fmt) for _, key, fmt in COLUMNS] for row in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(header)]
    print("\nPer N (ratio: median of the runs; steady state and reaction from the last run at that N)")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for line in cells:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
    print(
        "\nHeadline figures (targets: ratio ≤ 1.3 at N=200; 1 REST call per poll interval; 0 writes/min; "
        f"RSS ≤ 150 MB; reaction p99 ≤ {results['poll_interval_s']} s)"
    )
    for key in (
        "overhead_ratio_n200",
        "rest_calls_per_poll_per_cluster",
        "idle_writes_per_min",
        "operator_cpu_s_per_min",
        "rss_mb_n2000",
        "reaction_p50_s",
        "reaction_p99_s",
    ):
        print(f"  {key} = {results.get(key)}")
    print(
        "Large estates (targets: ratio ≤ 1.3 at N=1,000 and 2,000 and in a whole-cluster recovery; ≤ 3 writes per "
        "start; an operator restart at N=2,000 resumed in ≤ 10 s with 0 writes; RSS ≤ 120 MB at N=2,000)"
    )
    for key, value in results.items():
        large = (
            "overhead_ratio_n1000",
            "overhead_ratio_n2000",
            "k8s_writes_per_start",
            "k8s_execution_writes_per_start",
            "cluster_recovery_ratio_n",
            "operator_restart_",
        )
        if key.startswith(large) and not isinstance(value, dict):
            print(f"  {key} = {value}")
    real = results.get("real_flink")
    if real and "ratio" in real:
        print(
            f"  real Flink 2.3, N={real['n']}: operator {real['operator']['seconds']:.2f} s, direct "
            f"{real['direct']['seconds']:.2f} s, ratio {real['ratio']:.2f}"
        )
    elif real:
        print(f"  real Flink: {real.get('skipped')}")
    print(f"  load average at the end: {results['load_end']}")


def plot(results: dict[str, Any], path: pathlib.Path) -> pathlib.Path | None:
    """Four panels against N: time to Running (and ratio), REST calls and writes, CPU and RSS, reaction."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: `make bench` installs the bench extra; no plot)")
        return None
    rows = results["table"]
    if not rows:
        return None  # no overhead run: nothing to plot against N
    steady = [r for r in rows if "rss_mb" in r]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ns = [r["n"] for r in rows]

    ax = axes[0][0]
    ax.plot(ns, [r["operator_seconds"] for r in rows], "o-", label="operator")
    ax.plot(ns, [r["direct_seconds"] for r in rows], "s-", label="direct REST script")
    ax.set_xlabel("executions N")
    ax.set_ylabel("seconds until all Running")
    ax.set_title("Time to Running")
    twin = ax.twinx()
    twin.plot(ns, [r["overhead_ratio"] for r in rows], "d--", color="tab:red", label="ratio")
    twin.axhline(1.3, color="tab:red", linestyle=":", linewidth=1)
    twin.set_ylabel("operator / direct", color="tab:red")
    twin.set_ylim(0, max(2.0, max(r["overhead_ratio"] for r in rows) * 1.1))
    ax.legend(loc="upper left")

    if steady:
        sn = [r["n"] for r in steady]
        ax = axes[0][1]
        ax.plot(
            sn, [r["rest_calls_per_poll_per_cluster"] for r in steady], "o-", label="Flink REST calls per poll interval"
        )
        ax.plot(sn, [r["idle_writes_per_min"] for r in steady], "s-", label="Kubernetes writes per minute")
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(
            bottom=-0.1,
            top=max(
                2.0,
                *(r["rest_calls_per_poll_per_cluster"] for r in steady),
                *(r["idle_writes_per_min"] for r in steady),
            )
            * 1.1,
        )
        ax.set_xlabel("executions N")
        ax.set_title("Steady state: calls and writes")
        ax.legend()

        ax = axes[1][0]
        ax.plot(sn, [r["rss_mb"] for r in steady], "o-", label="RSS (end of steady state)")
        ax.plot(sn, [r["peak_rss_mb"] for r in steady], "^--", label="peak RSS")
        ax.axhline(150, color="tab:red", linestyle=":", linewidth=1, label="150 MB target")
        ax.set_xlabel("executions N")
        ax.set_ylabel("MB")
        ax.set_title("Operator memory and CPU")
        twin = ax.twinx()
        twin.plot(sn, [r["operator_cpu_s_per_min"] for r in steady], "d-", color="tab:green", label="CPU s/min")
        twin.set_ylabel("CPU seconds per minute", color="tab:green")
        twin.set_ylim(bottom=0)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")

        ax = axes[1][1]
        ax.plot(sn, [r.get("reaction_p50_s") for r in steady], "o-", label="p50")
        ax.plot(sn, [r.get("reaction_p99_s") for r in steady], "s-", label="p99")
        ax.axhline(results["poll_interval_s"], color="tab:red", linestyle=":", linewidth=1, label="poll interval")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("executions N")
        ax.set_ylabel("seconds")
        ax.set_title("Reaction: job FAILED → Execution Failed")
        ax.legend()
    fig.suptitle("Flink Manager overhead over Flink (simulated Flink, embedded Kubernetes API)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
