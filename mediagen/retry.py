"""Retry decisions as small pure functions: what to retry, and how long to wait first."""

from __future__ import annotations

import random

from .errors import (
    CallError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    TransientError,
    TransportError,
)

POLL_ATTEMPTS = 6
"""Consecutive failed polls tolerated before `wait()` gives up (the task is not lost: resume)."""
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def poll_is_retryable(error: CallError) -> bool:
    """Polls and queries are read-only: retry anything that may pass on its own."""
    return isinstance(
        error,
        TransportError | ServerError | RateLimitError | TransientError | MalformedResponseError,
    )


def backoff(
    attempt: int,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retry number `attempt` (1-based): full jitter, capped; Retry-After wins."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def jittered(interval: float, fraction: float, rng: random.Random | None = None) -> float:
    """interval +/- fraction, so many tasks polling together spread out."""
    if fraction <= 0:
        return interval
    return interval * (rng or random).uniform(1 - fraction, 1 + fraction)
