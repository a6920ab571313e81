"""The JSONPath subset printer columns use: `.a.b`, `['k']`, `[0]`, `[*]` and `[?(@.type=="Ready")]` filters."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"\.\.?(?P<field>[^.\[\]]+)"
    r"|\[\?\(@\.(?P<fpath>[^=!<>]+?)\s*(?P<op>==|!=)\s*(?P<fval>\"[^\"]*\"|'[^']*'|[^)]*)\)\]"
    r"|\[(?P<quoted>'[^']*'|\"[^\"]*\")\]"
    r"|\[(?P<index>-?\d+|\*)\]"
)


def find(obj: Any, path: str) -> list[Any]:
    """Evaluate a printer-column JSONPath; returns every match."""
    expression = path.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1]
    if expression.startswith("$"):
        expression = expression[1:]
    values = [obj]
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match:
            return []
        position = match.end()
        values = _step(values, match)
    return values


def _step(values: list[Any], match: re.Match[str]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if match.group("field") is not None:
            name = match.group("field")
            if name == "*":
                if isinstance(value, dict):
                    out.extend(value.values())
                elif isinstance(value, list):
                    out.extend(value)
            elif isinstance(value, dict) and name in value:
                out.append(value[name])
        elif match.group("quoted") is not None:
            name = match.group("quoted")[1:-1]
            if isinstance(value, dict) and name in value:
                out.append(value[name])
        elif match.group("index") is not None:
            if not isinstance(value, list):
                continue
            if match.group("index") == "*":
                out.extend(value)
            else:
                i = int(match.group("index"))
                if -len(value) <= i < len(value):
                    out.append(value[i])
        elif match.group("fpath") is not None:
            items = value if isinstance(value, list) else []
            wanted = match.group("fval").strip()
            if wanted[:1] in "\"'":
                wanted_value: Any = wanted[1:-1]
            else:
                wanted_value = wanted
            for item in items:
                found = find(item, "." + match.group("fpath").strip())
                equal = bool(found) and str(found[0]) == str(wanted_value)
                if (match.group("op") == "==") == equal:
                    out.append(item)
    return out
