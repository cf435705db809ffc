"""Peak memory of a whole process tree (a process and all its descendants), sampled from /proc.

getrusage(RUSAGE_CHILDREN) only gives the largest single descendant (of every child ever waited for), not the
tree's sum at one moment, so a thread adds up the resident sets of the tree every 50 ms and keeps the highest.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

PROC = Path("/proc")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def list_parents() -> dict[int, int]:
    """Map every visible process id to its parent's id."""
    parents = {}
    for entry in PROC.iterdir() if PROC.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields resume after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def list_tree(root: int) -> list[int]:
    """The root process and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in list_parents().items():
        children.setdefault(parent, []).append(pid)
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def read_rss_bytes(pid: int) -> int:
    """Resident set size of one process, 0 when it is gone."""
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def read_command(pid: int) -> str:
    """A short label for a process: its command line's last two words."""
    try:
        words = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return " ".join(w.decode(errors="replace").rsplit("/", 1)[-1] for w in words if w)[-60:]


def measure_tree_rss(root: int) -> dict[int, int]:
    """Resident bytes of each process of a tree, now."""
    return {pid: read_rss_bytes(pid) for pid in list_tree(root)}


class TreeSampler:
    """Sample a process tree's summed RSS in a thread while the block runs; `peak_mb` is the highest total."""

    def __init__(self, root: int, interval_s: float = 0.05) -> None:
        self.root = root
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.peak_processes: list[tuple[str, float]] = []  # (command, MiB) at the peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = measure_tree_rss(self.root)
            if sum(sizes.values()) > self.peak_bytes:
                self.peak_bytes = sum(sizes.values())
                self.peak_processes = [(read_command(pid), size / 2**20) for pid, size in sizes.items()]
            self._stop.wait(self.interval_s)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        """Peak summed RSS in MiB."""
        return self.peak_bytes / 2**20
