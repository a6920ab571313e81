"""The README's Flink compatibility table says what `make test` proves: the same versions, distributions and tiers as
the matrix it runs (tests/infra/flink/versions.py), and the same range as the operator's dialect table."""

from __future__ import annotations

import pathlib
import re

from flink_manager.flink.dialect import DIALECTS, SUPPORTED_RANGE
from tests.e2e.test_operator_lifecycle import E2E_VERSIONS
from tests.infra.flink.versions import DISTRIBUTIONS

REPO = pathlib.Path(__file__).resolve().parents[2]
MARKER = "<!-- compatibility:"


def readme_table() -> list[list[str]]:
    """The rows of the table that follows the marker (header and separator dropped)."""
    lines = (REPO / "README.md").read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(MARKER)) + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[2:]


def make_recipe(target: str) -> list[str]:
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.MULTILINE)
    assert match, f"no `{target}` target in the Makefile"
    return [line.strip() for line in match.group(1).splitlines()]


def test_the_readme_table_lists_every_version_of_the_matrix_with_what_make_test_proves_on_it() -> None:
    expected = [[row.line, row.version, "yes", "yes" if row.e2e else "—"] for row in DISTRIBUTIONS]
    shown = [[re.sub(r"\s*\(LTS\)$", "", line), *rest] for line, *rest in readme_table()]
    assert shown == expected


def test_make_test_runs_the_contract_tier_on_every_version_and_the_lifecycle_on_the_e2e_ones() -> None:
    recipe = make_recipe("test")
    contract = [line for line in recipe if "tests.contract.matrix" in line]
    assert contract and "--flink-version" not in contract[0]  # the matrix runner's default: every version
    assert any(line.endswith("tests/e2e") for line in recipe)
    assert [row.version for row in DISTRIBUTIONS if row.e2e] == E2E_VERSIONS
    assert [row.line for row in DISTRIBUTIONS if row.e2e] == ["1.18", "1.20", "2.3"]  # oldest, LTS, newest


def test_the_supported_range_is_the_matrix() -> None:
    oldest, newest = DISTRIBUTIONS[0], DISTRIBUTIONS[-1]
    assert f"{oldest.line} to {newest.line}" == SUPPORTED_RANGE
    assert DIALECTS[0].name == oldest.line
    assert f"Flink {SUPPORTED_RANGE}" in (REPO / "README.md").read_text()
