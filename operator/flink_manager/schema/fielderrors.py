"""Field errors worded as apimachinery's `field.Error` (`<path>: <Type>: <value>: <detail>`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

OMIT = object()  # a value that is not printed (apimachinery's `omitValue`)

TYPE_TEXT = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}
_BODY_WITHOUT_VALUE = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}


class RawValue(str):
    """A bad value already rendered (the JSON of a Go struct), printed as it is."""


def go_json(value: Any) -> str:
    """Go's `json.Marshal`: compact, with `<`, `>` and `&` escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_value(value: Any) -> str:
    """Render a decoded JSON value the way `field.Error` prints a bad value."""
    if isinstance(value, RawValue):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def go_float(value: float) -> str:
    """Go's `%v` of a float64."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def go_quote(text: str) -> str:
    """Go's `%q` / `strconv.Quote` for printable strings."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class FieldError:
    """One validation error on one field."""

    type: str  # a cause reason: FieldValueInvalid, FieldValueRequired, …
    field: str
    value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """The message without the field path (the cause's `message`)."""
        text = TYPE_TEXT.get(self.type, self.type)
        if self.type not in _BODY_WITHOUT_VALUE and self.value is not OMIT:
            text = f"{text}: {go_value(self.value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    @property
    def shown_field(self) -> str:
        """The path as printed; the root (a nil `field.Path`) prints as `<nil>`."""
        return self.field or "<nil>"

    def __str__(self) -> str:
        return f"{self.shown_field}: {self.body()}"

    def cause(self) -> dict[str, str]:
        """The `details.causes[]` entry."""
        return {"reason": self.type, "message": self.body(), "field": self.shown_field}


def required(path: str, detail: str = "") -> FieldError:
    """`field.Required`."""
    return FieldError("FieldValueRequired", path, OMIT, detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    """`field.Invalid`."""
    return FieldError("FieldValueInvalid", path, value, detail)


def type_invalid(path: str, value: Any, detail: str) -> FieldError:
    """`field.TypeInvalid`."""
    return FieldError("FieldValueTypeInvalid", path, value, detail)


def forbidden(path: str, detail: str) -> FieldError:
    """`field.Forbidden`."""
    return FieldError("FieldValueForbidden", path, OMIT, detail)


def duplicate(path: str, value: Any) -> FieldError:
    """`field.Duplicate`."""
    return FieldError("FieldValueDuplicate", path, value, "")


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    """`field.NotSupported`."""
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return FieldError("FieldValueNotSupported", path, value, detail)


def too_long(path: str, max_length: int) -> FieldError:
    """`field.TooLong` (the value is not printed)."""
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError("FieldValueTooLong", path, OMIT, f"may not be more than {max_length} {unit}")


def too_many(path: str, actual: int, maximum: int) -> FieldError:
    """`field.TooMany`."""
    unit = "item" if maximum == 1 else "items"
    return FieldError("FieldValueTooMany", path, actual, f"must have at most {maximum} {unit}")


def aggregate_message(errors: list[FieldError]) -> str:
    """`ErrorList.ToAggregate().Error()`: one message, or `[a, b]` for several (deduplicated)."""
    seen: list[str] = []
    for error in errors:
        text = str(error)
        if text not in seen:
            seen.append(text)
    if not seen:
        return ""
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"
