"""Tagging on more cores: helper processes forked once per retag share each batch's chunks with this one.

A helper inherits the compiled matcher from the fork, so it is ready in milliseconds, where a spawned
worker needs ~0.2 s to start and load the matcher. It is forked once, before the retag reads the articles:
after a fork every shared page either process writes is copied, and a fork per batch, beside the
warehouse's reads and writes, copied ~80 MB a run of 1,990 articles (20,000 page faults in this process),
once per retag ~40 MB. Chunks go to a helper through a pipe, pickled, and their tag columns come back the
same way; a thread per pipe end does the waiting, so this process tags meanwhile. A helper runs pure
tagging only: no warehouse, no Prefect, no logging, no import; it leaves with os._exit, running none of
the parent's exit handlers. Chunks whose tags do not come back (the helper failed, died or was given up)
are tagged here: the output is the same either way.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable

from transforms.article_topics import tag_columns
from transforms.topics import TopicMatcher

try:
    import fcntl
except ImportError:  # not on Windows, where nothing is forked anyway
    fcntl = None  # type: ignore[assignment]

_HEADER = struct.Struct("<QQ")  # job number, length of the pickled body that follows
HELPER_GRACE_S = 5.0  # how long a helper may take past this process's own share of a batch, at least
HELPER_SLOWER = 4.0  # ... plus this many times that share's time
HELPER_QUEUE = 2  # chunks handed to a helper at a time: one it tags, one waiting for it
PIPE_BYTES = 1 << 20  # asked of the system for each pipe, so that a queued chunk does not block the sender

Tagger = Callable[[TopicMatcher, dict[str, list]], dict[str, list]]
_JOBS = itertools.count()  # job numbers, never reused: a late answer cannot pass for another job's
_PIPE_ENDS: set[int] = set()  # this process's ends of every helper's pipes: a new helper closes them all


def can_fork() -> bool:
    """Whether this platform starts processes by fork (Linux; macOS forks badly with system frameworks)."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


class TagHelper:
    """One forked helper process and the two threads that feed it chunks and collect its tags."""

    def __init__(self, pid: int, work_write: int, result_read: int, results: queue.SimpleQueue) -> None:
        self.pid = pid
        self.alive = True
        self.outstanding: dict[int, int] = {}  # job number -> chunk index in the current batch
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(
            target=_send_jobs, args=(self._outbox, work_write), name="tag-helper-send", daemon=True
        )
        self._receiver = threading.Thread(
            target=_receive_tags, args=(self, result_read, results), name="tag-helper-receive", daemon=True
        )
        self._sender.start()
        self._receiver.start()

    @classmethod
    def start(
        cls, matcher: TopicMatcher, results: queue.SimpleQueue, tag: Tagger = tag_columns
    ) -> TagHelper | None:
        """Fork a helper that tags with `matcher`; its tags come as (helper, job, columns) on `results`, and
        (helper, None, None) when it has ended. None when no process can be started."""
        work_read, work_write = os.pipe()
        result_read, result_write = os.pipe()
        for fd in (work_write, result_write):
            _enlarge_pipe(fd)
        try:
            pid = _fork()
        except OSError:
            for fd in (work_read, work_write, result_read, result_write):
                os.close(fd)
            return None
        if pid == 0:  # the helper: it never returns from here
            _run_helper(matcher, tag, work_read, result_write, {work_write, result_read, *_PIPE_ENDS})
        os.close(work_read)
        os.close(result_write)
        _PIPE_ENDS.update((work_write, result_read))
        return cls(pid, work_write, result_read, results)

    def send(self, index: int, chunk: dict[str, list]) -> None:
        """Hand chunk `index` of the current batch to the helper."""
        job = next(_JOBS)
        self.outstanding[job] = index
        body = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
        self._outbox.put(_HEADER.pack(job, len(body)) + body)

    def close(self, kill: bool = False) -> None:
        """Let the helper finish and leave (killed first with `kill`); it is collected on a thread."""
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.alive = False
        self._outbox.put(None)  # the sender closes the pipe: the helper reads its end and leaves


def start_helpers(
    matcher: TopicMatcher, count: int, tag: Tagger = tag_columns
) -> tuple[list[TagHelper], queue.SimpleQueue]:
    """Fork up to `count` helpers (fewer when the system refuses); return them and their results queue."""
    results: queue.SimpleQueue = queue.SimpleQueue()
    helpers = []
    for _ in range(count):
        helper = TagHelper.start(matcher, results, tag)
        if helper is None:
            break
        helpers.append(helper)
    return helpers, results


def close_helpers(helpers: list[TagHelper]) -> None:
    """Let every helper leave."""
    for helper in helpers:
        if helper.alive:
            helper.close()


