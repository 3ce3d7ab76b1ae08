"""Every runtime default in one place: timeouts, polling, connection pool, downloads.

Override per client (`AsyncClient(timeouts=..., polling=...)`) or per call (`wait(timeout=)`).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Timeouts:
    connect: float = 10.0
    """Seconds to open a connection."""
    request: float = 60.0
    """Seconds for one whole request and response (the vendor scripts use 60)."""
    download: float = 600.0
    """Seconds for one artifact download."""


@attrs.frozen
class PollSchedule:
    """Adaptive polling: fast at first, backing off by `factor` to `maximum`, with jitter."""

    initial: float
    maximum: float
    factor: float = 1.5
    jitter: float = 0.1
    """Fraction of each interval randomised, so thousands of tasks do not poll in lockstep."""

    def interval(self, attempt: int) -> float:
        """The base interval before poll number `attempt` (0-based), without jitter."""
        return min(self.maximum, self.initial * self.factor**attempt)


# Per output kind: images finish in seconds, audio in tens of seconds, video in minutes.
POLLING: dict[str, PollSchedule] = {
    "image": PollSchedule(initial=1.0, maximum=5.0),
    "mask": PollSchedule(initial=1.0, maximum=5.0),
    "audio": PollSchedule(initial=2.0, maximum=10.0),
    "video": PollSchedule(initial=5.0, maximum=15.0),
    "diagram": PollSchedule(initial=1.0, maximum=5.0),
    "none": PollSchedule(initial=2.0, maximum=10.0),
}

POLL_HINT_MIN = 0.01
"""Seconds: the shortest wait before a poll, whatever a vendor's Retry-After hint says."""

WAIT_TIMEOUT: dict[str, float] = {
    "image": 600.0,
    "mask": 600.0,
    "audio": 900.0,
    "video": 1800.0,
    "diagram": 300.0,
    "none": 900.0,
}
"""Seconds `wait()` waits by default, per output kind (video can take many minutes)."""


@attrs.frozen
class RetryPolicy:
    """How hard to try again. Which errors are retried is decided in mediagen.retry."""

    attempts: int = 4
    """Tries per request (the first one included) for polls, queries and safe resubmits."""
    wait_failures: int = 6
    """Consecutive polls that may fail (each after its own retries) before wait() gives up."""
    base: float = 0.5
    """Seconds before the first retry; doubles each time, with full jitter."""
    cap: float = 30.0
    """The longest single pause, Retry-After included."""


POOL_SIZE = 100
"""Concurrent connections per client; thousands of waiting tasks share them."""

MAX_DOWNLOAD_BYTES = 2 * 1024**3
"""Refuse artifacts larger than this (2 GiB)."""

USER_AGENT = "mediagen"
