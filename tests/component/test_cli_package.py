"""The wheel carries the CRDs (`flink_manager/crds/`, a link to `crds/` in the checkout), so that `validate` and
`dev` work from an installed package, as in the container image; and it does not carry the fakes, which are
the flink-manager-dev distribution's."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import zipfile

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_crds_and_validate_runs_from_it(tmp_path: pathlib.Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, (
        f"pip wheel failed (it needs setuptools>=68 and wheel from the package index or "
        f"pip's cache):\n{built.stdout}{built.stderr}"
    )
    wheel = next(tmp_path.glob("flink_manager-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name.rsplit("/", 1)[1]: archive.read(name)
            for name in archive.namelist()
            if name.startswith("flink_manager/crds/") and name.endswith(".yaml")
        }
        fakes = [
            name
            for name in archive.namelist()
            if name.startswith("flink_manager_dev/") or "/simulator/" in name or "/kubeapi/" in name
        ]
        archive.extractall(tmp_path / "site")
    assert fakes == [], "the operator's wheel must not carry the fakes (they are flink-manager-dev's)"
    assert packaged == {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}

    # The unpacked wheel first on the path, run from a folder that is not a checkout.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    where = subprocess.run(
        [sys.executable, "-c", "import flink_manager.schema.packaged as p; print(p.crd_directory())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.strip() == str(tmp_path / "site" / "flink_manager" / "crds")
    validated = subprocess.run(
        [sys.executable, "-m", "flink_manager.cli", "validate", str(REPO / "examples")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.startswith("valid: ")
