"""What `flink-manager dev` applies: examples/quickstart with exactly the two substitutions its README names."""

from __future__ import annotations

import pathlib

import yaml

from flink_manager_dev.stack import cluster_object, quickstart_objects

QUICKSTART = pathlib.Path(__file__).resolve().parents[3] / "examples" / "quickstart"


def test_the_quickstart_as_dev_applies_it() -> None:
    applied = quickstart_objects(QUICKSTART, "http://127.0.0.1:4242/job.jar", "ab" * 32)
    assert [(e.source.name, e.body["kind"]) for e in applied] == [
        ("10-artifact.yaml", "Artifact"),
        ("20-jobspec.yaml", "JobSpec"),
        ("30-execution.yaml", "Execution"),
    ]
    for example in applied:
        written = yaml.safe_load(example.source.read_text())
        if written["kind"] == "Artifact":
            assert example.body["spec"].pop("url") == "http://127.0.0.1:4242/job.jar"
            assert example.body["spec"].pop("sha256") == "ab" * 32
            del written["spec"]["url"], written["spec"]["sha256"]
        assert example.body == written


def test_the_cluster_dev_creates_in_place_of_00_flinkcluster() -> None:
    written = yaml.safe_load((QUICKSTART / "00-flinkcluster.yaml").read_text())
    created = cluster_object("http://127.0.0.1:8081", 2)
    assert (created["kind"], created["metadata"]) == (written["kind"], written["metadata"])
    assert created["spec"] == {"restUrl": "http://127.0.0.1:8081", "pollIntervalSeconds": 2}
