"""Operator logs: one line per record, key=value or JSON, with the object's kind, namespace and name."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from flink_manager.cli import logs

REF = {
    "apiVersion": "flinkmanager.io/v1alpha1",
    "kind": "Execution",
    "namespace": "team-a",
    "name": "run-1",
    "uid": "u",
}


@pytest.fixture
def emit() -> Iterator:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)

    def log(log_format: str) -> list[str]:
        stream.seek(0)
        stream.truncate()
        logs.configure(log_format, stream=stream)
        logging.getLogger("kopf.objects").warning("Handler 'x' failed:\nline two", extra={"k8s_ref": REF})
        logging.getLogger("flink_manager").info('plain message with "quotes"')
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("flink_manager").exception("reconcile failed")
        return stream.getvalue().splitlines()

    yield log
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_key_value_lines(emit) -> None:
    lines = emit("kv")
    assert len(lines) == 3  # the multi-line message and the traceback stay on their record's line
    pair = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
    first = dict(pair.findall(lines[0]))
    assert (first["level"], first["logger"], first["kind"], first["namespace"], first["name"]) == (
        "warning",
        "kopf.objects",
        "Execution",
        "team-a",
        "run-1",
    )
    assert json.loads(first["msg"]) == "Handler 'x' failed:\nline two"
    assert "namespace" not in dict(pair.findall(lines[1]))
    assert "ValueError: boom" in json.loads(dict(pair.findall(lines[2]))["msg"])


def test_json_lines(emit) -> None:
    records = [json.loads(line) for line in emit("json")]
    assert records[0] | {"time": "t"} == {
        "time": "t",
        "level": "warning",
        "logger": "kopf.objects",
        "kind": "Execution",
        "namespace": "team-a",
        "name": "run-1",
        "msg": "Handler 'x' failed:\nline two",
    }
    assert records[1]["msg"] == 'plain message with "quotes"' and "name" not in records[1]
    assert "Traceback" in records[2]["msg"]


def test_text_lines_for_a_terminal(emit) -> None:
    lines = emit("text")
    assert "WARNING [team-a/run-1] Handler 'x' failed:" in lines[0]
