"""`flink-manager artifact push` against moto's S3 server (signatures enforced, HTTPS with the test CA) and the
embedded Kubernetes API: the upload (multipart above 16 MiB), the Artifact it prints or applies, and its errors."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import pathlib
import uuid
import zipfile
from collections.abc import AsyncIterator

import pytest
import yaml

from flink_manager.cli import main
from flink_manager.kube.client import ARTIFACTS, Credentials, KubeClient
from flink_manager_dev.kubeapi import EmbeddedKubernetes
from flink_manager_dev.s3 import S3Server
from tests.component.conftest import REPO, ArtifactPKI

ENTRY_CLASS = "com.example.jobs.Push"
BUCKET = "pushed"


def jar_of(path: pathlib.Path, payload_bytes: int) -> pathlib.Path:
    """A JAR with an incompressible payload, so that its size is what is asked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nEntry-Class: {ENTRY_CLASS}\n")
        archive.writestr("payload.bin", os.urandom(payload_bytes), compress_type=zipfile.ZIP_STORED)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
async def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server with the bucket, and its keys in the environment, where push (botocore) finds them."""
    assert s3_server.keys is not None
    for name, value in s3_server.keys.secret_data().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    async with s3_server.client() as client:
        buckets = [b["Name"] for b in (await client.list_buckets())["Buckets"]]
    if BUCKET not in buckets:
        await s3_server.create_bucket(BUCKET)
    return s3_server


@pytest.fixture
async def api(tmp_path: pathlib.Path) -> AsyncIterator[EmbeddedKubernetes]:
    server = EmbeddedKubernetes(crds=[REPO / "crds"])
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def push(*args: str) -> int:
    return await asyncio.to_thread(main, ["artifact", "push", *args])


async def test_a_large_jar_is_uploaded_in_parts_and_its_artifact_printed(
    s3: S3Server, artifact_pki: ArtifactPKI, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jar = jar_of(tmp_path / "big-job-2.0.jar", 20 * 1024 * 1024)
    key = f"jobs/{uuid.uuid4().hex[:6]}/big-job.jar"
    code = await push(
        str(jar),
        "--to",
        f"s3://{BUCKET}/{key}",
        "--endpoint",
        s3.endpoint,
        "--path-style",
        "--ca-bundle",
        str(artifact_pki.ca.certificate),
        "--credentials-secret",
        "reader",
        "--version",
        "2.0",
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    digest = hashlib.sha256(jar.read_bytes()).hexdigest()
    artifact = yaml.safe_load(out)
    assert artifact["metadata"] == {"name": "big-job-2.0"}
    assert artifact["spec"] == {
        "url": f"s3://{BUCKET}/{key}",
        "sha256": digest,
        "s3": {"endpoint": s3.endpoint, "pathStyle": True},
        "credentialsSecretRef": {"name": "reader"},
        "version": "2.0",
        "entryClasses": [ENTRY_CLASS],
    }
    assert out.startswith(f"# big-job-2.0.jar: {jar.stat().st_size} bytes, sha256 {digest}\n")
    async with s3.client() as client:
        head = await client.head_object(Bucket=BUCKET, Key=key)
        body = await (await client.get_object(Bucket=BUCKET, Key=key))["Body"].read()
    assert head["ETag"].strip('"').endswith("-2")  # S3's ETag of a multipart upload of two parts
    assert hashlib.sha256(body).hexdigest() == digest


async def test_apply_creates_the_artifact_and_a_second_push_replaces_its_spec(
    s3: S3Server,
    artifact_pki: ArtifactPKI,
    api: EmbeddedKubernetes,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    api.write_kubeconfig(kubeconfig)
    common = (
        "--endpoint",
        s3.endpoint,
        "--path-style",
        "--ca-bundle",
        str(artifact_pki.ca.certificate),
        "--name",
        "job",
        "--kubeconfig",
        str(kubeconfig),
        "--namespace",
        "default",
        "--apply",
    )
    first, second = jar_of(tmp_path / "a.jar", 1024), jar_of(tmp_path / "b.jar", 2048)
    assert await push(str(first), "--to", f"s3://{BUCKET}/a.jar", "--credentials-secret", "reader", *common) == 0
    assert await push(str(second), "--to", f"s3://{BUCKET}/b.jar", *common) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == ["artifact.flinkmanager.io/job applied in namespace default"] * 2
    client = KubeClient(Credentials(server=api.url))
    try:
        spec = (await client.get(ARTIFACTS, "default", "job"))["spec"]
    finally:
        await client.close()
    assert spec["url"] == f"s3://{BUCKET}/b.jar"
    assert spec["sha256"] == hashlib.sha256(second.read_bytes()).hexdigest()
    assert "credentialsSecretRef" not in spec  # not given the second time: removed, as `kubectl apply` would


async def test_refused_keys_are_one_line_without_the_keys(
    s3: S3Server,
    artifact_pki: ArtifactPKI,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    code = await push(
        str(jar_of(tmp_path / "job.jar", 64)),
        "--to",
        f"s3://{BUCKET}/job.jar",
        "--endpoint",
        s3.endpoint,
        "--path-style",
        "--ca-bundle",
        str(artifact_pki.ca.certificate),
    )
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("flink-manager artifact push: error: uploading to s3://pushed/job.jar: SignatureDoesNotMatch")
    assert len(err.splitlines()) == 1 and wrong not in err


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(("--to", "s3://bucket-only"), "an S3 location is s3://bucket/key", id="no-key"),
        pytest.param(("--to", "https://x/y.jar"), "an S3 location is s3://bucket/key", id="not-s3"),
        pytest.param(
            ("--to", "s3://b/k.jar", "--endpoint", "minio:9000"),
            "an http:// or https:// URL",
            id="endpoint-without-scheme",
        ),
        pytest.param(
            ("--to", "s3://b/k.jar", "--name", "Not_A_Name"), "metadata.name", id="a-name-the-api-would-refuse"
        ),
    ],
)
async def test_bad_arguments_are_refused_before_any_upload(
    args: tuple[str, ...], error: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await push(str(jar_of(tmp_path / "job.jar", 64)), *args)
    _, err = capsys.readouterr()
    assert code == 1 and error in err, err
