"""Process-level tuning shared by the server and the worker."""

from __future__ import annotations

import gc
import logging


def tune_gc() -> None:
    """Collect young objects less often: requests and dispatch batches allocate many
    short-lived objects, and the default threshold (700) makes the cyclic collector a large
    share of bulk work. A bulk batch of 10,000 messages holds about 100,000 objects until its
    reply is sent; below 200,000 the collector ran several times per batch, walking them all
    each time (2.6 µs per message, now 0.4). Only cyclic garbage waits for a collection, so
    the memory held meanwhile stays small (campaign benchmark's peak RSS: +4 MB). Objects alive
    at start are frozen out of collections entirely."""
    gc.freeze()
    gc.set_threshold(200_000, 20, 100)


def configure_logging(level: str | int) -> None:
    """One log format for every process: time, level, logger, message."""
    logging.basicConfig(
        level=level.upper() if isinstance(level, str) else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
