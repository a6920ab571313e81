"""The checks `flink-manager validate` makes: the CRD schemas as the API server applies them, then what only the
operator knows (references between objects, entry classes, savepoint schedules)."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flink_manager import GROUP
from flink_manager.reconcile import schedules
from flink_manager.schema.crds import resource_types
from flink_manager.schema.metavalidation import validate_meta
from flink_manager.schema.resources import ResourceType
from flink_manager.validation.documents import Document

_UNCHECKED_RULES = "some validation rules were not checked"


@dataclass(frozen=True)
class Problem:
    """One error: where, which object, which field, why."""

    source: str
    line: int
    kind: str
    name: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        what = f"{self.kind}/{self.name}: " if self.kind else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{field}{self.message}"


@dataclass(frozen=True)
class Checked:
    """A Flink Manager object after the schema checks: its body with the schema's defaults applied."""

    document: Document
    body: dict[str, Any]
    namespace: str  # "" when the manifest leaves it to whoever applies it

    @property
    def kind(self) -> str:
        return self.document.kind

    @property
    def name(self) -> str:
        return self.document.name

    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    def problem(self, field: str, message: str) -> Problem:
        return Problem(self.document.source, self.document.line_of(field), self.kind, self.name, field, message)


class SchemaChecker:
    """Validates objects of the CRDs' kinds as the API server would on create (strict field validation)."""

    def __init__(self, crds: Iterable[Mapping[str, Any]]) -> None:
        self.types: dict[tuple[str, str], ResourceType] = {}
        self.kinds: dict[str, list[str]] = {}
        for crd in crds:
            for rt in resource_types(copy.deepcopy(dict(crd))):
                self.types[(rt.api_version, rt.kind)] = rt
                self.kinds.setdefault(rt.kind, []).append(rt.api_version)

    @staticmethod
    def concerns(document: Document) -> bool:
        """Only objects of the Flink Manager group are validated; everything else is someone else's."""
        api_version = document.body.get("apiVersion")
        return isinstance(api_version, str) and api_version.split("/")[0] == GROUP

    def check(self, document: Document, default_namespace: str = "") -> tuple[Checked | None, list[Problem]]:
        """The object with defaults applied (None if it is not of a known kind), and its problems."""
        body = document.body
        api_version, kind = str(body.get("apiVersion")), str(body.get("kind") or "")

        def problem(field: str, message: str) -> Problem:
            return Problem(document.source, document.line_of(field), kind, document.name, field, message)

        rt = self.types.get((api_version, kind))
        if rt is None:
            if kind in self.kinds:
                return None, [
                    problem(
                        "apiVersion", f'no {kind} in version "{api_version}" (served: {", ".join(self.kinds[kind])})'
                    )
                ]
            known = ", ".join(sorted(self.kinds))
            return None, [problem("kind", f'no kind "{kind}" in group "{GROUP}" (one of {known})')]
        if not isinstance(body.get("metadata"), dict):
            return None, [problem("metadata", "Required value: an object with a name")]
        candidate = copy.deepcopy(body)
        candidate.pop("status", None)  # ignored on create: written only through the status subresource
        meta = candidate["metadata"]
        problems = [
            problem(path, "unknown field (the API server rejects it with strict field validation, kubectl's default)")
            for path in rt.compiled.prune(candidate)
        ]
        rt.compiled.default(candidate)
        if not meta.get("name") and isinstance(meta.get("generateName"), str):
            meta["name"] = meta["generateName"] + "x"  # a generated name: only its prefix is known here
        errors = validate_meta(candidate["metadata"], rt.name_rule) + rt.compiled.validate(candidate, None)
        problems += [
            problem(error.field, error.body())
            for error in errors
            if not (error.field == "" and _UNCHECKED_RULES in error.detail)
        ]
        namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else default_namespace
        return Checked(document, candidate, namespace or ""), problems


def check_references(objects: Sequence[Checked], *, allow_missing: bool) -> list[Problem]:
    """References within the validated set: JobSpec → Artifact and FlinkCluster, Execution → JobSpec; and a
    JobSpec's entry class among its Artifact's `entryClasses`."""
    index: dict[tuple[str, str, str], Checked] = {}
    for obj in objects:
        index.setdefault((obj.kind, obj.namespace, obj.name), obj)
    problems: list[Problem] = []

    def resolve(obj: Checked, field: str, kind: str, name: Any) -> Checked | None:
        if not isinstance(name, str) or not name:
            return None
        target = index.get((kind, obj.namespace, name))
        if target is None and not allow_missing:
            where = f" in namespace {obj.namespace!r}" if obj.namespace else ""
            problems.append(
                obj.problem(
                    field,
                    f'{kind} "{name}" is not among the validated manifests{where} '
                    "(--allow-missing-refs if it is applied from elsewhere)",
                )
            )
        return target

    for obj in objects:
        spec = obj.spec()
        if obj.kind == "JobSpec":
            artifact = resolve(obj, "spec.artifactRef.name", "Artifact", _ref_name(spec, "artifactRef"))
            resolve(obj, "spec.clusterRef.name", "FlinkCluster", _ref_name(spec, "clusterRef"))
            if artifact is not None:
                problems += _entry_class_problems(obj, artifact)
        elif obj.kind == "Execution":
            resolve(obj, "spec.jobSpecRef.name", "JobSpec", _ref_name(spec, "jobSpecRef"))
    return problems


def _ref_name(spec: Mapping[str, Any], field: str) -> Any:
    ref = spec.get(field)
    return ref.get("name") if isinstance(ref, dict) else None


def _entry_class_problems(job_spec: Checked, artifact: Checked) -> list[Problem]:
    entry_class = job_spec.spec().get("entryClass")
    listed = artifact.spec().get("entryClasses")
    if not isinstance(entry_class, str) or not isinstance(listed, list) or not listed or entry_class in listed:
        return []
    return [
        job_spec.problem(
            "spec.entryClass",
            f'"{entry_class}" is not among the entryClasses of Artifact "{artifact.name}" '
            f"({', '.join(map(str, listed))}): the operator would not submit it "
            "(EntryClassNotInArtifact)",
        )
    ]


def check_operator_rules(objects: Sequence[Checked], now: datetime.datetime) -> list[Problem]:
    """What the schema cannot express: a savepoint schedule that never fires; the same object twice in one file."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, str], Checked] = {}
    for obj in objects:
        key = (obj.document.source, obj.kind, obj.namespace, obj.name)
        first = seen.setdefault(key, obj)
        if first is not obj and obj.document.body["metadata"].get("name"):  # generated names never collide
            problems.append(
                obj.problem(
                    "metadata.name",
                    f"duplicate: {obj.kind}/{obj.name} is also defined at "
                    f"{first.document.source}:{first.document.line}",
                )
            )
        if obj.kind == "Execution":
            schedule = obj.spec().get("savepointSchedule")
            if isinstance(schedule, str) and schedule.strip():
                problems += _schedule_problems(obj, schedule, now)
    return problems


def _schedule_problems(obj: Checked, schedule: str, now: datetime.datetime) -> list[Problem]:
    field = "spec.savepointSchedule"
    try:
        schedules.validate(schedule)
    except schedules.ScheduleError as exc:
        return [obj.problem(field, str(exc))]
    if schedules.next_due(schedule, now) is None:
        return [obj.problem(field, f'"{schedule}" never fires: no date in the next four years matches it')]
    return []
