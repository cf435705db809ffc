"""The C heap settings for page-sized buffers: big buffers get their own mappings, the user's MALLOC_* wins."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import ctypes, ctypes.util, json, sys
from flows.articles import tune_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
tuned = tune_heap() if sys.argv[1] == "tune" else False
# Free one 256 kB buffer first: untuned glibc then raises its mmap threshold above that size.
first = bytearray(256 * 1024)
del first
pages = [bytearray(256 * 1024) for _ in range(40)]
info = libc.mallinfo2()
print(json.dumps({"tuned": tuned, "mapped": info.hblkhd, "pages": sum(len(p) for p in pages)}))
"""


def run_probe(mode: str, **extra: str) -> dict:
    """Allocate page-sized buffers in a fresh process, tuned or not, and report glibc's mapped bytes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.update(PYTHONPATH=str(REPO), **extra)
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def glibc():
    if not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None:
        pytest.skip("glibc only")


def test_tuned_heap_keeps_page_buffers_in_their_own_mappings(glibc):
    untuned = run_probe("plain")
    tuned = run_probe("tune")
    assert tuned["tuned"] is True
    assert tuned["mapped"] >= tuned["pages"]  # each buffer mapped apart: freeing it returns it
    assert untuned["mapped"] < untuned["pages"] / 2  # the dynamic threshold put them on the heap


def test_the_users_malloc_setting_wins(glibc):
    seen = run_probe("tune", MALLOC_ARENA_MAX="4")
    assert seen["tuned"] is False
