"""The process's allocator, set for an analysis that ends with its process (the CLI's commands).

glibc's malloc serves an allocation above its mmap threshold (a moving one, 128 KiB to 32 MiB) with
fresh pages from the kernel and unmaps them on free; below it, it trims the heap's top once twice the
threshold is free there. An analysis allocates and frees hundreds of MiB of arrays, stage after
stage, so each stage faults in pages of its own (the logins stage of the 1 GiB storm: 12-16
thousand, 50-60 MiB), and a fault costs 1-18 microseconds, by the hour, on the shared virtual
machines we measure on. With the threshold fixed at its ceiling and the heap's top kept, a later
stage can reuse the pages an earlier one freed: the parse stage faulted 25 % fewer pages, and the
logins stage took 0.24-0.33 s against 0.36-0.46 s without, in four alternated runs (README, "Pages
a stage reuses").

Only the CLI's own processes ask for it (`logscope analyze`, `logins`, `batch` and the scanning
helper): a program that imports logscope keeps its allocator as it set it. malloc's own settings
in the environment (MALLOC_*_ variables, GLIBC_TUNABLES) win over these. The one call every
analysis makes is `trim_heap`, while the frame is built, where what was freed is not needed again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # the highest glibc accepts on 64-bit (half its heap size)
TRIM_THRESHOLD = 2**30  # a free top this large is given back; anything smaller stays for reuse
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")


def keep_freed_memory(environ: Mapping[str, str] = os.environ) -> bool:
    """Set glibc's malloc to keep freed memory for reuse; False (nothing changed) when the C library
    is not glibc or the environment sets malloc's own settings."""
    if not _is_glibc() or any(name in environ for name in USER_SETTINGS):
        return False
    if (mallopt := _glibc("mallopt")) is None:
        return False
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


def trim_heap() -> None:
    """Give every free page of glibc's heap back to the system now (`malloc_trim(0)`; elsewhere
    nothing): the frame build calls it between columns, so the pieces it drops do not stay resident
    next to the frame it makes (logscope.scan.compact.release_freed_memory)."""
    if (malloc_trim := _glibc("malloc_trim")) is not None:
        malloc_trim(0)


@cache
def _glibc(name: str) -> Any:
    """glibc's function `name` (int arguments), None when the C library is another or lacks it."""
    if not _is_glibc():
        return None
    import ctypes  # here: `logscope --help` does not load it

    try:
        function = getattr(ctypes.CDLL(None), name)  # the C library the process runs on
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    return function


def _is_glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None  # "glibc 2.36"; absent on musl, macOS
    except (AttributeError, ValueError, OSError):
        return False
