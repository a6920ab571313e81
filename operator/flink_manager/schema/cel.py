"""`x-kubernetes-validations`: CEL rules evaluated with cel-python, plus the Kubernetes CEL libraries it lacks."""

from __future__ import annotations

import itertools
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import celpy
import celpy.adapter
from celpy import celtypes

from flink_manager.schema import fielderrors as fe
from flink_manager.schema.fielderrors import FieldError
from flink_manager.schema.paths import child, index, key
from flink_manager.schema.structural import MISSING, Schema, correlate_list, json_equal

_ENV = celpy.Environment()


# --- Kubernetes CEL library functions (strings, lists, regex, urls) that cel-python does not ship ----------------


def _char_at(s: Any, i: Any) -> Any:
    return celtypes.StringType(s[int(i)] if int(i) < len(s) else "")


def _index_of(container: Any, item: Any, start: Any = None) -> Any:
    offset = int(start) if start is not None else 0
    if isinstance(container, str):
        return celtypes.IntType(container.find(item, offset))
    items = list(container)
    for i in range(offset, len(items)):
        if items[i] == item:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _last_index_of(container: Any, item: Any, end: Any = None) -> Any:
    if isinstance(container, str):
        limit = int(end) + len(item) if end is not None else len(container)
        return celtypes.IntType(container.rfind(item, 0, limit))
    items = list(container)
    for i in range(len(items) - 1, -1, -1):
        if items[i] == item:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _split(s: Any, sep: Any, limit: Any = None) -> Any:
    if limit is not None and int(limit) == 0:
        return celtypes.ListType([])
    parts = s.split(sep) if limit is None or int(limit) < 0 else s.split(sep, int(limit) - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _substring(s: Any, start: Any, end: Any = None) -> Any:
    return celtypes.StringType(s[int(start) :] if end is None else s[int(start) : int(end)])


def _replace(s: Any, old: Any, new: Any, limit: Any = None) -> Any:
    count = -1 if limit is None else int(limit)
    return celtypes.StringType(s.replace(old, new, count))


def _join(items: Any, sep: Any = "") -> Any:
    return celtypes.StringType(str(sep).join(str(i) for i in items))


def _is_sorted(items: Any) -> Any:
    values = list(items)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(values)))


def _sum(items: Any) -> Any:
    values = list(items)
    if not values:
        return celtypes.IntType(0)
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def _find(s: Any, pattern: Any) -> Any:
    match = re.search(pattern, s)
    return celtypes.StringType(match.group(0) if match else "")


def _find_all(s: Any, pattern: Any, limit: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(pattern, s)]
    if limit is not None and int(limit) >= 0:
        found = found[: int(limit)]
    return celtypes.ListType([celtypes.StringType(f) for f in found])


class _URL(celtypes.StringType):
    """A parsed URL value, as returned by `url()`."""


def _url(s: Any) -> Any:
    if not _is_url(s):
        raise ValueError(f"URL parse error during conversion from string: {s}")
    return _URL(s)


def _is_url(s: Any) -> Any:
    parsed = urllib.parse.urlsplit(str(s))
    return celtypes.BoolType(bool(parsed.scheme) or str(s).startswith("/"))


def _url_part(name: str) -> Any:
    def get(u: Any) -> Any:
        parsed = urllib.parse.urlsplit(str(u))
        value = {
            "getScheme": parsed.scheme,
            "getHost": parsed.netloc.rsplit("@", 1)[-1],
            "getHostname": parsed.hostname or "",
            "getPort": str(parsed.port) if parsed.port else "",
            "getEscapedPath": parsed.path,
        }[name]
        return celtypes.StringType(value)

    return get


FUNCTIONS: dict[str, Any] = {
    "charAt": _char_at,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda s: celtypes.StringType(str(s).lower()),
    "upperAscii": lambda s: celtypes.StringType(str(s).upper()),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda s: celtypes.StringType(str(s).strip()),
    "join": _join,
    "reverse": lambda s: celtypes.StringType(str(s)[::-1]),
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": lambda items: min(list(items)),
    "max": lambda items: max(list(items)),
    "find": _find,
    "findAll": _find_all,
    "url": _url,
    "isURL": _is_url,
    "getScheme": _url_part("getScheme"),
    "getHost": _url_part("getHost"),
    "getHostname": _url_part("getHostname"),
    "getPort": _url_part("getPort"),
    "getEscapedPath": _url_part("getEscapedPath"),
}


