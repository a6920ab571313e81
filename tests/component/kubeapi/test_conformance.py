"""The embedded API held to the real thing: the same requests, the same answers, on both backends."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.component.kubeapi.conftest import GROUP, Backend
from tests.waiting import wait_for_sync

pytestmark = pytest.mark.timeout(120)


def _name() -> str:
    return f"w-{uuid.uuid4().hex[:6]}"


# --- object semantics ------------------------------------------------------------------------------------------


def test_create_sets_identity_defaults_and_drops_status(backend: Backend) -> None:
    body = backend.widget("w1")
    body["status"] = {"phase": "Bogus"}
    reply = backend.client.post(backend.widgets(), body)
    assert reply.status == 201, reply.body
    obj = reply.body
    meta = obj["metadata"]
    assert obj["apiVersion"] == f"{GROUP}/v1" and obj["kind"] == "Widget"
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["resourceVersion"].isdigit()
    assert meta["generation"] == 1
    assert obj["spec"] == {"owner": "alice", "size": 1, "mode": "fast", "flags": {"verbose": False}}
    assert "status" not in obj


def test_generate_name_appends_five_characters(backend: Backend) -> None:
    body = backend.widget("")
    body["metadata"] = {"generateName": "gen-"}
    reply = backend.client.post(backend.widgets(), body)
    assert reply.status == 201, reply.body
    assert re.fullmatch(r"gen-[a-z0-9]{5}", reply.body["metadata"]["name"])


@pytest.mark.parametrize(
    ("request_kind", "expected_status", "expected_reason"),
    [
        pytest.param("duplicate", 409, "AlreadyExists", id="create-existing"),
        pytest.param("missing", 404, "NotFound", id="get-missing"),
        pytest.param("missing-subresource", 404, "NotFound", id="unknown-subresource"),
        pytest.param("strategic", 415, "UnsupportedMediaType", id="strategic-patch-on-custom-resource"),
        pytest.param("put-without-rv", 422, "Invalid", id="put-without-resource-version"),
        pytest.param("json-patch-test", 422, "Invalid", id="json-patch-failed-test"),
    ],
)
def test_error_statuses(backend: Backend, request_kind: str, expected_status: int, expected_reason: str) -> None:
    backend.create_widget("w1")
    client = backend.client
    if request_kind == "duplicate":
        reply = client.post(backend.widgets(), backend.widget("w1"))
        assert reply.body["message"] == 'widgets.test.flinkmanager.io "w1" already exists'
        assert reply.body["details"] == {"name": "w1", "group": GROUP, "kind": "widgets"}
    elif request_kind == "missing":
        reply = client.get(backend.widgets("nope"))
        assert reply.body["message"] == 'widgets.test.flinkmanager.io "nope" not found'
    elif request_kind == "missing-subresource":
        reply = client.get(backend.widgets("w1", "scale"))
    elif request_kind == "strategic":
        reply = client.patch(backend.widgets("w1"), {"spec": {"size": 2}}, "strategic")
    elif request_kind == "put-without-rv":
        reply = client.put(backend.widgets("w1"), backend.widget("w1", size=2))
        assert reply.body["message"] == (
            'widgets.test.flinkmanager.io "w1" is invalid: metadata.resourceVersion: Invalid value: 0: '
            "must be specified for an update"
        )
    else:
        reply = client.patch(backend.widgets("w1"), [{"op": "test", "path": "/spec/size", "value": 7}], "json")
        assert reply.body["message"] == "the server rejected our request due to an error in our request"
    assert (reply.status, reply.reason) == (expected_status, expected_reason), reply.body
    assert reply.body["kind"] == "Status" and reply.body["status"] == "Failure"


@pytest.mark.parametrize("verb", ["put", "merge-patch"])
def test_stale_resource_version_conflicts(backend: Backend, verb: str) -> None:
    created = backend.create_widget("w1")
    stale = created["metadata"]["resourceVersion"]
    backend.client.patch(backend.widgets("w1"), {"spec": {"size": 2}})
    if verb == "put":
        body = backend.widget("w1", size=3)
        body["metadata"]["resourceVersion"] = stale
        reply = backend.client.put(backend.widgets("w1"), body)
    else:
        reply = backend.client.patch(
            backend.widgets("w1"), {"metadata": {"resourceVersion": stale}, "spec": {"size": 3}}
        )
    assert (reply.status, reply.reason) == (409, "Conflict")
    assert reply.body["message"] == (
        'Operation cannot be fulfilled on widgets.test.flinkmanager.io "w1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


@pytest.mark.parametrize(
    ("patch", "path", "bumps"),
    [
        pytest.param({"spec": {"size": 2}}, "", True, id="spec-change"),
        pytest.param({"metadata": {"labels": {"a": "b"}}}, "", False, id="label-change"),
        pytest.param({"status": {"phase": "Running"}}, "", False, id="status-on-main-resource-ignored"),
        pytest.param({"status": {"phase": "Running"}}, "status", False, id="status-subresource"),
        pytest.param({"spec": {"size": 1}}, "", False, id="no-op"),
    ],
)
def test_generation_and_resource_version(backend: Backend, patch: dict[str, Any], path: str, bumps: bool) -> None:
    created = backend.create_widget("w1")
    reply = backend.client.patch(backend.widgets("w1", path), patch)
    assert reply.status == 200, reply.body
    assert reply.body["metadata"]["generation"] == (2 if bumps else 1)
    changed = patch != {"spec": {"size": 1}} and not (patch.get("status") and not path)
    before, after = int(created["metadata"]["resourceVersion"]), int(reply.body["metadata"]["resourceVersion"])
    assert (after > before) == changed


def test_status_subresource_writes_only_status(backend: Backend) -> None:
    backend.create_widget("w1")
    reply = backend.client.patch(
        backend.widgets("w1", "status"),
        {"metadata": {"labels": {"x": "y"}}, "spec": {"size": 9}, "status": {"phase": "Running"}},
    )
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Running"}
    assert reply.body["spec"]["size"] == 1
    assert "labels" not in reply.body["metadata"]
    main = backend.client.patch(backend.widgets("w1"), {"status": {"phase": "Hacked"}, "spec": {"size": 4}})
    assert main.body["status"] == {"phase": "Running"} and main.body["spec"]["size"] == 4


def test_list_has_kind_and_resource_version(backend: Backend) -> None:
    backend.create_widget("a")
    backend.create_widget("b")
    reply = backend.client.get(backend.widgets())
    assert reply.body["kind"] == "WidgetList" and reply.body["apiVersion"] == f"{GROUP}/v1"
    assert reply.body["metadata"]["resourceVersion"].isdigit()
    assert [i["metadata"]["name"] for i in reply.body["items"]] == ["a", "b"]
    assert all(i["kind"] == "Widget" for i in reply.body["items"])


def test_pagination_with_limit_and_continue(backend: Backend) -> None:
    for name in ("a", "b", "c"):
        backend.create_widget(name)
    first = backend.client.get(backend.widgets() + "?limit=2")
    assert [i["metadata"]["name"] for i in first.body["items"]] == ["a", "b"]
    assert first.body["metadata"]["remainingItemCount"] == 1
    token = first.body["metadata"]["continue"]
    second = backend.client.get(backend.widgets() + f"?limit=2&continue={token}")
    assert [i["metadata"]["name"] for i in second.body["items"]] == ["c"]
    assert second.body["metadata"]["continue"] == ""  # present but empty in custom resource lists
    assert "remainingItemCount" not in second.body["metadata"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("labelSelector=tier%3Dweb", ["a"], id="equality"),
        pytest.param("labelSelector=tier%21%3Dweb", ["b", "c"], id="inequality"),
        pytest.param("labelSelector=tier+in+%28web%2Cdb%29", ["a", "b"], id="set-in"),
        pytest.param("labelSelector=%21tier", ["c"], id="does-not-exist"),
        pytest.param("fieldSelector=metadata.name%3Db", ["b"], id="field-name"),
        pytest.param("fieldSelector=metadata.name%21%3Db", ["a", "c"], id="field-name-not"),
    ],
)
def test_selectors(backend: Backend, selector: str, expected: list[str]) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", None)):
        body = backend.widget(name)
        if tier:
            body["metadata"]["labels"] = {"tier": tier}
        assert backend.client.post(backend.widgets(), body).status == 201
    reply = backend.client.get(backend.widgets() + f"?{selector}")
    assert [i["metadata"]["name"] for i in reply.body["items"]] == expected


def test_unsupported_field_selector_is_rejected(backend: Backend) -> None:
    reply = backend.client.get(backend.widgets() + "?fieldSelector=spec.owner%3Dalice")
    assert (reply.status, reply.reason) == (400, "BadRequest")
    assert reply.body["message"] == "field label not supported: spec.owner"


# --- validation --------------------------------------------------------------------------------------------------

INVALID_SPECS = [
    (
        "size-below-minimum",
        {"size": -1},
        "FieldValueInvalid",
        "spec.size",
        "Invalid value: -1: spec.size in body should be greater than or equal to 1",
    ),
    (
        "size-above-maximum",
        {"size": 101},
        "FieldValueInvalid",
        "spec.size",
        "Invalid value: 101: spec.size in body should be less than or equal to 100",
    ),
    (
        "exclusive-minimum",
        {"ratio": 0},
        "FieldValueInvalid",
        "spec.ratio",
        "Invalid value: 0: spec.ratio in body should be greater than 0",
    ),
    (
        "exclusive-maximum",
        {"ratio": 1},
        "FieldValueInvalid",
        "spec.ratio",
        "Invalid value: 1: spec.ratio in body should be less than 1",
    ),
    (
        "enum",
        {"mode": "slow"},
        "FieldValueNotSupported",
        "spec.mode",
        'Unsupported value: "slow": supported values: "fast", "safe"',
    ),
    (
        "min-length",
        {"owner": ""},
        "FieldValueInvalid",
        "spec.owner",
        'Invalid value: "": spec.owner in body should be at least 1 chars long',
    ),
    ("max-length", {"owner": "a" * 21}, "FieldValueTooLong", "spec.owner", "Too long: may not be more than 20 bytes"),
    (
        "pattern",
        {"owner": "Bad"},
        "FieldValueInvalid",
        "spec.owner",
        "Invalid value: \"Bad\": spec.owner in body should match '^[a-z][a-z0-9-]*$'",
    ),
    (
        "type",
        {"size": "big"},
        "FieldValueTypeInvalid",
        "spec.size",
        'Invalid value: "string": spec.size in body must be of type integer: "string"',
    ),
    (
        "min-items",
        {"tags": []},
        "FieldValueInvalid",
        "spec.tags",
        "Invalid value: 0: spec.tags in body should have at least 1 items",
    ),
    (
        "max-items",
        {"tags": ["a", "b", "c", "d"]},
        "FieldValueTooMany",
        "spec.tags",
        "Too many: 4: must have at most 3 items",
    ),
    ("set-duplicate", {"tags": ["a", "a"]}, "FieldValueDuplicate", "spec.tags[1]", 'Duplicate value: "a"'),
    (
        "map-duplicate",
        {"ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]},
        "FieldValueDuplicate",
        "spec.ports[1]",
        'Duplicate value: {"name":"a"}',
    ),
    (
        "max-properties",
        {"labels": {"a": "1", "b": "2", "c": "3"}},
        "FieldValueTooMany",
        "spec.labels",
        "Too many: 3: must have at most 2 items",
    ),
    (
        "format-date-time",
        {"since": "yesterday"},
        "FieldValueTypeInvalid",
        "spec.since",
        'Invalid value: "yesterday": spec.since in body must be of type date-time: "yesterday"',
    ),
    (
        "cel-message",
        {"url": "http://x"},
        "FieldValueInvalid",
        "spec.url",
        'Invalid value: "http://x": url must be https or s3',
    ),
    (
        "cel-message-expression-field-path-reason",
        {"size": 5, "maxSize": 3},
        "FieldValueForbidden",
        "spec.size",
        "Forbidden: size exceeds maxSize",
    ),
]


@pytest.mark.parametrize(
    ("spec", "reason", "field", "message"), [pytest.param(s, r, f, m, id=i) for i, s, r, f, m in INVALID_SPECS]
)
def test_invalid_objects_are_rejected_like_the_apiserver(
    backend: Backend, spec: dict[str, Any], reason: str, field: str, message: str
) -> None:
    reply = backend.client.post(backend.widgets(), backend.widget("bad", **spec))
    assert (reply.status, reply.reason) == (422, "Invalid"), reply.body
    causes = reply.body["details"]["causes"]
    assert {"reason": reason, "field": field, "message": message} in causes, causes
    assert reply.body["message"].startswith(f'Widget.{GROUP} "bad" is invalid: ')
    assert f"{field}: {message}" in reply.body["message"]


def test_missing_required_field(backend: Backend) -> None:
    body = backend.widget("bad")
    del body["spec"]["owner"]
    reply = backend.client.post(backend.widgets(), body)
    assert reply.status == 422
    assert reply.body["details"]["causes"][0] == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.owner",
    }


def test_nullable_accepts_null_and_int_or_string_accepts_both(backend: Backend) -> None:
    assert backend.client.post(backend.widgets(), backend.widget("a", note=None, target=3)).status == 201
    reply = backend.client.post(backend.widgets(), backend.widget("b", target="50%"))
    assert reply.status == 201
    assert backend.client.get(backend.widgets("a")).body["spec"]["note"] is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {"owner": "bob"}, "spec", "Invalid value: owner is immutable", id="immutable-object-value-omitted"
        ),
        pytest.param({"counter": 1}, "spec.counter", "Invalid value: 1: counter may not decrease", id="monotonic"),
    ],
)
def test_transition_rules(backend: Backend, change: dict[str, Any], field: str, message: str) -> None:
    backend.create_widget("w1", counter=5)
    reply = backend.client.patch(backend.widgets("w1"), {"spec": change})
    assert reply.status == 422, reply.body
    causes = [(c["field"], c["message"]) for c in reply.body["details"]["causes"]]
    assert causes == [(field, message)]


def test_unknown_fields_pruned_warned_or_rejected(backend: Backend) -> None:
    body = backend.widget("w1")
    body["spec"]["surprise"] = 1
    warned = backend.client.post(backend.widgets() + "?fieldValidation=Warn", body)
    assert warned.status == 201
    assert "surprise" not in warned.body["spec"]
    assert 'unknown field \\"spec.surprise\\"' in warned.headers.get("Warning", "")
    body["metadata"]["name"] = "w2"
    strict = backend.client.post(backend.widgets() + "?fieldValidation=Strict", body)
    assert (strict.status, strict.reason) == (400, "BadRequest")
    assert strict.body["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.surprise"'
    )
    body["metadata"]["name"] = "w3"
    ignored = backend.client.post(backend.widgets() + "?fieldValidation=Ignore", body)
    assert ignored.status == 201 and "Warning" not in ignored.headers


def test_unknown_fields_in_a_strict_patch_are_invalid(backend: Backend) -> None:
    backend.create_widget("w1")
    reply = backend.client.patch(backend.widgets("w1") + "?fieldValidation=Strict", {"spec": {"surprise": 1}})
    assert (reply.status, reply.reason) == (422, "Invalid"), reply.body
    assert reply.body["message"].startswith(' "" is invalid: patch: Invalid value: "{')
    assert reply.body["message"].endswith('": strict decoding error: unknown field "spec.surprise"')
    assert [c["field"] for c in reply.body["details"]["causes"]] == ["patch"]


def test_string_checks_stop_at_the_first_failure(backend: Backend) -> None:
    reply = backend.client.post(backend.widgets(), backend.widget("bad", owner="A" * 21))
    assert [(c["field"], c["reason"]) for c in reply.body["details"]["causes"]] == [
        ("spec.owner", "FieldValueTooLong"),
        ("<nil>", "FieldValueInvalid"),
    ]  # max length wins over the pattern; CEL is then skipped


def test_create_while_the_old_object_is_being_deleted(backend: Backend) -> None:
    body = backend.widget("w1")
    body["metadata"]["finalizers"] = ["test.flinkmanager.io/hold"]
    backend.client.post(backend.widgets(), body)
    backend.client.delete(backend.widgets("w1"))
    reply = backend.client.post(backend.widgets(), backend.widget("w1"))
    assert (reply.status, reply.reason) == (409, "AlreadyExists")
    assert reply.body["message"] == 'object is being deleted: widgets.test.flinkmanager.io "w1" already exists'
    backend.client.patch(backend.widgets("w1"), {"metadata": {"finalizers": None}})


def test_preserve_unknown_fields_keeps_everything(backend: Backend) -> None:
    created = backend.create_widget("w1", extra={"anything": {"goes": [1, 2]}})
    assert created["spec"]["extra"] == {"anything": {"goes": [1, 2]}}


# --- finalizers, deletion and garbage collection -------------------------------------------------------------


def test_finalizer_holds_deletion_until_removed(backend: Backend) -> None:
    body = backend.widget("w1")
    body["metadata"]["finalizers"] = ["test.flinkmanager.io/hold"]
    assert backend.client.post(backend.widgets(), body).status == 201
    deleting = backend.client.delete(backend.widgets("w1"))
    assert deleting.status == 200
    meta = deleting.body["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
    assert meta["generation"] == 2
    again = backend.client.delete(backend.widgets("w1"))
    assert again.status == 200 and again.body["metadata"]["resourceVersion"] == meta["resourceVersion"]
    added = backend.client.patch(
        backend.widgets("w1"), {"metadata": {"finalizers": ["a/b", "test.flinkmanager.io/hold"]}}
    )
    assert (added.status, added.reason) == (422, "Invalid")
    released = backend.client.patch(backend.widgets("w1"), {"metadata": {"finalizers": None}})
    assert released.status == 200
    assert backend.client.get(backend.widgets("w1")).status == 404


def test_delete_without_finalizers_answers_with_status(backend: Backend) -> None:
    created = backend.create_widget("w1")
    reply = backend.client.delete(backend.widgets("w1"))
    assert reply.status == 200
    assert reply.body["kind"] == "Status" and reply.body["status"] == "Success"
    assert reply.body["details"] == {"name": "w1", "group": GROUP, "kind": "widgets", "uid": created["metadata"]["uid"]}


def _dependent(backend: Backend, name: str, owner: dict[str, Any], block: bool = False) -> None:
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    if block:
        ref["blockOwnerDeletion"] = True
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [ref]}}
    assert backend.client.post(backend.configmaps(), body).status == 201


@pytest.mark.parametrize(
    ("policy", "dependent_survives"),
    [
        pytest.param("Background", False, id="background"),
        pytest.param("Foreground", False, id="foreground"),
        pytest.param("Orphan", True, id="orphan"),
    ],
)
def test_garbage_collection_by_propagation_policy(backend: Backend, policy: str, dependent_survives: bool) -> None:
    owner = backend.create_widget("owner")
    _dependent(backend, "dep", owner, block=True)
    reply = backend.client.delete(backend.widgets("owner"), {"propagationPolicy": policy})
    assert reply.status == 200
    wait_for_sync(lambda: backend.client.get(backend.widgets("owner")).status == 404, timeout=60, what="owner deleted")
    if dependent_survives:
        dependent = wait_for_sync(
            lambda: (
                (r := backend.client.get(backend.configmaps("dep"))).status == 200
                and not r.body["metadata"].get("ownerReferences")
                and r
            ),
            timeout=60,
            what="orphaned dependent",
        )
        assert dependent.body["metadata"]["name"] == "dep"
    else:
        wait_for_sync(
            lambda: backend.client.get(backend.configmaps("dep")).status == 404, timeout=60, what="dependent collected"
        )


def test_foreground_deletion_waits_for_blocking_dependents(backend: Backend) -> None:
    owner = backend.create_widget("owner")
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    child = backend.widget("child")
    child["metadata"]["ownerReferences"] = [ref]
    child["metadata"]["finalizers"] = ["test.flinkmanager.io/hold"]
    assert backend.client.post(backend.widgets(), child).status == 201
    reply = backend.client.delete(backend.widgets("owner"), {"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in reply.body["metadata"]["finalizers"]
    wait_for_sync(
        lambda: backend.client.get(backend.widgets("child")).body["metadata"].get("deletionTimestamp"),
        timeout=60,
        what="child marked for deletion",
    )
    assert backend.client.get(backend.widgets("owner")).status == 200
    backend.client.patch(backend.widgets("child"), {"metadata": {"finalizers": None}})
    wait_for_sync(
        lambda: backend.client.get(backend.widgets("owner")).status == 404,
        timeout=60,
        what="owner deleted after its blocking dependent",
    )


# --- managedFields -----------------------------------------------------------------------------------------------


def test_managed_fields_record_managers_and_operations(backend: Backend) -> None:
    backend.client.post(backend.widgets() + "?fieldManager=creator", backend.widget("w1"))
    backend.client.patch(backend.widgets("w1"), {"spec": {"size": 4}})  # manager from the User-Agent
    backend.client.patch(backend.widgets("w1", "status") + "?fieldManager=operator", {"status": {"phase": "Up"}})
    entries = backend.client.get(backend.widgets("w1")).body["metadata"]["managedFields"]
    summary = sorted((e["manager"], e["operation"], e.get("subresource", "")) for e in entries)
    assert summary == [("conformance-test", "Update", ""), ("creator", "Update", ""), ("operator", "Update", "status")]
    by_manager = {e["manager"]: e for e in entries}
    assert by_manager["conformance-test"]["fieldsV1"] == {"f:spec": {"f:size": {}}}
    assert by_manager["operator"]["fieldsV1"] == {"f:status": {".": {}, "f:phase": {}}}
    assert by_manager["creator"]["fieldsV1"] == {
        "f:spec": {".": {}, "f:flags": {".": {}, "f:verbose": {}}, "f:mode": {}, "f:owner": {}}
    }
    assert all(e["fieldsType"] == "FieldsV1" and e["apiVersion"] == f"{GROUP}/v1" for e in entries)


def test_server_side_apply_creates_and_reports_conflicts(backend: Backend) -> None:
    manifest = (
        "apiVersion: test.flinkmanager.io/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  owner: alice\n  size: 2\n"
    )
    created = backend.client.patch(backend.widgets("w1") + "?fieldManager=gitops", manifest, "apply")
    assert created.status == 201, created.body
    assert [(e["manager"], e["operation"]) for e in created.body["metadata"]["managedFields"]] == [("gitops", "Apply")]
    backend.client.patch(backend.widgets("w1") + "?fieldManager=human", {"spec": {"size": 3}})
    conflict = backend.client.patch(backend.widgets("w1") + "?fieldManager=gitops", manifest, "apply")
    assert (conflict.status, conflict.reason) == (409, "Conflict")
    assert conflict.body["message"] == (
        'Apply failed with 1 conflict: conflict with "human" using test.flinkmanager.io/v1: .spec.size'
    )
    forced = backend.client.patch(backend.widgets("w1") + "?fieldManager=gitops&force=true", manifest, "apply")
    assert forced.status == 200 and forced.body["spec"]["size"] == 2


# --- tables ------------------------------------------------------------------------------------------------------


def test_table_has_name_and_printer_columns(backend: Backend) -> None:
    backend.create_widget("w1", size=3)
    backend.client.patch(
        backend.widgets("w1", "status"),
        {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
    )
    reply = backend.client.get(
        backend.widgets(), headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    )
    assert reply.body["kind"] == "Table" and reply.body["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in reply.body["columnDefinitions"]] == ["Name", "Size", "Mode", "Phase", "Ready", "Age"]
    cells = reply.body["rows"][0]["cells"]
    assert cells[:5] == ["w1", 3, "fast", "Running", "True"]
    assert re.fullmatch(r"\d+s", cells[5])
    assert reply.body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


# --- watch -------------------------------------------------------------------------------------------------------


def test_watch_from_resource_version_sees_later_events(backend: Backend) -> None:
    created = backend.create_widget("w1")
    backend.client.patch(backend.widgets("w1"), {"spec": {"size": 2}})
    backend.client.delete(backend.widgets("w1"))
    events = backend.client.watch(
        backend.widgets() + f"?watch=true&resourceVersion={created['metadata']['resourceVersion']}", count=2
    )
    assert [(e["type"], e["object"]["spec"]["size"]) for e in events] == [("MODIFIED", 2), ("DELETED", 2)]
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(
        events[0]["object"]["metadata"]["resourceVersion"]
    )


def test_watch_without_resource_version_starts_with_current_state(backend: Backend) -> None:
    backend.create_widget("a")
    backend.create_widget("b")
    events = backend.client.watch(backend.widgets() + "?watch=true", count=2)
    assert sorted((e["type"], e["object"]["metadata"]["name"]) for e in events) == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_with_label_selector_turns_relabels_into_added_and_deleted(backend: Backend) -> None:
    created = backend.create_widget("w1")
    backend.client.patch(backend.widgets("w1"), {"metadata": {"labels": {"tier": "web"}}})
    backend.client.patch(backend.widgets("w1"), {"metadata": {"labels": {"tier": "db"}}})
    rv = created["metadata"]["resourceVersion"]
    events = backend.client.watch(
        backend.widgets() + f"?watch=true&labelSelector=tier%3Dweb&resourceVersion={rv}", count=2
    )
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


# --- events in two API groups ------------------------------------------------------------------------------------


def test_core_events_are_served_as_events_k8s_io(backend: Backend) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "involvedObject": {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "name": "w1", "namespace": backend.namespace},
        "reason": "Started",
        "message": "it started",
        "type": "Normal",
        "count": 2,
        "source": {"component": "toy"},
        "reportingComponent": "toy",
        "reportingInstance": "toy-1",
        "firstTimestamp": "2025-01-01T00:00:00Z",
        "lastTimestamp": "2025-01-01T00:00:01Z",
    }
    created = backend.client.post(f"/api/v1/namespaces/{backend.namespace}/events", event)
    assert created.status == 201, created.body
    path = f"/apis/events.k8s.io/v1/namespaces/{backend.namespace}/events"
    seen = backend.client.get(f"{path}/e1").body
    assert seen["apiVersion"] == "events.k8s.io/v1" and seen["kind"] == "Event"
    assert (seen["regarding"]["name"], seen["note"], seen["reportingController"]) == ("w1", "it started", "toy")
    assert (seen["deprecatedCount"], seen["deprecatedSource"]) == (2, {"component": "toy"})
    selected = backend.client.get(f"{path}?fieldSelector=regarding.name%3Dw1").body
    assert [i["metadata"]["name"] for i in selected["items"]] == ["e1"]
    assert seen["metadata"]["resourceVersion"] == created.body["metadata"]["resourceVersion"]


# --- CRD validation ----------------------------------------------------------------------------------------------

COST_BUDGET = (
    "exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, "
    "maxProperties, and maxLength where arrays, maps, and strings are declared)"
)


@pytest.mark.parametrize(
    ("rule", "accepted"),
    [
        pytest.param(
            {"rule": "self >= 0", "messageExpression": "'negative: ' + string(self)"},
            False,
            id="message-expression-concatenating-string-conversion",
        ),
        pytest.param({"rule": "'a' + string(self) == 'a1'"}, False, id="rule-concatenating-string-conversion"),
        pytest.param({"rule": "self >= 0", "messageExpression": "self > 5 ? 'big' : 'small'"}, True, id="cheap"),
        pytest.param({"rule": "string(self) == '1'"}, True, id="conversion-without-concatenation"),
    ],
)
def test_crd_rules_over_the_cost_budget_are_rejected(backend: Backend, rule: dict[str, str], accepted: bool) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "probes.cost.flinkmanager.io"},
        "spec": {
            "group": "cost.flinkmanager.io",
            "scope": "Namespaced",
            "names": {"kind": "Probe", "plural": "probes"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"x": {"type": "integer", "x-kubernetes-validations": [rule]}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    reply = backend.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All", crd)
    if accepted:
        assert reply.status == 201, reply.body
        return
    key = "rule" if "string(self)" in rule["rule"] else "messageExpression"
    field = f"spec.validation.openAPIV3Schema.properties[spec].properties[x].x-kubernetes-validations[0].{key}"
    assert (reply.status, reply.reason) == (422, "Invalid")
    assert reply.body["details"]["causes"] == [
        {"reason": "FieldValueForbidden", "field": field, "message": f"Forbidden: estimated {key} cost {COST_BUDGET}"},
        {
            "reason": "FieldValueForbidden",
            "field": field,
            "message": "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
        },
        {
            "reason": "FieldValueForbidden",
            "field": "spec.validation.openAPIV3Schema",
            "message": f"Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema {COST_BUDGET}",
        },
    ]


# --- more of the same, found while comparing ---------------------------------------------------------------------


def test_discovery_lists_the_custom_resource(backend: Backend) -> None:
    reply = backend.client.get(f"/apis/{GROUP}/v1")
    assert reply.body["kind"] == "APIResourceList" and reply.body["groupVersion"] == f"{GROUP}/v1"
    by_name = {r["name"]: r for r in reply.body["resources"]}
    widgets = by_name["widgets"]
    assert (widgets["kind"], widgets["singularName"], widgets["namespaced"]) == ("Widget", "widget", True)
    assert widgets["shortNames"] == ["wdg"] and widgets["categories"] == ["flinkmanager-test"]
    assert sorted(widgets["verbs"]) == sorted(
        ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
    )
    status = by_name["widgets/status"]
    assert (status["kind"], sorted(status["verbs"])) == ("Widget", ["get", "patch", "update"])
    group = backend.client.get(f"/apis/{GROUP}").body
    assert group["preferredVersion"] == {"groupVersion": f"{GROUP}/v1", "version": "v1"}


def test_crd_status_reports_established_names(backend: Backend) -> None:
    crd = backend.client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.flinkmanager.io")
    status = crd.body["status"]
    conditions = {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}
    assert conditions["NamesAccepted"] == ("True", "NoConflicts", "no conflicts found")
    assert conditions["Established"] == ("True", "InitialNamesAccepted", "the initial names have been accepted")
    assert status["acceptedNames"] == {
        "kind": "Widget",
        "listKind": "WidgetList",
        "plural": "widgets",
        "singular": "widget",
        "shortNames": ["wdg"],
        "categories": ["flinkmanager-test"],
    }
    assert status["storedVersions"] == ["v1"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "Bad_Name",
            'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist '
            "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            id="bad-name",
        ),
        pytest.param("", "metadata.name: Required value: name or generateName is required", id="no-name"),
    ],
)
def test_object_names_are_validated(backend: Backend, name: str, message: str) -> None:
    reply = backend.client.post(
        backend.configmaps(), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    )
    assert (reply.status, reply.reason) == (422, "Invalid")
    assert reply.body["message"] == f'ConfigMap "{name}" is invalid: {message}'


def test_create_in_a_missing_namespace(backend: Backend) -> None:
    reply = backend.client.post(
        "/api/v1/namespaces/does-not-exist/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    )
    assert (reply.status, reply.reason, reply.body["message"]) == (
        404,
        "NotFound",
        'namespaces "does-not-exist" not found',
    )


def test_strategic_merge_patch_on_built_in_lists(backend: Backend) -> None:
    owner = backend.create_widget("owner")
    ref = {"apiVersion": owner["apiVersion"], "kind": "Widget", "name": "owner", "uid": owner["metadata"]["uid"]}
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "finalizers": ["a.io/x"]},
        "data": {"k": "v"},
    }
    backend.client.post(backend.configmaps(), body)
    reply = backend.client.patch(
        backend.configmaps("c"),
        {"metadata": {"finalizers": ["a.io/y"], "ownerReferences": [ref]}, "data": {"k2": "v2"}},
        "strategic",
    )
    assert reply.status == 200, reply.body
    assert reply.body["metadata"]["finalizers"] == ["a.io/y", "a.io/x"]  # patch items first, then the rest
    assert reply.body["data"] == {"k": "v", "k2": "v2"}
    deleted = backend.client.patch(
        backend.configmaps("c"),
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/x", "a.io/y"]}},
        "strategic",
    )
    assert "finalizers" not in deleted.body["metadata"]


def test_delete_collection_by_label(backend: Backend) -> None:
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        body = backend.widget(name)
        body["metadata"]["labels"] = {"tier": tier}
        backend.client.post(backend.widgets(), body)
    reply = backend.client.delete(backend.widgets() + "?labelSelector=tier%3Dweb")
    assert reply.status == 200
    assert [i["metadata"]["name"] for i in backend.client.get(backend.widgets()).body["items"]] == ["c"]


def test_apply_requires_a_field_manager(backend: Backend) -> None:
    manifest = "apiVersion: test.flinkmanager.io/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  owner: alice\n"
    reply = backend.client.patch(backend.widgets("w1"), manifest, "apply")
    assert (reply.status, reply.reason) == (422, "Invalid")
    assert [(c["field"], c["message"]) for c in reply.body["details"]["causes"]] == [
        ("fieldManager", "Required value: is required for apply patch")
    ]


def test_defaults_are_applied_on_read_after_the_schema_gains_one(backend: Backend) -> None:
    import copy

    from tests.component.kubeapi.conftest import WIDGETS_CRD, install_crd

    backend.create_widget("w1")
    crd = copy.deepcopy(WIDGETS_CRD)
    spec_props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec_props["note"]["default"] = "added later"
    try:
        install_crd(backend.client, crd)
        seen = wait_for_sync(
            lambda: backend.client.get(backend.widgets("w1")).body["spec"].get("note"),
            timeout=30,
            what="the new default served",
        )
        assert seen == "added later"
    finally:
        install_crd(backend.client, WIDGETS_CRD)


def test_watch_sees_the_finalizer_flow(backend: Backend) -> None:
    body = backend.widget("w1")
    body["metadata"]["finalizers"] = ["test.flinkmanager.io/hold"]
    created = backend.client.post(backend.widgets(), body).body
    backend.client.delete(backend.widgets("w1"))
    backend.client.patch(backend.widgets("w1"), {"metadata": {"finalizers": None}})
    events = backend.client.watch(
        backend.widgets() + f"?watch=true&resourceVersion={created['metadata']['resourceVersion']}", count=2
    )
    summary = [
        (e["type"], bool(e["object"]["metadata"].get("deletionTimestamp")), e["object"]["metadata"].get("finalizers"))
        for e in events
    ]
    # The DELETED event carries the last stored version: the finalizer is still listed there.
    assert summary == [
        ("MODIFIED", True, ["test.flinkmanager.io/hold"]),
        ("DELETED", True, ["test.flinkmanager.io/hold"]),
    ]


def test_status_put_replaces_only_status(backend: Backend) -> None:
    created = backend.create_widget("w1")
    created["status"] = {"phase": "Running"}
    created["spec"]["size"] = 50
    reply = backend.client.put(backend.widgets("w1", "status") + "?fieldManager=op", created)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Running"} and reply.body["spec"]["size"] == 1
    entry = next(e for e in reply.body["metadata"]["managedFields"] if e["manager"] == "op")
    assert (entry["operation"], entry["subresource"], entry["fieldsV1"]) == (
        "Update",
        "status",
        {"f:status": {".": {}, "f:phase": {}}},
    )


def test_create_with_a_resource_version_is_refused(backend: Backend) -> None:
    body = backend.widget("w1")
    body["metadata"]["resourceVersion"] = "12"
    reply = backend.client.post(backend.widgets(), body)
    assert (reply.status, reply.reason, reply.body["message"]) == (
        500,
        None,
        "resourceVersion should not be set on objects to be created",
    )


def test_crd_spec_change_bumps_its_generation(backend: Backend) -> None:
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.flinkmanager.io"
    before = backend.client.get(path).body["metadata"]["generation"]
    changed = backend.client.patch(path, [{"op": "add", "path": "/spec/names/shortNames/-", "value": "wdgt"}], "json")
    try:
        assert changed.status == 200, changed.body
        assert changed.body["metadata"]["generation"] == before + 1
        assert wait_for_sync(
            lambda: "wdgt" in (backend.client.get(path).body["status"]["acceptedNames"].get("shortNames") or []),
            timeout=30,
            what="accepted names updated",
        )
    finally:
        backend.client.patch(path, [{"op": "remove", "path": "/spec/names/shortNames/1"}], "json")


def test_namespace_deletion_terminates_then_removes(backend: Backend) -> None:
    name = f"{backend.namespace}-x"
    backend.client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    created = backend.client.get(f"/api/v1/namespaces/{name}").body
    assert created["spec"] == {"finalizers": ["kubernetes"]} and created["status"] == {"phase": "Active"}
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": name}
    reply = backend.client.delete(f"/api/v1/namespaces/{name}")
    assert reply.status == 200 and reply.body["kind"] == "Namespace"
    assert reply.body["status"]["phase"] == "Terminating"
    wait_for_sync(
        lambda: backend.client.get(f"/api/v1/namespaces/{name}").status == 404, timeout=60, what="namespace removed"
    )


def test_protected_namespaces_cannot_be_deleted(backend: Backend) -> None:
    reply = backend.client.delete("/api/v1/namespaces/default")
    assert (reply.status, reply.reason, reply.body["message"]) == (
        403,
        "Forbidden",
        'namespaces "default" is forbidden: this namespace may not be deleted',
    )


def test_list_resource_version_semantics(backend: Backend) -> None:
    created = backend.create_widget("w1")
    rv = created["metadata"]["resourceVersion"]
    ok = backend.client.get(backend.widgets() + f"?resourceVersion={rv}&resourceVersionMatch=NotOlderThan")
    assert ok.status == 200 and [i["metadata"]["name"] for i in ok.body["items"]] == ["w1"]
    bad = backend.client.get(backend.widgets() + "?resourceVersionMatch=NotOlderThan")
    assert (bad.status, bad.reason, bad.body["message"]) == (
        422,
        "Invalid",
        (
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden '
            "unless resourceVersion is provided"
        ),
    )
    future = backend.client.get(
        backend.widgets() + f"?resourceVersion={int(rv) + 10**9}&resourceVersionMatch=NotOlderThan", timeout=30
    )
    assert (future.status, future.reason) == (504, "Timeout")
    assert future.body["message"].startswith(f"Timeout: Too large resource version: {int(rv) + 10**9}, current: ")


def test_crd_rules_naming_undefined_fields_do_not_compile(backend: Backend) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "probes.cost.flinkmanager.io"},
        "spec": {
            "group": "cost.flinkmanager.io",
            "scope": "Namespaced",
            "names": {"kind": "Probe", "plural": "probes"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-validations": [{"rule": "self.nope > 0"}],
                                    "properties": {"x": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    reply = backend.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All", crd)
    assert (reply.status, reply.reason) == (422, "Invalid")
    assert reply.body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule",
            "message": 'Invalid value: {"Rule":"self.nope \\u003e 0","Message":"","MessageExpression":"","Reason":null,'
            '"FieldPath":"","OptionalOldSelf":null}: compilation failed: ERROR: <input>:1:5: undefined field '
            "'nope'\n | self.nope > 0\n | ....^",
        }
    ]


def test_aggregated_discovery(backend: Backend) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    reply = backend.client.get("/apis", headers={"Accept": accept})
    assert reply.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert reply.body["kind"] == "APIGroupDiscoveryList" and reply.body["apiVersion"] == "apidiscovery.k8s.io/v2"
    group = next(i for i in reply.body["items"] if i["metadata"]["name"] == GROUP)
    assert group["versions"][0]["version"] == "v1" and group["versions"][0]["freshness"] == "Current"
    widgets = next(r for r in group["versions"][0]["resources"] if r["resource"] == "widgets")
    kind = {"group": GROUP, "version": "v1", "kind": "Widget"}
    assert widgets == {
        "resource": "widgets",
        "responseKind": kind,
        "scope": "Namespaced",
        "singularResource": "widget",
        "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
        "shortNames": ["wdg"],
        "categories": ["flinkmanager-test"],
        "subresources": [{"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}],
    }
    core = backend.client.get("/api", headers={"Accept": accept}).body
    configmaps = next(r for r in core["items"][0]["versions"][0]["resources"] if r["resource"] == "configmaps")
    assert configmaps["responseKind"] == {"group": "", "version": "", "kind": "ConfigMap"}
    assert core["items"][0]["metadata"] == {}
