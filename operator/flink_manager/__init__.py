"""Flink Manager: a Kubernetes operator for Apache Flink jobs on session clusters."""

__version__ = "0.1.0"

GROUP = "flinkmanager.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
