"""Offline validation of Flink Manager manifests (`flink-manager validate`), for a GitOps repository's CI.

Every object of the `flinkmanager.io` group is checked against the CRD schemas exactly as the embedded
Kubernetes API checks a create (structural schema, defaults, CEL rules, metadata), then against what only the
operator knows: references within the validated set, entry classes, savepoint schedules.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from flink_manager.validation.checks import (
    Checked,
    Problem,
    SchemaChecker,
    check_operator_rules,
    check_references,
)
from flink_manager.validation.documents import Document, Reading, read_sources

__all__ = ["Problem", "Report", "validate_documents", "validate_sources"]


@dataclass
class Report:
    """The outcome: problems in file and line order, and what was checked."""

    problems: list[Problem] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)  # objects by kind
    files: int = 0
    ignored: int = 0  # documents of other groups
    skipped_patches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: how many objects of which kinds in how many files, and the verdict."""
        kinds = (
            ", ".join(f"{count} {kind}" for kind, count in sorted(self.checked.items())) or "no Flink Manager objects"
        )
        extra = []
        if self.ignored:
            extra.append(f"{self.ignored} other documents ignored")
        if self.skipped_patches:
            extra.append(f"{len(self.skipped_patches)} kustomize patch files skipped")
        tail = f" ({'; '.join(extra)})" if extra else ""
        verdict = "valid" if self.ok else f"{len(self.problems)} error{'s' if len(self.problems) != 1 else ''}"
        return f"{verdict}: {kinds} in {self.files} file{'s' if self.files != 1 else ''}{tail}"


def validate_sources(
    paths: Iterable[str],
    *,
    crds: Iterable[Mapping[str, Any]],
    stdin: TextIO | None = None,
    allow_missing_refs: bool = False,
    namespace: str = "",
    now: datetime.datetime | None = None,
) -> Report:
    """Read files, folders and `-` (stdin), and validate every Flink Manager object in them."""
    reading = read_sources(paths, stdin)
    report = validate_documents(
        reading.documents, crds=crds, allow_missing_refs=allow_missing_refs, namespace=namespace, now=now
    )
    report.files = len(reading.files)
    report.skipped_patches = reading.skipped_patches
    report.problems = sorted(
        report.problems + [Problem(p.source, p.line, "", "", "", p.message) for p in reading.problems],
        key=_order(reading),
    )
    return report


def validate_documents(
    documents: Sequence[Document],
    *,
    crds: Iterable[Mapping[str, Any]],
    allow_missing_refs: bool = False,
    namespace: str = "",
    now: datetime.datetime | None = None,
) -> Report:
    """Validate parsed documents: schema first, then references and the operator's own rules."""
    checker = SchemaChecker(crds)
    report = Report()
    objects: list[Checked] = []
    for document in documents:
        if not checker.concerns(document):
            report.ignored += 1
            continue
        checked, problems = checker.check(document, namespace)
        report.problems += problems
        if checked is not None:
            objects.append(checked)
            report.checked[checked.kind] += 1
    report.problems += check_references(objects, allow_missing=allow_missing_refs)
    # The operator's reading of a field the schema already refused would only repeat the error.
    refused = {(p.source, p.line, p.field) for p in report.problems}
    report.problems += [
        p
        for p in check_operator_rules(objects, now or datetime.datetime.now(datetime.UTC))
        if (p.source, p.line, p.field) not in refused
    ]
    return report


def _order(reading: Reading) -> Any:
    rank = {source: i for i, source in enumerate(reading.files)}
    return lambda p: (rank.get(p.source, -1), p.source, p.line)
