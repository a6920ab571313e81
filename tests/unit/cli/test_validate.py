"""`flink-manager validate`: each broken manifest gives its exact `file:line: Kind/name: field: reason`, and
nothing else; what is valid (examples/ included) passes with exit status 0."""

from __future__ import annotations

import io
import pathlib
import textwrap

import pytest

from flink_manager.cli import main

REPO = pathlib.Path(__file__).resolve().parents[3]

# What the cases refer to: FlinkCluster default, Artifact jar (entry class com.example.Job), JobSpec job.
REFS = """\
apiVersion: flinkmanager.io/v1alpha1
kind: FlinkCluster
metadata: {name: default}
spec: {restUrl: "http://flink-jobmanager:8081"}
---
apiVersion: flinkmanager.io/v1alpha1
kind: Artifact
metadata: {name: jar}
spec:
  url: https://repo.example.com/job-1.0.jar
  sha256: "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
  entryClasses: [com.example.Job]
---
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata: {name: job}
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Job
"""

UNKNOWN = "unknown field (the API server rejects it with strict field validation, kubectl's default)"

# (id, case.yaml, the errors expected, in order). Line numbers are those of the field (or its nearest parent).
CASES = [
    (
        "parallelism below its minimum",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: small
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Job
  parallelism: 0
""",
        [
            "case.yaml:8: JobSpec/small: spec.parallelism: Invalid value: 0: "
            "spec.parallelism in body should be greater than or equal to 1",
            "case.yaml:8: JobSpec/small: spec.parallelism: Invalid value: 0: parallelism must be at least 1",
        ],
    ),
    (
        "a misspelt field",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: typo
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Job
  paralelism: 2
""",
        [f"case.yaml:8: JobSpec/typo: spec.paralelism: {UNKNOWN}"],
    ),
    (
        "a state that is not one of the enum",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  jobSpecRef: {name: job}
  state: Paused
""",
        [
            'case.yaml:7: Execution/run: spec.state: Unsupported value: "Paused": supported values: '
            '"Running", "Stopped", "Cancelled"'
        ],
    ),
    (
        "a required reference left out",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  state: Running
""",
        ["case.yaml:5: Execution/run: spec.jobSpecRef: Required value"],
    ),
    (
        "a program argument that is not a string",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: args
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Job
  programArgs:
    - --rate
    - 10
""",
        [
            'case.yaml:10: JobSpec/args: spec.programArgs[1]: Invalid value: "integer": '
            'spec.programArgs[1] in body must be of type string: "integer"'
        ],
    ),
    (
        "a Flink setting whose value is a number",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: conf
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Job
  flinkConfig:
    pipeline.name: counter
    parallelism.default: 4
""",
        [
            'case.yaml:10: JobSpec/conf: spec.flinkConfig.parallelism.default: Invalid value: "integer": '
            'spec.flinkConfig.parallelism.default in body must be of type string: "integer"'
        ],
    ),
    (
        "a savepoint schedule the CEL rule refuses",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  jobSpecRef: {name: job}
  savepointSchedule: every hour
""",
        [
            'case.yaml:7: Execution/run: spec.savepointSchedule: Invalid value: "every hour": savepointSchedule must be '
            "an interval such as 30m, 6h or 1d, or a 5-field cron expression in UTC (minute 0-59, hour 0-23, day of "
            'month 1-31, month 1-12, day of week 0-7) such as "0 */6 * * *"'
        ],
    ),
    (
        "a cron schedule that never fires (30 February)",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  jobSpecRef: {name: job}
  savepointSchedule: "0 0 30 2 *"
""",
        [
            'case.yaml:7: Execution/run: spec.savepointSchedule: "0 0 30 2 *" never fires: no date in the next four '
            "years matches it"
        ],
    ),
    (
        "a cron range the schema's pattern lets through but the operator cannot read",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  jobSpecRef: {name: job}
  savepointSchedule: "0 5-1 * * *"
""",
        ["case.yaml:7: Execution/run: spec.savepointSchedule: '0 5-1 * * *': '5-1' is out of range 0-23"],
    ),
    (
        "an invalid object name",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: Run_1
spec:
  jobSpecRef: {name: job}
""",
        [
            'case.yaml:4: Execution/Run_1: metadata.name: Invalid value: "Run_1": a lowercase RFC 1123 subdomain must '
            "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ],
    ),
    (
        "an Artifact digest that is not 64 hex characters",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Artifact
metadata:
  name: other
spec:
  url: https://repo.example.com/other.jar
  sha256: 7F83B165
""",
        [
            'case.yaml:7: Artifact/other: spec.sha256: Invalid value: "7F83B165": spec.sha256 in body should match '
            "'^[a-f0-9]{64}$'"
        ],
    ),
    (
        "a JobSpec naming an Artifact that is not there",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: orphan
spec:
  artifactRef:
    name: missing-jar
  entryClass: com.example.Job
""",
        [
            'case.yaml:7: JobSpec/orphan: spec.artifactRef.name: Artifact "missing-jar" is not among the validated '
            "manifests (--allow-missing-refs if it is applied from elsewhere)"
        ],
    ),
    (
        "a JobSpec on a FlinkCluster that is not there (clusterRef defaults to default elsewhere)",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: elsewhere
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Job
  clusterRef: {name: staging}
""",
        [
            'case.yaml:8: JobSpec/elsewhere: spec.clusterRef.name: FlinkCluster "staging" is not among the validated '
            "manifests (--allow-missing-refs if it is applied from elsewhere)"
        ],
    ),
    (
        "an Execution of a JobSpec that is not there",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  jobSpecRef: {name: nojob}
""",
        [
            'case.yaml:6: Execution/run: spec.jobSpecRef.name: JobSpec "nojob" is not among the validated manifests '
            "(--allow-missing-refs if it is applied from elsewhere)"
        ],
    ),
    (
        "an entry class the Artifact does not list",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: JobSpec
metadata:
  name: wrong-class
spec:
  artifactRef: {name: jar}
  entryClass: com.example.Other
""",
        [
            'case.yaml:7: JobSpec/wrong-class: spec.entryClass: "com.example.Other" is not among the entryClasses of '
            'Artifact "jar" (com.example.Job): the operator would not submit it (EntryClassNotInArtifact)'
        ],
    ),
    (
        "the same object twice in one file",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata: {name: run}
spec: {jobSpecRef: {name: job}}
---
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata: {name: run}
spec: {jobSpecRef: {name: job}, state: Stopped}
""",
        ["case.yaml:8: Execution/run: metadata.name: duplicate: Execution/run is also defined at case.yaml:1"],
    ),
    (
        "a kind the group does not have",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: FlinkJob
metadata: {name: x}
""",
        [
            'case.yaml:2: FlinkJob/x: kind: no kind "FlinkJob" in group "flinkmanager.io" (one of Artifact, Execution, '
            "FlinkCluster, JobSpec)"
        ],
    ),
    (
        "a version that is not served",
        """\
apiVersion: flinkmanager.io/v1
kind: Execution
metadata: {name: x}
spec: {jobSpecRef: {name: job}}
""",
        [
            'case.yaml:1: Execution/x: apiVersion: no Execution in version "flinkmanager.io/v1" '
            "(served: flinkmanager.io/v1alpha1)"
        ],
    ),
    (
        "YAML that does not parse",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata: {name: x
spec: {}
""",
        ["case.yaml:4: YAML: expected ',' or '}', but got ':'"],
    ),
    (
        "two errors in one object, in line order",
        """\
apiVersion: flinkmanager.io/v1alpha1
kind: Execution
metadata:
  name: run
spec:
  jobSpecRef: {name: job}
  restartPolicy:
    type: Sometimes
    maxRestarts: -1
""",
        [
            'case.yaml:8: Execution/run: spec.restartPolicy.type: Unsupported value: "Sometimes": supported values: '
            '"Never", "OnFailure"',
            "case.yaml:9: Execution/run: spec.restartPolicy.maxRestarts: Invalid value: -1: "
            "spec.restartPolicy.maxRestarts in body should be greater than or equal to 0",
        ],
    ),
]


def validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    status = main(["validate", *argv])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


@pytest.mark.parametrize(("manifest", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_manifest_is_reported_at_its_line(
    manifest: str,
    expected: list[str],
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    pathlib.Path("refs.yaml").write_text(REFS)
    pathlib.Path("case.yaml").write_text(manifest)
    status, out, err = validate(capsys, "refs.yaml", "case.yaml")
    assert (status, out) == (1, expected)
    assert err.startswith(f"{len(expected)} error")


def test_the_references_alone_are_valid(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "refs.yaml").write_text(REFS)
    status, out, _ = validate(capsys, str(tmp_path / "refs.yaml"))
    assert status == 0
    assert out == ["valid: 1 Artifact, 1 FlinkCluster, 1 JobSpec in 1 file"]


def test_missing_references_may_be_allowed(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run.yaml").write_text(CASES[13][1])
    assert validate(capsys, str(tmp_path / "run.yaml"))[0] == 1
    status, out, _ = validate(capsys, "--allow-missing-refs", str(tmp_path / "run.yaml"))
    assert (status, out) == (0, ["valid: 1 Execution in 1 file"])


def test_references_resolve_within_a_namespace(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "refs.yaml").write_text(REFS)
    (tmp_path / "run.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: flinkmanager.io/v1alpha1
        kind: Execution
        metadata: {name: run, namespace: team-b}
        spec: {jobSpecRef: {name: job}}
        """)
    )
    status, out, _ = validate(capsys, str(tmp_path / "refs.yaml"), str(tmp_path / "run.yaml"))
    assert status == 1
    assert out == [
        f'{tmp_path / "run.yaml"}:4: Execution/run: spec.jobSpecRef.name: JobSpec "job" is not among '
        "the validated manifests in namespace 'team-b' (--allow-missing-refs if it is applied from "
        "elsewhere)"
    ]
    # With --namespace, the manifests that name no namespace are in team-b too.
    status, _, _ = validate(capsys, "--namespace", "team-b", str(tmp_path / "refs.yaml"), str(tmp_path / "run.yaml"))
    assert status == 0


def test_stdin_as_kustomize_build_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stream = REFS + "---\n" + CASES[0][1]
    monkeypatch.setattr("sys.stdin", io.StringIO(stream))
    status, out, _ = validate(capsys, "-")
    assert status == 1
    assert out == [
        "<stdin>:28: JobSpec/small: spec.parallelism: Invalid value: 0: "
        "spec.parallelism in body should be greater than or equal to 1",
        "<stdin>:28: JobSpec/small: spec.parallelism: Invalid value: 0: parallelism must be at least 1",
    ]


def test_other_documents_are_ignored_and_lists_are_unpacked(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "all.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: not-ours}
        data: {anything: [1, 2]}
        ---
        apiVersion: v1
        kind: List
        items:
          - apiVersion: flinkmanager.io/v1alpha1
            kind: FlinkCluster
            metadata: {name: default}
            spec: {restUrl: "http://flink:8081"}
          - apiVersion: flinkmanager.io/v1alpha1
            kind: FlinkCluster
            metadata: {name: other}
            spec: {restUrl: "ftp://flink:8081"}
        """)
    )
    status, out, err = validate(capsys, str(tmp_path / "all.yaml"))
    assert status == 1
    assert [line.split(": ", 1)[0] for line in out] == [f"{tmp_path / 'all.yaml'}:16"] * len(out)
    assert all("FlinkCluster/other: spec.restUrl" in line for line in out)
    assert "1 other documents ignored" in err


def test_folders_skip_the_kustomize_patches_they_use(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [base.yaml]\npatches:\n  - path: scale.yaml\n")
    (overlay / "base.yaml").write_text(REFS)
    (overlay / "scale.yaml").write_text(
        "apiVersion: flinkmanager.io/v1alpha1\nkind: JobSpec\nmetadata: {name: job}\nspec: {parallelism: 4}\n"
    )
    status, out, _ = validate(capsys, str(tmp_path))
    assert (status, out) == (
        0,
        [
            "valid: 1 Artifact, 1 FlinkCluster, 1 JobSpec in 2 files "
            "(1 other documents ignored; 1 kustomize patch files skipped)"
        ],
    )
    # Named on its own, a patch is validated like any manifest: it is not a whole object.
    status, out, _ = validate(capsys, str(overlay / "scale.yaml"))
    assert status == 1 and "spec.artifactRef: Required value" in out[0]


def test_the_repository_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = validate(capsys, str(REPO / "examples"))
    assert status == 0, "\n".join(out) + err
    assert out[-1].startswith("valid: ") and "Execution" in out[-1]


def test_a_missing_path_is_an_error(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = validate(capsys, str(tmp_path / "nope.yaml"))
    assert (status, out) == (1, [f"{tmp_path / 'nope.yaml'}: no such file or directory"])
