"""Patch types and selectors."""

from __future__ import annotations

from typing import Any

import pytest

from flink_manager_dev.kubeapi.patches import PatchFailed, apply_merge_patch, json_patch, strategic_merge_patch
from flink_manager_dev.kubeapi.selectors import (
    SelectorError,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)

BASE = {
    "metadata": {"finalizers": ["a"], "labels": {"x": "1"}, "ownerReferences": [{"uid": "u1", "name": "one"}]},
    "spec": {"list": [1, 2], "nested": {"k": "v", "drop": True}},
}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param({"spec": {"nested": {"drop": None}}}, {"list": [1, 2], "nested": {"k": "v"}}, id="null-removes"),
        pytest.param({"spec": {"list": [3]}}, {"list": [3], "nested": {"k": "v", "drop": True}}, id="lists-replace"),
        pytest.param(
            {"spec": {"new": {"a": 1}}},
            {"list": [1, 2], "nested": {"k": "v", "drop": True}, "new": {"a": 1}},
            id="adds",
        ),
    ],
)
def test_merge_patch_rfc7386(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    assert apply_merge_patch(BASE, patch)["spec"] == expected
    assert BASE["spec"]["nested"]["drop"] is True  # the target is not mutated


def test_json_patch_applies_and_fails_like_the_apiserver() -> None:
    assert json_patch(BASE, [{"op": "add", "path": "/spec/list/-", "value": 3}])["spec"]["list"] == [1, 2, 3]
    with pytest.raises(PatchFailed) as failed:
        json_patch(BASE, [{"op": "test", "path": "/spec/list/0", "value": 9}])
    assert failed.value.code == 422
    with pytest.raises(PatchFailed):
        json_patch(BASE, [{"op": "remove", "path": "/spec/missing"}])


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        pytest.param({"metadata": {"finalizers": ["b"]}}, "metadata.finalizers", ["b", "a"], id="finalizers-union"),
        pytest.param(
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
            "metadata.finalizers",
            [],
            id="finalizers-delete-directive",
        ),
        pytest.param(
            {"metadata": {"ownerReferences": [{"uid": "u2", "name": "two"}]}},
            "metadata.ownerReferences",
            [{"uid": "u2", "name": "two"}, {"uid": "u1", "name": "one"}],
            id="owner-references-by-uid",
        ),
        pytest.param(
            {"metadata": {"ownerReferences": [{"uid": "u1", "$patch": "delete"}]}},
            "metadata.ownerReferences",
            [],
            id="owner-reference-delete",
        ),
        pytest.param({"spec": {"list": [3]}}, "spec.list", [3], id="unkeyed-list-replaced"),
    ],
)
def test_strategic_merge_patch(patch: dict[str, Any], path: str, expected: Any) -> None:
    result: Any = strategic_merge_patch(BASE, patch)
    for part in path.split("."):
        result = result[part]
    assert result == expected


LABELLED = {"metadata": {"name": "n", "namespace": "ns", "labels": {"app": "web", "tier": "front"}}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        pytest.param("app=web", True, id="equals"),
        pytest.param("app==web", True, id="double-equals"),
        pytest.param("app!=web", False, id="not-equals"),
        pytest.param("missing!=x", True, id="not-equals-absent-label"),
        pytest.param("app in (web, api)", True, id="in"),
        pytest.param("app notin (web)", False, id="notin"),
        pytest.param("tier", True, id="exists"),
        pytest.param("!tier", False, id="not-exists"),
        pytest.param("app=web,tier=back", False, id="and"),
        pytest.param("", True, id="empty-matches-all"),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert labels_match(parse_label_selector(selector), LABELLED) is matches


def test_invalid_label_selector_is_a_bad_request() -> None:
    with pytest.raises(SelectorError) as failed:
        parse_label_selector("app=we b!")
    assert failed.value.code == 400


EVENT = {
    "metadata": {"name": "e", "namespace": "ns"},
    "type": "Warning",
    "reason": "Failed",
    "involvedObject": {"kind": "Execution", "name": "x", "namespace": "ns", "uid": "u"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        pytest.param("involvedObject.name=x,involvedObject.kind=Execution", True, id="involved-object"),
        pytest.param("type!=Normal", True, id="type"),
        pytest.param("reason=Started", False, id="reason"),
        pytest.param("metadata.namespace=ns", True, id="namespace"),
    ],
)
def test_event_field_selectors(selector: str, matches: bool) -> None:
    assert fields_match(parse_field_selector(selector, ("", "events")), EVENT) is matches


def test_unknown_field_selector_is_rejected() -> None:
    with pytest.raises(SelectorError) as failed:
        parse_field_selector("spec.x=1", ("g", "things"), custom=True)
    assert failed.value.message == "field label not supported: spec.x"
