"""Why a FlinkCluster cannot be used: the condition reasons its status gives, and the Executions that wait for it
give the same ones (their Degraded and Ready conditions, their Blockers), so a user reads one word for one cause."""

from __future__ import annotations

# No answer, a timeout or a 5xx (FlinkUnavailable in the client): on the cluster, and on the Executions that wait.
UNREACHABLE = "FlinkClusterUnreachable"
# Flink, or a proxy in front of it, refused the credentials (401/403).
UNAUTHORIZED = "FlinkUnauthorized"
# The cluster answers, but runs a Flink version the client does not speak: nothing is submitted to it.
UNSUPPORTED_FLINK_VERSION = "UnsupportedFlinkVersion"
# No probe has read the cluster's version yet: a new attempt waits for the first one.
FLINK_VERSION_UNKNOWN = "FlinkVersionUnknown"
