"""Artifacts from private sources on a real kube-apiserver, run on real Flink 2.3: the example job's JAR pushed
with `flink-manager artifact push` to an S3 server that checks signatures (moto, over HTTPS with a CA the test
made) and applied with `kubectl apply` of what push printed; and the same JAR as a release in a Maven repository
behind basic authentication. The operator reads the Secrets under deploy/rbac.yaml (`get` only; every test of
this tier fails on an RBAC refusal), and no Secret value appears in its log, the statuses or the Events."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from flink_manager_dev.s3 import S3Server
from tests.e2e.conftest import EndToEnd
from tests.infra.artifact_servers import MavenRepository, sha256
from tests.infra.jobjar import example_job_jar
from tests.infra.tls import LocalCA

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]

ENTRY_CLASS = "io.flinkmanager.examples.StatefulCounterJob"
BUCKET = "flink-jobs"
FLINK_MANAGER = str(Path(sys.executable).parent / "flink-manager")


@dataclass
class Sources:
    ca: LocalCA
    s3: S3Server
    repository: MavenRepository
    username: str
    password: str


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sources]:
    """moto's S3 server (a bucket, nothing in it) and a Maven repository with the example job as a release."""
    folder = tmp_path_factory.mktemp("artifact-sources")
    ca = LocalCA.create(folder / "pki")
    certificate = ca.issue("servers", "IP:127.0.0.1", "DNS:localhost")
    username, password = f"deployer-{secrets.token_hex(4)}", secrets.token_hex(16)
    repository = MavenRepository(
        folder / "repository", certificate, username=username, password=password, token=secrets.token_hex(24)
    ).start()
    repository.publish_release("io.flinkmanager.examples", "stateful-counter", "0.1.0", example_job_jar().read_bytes())
    s3 = S3Server(
        certificate=certificate.certificate, key=certificate.key, ca_bundle=ca.certificate, log_path=folder / "moto.log"
    )
    try:
        asyncio.run(s3.start())
        asyncio.run(s3.create_bucket(BUCKET))
        yield Sources(ca, s3, repository, username, password)
    finally:
        asyncio.run(s3.stop())
        repository.stop()


def secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "stringData": data}


def job(e2e: EndToEnd, artifact: str) -> list[dict[str, Any]]:
    """The FlinkCluster of the real Flink, a JobSpec of the artifact, an Execution cancelled when deleted."""
    cluster = e2e.quickstart("00")
    job_spec = {
        "apiVersion": "flinkmanager.io/v1alpha1",
        "kind": "JobSpec",
        "metadata": {"name": artifact},
        "spec": {"artifactRef": {"name": artifact}, "entryClass": ENTRY_CLASS, "parallelism": 1},
    }
    execution = {
        "apiVersion": "flinkmanager.io/v1alpha1",
        "kind": "Execution",
        "metadata": {"name": f"{artifact}-1"},
        "spec": {"jobSpecRef": {"name": artifact}, "deletionPolicy": "cancel"},
    }
    return [*cluster, job_spec, execution]


def runs_on_flink(e2e: EndToEnd, artifact: str) -> dict[str, Any]:
    """Apply the job, wait for its Execution to run on Flink, then delete it (the job is cancelled)."""
    e2e.apply(*job(e2e, artifact))
    running = e2e.wait_phase(f"{artifact}-1", "Running")
    job_id = running["status"]["flinkJobId"]
    e2e.wait_flink_state(job_id, "RUNNING")
    e2e.kubectl("delete", f"fex/{artifact}-1", "--timeout=120s")
    assert e2e.flink_jobs()[job_id] == "CANCELED"
    return running


def assert_no_secret_value(e2e: EndToEnd, mark: int, values: list[str]) -> None:
    """What the test produced that anyone could read: the operator's log during it, and the namespace's objects
    (statuses, history) and Events. The Secret's name is there; its values are not."""
    produced = e2e.operator.log_since(mark) + e2e.kubectl("get", "fc,fa,fjs,fex,events", "-o", "json")
    assert "verified Artifact" in produced
    for value in values:
        assert value not in produced, "a Secret value appears in the operator's log, a status or an Event"


def test_a_jar_pushed_to_s3_runs_on_flink(e2e: EndToEnd, sources: Sources, tmp_path: Path) -> None:
    mark = e2e.operator.mark()
    keys = sources.s3.keys
    assert keys is not None
    e2e.apply(secret("s3-reader", keys.secret_data()), secret("artifacts-ca", {"ca.crt": sources.ca.pem}))
    jar = example_job_jar()
    pushed = subprocess.run(
        [
            FLINK_MANAGER,
            "artifact",
            "push",
            str(jar),
            "--to",
            f"s3://{BUCKET}/counter/0.1.0/counter.jar",
            "--endpoint",
            sources.s3.endpoint,
            "--path-style",
            "--ca-bundle",
            str(sources.ca.certificate),
            "--credentials-secret",
            "s3-reader",
            "--ca-secret",
            "artifacts-ca",
            "--name",
            "counter",
            "--version",
            "0.1.0",
        ],
        env={**os.environ, **keys.secret_data()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr
    assert "uploaded flink-manager-example-job.jar" in pushed.stderr
    printed = yaml.safe_load(pushed.stdout)
    assert printed["spec"]["sha256"] == sha256(jar.read_bytes())
    assert printed["spec"]["entryClasses"] == [ENTRY_CLASS]
    e2e.kubectl("apply", "-f", "-", input=pushed.stdout)

    e2e.kubectl("wait", "--for=condition=Ready", "fa/counter", "--timeout=120s")
    artifact = e2e.get("fa/counter")
    assert artifact is not None
    assert artifact["status"]["resolved"] == {
        "url": f"s3://{BUCKET}/counter/0.1.0/counter.jar",
        "verifiedBy": "spec.sha256",
    }
    runs_on_flink(e2e, "counter")
    assert_no_secret_value(e2e, mark, list(keys.secret_data().values()))


def test_a_maven_release_runs_on_flink(e2e: EndToEnd, sources: Sources) -> None:
    mark = e2e.operator.mark()
    e2e.apply(
        secret("maven-reader", {"username": sources.username, "password": sources.password}),
        secret("artifacts-ca", {"ca.crt": sources.ca.pem}),
    )
    e2e.apply(
        {
            "apiVersion": "flinkmanager.io/v1alpha1",
            "kind": "Artifact",
            "metadata": {"name": "counter-maven"},
            "spec": {
                "maven": {
                    "repository": sources.repository.url,
                    "groupId": "io.flinkmanager.examples",
                    "artifactId": "stateful-counter",
                    "version": "0.1.0",
                },
                "credentialsSecretRef": {"name": "maven-reader"},
                "caSecretRef": {"name": "artifacts-ca"},
                "entryClasses": [ENTRY_CLASS],
            },
        }
    )
    e2e.kubectl("wait", "--for=condition=Ready", "fa/counter-maven", "--timeout=120s")
    artifact = e2e.get("fa/counter-maven")
    assert artifact is not None
    assert artifact["status"]["sha256"] == sha256(example_job_jar().read_bytes())  # checked against the .sha1
    assert artifact["status"]["resolved"]["verifiedBy"] == "stateful-counter-0.1.0.jar.sha1"
    assert sum(1 for s in sources.repository.seen if s.authorization) >= 2  # it asked with the credentials
    runs_on_flink(e2e, "counter-maven")
    assert_no_secret_value(e2e, mark, [sources.password])
    assert json.loads(e2e.kubectl("get", "fa/counter-maven", "-o", "json"))["status"]["phase"] == "Ready"
