"""Operator settings: each one an environment variable `FLINK_MANAGER_*` and a flag of `flink-manager run`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

ENV_PREFIX = "FLINK_MANAGER_"


@dataclass(frozen=True)
class Settings:
    allow_insecure_artifacts: bool = False  # allow http:// and file:// artifact URLs
    history_limit: int = 50  # history entries kept per Execution (historyTotal counts all)
    max_artifact_bytes: int = 512 * 1024 * 1024
    metrics_port: int = 0  # Prometheus metrics on this port; 0 = off
    namespaces: tuple[str, ...] = ()  # watched namespaces; empty = the whole cluster
    artifact_cache_dir: Path = Path("/tmp/flink-manager/artifacts")
    workers: int = 16  # concurrent reconciles
    transition_poll_seconds: float = 1.0  # a cluster's poll interval while one of its jobs is changing state
    jar_grace_seconds: int = 600  # an uploaded jar nothing refers to is deleted from its cluster after this long
    jar_housekeeping_seconds: int = 600  # how often each cluster's jars are checked
    probe_interval_seconds: int = 300  # how often a cluster's /overview is read when no job changes
    # Artifact hosts allowed although they resolve to loopback, link-local or private addresses: host names,
    # addresses or networks (minio.storage.svc.cluster.local, .svc.cluster.local for a whole suffix, 10.0.0.0/8),
    # or * for all (development only).
    allow_private_artifact_hosts: tuple[str, ...] = ()
    s3_endpoint: str = ""  # the S3 endpoint of an s3:// Artifact without spec.s3.endpoint; empty: AWS's
    artifact_secret_recheck_seconds: float = 5.0  # how often a failed Artifact re-reads the Secrets it names

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Read `FLINK_MANAGER_<FIELD>` variables; keyword overrides (CLI flags) win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, str(field.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _parse(name: str, type_name: str, raw: str) -> object:
    try:
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if type_name == "Path":
            return Path(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {type_name}") from None
    return raw
