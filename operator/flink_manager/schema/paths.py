"""Field paths spelled as apimachinery's `field.Path` prints them."""

from __future__ import annotations


def child(path: str, name: str) -> str:
    """`path.name`."""
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    """`path[i]`."""
    return f"{path}[{i}]"


def key(path: str, name: str) -> str:
    """`path[name]` (a map key)."""
    return f"{path}[{name}]"
