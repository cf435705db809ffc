"""Tagging on a second core: a helper process forked for one batch shares its prepared chunks with this one.

The helper inherits the compiled matcher and the batch's chunks (prepared as plain Python lists) from the
fork, so nothing but chunk numbers goes to it and nothing but tag columns comes back: ready in a few
milliseconds, where a spawned worker needs ~0.2 s to start and load the matcher. Both processes take chunk
numbers from one pipe until it is empty, so the faster one tags more. The helper runs pure tagging only:
no warehouse, no Prefect, no logging, no import; it leaves with os._exit, running none of the parent's exit
handlers. Any chunk whose tags do not come back (the helper failed, died or timed out) is tagged here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable

from transforms.article_topics import tag_columns
from transforms.topics import TopicMatcher

_TOKEN = struct.Struct("<I")  # a chunk number in the shared pipe
_STOP = 0xFFFFFFFF  # one per process: the end of the chunk numbers
_LENGTH = struct.Struct("<Q")  # the length of the helper's pickled tags
HELPER_GRACE_S = 5.0  # how long past this process's own share the helper may take before it is given up
HELPER_SLOWER = 4.0  # ... plus this many times that share's time
MAX_HELPERS = 64
MAX_CHUNKS = 8_000  # chunk numbers written at once (32 kB): half a pipe's smallest buffer

Tagger = Callable[[TopicMatcher, dict[str, list]], dict[str, list]]


def can_fork() -> bool:
    """Whether this platform starts processes by fork (Linux; macOS forks badly with system frameworks)."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def tag_chunks_forked(
    matcher: TopicMatcher,
    chunks: list[dict[str, list]],
    helpers: int = 1,
    tag: Tagger = tag_columns,
    grace_s: float = HELPER_GRACE_S,
) -> list[dict[str, list]]:
    """Tag prepared chunks (CHUNK_COLUMNS) here and in `helpers` forked processes at once; their tag columns
    in order. A helper that fails or is given up (`grace_s` past this process's share) loses nothing: its
    chunks are tagged here."""
    helpers = min(helpers, len(chunks) - 1, MAX_HELPERS)
    if helpers < 1:
        return [tag(matcher, chunk) for chunk in chunks]
    if len(chunks) > MAX_CHUNKS:  # the chunk numbers must fit the pipe before anyone reads
        return [
            *tag_chunks_forked(matcher, chunks[:MAX_CHUNKS], helpers, tag, grace_s),
            *tag_chunks_forked(matcher, chunks[MAX_CHUNKS:], helpers, tag, grace_s),
        ]
    results: list[dict[str, list] | None] = [None] * len(chunks)
    token_read, token_write = os.pipe()
    try:
        stops = [_STOP] * (helpers + 1)  # one for each process
        _write_all(token_write, b"".join(_TOKEN.pack(n) for n in [*range(len(chunks)), *stops]))
    finally:
        os.close(token_write)
    started = time.perf_counter()
    running: dict[int, int] = {}  # helper pid -> the read end of its result pipe
    try:
        for _ in range(helpers):
            result_read, result_write = os.pipe()
            try:
                pid = _fork()
            except OSError:  # no more processes or memory for one: the ones started (or this one) do it all
                os.close(result_read)
                os.close(result_write)
                break
            if pid == 0:  # a helper: it never returns from here
                _run_helper(matcher, chunks, tag, token_read, [result_read, *running.values()], result_write)
            os.close(result_write)
            running[pid] = result_read
        while (number := _take_token(token_read)) is not None:
            results[number] = tag(matcher, chunks[number])
        # The helpers may still tag their last chunks: wait for them, but not forever.
        deadline = time.monotonic() + grace_s + HELPER_SLOWER * (time.perf_counter() - started)
        for pid in list(running):
            helped = _read_helper_tags(running[pid], deadline)
            for number, columns in (helped or {}).items():
                if isinstance(number, int) and 0 <= number < len(results) and results[number] is None:
                    results[number] = columns
            os.close(running.pop(pid))
            _reap(pid, given_up=helped is None)
    finally:
        os.close(token_read)
        for pid, result_read in running.items():  # left by an error here: of no more use
            os.close(result_read)
            _reap(pid, given_up=True)
    # Chunks a helper took but did not give back (it failed or was too slow) are tagged here.
    return [columns if columns is not None else tag(matcher, chunks[n]) for n, columns in enumerate(results)]


def _fork() -> int:
    """os.fork, quiet about this process's other threads: the helper touches none of their state."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+ warns of threads at fork
        return os.fork()


def _run_helper(
    matcher: TopicMatcher,
    chunks: list[dict[str, list]],
    tag: Tagger,
    token_read: int,
    others: list[int],
    result_write: int,
) -> None:
    """The helper's whole life: tag the chunks it takes, send their tags back in one message, exit. `others`:
    pipe ends of the parent's that it closes."""
    code = 1
    try:
        for fd in others:
            os.close(fd)
        # Short-lived: a collection would only walk (and copy on write) memory it shares with the parent.
        gc.disable()
        tagged = {}
        while (number := _take_token(token_read)) is not None:
            tagged[number] = tag(matcher, chunks[number])
        payload = pickle.dumps(tagged, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(result_write, _LENGTH.pack(len(payload)) + payload)
        code = 0
    except BaseException:  # noqa: BLE001 - whatever it was, the parent tags what is missing
        code = 1
    finally:
        os._exit(code)


def _take_token(token_read: int) -> int | None:
    """The next chunk number from the shared pipe; None at this process's stop mark (or a broken pipe)."""
    data = os.read(token_read, _TOKEN.size)  # whole tokens: they were all written before the fork
    if len(data) != _TOKEN.size:
        return None
    (number,) = _TOKEN.unpack(data)
    return None if number == _STOP else number


def _read_helper_tags(result_read: int, deadline: float) -> dict[int, dict[str, list]] | None:
    """The helper's tags by chunk number; None when it sent nothing whole before `deadline`."""
    received = bytearray()
    expected: int | None = None
    poller = select.poll()  # not select.select: this process may hold more than FD_SETSIZE files
    poller.register(result_read, select.POLLIN)
    while expected is None or len(received) < expected:
        remaining_ms = (deadline - time.monotonic()) * 1000
        if remaining_ms <= 0 or not poller.poll(remaining_ms):
            return None
        data = os.read(result_read, 1 << 20)
        if not data:  # the helper closed its end early: it failed
            return None
        received += data
        if expected is None and len(received) >= _LENGTH.size:
            expected = _LENGTH.size + _LENGTH.unpack_from(received)[0]
    try:
        tagged = pickle.loads(memoryview(received)[_LENGTH.size :])
    except Exception:  # noqa: BLE001 - a garbled message counts as none
        return None
    return tagged if isinstance(tagged, dict) else None


def _reap(pid: int, given_up: bool) -> None:
    """Have the helper's exit collected, killing it first when it was given up (it may still be running)."""
    if given_up:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # On a thread: a helper that has sent its tags still takes 4-15 ms to leave (its copy of this process's
    # memory is torn down), time this process spends on the next batch instead of waiting.
    threading.Thread(target=_wait_for, args=(pid,), name="forked-tagging-reaper", daemon=True).start()


def _wait_for(pid: int) -> None:
    """Wait for a helper's exit (nothing to do when something else has collected it already)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to a pipe."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
