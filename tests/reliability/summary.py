"""The tier's figures, gathered by every test and written to reliability-summary.json when the session ends."""

from __future__ import annotations

import json
import os
import pathlib
import threading
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[2]
SUMMARY_PATH = pathlib.Path(os.environ.get("RELIABILITY_SUMMARY", REPO / "reliability-summary.json"))

# The keys every run reports, even when the tests that fill them were not selected.
COUNTERS = (
    "crash_points",
    "trials",
    "crash_runs",
    "kill_points_not_reached",
    "duplicate_live_jobs",
    "lost_savepoints",
    "history_mismatches",
    "end_state_mismatches",
    "non_converged_runs",
    "writes_after_convergence",
    "fuzz_mutations",
    "fuzz_valid",
    "fuzz_rejected_by_api",
    "fuzz_rejected_by_operator",
    "operator_crashes",
    "wrongly_touched_jobs",
    "real_fault_scenarios",
    "real_fault_failures",
    "relists_after_gone",
    "resubmissions_after_jobmanager_loss",
    "max_request_seconds_while_silent",
    "secret_values_scanned",
    "secret_leaks",
)


def trials() -> int:
    """How often the crash matrix is repeated, with different seeds (RELIABILITY_TRIALS, default 1)."""
    return max(1, int(os.environ.get("RELIABILITY_TRIALS", "1") or 1))


class Summary:
    """Flat figures: counters that add up across tests, and values set once."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
        self._lock = threading.Lock()

    def add(self, key: str, amount: int | float = 1) -> None:
        with self._lock:
            self.values[key] = self.values.get(key, 0) + amount

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self.values[key] = value

    def maximum(self, key: str, value: float) -> None:
        with self._lock:
            self.values[key] = max(self.values.get(key, value), value)

    def write(self, path: pathlib.Path = SUMMARY_PATH) -> str:
        text = json.dumps(self.values, indent=2, sort_keys=True)
        path.write_text(text + "\n")
        return text


SUMMARY = Summary()
