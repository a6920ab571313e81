"""Jar housekeeping on a cluster: which uploaded jars to delete, and which upload records are no longer true."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from flink_manager.api.artifact import ArtifactUpload

JAR_PREFIX = "flink-manager_"


def own_jar_prefix(namespace: str, cluster: str) -> str:
    """How the names of the jars uploaded for one FlinkCluster object begin. Several FlinkClusters (in one namespace
    or several) may point at the same Flink, each with its own housekeeping: a jar is an orphan of this one only when
    its name says so. `_` cannot occur in a Kubernetes name, so no other object's prefix begins with this one."""
    return f"{JAR_PREFIX}{namespace}_{cluster}_"


def jar_file_name(namespace: str, cluster: str, artifact: str, sha256: str) -> str:
    return f"{own_jar_prefix(namespace, cluster)}{artifact}-{sha256[:12]}.jar"


@dataclass(frozen=True)
class JarHousekeeping:
    delete: tuple[str, ...] = ()  # jar ids to delete from the cluster
    forget: dict[str, tuple[str, ...]] = field(default_factory=dict)  # artifact → jar ids whose records go
    unreferenced_since: dict[str, float] = field(default_factory=dict)  # jar id → when it was first seen unused


def plan_housekeeping(
    uploads: Mapping[str, Sequence[ArtifactUpload]],
    in_use: Collection[tuple[str, str]],
    cluster_jars: Mapping[str, str],
    unreferenced_since: Mapping[str, float],
    *,
    now: float,
    grace: float,
    own_prefix: str,
) -> JarHousekeeping:
    """Decide the housekeeping of one cluster's jars.

    - a recorded upload whose jar the cluster no longer has is forgotten (it is uploaded again when needed);
    - a recorded upload that no JobSpec or Execution uses, and a jar the operator uploaded but never recorded
      (a crash between upload and record), are deleted once they have been unused for `grace` seconds.
    `in_use` holds (artifact, sha256) pairs; `cluster_jars` maps the cluster's jar ids to file names.
    """
    delete: list[str] = []
    forget: dict[str, list[str]] = {}
    since: dict[str, float] = {}
    recorded: set[str] = set()

    def expired(jar_id: str) -> bool:
        first = unreferenced_since.get(jar_id, now)
        if now - first >= grace:
            return True
        since[jar_id] = first
        return False

    for artifact, records in uploads.items():
        for upload in records:
            recorded.add(upload.jar_id)
            if upload.jar_id not in cluster_jars:
                forget.setdefault(artifact, []).append(upload.jar_id)
            elif (artifact, upload.sha256) not in in_use and expired(upload.jar_id):
                delete.append(upload.jar_id)
                forget.setdefault(artifact, []).append(upload.jar_id)
    for jar_id, name in cluster_jars.items():
        if jar_id not in recorded and name.startswith(own_prefix) and expired(jar_id):
            delete.append(jar_id)
    return JarHousekeeping(tuple(delete), {a: tuple(j) for a, j in forget.items()}, since)
