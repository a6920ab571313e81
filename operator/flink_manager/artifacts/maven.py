"""Maven repositories: where a version's JAR is, what a -SNAPSHOT resolves to, and the repository's checksums.

A repository is a static layout (Maven Central, Nexus, Artifactory and GitHub Packages all serve it):
`<repository>/<group as path>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].jar`, with
`.sha1`, `.sha256`, `.sha512` files beside it. A snapshot deployed with unique versions (every Maven since 3)
stores each build as `<artifactId>-<base>-<timestamp>-<buildNumber>.jar`, and the version folder's
`maven-metadata.xml` names the newest (`versioning/snapshotVersions`, or `versioning/snapshot`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from flink_manager.api.artifact import MavenSource
from flink_manager.artifacts.errors import ArtifactNotFound, ChecksumUnavailable, InvalidMavenMetadata

SNAPSHOT = "-SNAPSHOT"
METADATA = "maven-metadata.xml"
METADATA_LIMIT = 1 << 20
# Strongest first; the first the repository has is the one checked (md5 is not trusted for integrity).
CHECKSUM_ALGORITHMS = ("sha512", "sha256", "sha1")
HEX_LENGTH = {"sha1": 40, "sha256": 64, "sha512": 128}


@dataclass(frozen=True)
class RepositoryChecksum:
    """A checksum file of the repository: the algorithm, the digest it states, and the file (for messages)."""

    algorithm: str
    hexdigest: str
    file: str


def version_directory(source: MavenSource) -> str:
    """The URL of the version's folder, ending in `/`."""
    group = source.group_id.replace(".", "/")
    return f"{source.repository.rstrip('/')}/{group}/{source.artifact_id}/{source.version}/"


def jar_url(source: MavenSource, resolved_version: str) -> str:
    """The URL of the JAR of a (resolved) version."""
    classifier = f"-{source.classifier}" if source.classifier else ""
    return f"{version_directory(source)}{source.artifact_id}-{resolved_version}{classifier}.jar"


def _local(tag: str) -> str:
    """An element's name without its XML namespace (metadata files are written with and without one)."""
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    if element is None:
        return None
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ElementTree.Element | None, name: str) -> str | None:
    child = _child(element, name)
    return child.text.strip() if child is not None and child.text and child.text.strip() else None


def snapshot_build(source: MavenSource, metadata: bytes) -> str:
    """The newest build of a -SNAPSHOT version that maven-metadata.xml names, such as 1.1.0-20260301.101500-7.

    A snapshotVersion entry for the JAR (extension jar and the source's classifier) wins; else the
    timestamp and buildNumber of versioning/snapshot; a repository of non-unique snapshots (localCopy, no
    timestamp) keeps the file under the -SNAPSHOT name itself.
    """
    try:
        root = ElementTree.fromstring(metadata)
    except ElementTree.ParseError as exc:
        raise InvalidMavenMetadata(f"{METADATA} of {source.version} does not parse: {exc}") from None
    versioning = _child(root, "versioning")
    entries = _child(versioning, "snapshotVersions")
    wanted_classifier = source.classifier or None
    newest: tuple[str, str] | None = None  # (updated, value)
    for entry in list(entries) if entries is not None else []:
        if _text(entry, "extension") != "jar" or (_text(entry, "classifier") or None) != wanted_classifier:
            continue
        value = _text(entry, "value")
        if value is not None and (newest is None or (_text(entry, "updated") or "") > newest[0]):
            newest = (_text(entry, "updated") or "", value)
    if newest is not None:
        return newest[1]
    snapshot = _child(versioning, "snapshot")
    timestamp, build = _text(snapshot, "timestamp"), _text(snapshot, "buildNumber")
    if timestamp and build:
        if not re.fullmatch(r"\d{8}\.\d{6}", timestamp) or not build.isdigit():
            raise InvalidMavenMetadata(f"{METADATA} of {source.version} names an invalid build {timestamp}-{build}")
        return f"{source.version[: -len('SNAPSHOT')]}{timestamp}-{build}"
    if _text(snapshot, "localCopy") == "true":
        return source.version
    what = f"classifier {source.classifier}" if source.classifier else "the JAR"
    raise InvalidMavenMetadata(f"{METADATA} of {source.version} names no build of {what}")


def parse_checksum(algorithm: str, text: bytes, file: str) -> RepositoryChecksum:
    """A checksum file's digest: the first word (files written as `<hex>  <name>` exist too)."""
    words = text.decode("ascii", "replace").split()
    digest = words[0].lower() if words else ""
    if len(digest) != HEX_LENGTH[algorithm] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ChecksumUnavailable(f"{file} holds no {algorithm} digest")
    return RepositoryChecksum(algorithm, digest, file)


def no_checksum(url: str) -> ChecksumUnavailable:
    names = ", ".join(f".{a}" for a in CHECKSUM_ALGORITHMS)
    return ChecksumUnavailable(
        f"the repository has no checksum file ({names}) for {url}: set spec.sha256 to pin the JAR's digest instead"
    )


def metadata_not_found(source: MavenSource, url: str) -> ArtifactNotFound:
    return ArtifactNotFound(
        f"{url}: no {METADATA} for {source.group_id}:{source.artifact_id}:{source.version} "
        "(is the snapshot deployed to this repository?)"
    )
