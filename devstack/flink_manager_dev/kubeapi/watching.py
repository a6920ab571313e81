"""Watch fan-out: each change goes only to the watchers of its resource, each with its own queue."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flink_manager_dev.kubeapi.selectors import FieldRequirement, Requirement, fields_match, labels_match
from flink_manager_dev.kubeapi.storage import Change, StorageKey, Stored

Render = Callable[[str, Stored, int | None], bytes]  # (event type, object, resourceVersion override) → line


@dataclass
class WatchFilter:
    """What one watcher asked for."""

    namespace: str | None = None
    name: str | None = None
    labels: tuple[Requirement, ...] = ()
    fields: tuple[FieldRequirement, ...] = ()

    def matches(self, stored: Stored | None) -> bool:
        """Whether an object version is visible to this watcher."""
        if stored is None:
            return False
        meta = stored.meta
        if self.namespace is not None and meta.get("namespace", "") != self.namespace:
            return False
        if self.name is not None and meta.get("name") != self.name:
            return False
        return labels_match(self.labels, stored.body) and fields_match(self.fields, stored.body)


@dataclass(eq=False)
class Watcher:
    """One open watch stream: a queue of encoded lines and a wake-up event."""

    storage_key: StorageKey
    filter: WatchFilter
    render: Render
    bookmarks: bool = False
    bookmark_line: Callable[[int], bytes] | None = None
    lines: deque[bytes] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def offer(self, change: Change) -> None:
        """Queue a change as this watcher sees it (selectors turn modifications into ADDED/DELETED)."""
        new_ok = change.type != "DELETED" and self.filter.matches(change.new)
        old_ok = self.filter.matches(change.old) if change.old is not None else False
        if change.type == "DELETED":
            if self.filter.matches(change.new) or old_ok:
                self.push(self.render("DELETED", change.new, None))
        elif new_ok and (old_ok or change.type == "ADDED"):
            self.push(self.render(change.type, change.new, None))
        elif new_ok:
            self.push(self.render("ADDED", change.new, None))
        elif old_ok and change.old is not None:
            self.push(self.render("DELETED", change.old, change.revision))

    def push(self, line: bytes) -> None:
        """Queue one encoded line."""
        if not self.closed:
            self.lines.append(line)
            self.wakeup.set()

    def close(self) -> None:
        """End the stream (the client sees it close and reconnects)."""
        self.closed = True
        self.wakeup.set()


class WatchHub:
    """Registered watchers by resource; pausing coalesces changes per object until resumed."""

    def __init__(self) -> None:
        self._watchers: dict[StorageKey, set[Watcher]] = {}
        self.paused = False
        self._held: OrderedDict[tuple[StorageKey, str, str], list[Change]] = OrderedDict()

    def add(self, watcher: Watcher) -> None:
        """Start delivering changes to a watcher."""
        self._watchers.setdefault(watcher.storage_key, set()).add(watcher)

    def remove(self, watcher: Watcher) -> None:
        """Stop delivering to a watcher."""
        watchers = self._watchers.get(watcher.storage_key)
        if watchers is not None:
            watchers.discard(watcher)

    def publish(self, change: Change) -> None:
        """Deliver a change to the watchers of its resource (or hold it while paused)."""
        if self.paused:
            self._hold(change)
            return
        for watcher in tuple(self._watchers.get(change.storage_key, ())):
            watcher.offer(change)

    def _hold(self, change: Change) -> None:
        meta = change.new.meta
        key = (change.storage_key, meta.get("namespace", ""), meta["name"])
        held = self._held.get(key)
        if not held:
            self._held[key] = [change]
            return
        first, last = held[0], held[-1]
        if change.type == "DELETED" and first.type == "ADDED":
            del self._held[key]  # created and deleted while paused: watchers never see it
        elif change.type == "DELETED":
            self._held[key] = [Change(change.revision, change.storage_key, "DELETED", change.new, first.old)]
        elif last.type == "DELETED":
            held.append(change)
        else:
            kind = "ADDED" if first.type == "ADDED" else "MODIFIED"
            held[-1] = Change(
                change.revision, change.storage_key, kind, change.new, last.old if len(held) > 1 else first.old
            )

    def pause(self) -> None:
        """Hold deliveries; on resume watchers get the latest state of what changed."""
        self.paused = True

    def resume(self) -> None:
        """Deliver what changed while paused, one event per object with its latest state."""
        self.paused = False
        held, self._held = self._held, OrderedDict()
        for changes in held.values():
            for change in changes:
                self.publish(change)

    def close_all(self) -> int:
        """Close every open watch stream; return how many were closed."""
        count = 0
        for watchers in self._watchers.values():
            for watcher in tuple(watchers):
                watcher.close()
                count += 1
            watchers.clear()
        return count

    def close_resource(self, sk: StorageKey) -> None:
        """Close the streams of one resource (its CRD was deleted)."""
        for watcher in tuple(self._watchers.get(sk, ())):
            watcher.close()
        self._watchers.pop(sk, None)

    def count(self) -> int:
        """Open watch streams."""
        return sum(len(w) for w in self._watchers.values())

    def snapshot(self) -> dict[str, Any]:
        """Counts for diagnostics."""
        return {f"{g}/{p}" if g else p: len(w) for (g, p), w in self._watchers.items() if w}
