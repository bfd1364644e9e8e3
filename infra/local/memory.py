"""The local stack's process memory with glibc: few malloc arenas, free pages handed back.

The local stack is one process with many short-lived threads (one per HTTP connection, in the
gateway and in moto) next to long-lived state. glibc gives threads their own malloc arenas (up
to 8 per core) and keeps freed memory in them, so the resident size of such a process climbs
with the number of threads that ever ran, although the Python objects alive stay flat (a
tracemalloc diff over a load run grows by a few MB while RSS grows by hundreds). Two arenas
and a periodic `malloc_trim` keep RSS near what is in use. MALLOC_ARENA_MAX, when set, wins.
Elsewhere than glibc both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
from typing import Any

log = logging.getLogger("infra.local.memory")
M_ARENA_MAX = -8  # glibc malloc.h
DEFAULT_ARENAS = 2


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(environ: dict[str, str] | None = None, arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before the threads start); False when not applied."""
    env = os.environ if environ is None else environ
    libc = _libc()
    if libc is None or env.get("MALLOC_ARENA_MAX"):
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def release_free_memory() -> bool:
    """Give the free pages of the heap back to the system (glibc `malloc_trim(0)`)."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


class CollectorPolicy:
    """Full garbage collections that stay short while the stack's data grows.

    Everything the local stack holds (moto's tables, queues, streams and the sent emails) is
    made of Python objects that live for the whole run, and CPython's full collection walks every
    one of them while holding the GIL: under a crowd, with ~2 GB of such objects, a full pass
    took 0.25 s rising to ~1 s, every 5-10 s, and every request in flight waited for it (the
    periodic p99 spikes of `make load`). After each full collection this moves the survivors to
    the permanent generation (`gc.freeze`), so the next pass looks only at what was made since.
    Objects freed by reference count (deleted items, trimmed stream records, finished messages)
    are still freed at once; only a reference cycle that becomes garbage after being frozen is
    never reclaimed, which moto's data does not form at a rate that shows in a bounded run.
    """

    def __init__(self) -> None:
        self.full_collections = 0

    def install(self) -> None:
        gc.freeze()  # what start-up built (modules, moto's models, the template)
        gc.callbacks.append(self._after)

    def uninstall(self) -> None:
        if self._after in gc.callbacks:
            gc.callbacks.remove(self._after)

    def _after(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            self.full_collections += 1
            gc.freeze()
