"""Hypothesis strategies that build any resource model from its fields, honouring their constraints."""

from __future__ import annotations

import datetime
import enum
import types
import typing
from typing import Any

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from flink_manager.api import Condition, ConditionType

_UTC = datetime.UTC
_NAMES = st.from_regex(r"[a-z]([-a-z0-9]{0,14}[a-z0-9])?", fullmatch=True)

# Fields whose values the model accepts more widely than what the operator writes (and the CRD admits).
_OVERRIDES: dict[tuple[type[BaseModel], str], st.SearchStrategy[Any]] = {
    (Condition, "type"): st.sampled_from([t.value for t in ConditionType]),
}


def timestamps() -> st.SearchStrategy[datetime.datetime]:
    """Timezone-aware UTC timestamps, as the operator writes them."""
    return st.datetimes(
        min_value=datetime.datetime(1970, 1, 1),
        max_value=datetime.datetime(2200, 1, 1),
        timezones=st.just(_UTC),
    )


def models(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Instances of `model` with any combination of its optional fields set or left at their defaults."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        strategy = _OVERRIDES[(model, name)] if (model, name) in _OVERRIDES else values(field.annotation, field)
        (required if field.is_required() else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional).map(lambda kwargs: model(**kwargs))


def values(annotation: Any, field: FieldInfo | None = None) -> st.SearchStrategy[Any]:
    """Python values of an annotation, within the field's constraints."""
    bounds = _bounds(field)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        assert len(args) == 1, f"unsupported union {annotation!r}"
        return st.none() | values(args[0], field)
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(min_value=bounds.get("ge", -(2**31)), max_value=bounds.get("le", 2**31))
    if annotation is str:
        if "pattern" in bounds:
            return st.from_regex(bounds["pattern"], fullmatch=True).filter(
                lambda s: bounds.get("min_length", 0) <= len(s) <= bounds.get("max_length", 10**6)
            )
        return st.text(min_size=bounds.get("min_length", 0), max_size=min(bounds.get("max_length", 20), 20))
    if annotation is datetime.datetime:
        return timestamps()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from(list(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return models(annotation)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        # Conditions are a list-map keyed by type in the CRDs: one entry per type.
        unique_by = (lambda c: c.type) if item is Condition else None
        return st.lists(values(item), max_size=3, unique_by=unique_by).map(tuple)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return st.dictionaries(_NAMES if key is str else values(key), values(value), max_size=3)
    raise TypeError(f"no strategy for {annotation!r}")


def _bounds(field: FieldInfo | None) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for constraint in field.metadata if field is not None else ():
        if isinstance(constraint, annotated_types.Ge):
            bounds["ge"] = constraint.ge
        elif isinstance(constraint, annotated_types.Le):
            bounds["le"] = constraint.le
        elif isinstance(constraint, annotated_types.MinLen):
            bounds["min_length"] = constraint.min_length
        elif isinstance(constraint, annotated_types.MaxLen):
            bounds["max_length"] = constraint.max_length
        elif getattr(constraint, "pattern", None) is not None:
            bounds["pattern"] = constraint.pattern
    return bounds
