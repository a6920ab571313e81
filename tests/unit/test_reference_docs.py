"""docs/reference.md is what tools/gen_reference.py generates from crds/, so the reference cannot drift from the
schema; the names it lists beyond the schema (condition reasons, labels, annotations, finalizers) exist in the
operator's source.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "tools" / "gen_reference.py"
REFERENCE = REPO / "docs" / "reference.md"
SOURCE = REPO / "operator" / "flink_manager"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_reference_is_generated_from_the_crds() -> None:
    expected = gen.render(gen.load_crds())
    assert REFERENCE.read_text() == expected, (
        "docs/reference.md is out of date: run `.venv/bin/python tools/gen_reference.py > docs/reference.md`"
    )


def test_check_mode_accepts_the_committed_reference_and_rejects_a_changed_crd(tmp_path: Path) -> None:
    assert gen.main(["--check"]) == 0
    crds = tmp_path / "crds"
    shutil.copytree(REPO / "crds", crds)
    path = crds / "flinkclusters.yaml"
    crd = yaml.safe_load(path.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec["pollIntervalSeconds"]["default"] = 7
    path.write_text(yaml.safe_dump(crd, sort_keys=False))
    assert gen.main(["--check", "--crds", str(crds)]) == 1
    assert "| `spec.pollIntervalSeconds` | integer | `7` |" in gen.render(gen.load_crds(crds))


def test_the_command_line_prints_the_reference() -> None:
    result = subprocess.run([sys.executable, str(GENERATOR)], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == REFERENCE.read_text()


def _paths(schema: dict[str, Any], path: str) -> Iterator[str]:
    """Every field path of a schema, enumerated independently of the generator."""
    yield path
    for name, sub in (schema.get("properties") or {}).items():
        yield from _paths(sub, f"{path}.{name}")
    items = schema.get("items") or {}
    for name, sub in (items.get("properties") or {}).items():
        yield from _paths(sub, f"{path}[].{name}")


def _crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((REPO / "crds").glob("*.yaml"))]


@pytest.mark.parametrize("crd", _crds(), ids=lambda c: c["spec"]["names"]["kind"])
def test_every_field_default_and_printer_column_is_documented(crd: dict[str, Any]) -> None:
    kind = crd["spec"]["names"]["kind"]
    text = REFERENCE.read_text()
    section = text.split(f"\n## {kind}\n", 1)[1].split("\n## ", 1)[0]
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    properties = version["schema"]["openAPIV3Schema"]["properties"]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", section, re.MULTILINE)}
    for part in ("spec", "status"):
        for path in _paths(properties[part], part):
            assert path in rows, f"{kind}: {path} is not in docs/reference.md"
    for column in version.get("additionalPrinterColumns") or ():
        assert f"| {column['name'].upper()} |" in section, f"{kind}: printer column {column['name']}"
    # Spot checks that the cells say what the schema says.
    if kind == "Execution":
        assert "`Running`" in rows["spec.state"] and "one of `Running`, `Stopped`, `Cancelled`" in rows["spec.state"]
        assert "rule (on update): jobSpecRef is immutable" in rows["spec.jobSpecRef"]
    if kind == "Artifact":
        assert "nullable" in rows["spec.sha256"] and "pattern `^[a-f0-9]{64}$`" in rows["spec.sha256"]
        assert "rule: an Artifact names exactly one source" in rows["spec"]
    if kind == "JobSpec":
        assert '`{"name": "default"}`' in rows["spec.clusterRef"]


def _source_text() -> str:
    return "\n".join(p.read_text() for p in sorted(SOURCE.rglob("*.py")) if "dev" not in p.relative_to(SOURCE).parts)


@pytest.mark.parametrize("kind", list(gen.CONDITIONS))
def test_documented_reasons_are_set_by_the_operator(kind: str) -> None:
    """Each reason in the conditions tables occurs as a string in the operator (so a renamed reason fails here)."""
    source = _source_text()
    missing = sorted({reason for row in gen.CONDITIONS[kind] for reason in row.reasons if f'"{reason}"' not in source})
    assert missing == [], f"{kind}: reasons documented but not found in operator/flink_manager: {missing}"
    types = {row.type for row in gen.CONDITIONS[kind]}
    assert "Ready" in types and types <= {"Ready", "Progressing", "Degraded"}


@pytest.mark.parametrize("example", [e for examples in gen.EXAMPLES.values() for e in examples], ids=lambda e: e.title)
def test_every_example_is_accepted_by_the_crds(example: Any) -> None:
    from flink_manager.schema.packaged import crd_documents
    from flink_manager.validation import validate_documents
    from flink_manager.validation.documents import Document

    document = yaml.safe_load(example.manifest)
    report = validate_documents([Document("example", 0, document)], crds=crd_documents(), allow_missing_refs=True)
    assert not report.problems, report.problems
    assert f"```yaml\n{example.manifest}```" in REFERENCE.read_text()


def test_documented_labels_annotations_and_finalizers_are_used_by_the_operator() -> None:
    source = _source_text()
    missing = [row.key for row in gen.METADATA if f'"{row.key}"' not in source]
    assert missing == []


def test_reason_check_would_notice_a_reason_the_operator_does_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = copy.deepcopy(gen.CONDITIONS["JobSpec"])
    rows += (gen.ConditionRow("Ready", "False", ("NoSuchReasonAnywhere",), "x"),)
    monkeypatch.setitem(gen.CONDITIONS, "JobSpec", rows)
    with pytest.raises(AssertionError, match="NoSuchReasonAnywhere"):
        test_documented_reasons_are_set_by_the_operator("JobSpec")
