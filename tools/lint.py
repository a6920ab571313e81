#!/usr/bin/env python3
"""Run every static check of `make lint`, print one table of figures, exit 1 when a limit is crossed.

    python tools/lint.py                       # what `make lint` runs
    python tools/lint.py --format-check        # also `ruff format --check` and the import order (LINT_FORMAT=1)
    python tools/lint.py --max-module-lines 1200 --max-function-lines 200

The checks: ruff (lint; and, when asked, the formatter's check), mypy (strict where pyproject.toml says so),
import-linter (.importlinter), pylint's duplicate-code check over operator/ (runs of 6 lines or more, imports,
docstrings and comments ignored), vulture at 80 % confidence over operator/, and the size of the modules and
functions of the Execution pipeline (reconcile/ and controller/), measured with `ast`. Each tool's own findings
are printed above the table, so a failure says where to look.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = REPO / "operator" / "flink_manager"
RUFF_PATHS = ("operator", "devstack", "tests", "tools")
SIZED_PACKAGES = ("reconcile", "controller")
# Paths that vulture reads besides operator/ so that code the dev stack (a shipped command, `flink-manager dev`)
# uses is not reported. tests/ is left out on purpose: production code that only a test calls is dead.
VULTURE_EXTRA_PATHS = ("devstack/flink_manager_dev",)
VULTURE_CONFIDENCE = 80
DUPLICATE_LINES = 6


@dataclasses.dataclass
class Figure:
    name: str
    value: int
    limit: int
    where: str = ""

    @property
    def crossed(self) -> bool:
        return self.value > self.limit


def tool(name: str) -> str:
    """The tool installed beside this Python (the project's venv), else the one on PATH."""
    beside = pathlib.Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO, capture_output=True, text=True, check=False)


def show(title: str, text: str) -> None:
    text = text.strip()
    if text:
        print(f"--- {title}\n{text}")


def ruff_lint(format_check: bool) -> tuple[int, str]:
    # The import order (isort's I001) is the formatter's business: it is fixed by `make format`, so it is only
    # checked together with the format.
    argv = [tool("ruff"), "check", "--output-format", "concise", "--no-cache", *RUFF_PATHS]
    if not format_check:
        argv += ["--extend-ignore", "I001"]
    result = run(argv)
    findings = [line for line in result.stdout.splitlines() if re.match(r"^\S+:\d+:\d+: ", line)]
    show("ruff check", "\n".join(findings) or (result.stderr if result.returncode > 1 else ""))
    return (len(findings) if result.returncode <= 1 else max(1, len(findings))), by_area(findings)


def ruff_format() -> int:
    result = run([tool("ruff"), "format", "--check", "--no-cache", "--output-format", "concise", *RUFF_PATHS])
    files = [
        line for line in result.stdout.splitlines() if ": unformatted: " in line or line.startswith("Would reformat")
    ]
    show("ruff format --check", "\n".join(files) or (result.stderr if result.returncode > 1 else ""))
    return len(files) if result.returncode <= 1 else max(1, len(files))


def mypy() -> tuple[int, str]:
    result = run([tool("mypy"), "--no-incremental" if os.environ.get("CI") else "--incremental"])
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    show("mypy", "\n".join(errors) or (result.stderr if result.returncode > 1 else ""))
    return (len(errors) if result.returncode <= 1 else max(1, len(errors))), by_area(errors)


def by_area(findings: Sequence[str]) -> str:
    """`controller 3, devstack/simulator 1`: findings counted by package (lines that start with their path)."""
    counts: dict[str, int] = {}
    for line in findings:
        parts = pathlib.PurePath(line.split(":", 1)[0]).parts
        if parts[:2] in (("operator", "flink_manager"), ("devstack", "flink_manager_dev")):
            area = ("devstack/" if parts[0] == "devstack" else "") + parts[2]
        else:
            area = "/".join(parts[:2] if len(parts) > 2 else parts[:1])
        counts[area] = counts.get(area, 0) + 1
    return ", ".join(f"{area} {count}" for area, count in sorted(counts.items()))


