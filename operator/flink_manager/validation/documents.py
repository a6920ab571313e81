"""Reading manifests for validation: YAML documents with the line of each field, from files, folders or stdin."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

STDIN = "-"
STDIN_NAME = "<stdin>"
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_PATH_TOKEN = re.compile(r"\[([^\]]*)\]|([^.\[]+)")


class _Loader(yaml.SafeLoader):
    """YAML as kubectl reads it: timestamps stay strings (kubectl converts YAML to JSON, which has no dates)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    """One object of a manifest, with where it came from."""

    source: str  # the file as named on the command line (or found in a folder), or <stdin>
    line: int  # 1-based line where the object starts
    body: dict[str, Any]
    node: yaml.Node | None = field(default=None, compare=False, repr=False)

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.body.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        return str(meta.get("name") or meta.get("generateName") or "")

    def line_of(self, field_path: str) -> int:
        """The line of a field given as the API server spells it (`spec.programArgs[0]`, `spec.flinkConfig[k]`),
        or of its nearest parent present in the document."""
        node = self.node
        line = self.line
        tokens = split_field_path(field_path)
        while tokens:
            if isinstance(node, yaml.MappingNode):
                # A map key may hold dots (`flinkConfig.parallelism.default`): try the longest key first.
                for size in range(len(tokens), 0, -1):
                    key = ".".join(tokens[:size])
                    pair = next(((k, v) for k, v in node.value if k.value == key), None)
                    if pair is not None:
                        break
                else:
                    break
                node, line, tokens = pair[1], pair[0].start_mark.line + 1, tokens[size:]
            elif isinstance(node, yaml.SequenceNode) and tokens[0].isdigit() and int(tokens[0]) < len(node.value):
                node = node.value[int(tokens[0])]
                line, tokens = node.start_mark.line + 1, tokens[1:]
            else:
                break
        return line


@dataclass(frozen=True)
class ReadProblem:
    """A file that cannot be read or parsed."""

    source: str
    line: int
    message: str


@dataclass
class Reading:
    """What was read: the documents, the files, the files skipped as kustomize patches, the problems."""

    documents: list[Document] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped_patches: list[str] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)


def split_field_path(path: str) -> list[str]:
    """`spec.flinkConfig[a.b].x[0]` → ["spec", "flinkConfig", "a.b", "x", "0"]."""
    return [
        bracket if bracket is not None and bracket != "" else name
        for bracket, name in _PATH_TOKEN.findall(path)
        if (bracket or name)
    ]


def read_sources(paths: Iterable[str], stdin: TextIO | None = None) -> Reading:
    """Read files, folders (recursively, `*.yaml` and `*.yml`) and `-` (stdin) into documents.

    In folders, files that a kustomization in the same folder names as patches are skipped: they are fragments,
    not objects (validate the overlay's output instead: `kustomize build DIR | flink-manager validate -`).
    """
    reading = Reading()
    for given in paths:
        if given == STDIN:
            if stdin is None:
                raise ValueError("stdin is not available")
            _read_text(reading, STDIN_NAME, stdin.read())
            continue
        path = pathlib.Path(given)
        if path.is_dir():
            for file in _walk(path, reading):
                _read_file(reading, file)
        elif path.is_file():
            _read_file(reading, path)
        else:
            reading.problems.append(ReadProblem(given, 0, "no such file or directory"))
    return reading


def _walk(directory: pathlib.Path, reading: Reading) -> Iterator[pathlib.Path]:
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
    patches: set[pathlib.Path] = set()
    for folder in sorted({p.parent for p in files} | {directory}):
        patches |= _kustomize_patches(folder)
    for file in files:
        if file.resolve() in patches:
            reading.skipped_patches.append(str(file))
            continue
        yield file


def _kustomize_patches(folder: pathlib.Path) -> set[pathlib.Path]:
    """Files a kustomization in `folder` uses as patches (they hold partial objects)."""
    for name in KUSTOMIZATION_NAMES:
        candidate = folder / name
        if candidate.is_file():
            try:
                kustomization = yaml.safe_load(candidate.read_text()) or {}
            except yaml.YAMLError:
                return set()
            break
    else:
        return set()
    if not isinstance(kustomization, dict):
        return set()
    named: list[str] = []
    for entry in kustomization.get("patches") or ():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            named.append(entry["path"])
    for entry in kustomization.get("patchesStrategicMerge") or ():
        if isinstance(entry, str) and "\n" not in entry:
            named.append(entry)
    for entry in kustomization.get("patchesJson6902") or ():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            named.append(entry["path"])
    return {(folder / name).resolve() for name in named}


def _read_file(reading: Reading, path: pathlib.Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reading.problems.append(ReadProblem(str(path), 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
        return
    _read_text(reading, str(path), text)


def _read_text(reading: Reading, source: str, text: str) -> None:
    reading.files.append(source)
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            body = loader.construct_document(node)
            if body is None:
                continue
            if not isinstance(body, dict):
                reading.problems.append(
                    ReadProblem(
                        source,
                        node.start_mark.line + 1,
                        f"a document must be a mapping (an object), not a {type(body).__name__}",
                    )
                )
                continue
            reading.documents += _expand_lists(Document(source, node.start_mark.line + 1, body, node))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        reading.problems.append(ReadProblem(source, line, f"YAML: {exc.problem or exc.context}"))
    finally:
        loader.dispose()


def _expand_lists(document: Document) -> list[Document]:
    """`kind: List` (and `FooList`, as `kubectl get -o yaml` prints): one document per item."""
    kind = document.kind
    items = document.body.get("items")
    if not (kind == "List" or kind.endswith("List")) or not isinstance(items, list):
        return [document]
    item_nodes: list[Any] = []
    if isinstance(document.node, yaml.MappingNode):
        for key, value in document.node.value:
            if key.value == "items" and isinstance(value, yaml.SequenceNode):
                item_nodes = list(value.value)
    expanded = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            node = item_nodes[i] if i < len(item_nodes) else None
            line = node.start_mark.line + 1 if node is not None else document.line
            expanded.append(Document(document.source, line, item, node))
    return expanded
