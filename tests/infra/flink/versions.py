"""The Flink versions the tests run, each pinned to one distribution on PyPI, and what starting each one takes.

This table is the matrix of `make test`: tests/infra/flink/install.py installs every row, the contract tier runs
on each version (simulator and real Flink), the e2e tier on the rows marked `e2e`, and the README's
compatibility table is checked against it (tests/unit/test_docs.py).

PyPI's `apache-flink-libraries` ships wheels from 2.2 on (their `pyflink/lib`, `pyflink/bin`, `pyflink/plugins`
hold the jars of the binary distribution); earlier versions are source distributions whose `deps/lib`,
`deps/bin` and `deps/plugins` hold the same jars. Each row names the newest patch release PyPI had for its
line (the listing seen is in tests/infra/flink/README.md) and the sha256 of the file PyPI serves.
"""

from __future__ import annotations

from dataclasses import dataclass

PACKAGE = "apache-flink-libraries"


@dataclass(frozen=True)
class FlinkDistribution:
    """One Flink version as the tests install and start it."""

    version: str
    filename: str  # the file on PyPI (an sdist's name uses `-` or `_` as that release did)
    sha256: str
    size_mb: int
    e2e: bool = False  # also run the end-to-end lifecycle (real kube-apiserver) on this version

    @property
    def line(self) -> str:
        """`1.18`, `2.3`: the release line."""
        return ".".join(self.version.split(".")[:2])

    @property
    def wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    @property
    def config_file(self) -> str:
        """1.18 reads `flink-conf.yaml` (one flat `key: value` per line); 1.19 and later read `config.yaml`."""
        return "flink-conf.yaml" if self.key < (1, 19) else "config.yaml"

    @property
    def checkpoint_keys(self) -> tuple[str, str, str]:
        """The keys of checkpoint storage, checkpoint directory and savepoint directory: 1.20 renamed the
        `state.*` keys to `execution.checkpointing.*`, and 2.0 dropped the old names."""
        if self.key < (1, 20):
            return ("state.checkpoint-storage", "state.checkpoints.dir", "state.savepoints.dir")
        return (
            "execution.checkpointing.storage",
            "execution.checkpointing.dir",
            "execution.checkpointing.savepoint-dir",
        )


DISTRIBUTIONS: tuple[FlinkDistribution, ...] = (
    FlinkDistribution(
        "1.18.1",
        "apache-flink-libraries-1.18.1.tar.gz",
        "369ce11ab33e5e15cdd349db2f5412dcc2fad163b6a87aa93b927a3631bcca7f",
        231,
        e2e=True,
    ),
    FlinkDistribution(
        "1.19.3",
        "apache-flink-libraries-1.19.3.tar.gz",
        "4a58e3a1fb7d83340bc96b6c080624c6d792d69fae5d294b96224775204a9c60",
        230,
    ),
    FlinkDistribution(
        "1.20.5",
        "apache_flink_libraries-1.20.5.tar.gz",
        "e6aee62ea1a1fe7b32e28894ad079f3f1a50a372a4caac3df52405267f4228c8",
        232,
        e2e=True,
    ),
    FlinkDistribution(
        "2.0.2",
        "apache_flink_libraries-2.0.2.tar.gz",
        "64dced9d0324a5f23f84e9cdf444d3fd64632169e477f001c21b422f39b995ba",
        309,
    ),
    FlinkDistribution(
        "2.1.3",
        "apache_flink_libraries-2.1.3.tar.gz",
        "b48d3944755b9303f99d205ea1a9bcb798fc563a872c782393fb466f16d4f91c",
        310,
    ),
    FlinkDistribution(
        "2.2.1",
        "apache_flink_libraries-2.2.1-py2.py3-none-any.whl",
        "74dc5546fbd9add8fbcdf1222a237e09491f9b80296241aef8676ec56f8e686e",
        313,
    ),
    FlinkDistribution(
        "2.3.0",
        "apache_flink_libraries-2.3.0-py2.py3-none-any.whl",
        "38ece876553286b3a285cf344c2d2038f8a7ca10da5df54d5107250386d64151",
        329,
        e2e=True,
    ),
)
NEWEST = DISTRIBUTIONS[-1]
BY_VERSION = {distribution.version: distribution for distribution in DISTRIBUTIONS}


def distribution(version: str) -> FlinkDistribution:
    """The row of a version (`2.3.0`) or release line (`2.3`); KeyError names the versions there are."""
    for row in DISTRIBUTIONS:
        if version in (row.version, row.line):
            return row
    raise KeyError(f"Flink {version} is not in the test matrix ({', '.join(BY_VERSION)})")


if __name__ == "__main__":
    # `python -m tests.infra.flink.versions`: the versions of the matrix, one a line (for the Makefile).
    print("\n".join(row.version for row in DISTRIBUTIONS))
