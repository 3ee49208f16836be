"""Process-level tuning shared by the server and the worker."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Collect young objects less often: requests and dispatch batches allocate many
    short-lived objects, and the default threshold (700) makes the cyclic collector a large
    share of bulk work. Objects alive at start are frozen out of collections entirely."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
