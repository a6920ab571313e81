"""The embedded Kubernetes API behind `flink-manager dev` and the component, reliability and benchmark tiers.

    api = EmbeddedKubernetes(crds=["crds/"])
    url = await api.start(host="127.0.0.1", port=0)
    api.write_kubeconfig(".cache/kubeconfig")
    api.faults.fail(503, times=2, verb="patch", resource="executions", subresource="status")
    await api.stop()

`ThreadedKubernetes` runs one in a background thread; `python -m flink_manager_dev.kubeapi` runs one standalone.
"""

from flink_manager_dev.kubeapi.faults import Counters, FaultRule, Faults
from flink_manager_dev.kubeapi.server import EmbeddedKubernetes
from flink_manager_dev.kubeapi.standalone import ThreadedKubernetes

__all__ = ["Counters", "EmbeddedKubernetes", "FaultRule", "Faults", "ThreadedKubernetes"]
