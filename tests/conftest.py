"""Shared fixtures: each backend (simulated or real Flink, embedded or real Kubernetes API) is a plugin below."""

pytest_plugins: list[str] = [
    "tests.infra.flink.fixtures",
    "tests.infra.embedded_k8s",
    "tests.infra.kube.fixtures",
    "tests.infra.simulator",
]