# --- compiled rules --------------------------------------------------------------------------------------------


class RuleCompileError(Exception):
    """A rule (or messageExpression) that does not compile."""


@dataclass
class CompiledRule:
    """One `x-kubernetes-validations` entry, compiled."""

    rule: str
    program: Any
    uses_old_self: bool
    message: str | None
    message_program: Any
    reason: str | None
    field_path: str | None

    def default_message(self) -> str:
        """`ruleMessageOrDefault`."""
        if self.message:
            return self.message.strip()
        return f"failed rule: {self.rule.strip()}"

    def error_string(self) -> str:
        """`ruleErrorString`."""
        return self.message.strip() if self.message else self.rule.strip()


_STRING_LITERALS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _compile(expression: str) -> Any:
    try:
        return _ENV.program(_ENV.compile(expression), functions=FUNCTIONS)
    except Exception as exc:  # celpy raises its own parse errors
        raise RuleCompileError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def compile_rule(entry: dict[str, Any]) -> CompiledRule:
    """Compile one validation entry (raises RuleCompileError)."""
    rule = entry.get("rule", "")
    message_expression = entry.get("messageExpression")
    return CompiledRule(
        rule=rule,
        program=_compile(rule),
        uses_old_self=bool(re.search(r"\boldSelf\b", _STRING_LITERALS.sub("''", rule))),
        message=entry.get("message"),
        message_program=_compile(message_expression) if message_expression else None,
        reason=entry.get("reason"),
        field_path=entry.get("fieldPath"),
    )


def compile_schema_rules(
    schema: Schema, cache: dict[str, CompiledRule], path: str = "", root: bool = True
) -> list[tuple[str, str, dict[str, Any]]]:
    """Compile every rule in a schema into `cache` (keyed by rule text); return (path, error, rule) for failures,
    the error worded as cel-go's (`ERROR: <input>:1:5: undefined field 'x'` and its caret lines)."""
    failures: list[tuple[str, str, dict[str, Any]]] = []
    for i, entry in enumerate(schema.get("x-kubernetes-validations") or ()):
        rule_path = f"{path}.x-kubernetes-validations[{i}].rule"
        rule = entry.get("rule", "")
        undefined = undefined_fields(rule, schema, root)
        if undefined:
            failures.append(
                (
                    rule_path,
                    "\n".join(
                        f"ERROR: <input>:1:{dot + 1}: undefined field '{name}'\n | {rule}\n | {'.' * dot}^"
                        for dot, name in undefined
                    ),
                    entry,
                )
            )
            continue
        rule_key = _cache_key(entry)
        if rule_key in cache:
            continue
        try:
            cache[rule_key] = compile_rule(entry)
        except RuleCompileError as exc:
            failures.append((rule_path, f"ERROR: <input>: Syntax error: {exc}", entry))
    for name, sub in (schema.get("properties") or {}).items():
        failures += compile_schema_rules(sub, cache, f"{path}.properties[{name}]", False)
    for keyword in ("items", "additionalProperties"):
        sub = schema.get(keyword)
        if isinstance(sub, dict):
            failures += compile_schema_rules(sub, cache, f"{path}.{keyword}", False)
    return failures


_PASS_THROUGH = {
    "expr",
    "conditionalor",
    "conditionaland",
    "relation",
    "addition",
    "multiplication",
    "unary",
    "member",
    "primary",
}


def _is_string_conversion(node: Any) -> bool:
    while hasattr(node, "data") and node.data in _PASS_THROUGH and len(node.children) == 1:
        node = node.children[0]
    if not hasattr(node, "data") or node.data != "ident_arg" or not node.children:
        return False
    return str(node.children[0]) == "string"


_ROOT_FIELDS = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}},
}


def _self_chain(node: Any) -> list[Any] | None:
    """For `self.a.b` (or `oldSelf.a.b`), the field tokens [a, b]; None for anything else."""
    names: list[Any] = []
    while hasattr(node, "data"):
        if node.data == "member_dot" and len(node.children) == 2:
            names.insert(0, node.children[1])
            node = node.children[0]
        elif node.data in ("member", "primary") and len(node.children) == 1:
            node = node.children[0]
        elif node.data == "ident" and node.children and str(node.children[0]) in ("self", "oldSelf"):
            return names
        else:
            return None
    return None


