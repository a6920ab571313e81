"""The Helm chart's copies of crds/ and deploy/monitoring/ are what tools/gen_helm_chart.py makes of them: checked
here, without helm, so that a CRD change without its chart copy fails in the first tier rather than in e2e."""

from __future__ import annotations

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_the_chart_files_are_generated_from_their_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "gen_helm_chart.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
