"""A simulated Flink session cluster of any version from 1.18 to 2.3: Flink's REST API over an in-memory state machine, with faults.

`SimulatedFlink` serves it (`flink-manager simulate`, or in-process in tests); `SessionCluster` is the state
machine alone, driven by an injectable clock.
"""

from flink_manager_dev.simulator.cluster import RunRequest, SessionCluster
from flink_manager_dev.simulator.faults import EndpointFault, Faults
from flink_manager_dev.simulator.server import SimulatedFlink
from flink_manager_dev.simulator.timings import Timings

__all__ = ["EndpointFault", "Faults", "RunRequest", "SessionCluster", "SimulatedFlink", "Timings"]