def undefined_fields(expression: str, schema: Schema, root: bool) -> list[tuple[int, str]]:
    """(index of the `.`, name) of each `self.x` that names no field of a structural object, the way cel-go's
    type checker refuses it when the CRD is written."""
    try:
        tree = _ENV.compile(expression)
    except Exception:  # noqa: BLE001 - syntax errors are reported by the compiler
        return []
    found: list[tuple[int, str]] = []
    for node in tree.iter_subtrees_topdown():
        if node.data != "member_dot":
            continue
        chain = _self_chain(node)
        if not chain:
            continue
        current: Any = schema
        for position, token in enumerate(chain):
            properties = dict(current.get("properties") or {})
            if root and position == 0:
                properties = {**_ROOT_FIELDS, **properties}
            name = str(token)
            if name in properties:
                current = properties[name]
                continue
            if isinstance(current.get("additionalProperties"), dict):
                current = current["additionalProperties"]
                continue
            open_object = current.get("x-kubernetes-preserve-unknown-fields") or current.get("type") != "object"
            if (not open_object and current.get("properties") is not None) or (root and position == 0):
                entry = (token.start_pos - 1, name)
                if entry not in found:
                    found.append(entry)
            break
    return sorted(found)


def concatenates_a_conversion(expression: str) -> bool:
    """Whether `+` joins the result of `string(…)`: cel-go estimates that size as unbounded, so the apiserver
    rejects the rule as over its cost budget (a known, narrow slice of its cost estimator)."""
    try:
        tree = _ENV.compile(expression)
    except Exception:  # noqa: BLE001 - compile errors are reported elsewhere
        return False
    for node in tree.iter_subtrees():
        if (
            node.data in ("addition_add", "addition_sub") or (node.data == "addition" and len(node.children) == 2)
        ) and any(_is_string_conversion(child) for child in node.children):
            return True
    return False


def _cache_key(entry: dict[str, Any]) -> str:
    return "\x00".join(str(entry.get(k, "")) for k in ("rule", "message", "messageExpression", "reason", "fieldPath"))


def _to_cel(value: Any) -> Any:
    return celpy.adapter.json_to_cel(_without_nulls(value))


