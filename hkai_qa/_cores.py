"""How many cores this process may use: the ONNX sessions and FAISS's thread count both ask here."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
