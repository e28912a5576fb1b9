"""Process set-up the benchmark scripts share."""

from __future__ import annotations

import os


def pin_to_last_core() -> str:
    """Keep the load generator off the core the server mostly uses, where the machine allows it."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})
        return f"load generator pinned to CPU {cores[-1]} of {len(cores)}"
    return "load generator shares the only CPU"