def tag_shared(
    matcher: TopicMatcher,
    chunks: list[dict[str, list]],
    helpers: list[TagHelper],
    results: queue.SimpleQueue,
    tag: Tagger = tag_columns,
    grace_s: float = HELPER_GRACE_S,
) -> list[dict[str, list]]:
    """Tag prepared chunks (CHUNK_COLUMNS) here and on the live `helpers` at once; their tag columns in
    order. This process tags from the front, the helpers get chunks from the back; a helper that fails or
    is given up (`grace_s` past this process's share) is closed and its chunks are tagged here."""
    tagged: list[dict[str, list] | None] = [None] * len(chunks)
    todo = deque(range(len(chunks)))
    live = [helper for helper in helpers if helper.alive]
    started = time.perf_counter()
    deadline: float | None = None
    while True:
        _collect(results, tagged, block_until=None)
        for helper in live:
            while helper.alive and len(helper.outstanding) < HELPER_QUEUE and len(todo) > 1:
                index = todo.pop()
                helper.send(index, chunks[index])
        if not todo:
            todo.extend(_take_back(live))
        if todo:
            index = todo.popleft()
            tagged[index] = tag(matcher, chunks[index])
            continue
        waiting = [helper for helper in live if helper.alive and helper.outstanding]
        if not waiting:
            break
        if deadline is None:  # this process's share is done: the helpers have their grace from here
            deadline = time.monotonic() + grace_s + HELPER_SLOWER * (time.perf_counter() - started)
        if not _collect(results, tagged, block_until=deadline):
            for helper in waiting:  # given up: what it held is tagged here
                helper.close(kill=True)
                todo.extend(helper.outstanding.values())
                helper.outstanding.clear()
        for helper in live:
            if not helper.alive and helper.outstanding:  # it ended without them
                todo.extend(helper.outstanding.values())
                helper.outstanding.clear()
    return [columns if columns is not None else tag(matcher, chunks[n]) for n, columns in enumerate(tagged)]


def _take_back(helpers: list[TagHelper]) -> list[int]:
    """The index of a chunk queued behind another on a helper, taken back to be tagged here (its answer,
    if it comes, is then ignored): at a batch's end this process does not wait for two chunks in a row."""
    for helper in helpers:
        if helper.alive and len(helper.outstanding) > 1:
            return [helper.outstanding.pop(max(helper.outstanding))]  # the last one sent
    return []


def _collect(
    results: queue.SimpleQueue, tagged: list[dict[str, list] | None], block_until: float | None
) -> bool:
    """Take the helpers' results that have come (waiting for one until `block_until`, when given); False
    when the wait ran out."""
    while True:
        try:
            if block_until is None:
                helper, job, columns = results.get_nowait()
            else:
                helper, job, columns = results.get(timeout=max(0.0, block_until - time.monotonic()))
                block_until = None  # one was worth waiting for: take the rest without waiting
        except queue.Empty:
            return block_until is None
        if job is None:  # the helper has ended (or its pipe broke): its chunks are lost
            helper.alive = False
            continue
        index = helper.outstanding.pop(job, None)
        if index is not None and isinstance(columns, dict):
            tagged[index] = columns


def _fork() -> int:
    """os.fork, quiet about this process's other threads: the helper touches none of their state."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+ warns of threads at fork
        return os.fork()


def _run_helper(
    matcher: TopicMatcher, tag: Tagger, work_read: int, result_write: int, parent_ends: set[int]
) -> None:
    """The helper's whole life: tag each chunk that comes, send its tags back, exit at the end of the work
    pipe (or at any error: the parent tags what is missing)."""
    code = 1
    try:
        for fd in parent_ends:
            os.close(fd)
        # A collection would walk (and copy on write) memory it shares with the parent; it lives one retag.
        gc.disable()
        with os.fdopen(work_read, "rb") as work:
            while header := work.read(_HEADER.size):
                job, length = _HEADER.unpack(header)
                columns = tag(matcher, pickle.loads(work.read(length)))
                body = pickle.dumps(columns, protocol=pickle.HIGHEST_PROTOCOL)
                _write_all(result_write, _HEADER.pack(job, len(body)) + body)
        code = 0
    except BaseException:  # noqa: BLE001 - whatever it was, the parent tags what is missing
        code = 1
    finally:
        os._exit(code)


def _send_jobs(outbox: queue.SimpleQueue, work_write: int) -> None:
    """Sender thread: write each queued job to the helper's pipe; close it at None (or a broken pipe)."""
    try:
        while (message := outbox.get()) is not None:
            _write_all(work_write, message)
    except OSError:
        pass  # the helper is gone: the receiver reports it
    finally:
        _PIPE_ENDS.discard(work_write)
        os.close(work_write)


def _receive_tags(helper: TagHelper, result_read: int, results: queue.SimpleQueue) -> None:
    """Receiver thread: pass on each job's tags; at the pipe's end, report the helper gone and collect it."""
    try:
        with os.fdopen(result_read, "rb") as pipe:
            while len(header := pipe.read(_HEADER.size)) == _HEADER.size:
                job, length = _HEADER.unpack(header)
                body = pipe.read(length)
                if len(body) != length:
                    break
                results.put((helper, job, pickle.loads(body)))
    except Exception:  # noqa: BLE001 - a garbled message ends the helper's use like its death
        pass
    finally:
        _PIPE_ENDS.discard(result_read)
        results.put((helper, None, None))
        with contextlib.suppress(ProcessLookupError):
            os.kill(helper.pid, signal.SIGKILL)  # in case it is alive but no longer heard
        with contextlib.suppress(ChildProcessError):
            os.waitpid(helper.pid, 0)


def _enlarge_pipe(fd: int) -> None:
    """Ask for a pipe buffer of PIPE_BYTES (Linux); the default 64 kB works, only with more waiting."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, PIPE_BYTES)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to a pipe."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
