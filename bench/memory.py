"""Peak memory of a whole process tree (a process and all its descendants), sampled from /proc.

getrusage(RUSAGE_CHILDREN) gives only the largest single descendant, not the tree's sum at one moment, so a
thread adds up the tree's RSS and PSS every 50 ms and keeps the highest sums. PSS, which splits shared pages
between the processes that map them, is estimated from `statm` at every sample and `smaps_rollup` (too slow to
read each time) every `shared_refresh_s`; bench/README.md ("Peak memory") explains the estimate.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Resident:
    """A process's resident bytes, and how many of them are anonymous (heap, stacks: not file-backed)."""

    rss_bytes: int = 0
    anon_bytes: int = 0


def read_resident(pid: int) -> Resident:
    """Resident and anonymous resident bytes of one process (from statm); zeros when it is gone."""
    try:
        fields = (PROC / str(pid) / "statm").read_text().split()
        resident, shared = int(fields[1]), int(fields[2])  # shared: file-backed and shmem resident pages
    except (OSError, IndexError, ValueError):
        return Resident()
    return Resident(resident * PAGE_BYTES, max(resident - shared, 0) * PAGE_BYTES)


def read_rss_bytes(pid: int) -> int:
    """Resident set size of one process, 0 when it is gone."""
    return read_resident(pid).rss_bytes


def read_rollup_kb(pid: int) -> dict[str, int]:
    """The kB fields of a process's smaps_rollup (Rss, Pss, Pss_Anon, ...); empty when it is gone."""
    try:
        lines = (PROC / str(pid) / "smaps_rollup").read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        words = value.split()
        if words and words[0].isdigit():
            fields[name] = int(words[0])
    return fields


def read_pss_bytes(pid: int) -> int:
    """Proportional set size of one process, exact (a full page walk: slow for big processes); 0 when gone."""
    return read_rollup_kb(pid).get("Pss", 0) * 1024


def read_shared_pss_bytes(pid: int, fields: dict[str, int] | None = None) -> int | None:
    """This process's proportional share of its file-backed and shared-memory pages; None when unknown."""
    fields = read_rollup_kb(pid) if fields is None else fields
    if "Pss" not in fields or "Pss_Anon" not in fields:
        return None
    return (fields["Pss"] - fields["Pss_Anon"]) * 1024


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
    """Sample a process tree's summed RSS and PSS in a thread while the block runs; keep each one's peak."""

    def __init__(self, root: int, interval_s: float = 0.05, shared_refresh_s: float = 2.0) -> None:
        self.root = root
        self.interval_s = interval_s
        self.shared_refresh_s = shared_refresh_s
        self.peak_bytes = 0
        self.peak_processes: list[tuple[str, float]] = []  # (command, RSS MiB) at the RSS peak
        self.peak_pss_bytes = 0
        self.peak_pss_processes: list[tuple[str, float]] = []  # (command, PSS MiB) at the PSS peak
        self.peak_pss_at_s = 0.0  # seconds after the sampler started
        self.samples = 0
        self._started = time.monotonic()
        self._shared: dict[int, tuple[float, int, float]] = {}  # pid → (read at, shared PSS bytes, anon share)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def shared_pss(self, pid: int, resident: Resident) -> int:
        """The process's shared-page PSS, re-read when older than `shared_refresh_s`."""
        now = time.monotonic()
        read_at, value, _ = self._shared.get(pid, (float("-inf"), 0, 1.0))
        if now - read_at >= self.shared_refresh_s:
            fields = read_rollup_kb(pid)
            fresh = read_shared_pss_bytes(pid, fields)
            # Without the rollup (old kernel), count shared pages whole, as RSS does: never an underestimate.
            value = fresh if fresh is not None else resident.rss_bytes - resident.anon_bytes
            share = 1.0
            if fields.get("Anonymous") and "Pss_Anon" in fields:
                share = min(1.0, fields["Pss_Anon"] / fields["Anonymous"])
            self._shared[pid] = (now, value, share)
        return value

    def anon_share(self, pid: int) -> float:
        """The share of its anonymous pages a process holds alone (1: none shared), as last read."""
        return self._shared.get(pid, (0.0, 0, 1.0))[2]

    def sample(self) -> None:
        """Take one sample of the tree and update the peaks."""
        residents = {pid: read_resident(pid) for pid in list_tree(self.root)}
        residents = {pid: resident for pid, resident in residents.items() if resident.rss_bytes}
        shared = {pid: self.shared_pss(pid, resident) for pid, resident in residents.items()}
        pss = {pid: int(r.anon_bytes * self.anon_share(pid)) + shared[pid] for pid, r in residents.items()}
        self.samples += 1
        rss_total = sum(resident.rss_bytes for resident in residents.values())
        if rss_total > self.peak_bytes:
            self.peak_bytes = rss_total
            self.peak_processes = [(read_command(pid), r.rss_bytes / 2**20) for pid, r in residents.items()]
        if sum(pss.values()) > self.peak_pss_bytes:
            self.peak_pss_bytes = sum(pss.values())
            self.peak_pss_at_s = time.monotonic() - self._started
            self.peak_pss_processes = [(read_command(pid), size / 2**20) for pid, size in pss.items()]
        for gone in set(self._shared) - set(residents):
            del self._shared[gone]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
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

    @property
    def peak_pss_mb(self) -> float:
        """Peak summed PSS in MiB."""
        return self.peak_pss_bytes / 2**20
