"""Retry decisions as small pure functions: what to retry, and how long to wait first.

The rule that matters most: a submit is retried only when it provably created no task (the
connection was refused before the request left, or the vendor explicitly rejected it for load:
429, 3001). Any other lost answer is an unknown outcome, raised and never resubmitted.
"""

from __future__ import annotations

import random
from typing import Literal

from .defaults import NOT_FOUND_GRACE, NOT_FOUND_GRACE_POLLS, RetryPolicy
from .errors import (
    CallError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    TransientError,
    TransportError,
    UnknownTaskStatusError,
)

Decision = Literal["retry", "raise", "unknown"]
READ_PHASES = ("poll", "query")


def is_transient(error: CallError) -> bool:
    """May pass on its own: connection trouble, 5xx, rate limits, or a code the catalog marks so."""
    if isinstance(error, TransportError | ServerError | RateLimitError | TransientError):
        return True
    return error.retryable is True


def provably_not_created(error: CallError) -> bool:
    """The vendor certainly did not act on the request."""
    if isinstance(error, TransportError):
        return error.sent is False
    return isinstance(error, RateLimitError)


def answer_lost(error: CallError) -> bool:
    """We cannot tell whether the vendor acted: no answer, a 5xx, or one we cannot read."""
    if isinstance(error, TransportError):
        return error.sent is not False
    if isinstance(error, MalformedResponseError):
        return True
    if isinstance(error, ServerError | TransientError):
        # A 5xx may come after the vendor acted; an HTTP 200 carrying a failure code is an answer.
        return error.status is None or error.status >= 500 or error.code is None
    return False


def decide(error: CallError, phase: str, attempt: int, policy: RetryPolicy) -> Decision:
    """What to do after `attempt` tries of a request in `phase` failed with `error`."""
    if phase in READ_PHASES:
        if isinstance(error, UnknownTaskStatusError):
            # A whole answer, read: asked again at once, the vendor says the same word.
            # wait() polls again on its schedule, and says so (engine.AsyncTaskHandle.wait).
            return "raise"
        # Reading has no side effects; a body we cannot read may be a truncated answer.
        retry = is_transient(error) or isinstance(error, MalformedResponseError)
        return "retry" if retry and attempt < policy.attempts else "raise"
    # submit (a task) or run (a synchronous operation): writes.
    if provably_not_created(error):
        return "retry" if attempt < policy.attempts else "raise"
    if (
        phase == "run"
        and error.retryable is True
        and error.code is not None
        and not answer_lost(error)
    ):
        # An explicit vendor failure code the vendor says to retry (EdrawMax 212200/212201,
        # 500 "panic"): it answered, and a synchronous call leaves nothing behind.
        return "retry" if attempt < policy.attempts else "raise"
    if answer_lost(error):
        return "unknown"
    return "raise"


def not_found_is_transient(
    seconds_since_submit: float | None,
    not_found_answers: int,
    *,
    grace: float = NOT_FOUND_GRACE,
    grace_polls: int = NOT_FOUND_GRACE_POLLS,
) -> bool:
    """Whether a poll's "task not found" may still be the vendor's read-after-write lag.

    It may while fewer than `grace_polls` not-found answers came (this one included) or less
    than `grace` seconds passed since the submit, whichever lasts longer. `seconds_since_submit`
    is None when the submit time is unknown (a task known only by its id): polls alone count.
    """
    if not_found_answers <= grace_polls:
        return True
    return seconds_since_submit is not None and seconds_since_submit < grace


RETRIED_DOWNLOAD_STATUSES = frozenset({408, 429})
"""The 4xx answers to a download worth another try: a timeout and a rate limit."""


def retry_download(error: CallError, attempt: int, policy: RetryPolicy) -> bool:
    """Whether to fetch an artifact again after `attempt` tries failed with `error`.

    Fetching a file has no side effects, so transient failures are retried: a dropped or
    refused connection, a timeout, 5xx, 408 and 429 (its Retry-After honoured by `backoff`).
    Never another 4xx (the file is not there, or not ours), and never a refused URL
    (UnsafeDownloadError) or a local write failure (DownloadError): neither is a TransportError.
    """
    if attempt >= policy.attempts:
        return False
    if isinstance(error, RateLimitError):
        return True
    if not isinstance(error, TransportError):
        return False
    return error.status is None or error.status >= 500 or error.status in RETRIED_DOWNLOAD_STATUSES


def backoff(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
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
