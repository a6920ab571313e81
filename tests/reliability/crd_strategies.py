"""Hypothesis strategies generated from the CRD schemas in crds/: spec mutations the schema admits, and ones it
refuses (wrong type, outside a bound, not in an enum, not matching a pattern, too long, a required field missing).

A mutation is a JSON merge patch of one field of a resource's spec. Whether the API accepts it is for the API to
say (CEL rules, ratcheting): the fuzz test classifies what happens, the strategies only aim.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

CRD_DIR = pathlib.Path(__file__).resolve().parents[2] / "crds"
PLURALS = {"FlinkCluster": "flinkclusters", "Artifact": "artifacts", "JobSpec": "jobspecs", "Execution": "executions"}
MAX_TEXT = 24  # generated strings stay short, whatever maxLength allows (boundaries are tried explicitly)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=6)


@dataclasses.dataclass(frozen=True)
class Mutation:
    """Set one spec field (`path` below spec) of one object to `value` (None removes it)."""

    kind: str
    path: tuple[str, ...]
    value: Any
    aimed_valid: bool

    def patch(self) -> dict[str, Any]:
        patch: Any = self.value
        for key in reversed(self.path):
            patch = {key: patch}
        return {"spec": patch}

    def __str__(self) -> str:
        return f"{self.kind} spec.{'.'.join(self.path)} = {self.value!r}" + (
            "" if self.aimed_valid else " (aimed invalid)"
        )


@functools.cache
def spec_schema(kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of a kind's spec, from its CRD."""
    crd = yaml.safe_load((CRD_DIR / f"{PLURALS[kind]}.yaml").read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def fields(
    schema: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Every property below an object schema (objects and leaves), with its path."""
    for name, sub in (schema.get("properties") or {}).items():
        yield (*path, name), sub
        if sub.get("type") == "object":
            yield from fields(sub, (*path, name))


# -- values the schema admits -------------------------------------------------------------------------------


def valid(
    schema: Mapping[str, Any], overrides: Mapping[str, st.SearchStrategy[Any]] | None = None, path: tuple[str, ...] = ()
) -> st.SearchStrategy[Any]:
    """Values a structural schema admits (CEL rules aside)."""
    key = ".".join(path)
    if overrides and key in overrides:
        strategy = overrides[key]
    else:
        strategy = _valid(schema, overrides or {}, path)
    return st.none() | strategy if schema.get("nullable") else strategy


def _valid(
    schema: Mapping[str, Any], overrides: Mapping[str, st.SearchStrategy[Any]], path: tuple[str, ...]
) -> st.SearchStrategy[Any]:
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 10**6)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
        return st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
            min_size=low,
            max_size=max(low, min(high, MAX_TEXT)),
        )
    if kind == "integer":
        # Kubernetes stores every integer as int64, whatever the format says.
        return st.integers(schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(
            valid(schema.get("items") or {}, overrides, (*path, "[]")),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 4), 4),
        )
    if kind == "object":
        if isinstance(schema.get("additionalProperties"), Mapping):
            return st.dictionaries(
                st.text(min_size=1, max_size=12),
                valid(schema["additionalProperties"], overrides, (*path, "{}")),
                max_size=3,
            )
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        return st.fixed_dictionaries(
            {name: valid(sub, overrides, (*path, name)) for name, sub in properties.items() if name in required},
            optional={
                name: valid(sub, overrides, (*path, name)) for name, sub in properties.items() if name not in required
            },
        )
    return JSON_SCALARS  # x-kubernetes-preserve-unknown-fields and the like


# -- values the schema refuses ------------------------------------------------------------------------------


def invalid(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values a structural schema refuses (one reason each)."""
    kind = schema.get("type")
    options: list[st.SearchStrategy[Any]] = []
    wrong_types = {
        "string": st.integers(-5, 5) | st.booleans() | st.just(["a"]) | st.just({"a": "b"}),
        "integer": st.text(max_size=4) | st.booleans() | st.just(1.5) | st.just([1]),
        "number": st.text(max_size=4) | st.booleans(),
        "boolean": st.sampled_from(["true", "yes", 1, 0]),
        "array": st.text(max_size=4) | st.just({"a": 1}) | st.integers(),
        "object": st.text(max_size=4) | st.just([1, 2]) | st.integers(),
    }
    if kind in wrong_types:
        options.append(wrong_types[kind])
    if "enum" in schema:
        options.append(st.text(min_size=1, max_size=10).filter(lambda s: s not in schema["enum"]))
    if kind == "string":
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            options.append(st.text(min_size=1, max_size=12).filter(lambda s: not pattern.search(s)))
        if schema.get("minLength", 0) > 0:
            options.append(st.just(""))
        if "maxLength" in schema:
            options.append(st.just("x" * (schema["maxLength"] + 1)))
    if kind == "integer":
        if "minimum" in schema:
            options.append(st.integers(schema["minimum"] - 1000, schema["minimum"] - 1))
        if "maximum" in schema:
            options.append(st.integers(schema["maximum"] + 1, schema["maximum"] + 1000))
    if kind == "object" and schema.get("required"):
        missing = st.sampled_from(sorted(schema["required"]))
        options.append(
            missing.flatmap(
                lambda name: _valid(schema, {}, ()).map(
                    lambda value: {**{k: v for k, v in value.items() if k != name}, name: None}
                )
            )
        )
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        options.append(invalid(schema["items"]).map(lambda item: [item]))
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        options.append(invalid(schema["additionalProperties"]).map(lambda value: {"key": value}))
    if not schema.get("nullable") and kind in ("array", "object") and "default" not in schema:
        options.append(st.just(None))  # removed: only a defaulted field may go
    return st.one_of(options) if options else st.nothing()


# -- mutations ---------------------------------------------------------------------------------------------


def mutations(
    kind: str, overrides: Mapping[str, st.SearchStrategy[Any]] | None = None, invalid_share: float = 0.4
) -> st.SearchStrategy[Mutation]:
    """One field of `kind`'s spec set to a value the schema admits, or (about `invalid_share` of the time) one it
    refuses."""
    schema = spec_schema(kind)
    choices = list(fields(schema))

    @st.composite
    def mutation(draw: st.DrawFn) -> Mutation:
        path, sub = draw(st.sampled_from(choices))
        aimed_valid = draw(st.floats(0, 1)) >= invalid_share
        refused = invalid(sub)
        if not aimed_valid and not refused.is_empty:
            return Mutation(kind, path, draw(refused), aimed_valid=False)
        return Mutation(kind, path, draw(valid(sub, overrides, path)), aimed_valid=True)

    return mutation()


def draw_examples(strategy: st.SearchStrategy[Any], count: int, random_seed: int) -> list[Any]:
    """`count` examples of a strategy, the same for the same seed (Hypothesis's generation, no shrinking)."""
    drawn: dict[str, Any] = {}  # distinct examples only (Hypothesis starts from the simplest, and repeats)

    @seed(random_seed)
    @settings(
        max_examples=count * 2,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.setdefault(repr(example), example)

    collect()
    return list(drawn.values())[:count]
