"""Which Flink release the simulated cluster is: its version, commit and build date, and its dialect.

The differences between versions are the operator's own dialect table (flink_manager.flink.dialect), which the
contract suite holds to real Flink of every version; here are only the facts `/config` and `/overview` report.
A version older than the oldest dialect (say 1.17.2, to see the operator refuse it) answers in the oldest one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flink_manager.flink.dialect import DIALECTS, FlinkDialect, parse_version

# The commit and build date each release reports in `/config` (`flink-revision`) and `/overview` (`flink-commit`).
RELEASES: dict[str, tuple[str, str]] = {
    "1.18.1": ("a8c8b1c", "2023-12-19T22:17:36+01:00"),
    "1.19.3": ("4105f8d", "2025-06-12T18:34:28+02:00"),
    "1.20.5": ("0980485", "2026-06-08T09:21:06+02:00"),
    "2.0.2": ("a2a1e27", "2026-04-28T11:36:13+02:00"),
    "2.1.3": ("6cda56b", "2026-06-08T04:56:20+02:00"),
    "2.2.1": ("450c63e", "2026-05-03T10:10:44+02:00"),
    "2.3.0": ("c0f8d1a", "2026-06-14T16:29:03+02:00"),
}
NEWEST = "2.3.0"


class UnknownVersion(ValueError):
    """A version that is not `major.minor[.patch]`."""


@dataclass(frozen=True)
class Release:
    """The Flink release a simulated cluster reports and speaks."""

    version: str
    commit: str
    built: str
    dialect: FlinkDialect

    @property
    def revision(self) -> str:
        """`/config`'s `flink-revision`."""
        return f"{self.commit} @ {self.built}"

    @property
    def key(self) -> tuple[int, int, int]:
        parsed = parse_version(self.version)
        assert parsed is not None
        return parsed


def release(version: str = NEWEST) -> Release:
    """The release of a version; any `major.minor.patch` is accepted (unknown ones get a made-up commit)."""
    parsed = parse_version(version)
    if parsed is None or version.count(".") != 2:
        raise UnknownVersion(f"{version!r} is not a Flink version (major.minor.patch, e.g. {NEWEST})")
    commit, built = RELEASES.get(version) or (
        hashlib.sha1(version.encode()).hexdigest()[:7],
        "2020-01-01T00:00:00+01:00",
    )
    dialect = next((row for row in reversed(DIALECTS) if row.since <= parsed[:2]), DIALECTS[0])
    return Release(version, commit, built, dialect)