def import_linter() -> int:
    result = run([tool("lint-imports"), "--no-cache"])
    broken = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
    if result.returncode != 0 or broken is None or int(broken.group(2)):
        show("import-linter", result.stdout + result.stderr)
    return int(broken.group(2)) if broken else 1


def duplicate_code() -> int:
    result = run(
        [
            tool("pylint"),
            "--disable=all",
            "--enable=duplicate-code",
            "--score=n",
            "--persistent=n",
            f"--min-similarity-lines={DUPLICATE_LINES}",
            "--ignore-imports=y",
            "--ignore-docstrings=y",
            "--ignore-comments=y",
            *sorted(str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")),
        ]
    )
    findings = result.stdout.count("(duplicate-code)")
    if findings or result.returncode & 1:  # bit 0: pylint itself failed
        show("pylint duplicate-code", result.stdout + result.stderr)
    return findings if not result.returncode & 1 else max(1, findings)


def vulture() -> int:
    result = run([tool("vulture"), "operator", *VULTURE_EXTRA_PATHS, f"--min-confidence={VULTURE_CONFIDENCE}"])
    findings = [line for line in result.stdout.splitlines() if line.startswith("operator/")]
    show("vulture", "\n".join(findings) or (result.stderr if result.returncode not in (0, 3) else ""))
    return len(findings) if result.returncode in (0, 3) else max(1, len(findings))


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def sizes() -> tuple[tuple[int, str], tuple[int, str]]:
    """(lines, where) of the largest module and of the longest function in reconcile/ and controller/."""
    largest, longest = (0, ""), (0, "")
    for package in SIZED_PACKAGES:
        for path in sorted((PACKAGE / package).glob("*.py")):
            source = path.read_text()
            name = str(path.relative_to(PACKAGE))
            largest = max(largest, (len(source.splitlines()), name))
            for node in functions(ast.parse(source)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                longest = max(longest, (lines, f"{name}:{node.lineno} {node.name}"))
    return largest, longest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--format-check",
        action="store_true",
        help="also check the format and the import order (ruff format --check, ruff's I001)",
    )
    parser.add_argument("--max-module-lines", type=int, default=400, help="largest module in reconcile/, controller/")
    parser.add_argument("--max-function-lines", type=int, default=50, help="longest function there")
    parser.add_argument("--max-ruff", type=int, default=0)
    parser.add_argument("--max-mypy", type=int, default=0)
    parser.add_argument("--max-duplicates", type=int, default=0)
    parser.add_argument("--max-dead", type=int, default=0)
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    (module_lines, module), (function_lines, function) = sizes()
    mypy_errors, mypy_where = mypy()
    ruff_findings, ruff_where = ruff_lint(args.format_check)
    figures = [
        Figure("largest module (reconcile/, controller/)", module_lines, args.max_module_lines, module),
        Figure("longest function (reconcile/, controller/)", function_lines, args.max_function_lines, function),
        Figure("ruff check findings", ruff_findings, args.max_ruff, ruff_where),
    ]
    if args.format_check:
        figures.append(Figure("ruff format: files to reformat", ruff_format(), 0))
    figures += [
        Figure("mypy errors", mypy_errors, args.max_mypy, mypy_where),
        Figure("import-linter broken contracts", import_linter(), 0),
        Figure(f"duplicate code in operator/ (pylint, {DUPLICATE_LINES} lines)", duplicate_code(), args.max_duplicates),
        Figure(f"dead code in operator/ (vulture, {VULTURE_CONFIDENCE} %)", vulture(), args.max_dead),
    ]

    width = max(len(f.name) for f in figures)
    print(f"\n{'check':<{width}}  {'value':>6}  {'limit':>6}")
    for f in figures:
        mark = "  OVER" if f.crossed else ""
        where = f"  ({f.where})" if f.where else ""
        print(f"{f.name:<{width}}  {f.value:>6}  {f.limit:>6}{mark}{where}")
    if not args.format_check:
        print("ruff format and import order: not checked (make lint LINT_FORMAT=1 checks them, make format fixes them)")
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(f) for f in figures], indent=2) + "\n")
    crossed = [f.name for f in figures if f.crossed]
    if crossed:
        print(f"\nlint: over the limit: {'; '.join(crossed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
