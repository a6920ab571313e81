"""Maven layout: paths of releases and classifiers, snapshots resolved through maven-metadata.xml as Maven 3
writes it (and as repositories serve it, with or without a namespace), checksum files."""

from __future__ import annotations

import pytest

from flink_manager.api.artifact import MavenSource
from flink_manager.artifacts import maven
from flink_manager.artifacts.errors import ChecksumUnavailable, InvalidMavenMetadata

REPO = "https://nexus.example.com/repository/maven-snapshots/"


def coordinates(version: str = "1.1.0-SNAPSHOT", classifier: str | None = None) -> MavenSource:
    return MavenSource(
        repository=REPO, group_id="com.example.jobs", artifact_id="my-job", version=version, classifier=classifier
    )


# As `mvn deploy` (maven-deploy-plugin 3, Maven 3.9) writes it: a jar, its sources and an all-in-one classifier.
METADATA = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata modelVersion="1.1.0">
  <groupId>com.example.jobs</groupId>
  <artifactId>my-job</artifactId>
  <version>1.1.0-SNAPSHOT</version>
  <versioning>
    <snapshot>
      <timestamp>20260301.101500</timestamp>
      <buildNumber>7</buildNumber>
    </snapshot>
    <lastUpdated>20260301101500</lastUpdated>
    <snapshotVersions>
      <snapshotVersion>
        <extension>jar</extension>
        <value>1.1.0-20260301.101500-7</value>
        <updated>20260301101500</updated>
      </snapshotVersion>
      <snapshotVersion>
        <classifier>all</classifier>
        <extension>jar</extension>
        <value>1.1.0-20260301.101459-6</value>
        <updated>20260301101459</updated>
      </snapshotVersion>
      <snapshotVersion>
        <extension>pom</extension>
        <value>1.1.0-20260301.101500-8</value>
        <updated>20260301101500</updated>
      </snapshotVersion>
    </snapshotVersions>
  </versioning>
</metadata>
"""


def test_a_release_resolves_to_its_path() -> None:
    source = coordinates("1.0.0")
    assert maven.jar_url(source, "1.0.0") == f"{REPO}com/example/jobs/my-job/1.0.0/my-job-1.0.0.jar"
    assert maven.jar_url(coordinates("1.0.0", "all"), "1.0.0").endswith("/1.0.0/my-job-1.0.0-all.jar")


def test_a_snapshot_resolves_to_the_snapshot_version_of_its_jar() -> None:
    assert maven.snapshot_build(coordinates(), METADATA) == "1.1.0-20260301.101500-7"
    assert maven.jar_url(coordinates(), "1.1.0-20260301.101500-7") == (
        f"{REPO}com/example/jobs/my-job/1.1.0-SNAPSHOT/my-job-1.1.0-20260301.101500-7.jar"
    )


def test_a_classifier_resolves_to_its_own_build() -> None:
    assert maven.snapshot_build(coordinates(classifier="all"), METADATA) == "1.1.0-20260301.101459-6"


def test_metadata_with_a_namespace_is_read_the_same() -> None:
    namespaced = METADATA.replace(
        b'<metadata modelVersion="1.1.0">',
        b'<metadata xmlns="http://maven.apache.org/METADATA/1.1.0" modelVersion="1.1.0">',
    )
    assert maven.snapshot_build(coordinates(), namespaced) == "1.1.0-20260301.101500-7"


def test_older_metadata_without_snapshot_versions_uses_timestamp_and_build_number() -> None:
    old = b"""<metadata><versioning><snapshot><timestamp>20250102.030405</timestamp><buildNumber>12</buildNumber>
    </snapshot></versioning></metadata>"""
    assert maven.snapshot_build(coordinates(), old) == "1.1.0-20250102.030405-12"


def test_a_non_unique_snapshot_keeps_its_name() -> None:
    local = b"<metadata><versioning><snapshot><localCopy>true</localCopy></snapshot></versioning></metadata>"
    assert maven.snapshot_build(coordinates(), local) == "1.1.0-SNAPSHOT"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        pytest.param(b"<metadata><versioning>", "does not parse", id="truncated"),
        pytest.param(b"<metadata/>", "names no build of the JAR", id="empty"),
        pytest.param(METADATA.replace(b"<classifier>all</classifier>", b""), None, id="duplicate-picks-newest"),
        pytest.param(
            b"<metadata><versioning><snapshot><timestamp>x/../../y</timestamp><buildNumber>1</buildNumber>"
            b"</snapshot></versioning></metadata>",
            "invalid build",
            id="path-in-timestamp",
        ),
    ],
)
def test_metadata_that_names_no_usable_build(metadata: bytes, message: str | None) -> None:
    if message is None:  # two plain jar entries: the one updated last
        assert maven.snapshot_build(coordinates(), metadata) == "1.1.0-20260301.101500-7"
        return
    with pytest.raises(InvalidMavenMetadata, match=message):
        maven.snapshot_build(coordinates(), metadata)


def test_an_entity_expansion_is_not_expanded_into_memory() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
        + b"]><metadata><versioning><snapshot><timestamp>&i;</timestamp></snapshot></versioning></metadata>"
    )
    with pytest.raises(InvalidMavenMetadata, match="does not parse"):  # expat (>= 2.4.1) stops the amplification
        maven.snapshot_build(coordinates(), bomb)


@pytest.mark.parametrize(
    ("algorithm", "text", "digest"),
    [
        pytest.param(
            "sha1", b"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", id="bare"
        ),
        pytest.param(
            "sha1",
            b"2FD4E1C67A2D28FCED849EE1BB76E7391B93EB12  my-job-1.0.0.jar\n",
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            id="with-name-uppercase",
        ),
        pytest.param("sha256", b"a" * 64 + b"\n", "a" * 64, id="sha256"),
    ],
)
def test_checksum_files(algorithm: str, text: bytes, digest: str) -> None:
    assert maven.parse_checksum(algorithm, text, "f").hexdigest == digest


@pytest.mark.parametrize("text", [b"", b"<html>Not Found</html>", b"a" * 63])
def test_a_checksum_file_without_a_digest_is_refused(text: bytes) -> None:
    with pytest.raises(ChecksumUnavailable):
        maven.parse_checksum("sha256", text, "my-job.jar.sha256")