def _without_nulls(value: Any) -> Any:
    """A field set to null is absent to a rule, as on kube-apiserver (`has(self.url)` is false for `url: null`;
    tests/e2e/test_crds.py holds the emulator to it)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _error_text(exc: BaseException | Any) -> str:
    text = str(exc.args[0]) if getattr(exc, "args", None) else str(exc)
    match = re.match(r"no such member in mapping: '(.*)'", text)
    if match:
        return f"no such key: {match.group(1)}"
    return text


def _root_view(obj: dict[str, Any]) -> dict[str, Any]:
    """At the root, `self.metadata` exposes only name and generateName."""
    view = dict(obj)
    meta = obj.get("metadata") or {}
    view["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
    return view


def validate_rules(
    value: Any, schema: Schema, cache: dict[str, CompiledRule], old: Any = MISSING, path: str = ""
) -> list[FieldError]:
    """Evaluate every rule over a value (the whole object at the root), correlating `oldSelf` like the apiserver."""
    errors: list[FieldError] = []
    _walk(value, schema, cache, old, path, errors, root=True)
    return errors


def _walk(
    value: Any,
    schema: Schema,
    cache: dict[str, CompiledRule],
    old: Any,
    path: str,
    errors: list[FieldError],
    root: bool = False,
) -> None:
    if value is None:
        return
    rules = schema.get("x-kubernetes-validations")
    if rules:
        _evaluate(value, schema, rules, cache, old, path, errors, root)
    for sub in schema.get("allOf") or ():
        _walk(value, sub, cache, MISSING, path, errors)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for name in sorted(value):
            if root and name in ("apiVersion", "kind", "metadata"):
                continue
            if name in properties:
                _walk(value[name], properties[name], cache, old_map.get(name, MISSING), child(path, name), errors)
            elif isinstance(additional, dict):
                _walk(value[name], additional, cache, old_map.get(name, MISSING), key(path, name), errors)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            old_items = correlate_list(schema, old)
            for i, item in enumerate(value):
                _walk(item, items, cache, old_items(item), index(path, i), errors)


def _evaluate(
    value: Any,
    schema: Schema,
    rules: list[dict[str, Any]],
    cache: dict[str, CompiledRule],
    old: Any,
    path: str,
    errors: list[FieldError],
    root: bool,
) -> None:
    type_name = schema.get("type", "")
    unchanged = old is not MISSING and json_equal(value, old)
    self_json = root_view = None
    if root:
        root_view = _root_view(value)
    self_json = json.dumps(root_view if root else value, sort_keys=True, separators=(",", ":"))
    old_json = (
        ""
        if old is MISSING
        else json.dumps(
            _root_view(old) if root and isinstance(old, dict) else old, sort_keys=True, separators=(",", ":")
        )
    )
    activation: dict[str, Any] | None = None

    def make_activation() -> dict[str, Any]:
        built: dict[str, Any] = {"self": _to_cel(root_view if root else value)}
        if old is not MISSING:
            built["oldSelf"] = _to_cel(_root_view(old) if root and isinstance(old, dict) else old)
        return built

    for entry in rules:
        rule_key = _cache_key(entry)
        compiled = cache.get(rule_key)
        if compiled is None:
            try:
                compiled = cache[rule_key] = compile_rule(entry)
            except RuleCompileError as exc:
                errors.append(fe.invalid(path, type_name, f"rule compile error: {exc}"))
                continue
        if compiled.uses_old_self and old is MISSING:
            continue  # transition rules run only when there is an old value to compare with
        if unchanged and not compiled.uses_old_self:
            continue  # ratcheting: an unchanged value is not re-judged by a rule (its errors would be dropped)
        result_key = (rule_key, self_json, old_json if compiled.uses_old_self else "")
        outcome = _RESULTS.get(result_key)
        if outcome is None:
            if activation is None:
                activation = make_activation()
            outcome = _run(compiled, activation)
            if len(_RESULTS) >= _RESULTS_LIMIT:
                _RESULTS.pop(next(iter(_RESULTS)))
            _RESULTS[result_key] = outcome
        if outcome is True:
            continue
        if isinstance(outcome, str):
            errors.append(fe.invalid(path, type_name, f"{outcome} evaluating rule: {compiled.error_string()}"))
            continue
        if activation is None:
            activation = make_activation()
        detail = _message(compiled, activation)
        error_path = path
        if compiled.field_path:
            error_path = _join_field_path(path, compiled.field_path)
        shown = fe.OMIT if type_name in ("object", "array") else value
        errors.append(_error_for_reason(compiled.reason, error_path, shown, detail))


# Rule outcomes by (rule, self, oldSelf): an operator rewriting status re-validates the same spec again and again,
# and cel-python's interpreter costs about half a millisecond per rule.
_RESULTS: dict[tuple[str, str, str], bool | str] = {}
_RESULTS_LIMIT = 20000


def _run(compiled: CompiledRule, activation: dict[str, Any]) -> bool | str:
    """True, False, or the runtime error's text."""
    try:
        result = compiled.program.evaluate(activation)
    except Exception as exc:  # noqa: BLE001 - CEL runtime errors (no such key, overflow…) become field errors
        return _error_text(exc)
    if isinstance(result, BaseException):
        return _error_text(result)
    return result is True or (isinstance(result, celtypes.BoolType) and bool(result))


def _message(compiled: CompiledRule, activation: dict[str, Any]) -> str:
    if compiled.message_program is not None:
        try:
            result = compiled.message_program.evaluate(activation)
            if isinstance(result, str) and result.strip() and "\n" not in result.strip():
                return result.strip()
        except Exception:  # noqa: BLE001 - a failing messageExpression falls back to the message
            pass
    return compiled.default_message()


def _join_field_path(path: str, field_path: str) -> str:
    result = path
    for part in re.findall(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]", field_path):
        name = part[0] or part[1]
        result = child(result, name)
    return result


def _error_for_reason(reason: str | None, path: str, value: Any, detail: str) -> FieldError:
    if reason == "FieldValueForbidden":
        return fe.forbidden(path, detail)
    if reason == "FieldValueRequired":
        return fe.required(path, detail)
    if reason == "FieldValueDuplicate":
        return fe.duplicate(path, value)
    return fe.invalid(path, value, detail)
