"""Log output of the operator: one line per record, as key=value pairs, JSON, or short text for a terminal.

A record about a Kubernetes object carries its kind, namespace and name: kopf's object loggers attach them as
`k8s_ref`, and code of this project may pass `extra={"k8s_ref": {...}}` (or `namespace=`/`resource=`) too.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from typing import Any, TextIO

FORMATS = ("kv", "json", "text")
_BARE = re.compile(r"^[A-Za-z0-9_./:@+-]+$")
# Quiet in normal operation, loud in --verbose: HTTP access logs of the embedded servers, asyncio's debug, and
# kopf's per-object INFO lines ("Handler 'execution_event' succeeded." for every watch event).
_NOISY = ("aiohttp.access", "aiohttp.server", "asyncio", "kopf.objects")


def _object_fields(record: logging.LogRecord) -> dict[str, str]:
    ref = getattr(record, "k8s_ref", None)
    fields: dict[str, str] = {}
    if isinstance(ref, dict):
        for key in ("kind", "namespace", "name"):
            if ref.get(key):
                fields[key] = str(ref[key])
    for attribute, key in (("resource_kind", "kind"), ("resource_namespace", "namespace"), ("resource", "name")):
        value = getattr(record, attribute, None)
        if value and key not in fields:
            fields[key] = str(value)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _message(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    message = record.getMessage()
    if record.exc_info:
        message += "\n" + formatter.formatException(record.exc_info)
    elif record.exc_text:
        message += "\n" + record.exc_text
    return message


class KeyValueFormatter(logging.Formatter):
    """`time=… level=info logger=kopf.objects kind=Execution namespace=default name=run-1 msg="…"` (logfmt)."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            **_object_fields(record),
            "msg": _message(self, record),
        }
        return " ".join(f"{key}={self._value(value)}" for key, value in pairs.items())

    @staticmethod
    def _value(value: str) -> str:
        if value and _BARE.match(value):
            return value
        return json.dumps(value, ensure_ascii=False)  # quotes, and \n for multi-line messages: one line per record


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, kind/namespace/name where there is one, msg."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            **_object_fields(record),
            "msg": _message(self, record),
        }
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a terminal: `12:00:01 INFO  [default/run-1] message`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _object_fields(record)
        where = ""
        if fields.get("name"):
            where = f"[{fields['namespace']}/{fields['name']}] " if fields.get("namespace") else f"[{fields['name']}] "
        moment = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        return f"{moment} {record.levelname:<7} {where}{_message(self, record)}"


class _DropMessages(logging.Filter):
    def __init__(self, fragments: tuple[str, ...]) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(fragment in message for fragment in self.fragments)


def configure(
    log_format: str = "kv", *, verbose: bool = False, stream: TextIO | None = None, drop: tuple[str, ...] = ()
) -> logging.Handler:
    """Send every log record to `stream` (stderr) in one format; INFO and up, or DEBUG with `verbose`."""
    formatter = {"kv": KeyValueFormatter, "json": JsonFormatter, "text": TextFormatter}[log_format]()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    if drop:
        handler.addFilter(_DropMessages(drop))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler
