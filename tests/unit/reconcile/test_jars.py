"""Jar housekeeping decisions: what is deleted, what is forgotten, and when."""

from __future__ import annotations

import datetime

import pytest

from flink_manager.api.artifact import ArtifactUpload
from flink_manager.reconcile.jars import jar_file_name, own_jar_prefix, plan_housekeeping

AT = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
OLD, NEW = "a" * 64, "b" * 64


def upload(jar_id: str, sha: str) -> ArtifactUpload:
    return ArtifactUpload(cluster="default", jar_id=jar_id, sha256=sha, uploaded_at=AT)


def plan(uploads, in_use, cluster_jars, since=None, now=1000.0, grace=600.0):  # type: ignore[no-untyped-def]
    return plan_housekeeping(
        uploads, in_use, cluster_jars, since or {}, now=now, grace=grace, own_prefix=own_jar_prefix("team-a", "default")
    )


@pytest.mark.parametrize(
    ("since", "now", "deleted"),
    [
        pytest.param({}, 1000.0, (), id="first-seen-unused-is-kept"),
        pytest.param({"j-old": 500.0}, 1000.0, (), id="within-grace-is-kept"),
        pytest.param({"j-old": 400.0}, 1000.0, ("j-old",), id="past-grace-is-deleted"),
    ],
)
def test_an_unused_upload_is_deleted_after_the_grace_period(
    since: dict[str, float],
    now: float,
    deleted: tuple[str, ...],
) -> None:
    result = plan(
        {"art": [upload("j-old", OLD), upload("j-new", NEW)]},
        {("art", NEW)},
        {
            "j-old": jar_file_name("team-a", "default", "art", OLD),
            "j-new": jar_file_name("team-a", "default", "art", NEW),
        },
        since,
        now,
    )
    assert result.delete == deleted
    assert result.forget == ({"art": deleted} if deleted else {})
    if not deleted:
        assert result.unreferenced_since["j-old"] == since.get("j-old", now)
    assert "j-new" not in result.unreferenced_since


def test_an_upload_in_use_is_never_deleted_and_its_clock_resets() -> None:
    result = plan(
        {"art": [upload("j", OLD)]}, {("art", OLD)}, {"j": jar_file_name("team-a", "default", "art", OLD)}, {"j": 0.0}
    )
    assert result.delete == () and result.unreferenced_since == {}


def test_a_record_of_a_jar_the_cluster_lost_is_forgotten_at_once() -> None:
    result = plan({"art": [upload("gone", OLD)]}, {("art", OLD)}, {})
    assert result.forget == {"art": ("gone",)}
    assert result.delete == ()


def test_an_unrecorded_jar_of_the_operator_is_deleted_after_grace_but_others_jars_are_left_alone() -> None:
    cluster = {"orphan": jar_file_name("team-a", "default", "art", OLD), "theirs": "someone-elses.jar"}
    assert plan({}, set(), cluster).delete == ()
    assert plan({}, set(), cluster, {"orphan": 0.0, "theirs": 0.0}).delete == ("orphan",)


def test_the_jars_of_another_flinkcluster_on_the_same_flink_are_not_orphans_of_this_one() -> None:
    cluster = {
        "other-namespace": jar_file_name("team-b", "default", "art", OLD),
        "other-cluster": jar_file_name("team-a", "default-2", "art", OLD),
        "hand-uploaded": "flink-manager-example-job.jar",
        "orphan": jar_file_name("team-a", "default", "art", OLD),
    }
    assert plan({}, set(), cluster, dict.fromkeys(cluster, 0.0)).delete == ("orphan",)
