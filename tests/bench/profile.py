"""Summarise a py-spy raw profile (collapsed stacks, `frame;frame;… count`): where the operator's time goes.

.venv/bin/python -m tests.bench.profile bench-results/profile-bringup-n1000.txt [--top 30] [--match flink_manager]
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import re

_IDLE = re.compile(r"\b(select|epoll_wait|_run_once \(asyncio|poll) ")


def summarise(path: pathlib.Path, top: int, match: str | None) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        if frames and ("select (selectors.py" in frames[-1] or "epoll" in frames[-1]):
            idle += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    busy = total - idle
    print(f"{path.name}: {total} samples, {busy} busy ({100 * busy / max(1, total):.0f}%), {idle} waiting in select")
    print(f"\ntop {top} by inclusive share of busy samples" + (f" (frames matching {match!r})" if match else ""))
    for frame, count in inclusive.most_common():
        if match and match not in frame:
            continue
        print(f"  {100 * count / max(1, busy):5.1f}%  {frame}")
        top -= 1
        if top <= 0:
            break
    print("\ntop 25 by own (self) samples")
    for frame, count in own.most_common(25):
        print(f"  {100 * count / max(1, busy):5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=pathlib.Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default=None)
    args = parser.parse_args()
    summarise(args.path, args.top, args.match)


if __name__ == "__main__":
    main()
