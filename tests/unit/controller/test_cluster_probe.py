"""The reason a FlinkCluster's status gives when its probe fails."""

from __future__ import annotations

import pytest

from flink_manager.controller.clusters import probe_reason
from flink_manager.flink.errors import FlinkAuthError, FlinkClientConfigError, FlinkError, FlinkUnavailable


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(
            FlinkUnavailable("cannot connect to http://flink:8081: Connection refused"),
            "FlinkClusterUnreachable",
            id="refused",
        ),
        pytest.param(FlinkUnavailable("GET /jobs/overview timed out after 2s"), "FlinkClusterUnreachable", id="silent"),
        pytest.param(FlinkUnavailable("HTTP 503", status=503), "FlinkClusterUnreachable", id="5xx"),
        pytest.param(FlinkAuthError("401 Unauthorized", status=401), "FlinkUnauthorized", id="credentials-refused"),
        pytest.param(
            FlinkClientConfigError("the CA certificate is not valid PEM"),
            "FlinkClientConfigInvalid",
            id="client-config",
        ),
    ],
)
def test_a_cluster_that_does_not_answer_is_unreachable_and_other_errors_keep_their_reason(
    error: FlinkError, reason: str
) -> None:
    assert probe_reason(error) == reason
