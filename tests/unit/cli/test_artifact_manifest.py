"""`flink-manager artifact manifest`: an Artifact with the JAR's digest and entry classes that the CRDs accept."""

from __future__ import annotations

import hashlib
import pathlib

import pytest
import yaml

from flink_manager.cli import main
from tests.infra.jobjar import EXAMPLE_ENTRY_CLASS, example_job_jar
from tests.jars import write_jar


def manifest(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["artifact", "manifest", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_example_job_jar(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    jar = example_job_jar()
    status, out, err = manifest(
        capsys,
        str(jar),
        "--url",
        "https://repo.example.com/job-0.1.0.jar",
        "--name",
        "stateful-counter",
        "--version",
        "0.1.0",
        "--namespace",
        "flink",
    )
    assert (status, err) == (0, "")
    digest = hashlib.sha256(jar.read_bytes()).hexdigest()
    assert yaml.safe_load(out) == {
        "apiVersion": "flinkmanager.io/v1alpha1",
        "kind": "Artifact",
        "metadata": {"name": "stateful-counter", "namespace": "flink"},
        "spec": {
            "url": "https://repo.example.com/job-0.1.0.jar",
            "sha256": digest,
            "version": "0.1.0",
            "entryClasses": [EXAMPLE_ENTRY_CLASS],
        },
    }
    assert out.splitlines()[0] == f"# {jar.name}: {jar.stat().st_size} bytes, sha256 {digest}"
    # What it prints is what `validate` (and so the API server) accepts.
    (tmp_path / "artifact.yaml").write_text(out)
    assert main(["validate", str(tmp_path / "artifact.yaml")]) == 0


def test_entry_classes_can_be_given(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    jar = tmp_path / "plain.jar"
    write_jar(jar, classes=["com.example.A"], manifest=False)
    status, out, _ = manifest(capsys, str(jar), "--url", "s3://jars/plain.jar")
    assert status == 0
    assert yaml.safe_load(out)["metadata"] == {"name": "plain"}  # from the file name
    assert yaml.safe_load(out)["spec"]["entryClasses"] == []
    assert "none in META-INF/MANIFEST.MF: any entry class is accepted" in out
    status, out, _ = manifest(
        capsys,
        str(jar),
        "--url",
        "s3://jars/plain.jar",
        "--name",
        "plain",
        "--entry-class",
        "com.example.A",
        "--entry-class",
        "com.example.B",
    )
    assert yaml.safe_load(out)["spec"]["entryClasses"] == ["com.example.A", "com.example.B"]


BAD = [
    ("no such file", ["missing.jar", "--url", "https://x/y.jar", "--name", "x"], "missing.jar: no such file"),
    (
        "a name the API server refuses",
        ["{jar}", "--url", "https://x/y.jar", "--name", "My_Job"],
        'the Artifact would be rejected: metadata.name: Invalid value: "My_Job"',
    ),
    (
        "a URL scheme the CRD refuses",
        ["{jar}", "--url", "ftp://x/y.jar", "--name", "job"],
        'the Artifact would be rejected: spec.url: Invalid value: "ftp://x/y.jar"',
    ),
]


@pytest.mark.parametrize(
    ("file", "name"), [("my-job.jar", "my-job"), ("My_Job-1.2.0.JAR", "my-job-1.2.0"), ("__.jar", "artifact")]
)
def test_the_name_from_the_file_name(file: str, name: str) -> None:
    from flink_manager.cli.artifact import name_from_file

    assert name_from_file(pathlib.Path(file)) == name


@pytest.mark.parametrize(("argv", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_mistakes_are_one_line(
    argv: list[str],
    message: str,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_jar("job.jar", "com.example.Job", classes=[])
    status, out, err = manifest(capsys, *[a.replace("{jar}", "job.jar") for a in argv])
    assert (status, out) == (1, "")
    assert err.startswith("flink-manager artifact manifest: error: ") and message in err and err.count("\n") == 1
