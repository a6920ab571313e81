"""The real Flink test infrastructure works: the cluster starts, the example job runs on it and is cancelled."""

from __future__ import annotations

import pytest

from tests.infra.flink.cluster import FLINK_VERSION, RealFlinkCluster

pytestmark = pytest.mark.real_flink


def test_overview_shows_one_task_manager_with_all_slots(real_flink: RealFlinkCluster) -> None:
    overview = real_flink.overview()
    assert overview["flink-version"] == FLINK_VERSION
    assert overview["taskmanagers"] == 1
    assert overview["slots-total"] == real_flink.slots
