"""One fault scenario on the real components: its namespace, its figures, and the oracles every scenario ends with.

The oracles are the reliability tier's: converged (every wait of the scenario held), no duplicate live job (from
Flink's own job times), no lost savepoint (each stop's savepoint recorded and on disk, each resubmission restoring
the newest retained state, checked by the scenario), history equal to the scenario's reference, no write and no Flink
call after convergence (the operator's write counter and the Flink paths over two poll intervals), operator alive
(its liveness probe answers and it logged no traceback).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

from tests.reliability.real.rig import POLL_SECONDS, Rig, body_status, condition, history
from tests.reliability.summary import SUMMARY
from tests.waiting import DeadlineExceeded, wait_for_sync

History = list[tuple[str, str | None, str, str, str | None]]
FIGURES: dict[str, list[dict[str, Any]]] = {}  # scenario -> the figures of each of its runs


@dataclasses.dataclass
class Scenario:
    rig: Rig
    name: str
    namespace: str = ""
    problems: list[str] = dataclasses.field(default_factory=list)
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
    references: dict[str, History] = dataclasses.field(default_factory=dict)
    counted: dict[str, int] = dataclasses.field(default_factory=dict)
    log_mark: int = 0

    def figure(self, key: str, value: float) -> None:
        self.figures[key] = round(value, 2)

    def problem(self, counter: str, message: str) -> None:
        self.problems.append(message)
        self.counted[counter] = self.counted.get(counter, 0) + 1

    def expect(self, condition: bool, counter: str, message: str) -> None:
        if not condition:
            self.problem(counter, message)

    def reference(self, execution: str, entries: History) -> None:
        """The history the execution must end with."""
        self.references[execution] = entries

    def executions(self) -> set[str]:
        return {f"{self.namespace}/{name}" for name in self.references}

    # -- oracles

    def check_savepoint_of_stop(self, execution: str, job_id: str) -> None:
        """The savepoint Flink took for the stop is the one recorded (lastSavepoint, savepoints, the STOP entry)
        and is on disk."""
        body = self.rig.get(self.namespace, f"fex/{execution}")
        taken = (self.rig.flink_get(f"/jobs/{job_id}/checkpoints").get("latest") or {}).get("savepoint") or {}
        location = taken.get("external_path")
        st = body_status(body)
        recorded = {s["path"] for s in st.get("savepoints") or []}
        stop_entries = [h for h in st.get("history") or [] if h["action"] == "STOP"]
        entry_path = (stop_entries[-1].get("details") or {}).get("savepointPath") if stop_entries else None
        ok = (
            location is not None
            and (st.get("lastSavepoint") or {}).get("path") == location
            and location in recorded
            and entry_path == location
        )
        self.expect(
            ok,
            "lost_savepoints",
            f"{execution}: the stop's savepoint {location} is not what status records "
            f"({st.get('lastSavepoint')}, STOP entry {entry_path})",
        )
        if location is not None:
            on_disk = self.rig.flink.savepoint_dir / location.rsplit("/", 1)[-1] / "_metadata"
            self.expect(on_disk.is_file(), "lost_savepoints", f"{execution}: savepoint {location} is not on disk")

    def check_restored(self, execution: str, expected: str | None) -> None:
        """The execution's current job restored the newest retained state."""
        body = self.rig.get(self.namespace, f"fex/{execution}")
        job_id = body_status(body).get("flinkJobId")
        restored = self.rig.restored_from(job_id) if expected is not None else None
        self.expect(
            expected is not None and restored == expected and body_status(body).get("restoredFrom") == expected,
            "lost_savepoints",
            f"{execution}: job {job_id} restored {restored} (status says "
            f"{body_status(body).get('restoredFrom')}), not the newest retained state {expected}",
        )

    def finish(self) -> None:
        """History, duplicates, quiet, alive; then the counters."""
        rig = self.rig
        for execution, expected in self.references.items():
            body = rig.get(self.namespace, f"fex/{execution}")
            self.expect(
                history(body) == expected,
                "history_mismatches",
                f"{execution}: history {history(body)}, expected {expected}",
            )
        clusters = rig.get(self.namespace, "flinkclusters") or {}
        for cluster in clusters.get("items") or []:
            self.expect(
                condition(cluster, "Ready")[0] == "True",
                "non_converged_runs",
                f"FlinkCluster {cluster['metadata']['name']} is not Ready: {condition(cluster, 'Ready')}",
            )
        for duplicate in rig.sampler.duplicate_live_jobs(self.executions()):
            self.problem("duplicate_live_jobs", duplicate)
        # Settled (nothing written for a poll interval: the FlinkCluster's status follows a job change by a poll),
        # then quiet: nothing written, and no Flink call, for two more.
        versions = rig.quiet(self.namespace, seconds=POLL_SECONDS + 0.5)
        began = time.monotonic()
        wait_for_sync(
            lambda: time.monotonic() - began >= 2 * POLL_SECONDS + 1,
            timeout=10,
            interval=0.1,
            what="two poll intervals to pass",
        )
        written = changed(versions, rig.versions(self.namespace))
        self.expect(not written, "writes_after_convergence", f"written after convergence: {written}")
        late_calls = rig.flink_mutations(began)
        self.expect(not late_calls, "writes_after_convergence", f"Flink calls after convergence: {late_calls}")
        self.expect(rig.alive(), "operator_crashes", "the operator is not alive (its liveness probe does not answer)")
        tracebacks = rig.log_since(self.log_mark).count("Traceback (most recent call last)")
        self.expect(tracebacks == 0, "operator_crashes", f"the operator logged {tracebacks} traceback(s)")


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The objects created, changed or deleted between two `Rig.versions`."""
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


@contextlib.contextmanager
def scenario(rig: Rig, name: str) -> Iterator[Scenario]:
    """Run a scenario in a fresh namespace: a deadline that passes is a run that did not converge; the oracles run at
    the end; the figures and counters go to reliability-summary.json; the test fails on any problem."""
    run = Scenario(rig, name, log_mark=rig.log_mark())
    began = time.monotonic()
    with rig.namespace(name) as namespace:
        run.namespace = namespace
        try:
            yield run
        except DeadlineExceeded as exc:
            run.problem("non_converged_runs", f"did not converge: {exc}")
        else:
            run.finish()
    run.figure("scenario_seconds", time.monotonic() - began)
    FIGURES.setdefault(name, []).append(run.figures)
    SUMMARY.set("real_fault_figures", FIGURES)
    SUMMARY.add("real_fault_scenarios")
    for counter, count in run.counted.items():
        SUMMARY.add(counter, count)
    if run.problems:
        SUMMARY.add("real_fault_failures")
    assert not run.problems, f"{name}:\n" + "\n".join(run.problems)
