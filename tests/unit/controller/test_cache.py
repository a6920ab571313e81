"""The cache keeps slim, independent bodies whose repeated strings are shared between objects."""

from __future__ import annotations

import json

from flink_manager.controller.cache import SHARED_STRING_LENGTH, SPEC_MANAGER, Cache


def execution(name: str, resource_version: str, *, uid: str = "uid-1") -> dict:
    """An Execution as a JSON answer parses it: every string a new object."""
    return json.loads(
        json.dumps(
            {
                "apiVersion": "flinkmanager.io/v1alpha1",
                "kind": "Execution",
                "metadata": {
                    "name": name,
                    "namespace": "team-a",
                    "uid": uid,
                    "resourceVersion": resource_version,
                    "managedFields": [
                        {
                            "manager": "kubectl",
                            "operation": "Apply",
                            "fieldsType": "FieldsV1",
                            "fieldsV1": {"f:spec": {"f:state": {}}},
                        }
                    ],
                },
                "spec": {"jobSpecRef": {"name": "job"}, "state": "Running"},
                "status": {
                    "phase": "Running",
                    "history": [
                        {
                            "seq": 1,
                            "action": "START",
                            "from": "Pending",
                            "to": "Running",
                            "by": "operator",
                            "message": "m" * (SHARED_STRING_LENGTH + 1),
                        }
                    ],
                },
            }
        )
    )


def test_bodies_of_different_objects_share_their_keys_and_short_strings() -> None:
    cache = Cache()
    cache.put("Execution", execution("a", "1", uid="uid-a"))
    cache.put("Execution", execution("b", "1", uid="uid-b"))
    a, b = cache.get("Execution", "team-a", "a"), cache.get("Execution", "team-a", "b")
    assert a is not None and b is not None
    key_a = next(k for k in a["status"]["history"][0] if k == "action")
    key_b = next(k for k in b["status"]["history"][0] if k == "action")
    assert key_a is key_b
    assert a["status"]["phase"] is b["status"]["phase"]
    assert a["status"]["history"][0]["message"] == b["status"]["history"][0]["message"]
    assert a["status"]["history"][0]["message"] is not b["status"]["history"][0]["message"]  # long: not shared


def test_a_cached_body_is_slim_and_independent_of_the_body_it_came_from() -> None:
    cache = Cache()
    body = execution("a", "1")
    cache.put("Execution", body)
    body["status"]["history"][0]["action"] = "CHANGED"
    body["spec"]["state"] = "Stopped"
    cached = cache.get("Execution", "team-a", "a")
    assert cached is not None
    assert cached["status"]["history"][0]["action"] == "START"
    assert cached["spec"]["state"] == "Running"
    assert "managedFields" not in cached["metadata"]
    assert cached["metadata"]["annotations"][SPEC_MANAGER] == "kubectl"


def test_an_older_version_is_not_news() -> None:
    cache = Cache()
    assert cache.put("Execution", execution("a", "5"))
    assert not cache.put("Execution", execution("a", "4"))
    assert cache.put("Execution", execution("a", "6"))
