"""Retry decisions, one rule per test: reads retry transients, writes only when provably safe."""

from __future__ import annotations

import random

import pytest

from mediagen.defaults import RetryPolicy
from mediagen.errors import (
    AuthenticationError,
    ContentRejectedError,
    GenerationFailedError,
    InvalidParameterError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransientError,
    TransportError,
)
from mediagen.retry import (
    answer_lost,
    backoff,
    decide,
    is_transient,
    jittered,
    provably_not_created,
)

POLICY = RetryPolicy(attempts=3)


@pytest.mark.parametrize(
    "error",
    [
        TransportError("reset"),
        TransportError("refused", sent=False),
        ServerError("502", status=502),
        RateLimitError("429", status=429),
        TransientError("x"),
        MalformedResponseError("truncated"),
        GenerationFailedError("3001-ish", code=212200, retryable=True),
    ],
)
@pytest.mark.parametrize("phase", ["poll", "query"])
def test_reads_retry_transient_failures(error: Exception, phase: str) -> None:
    assert decide(error, phase, 1, POLICY) == "retry"  # type: ignore[arg-type]
    assert decide(error, phase, 3, POLICY) == "raise"  # type: ignore[arg-type]  # attempts used up


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("x"),
        NotFoundError("x", code=40003),
        InvalidParameterError("x"),
        ContentRejectedError("x"),
    ],
)
def test_reads_do_not_retry_permanent_failures(error: Exception) -> None:
    assert decide(error, "poll", 1, POLICY) == "raise"  # type: ignore[arg-type]


def test_a_refused_connection_means_nothing_was_sent() -> None:
    refused = TransportError("refused", sent=False)
    assert provably_not_created(refused) and not answer_lost(refused)
    assert decide(refused, "submit", 1, POLICY) == "retry"
    assert decide(refused, "submit", 3, POLICY) == "raise"


def test_explicit_rate_limit_rejections_are_retried_on_submit() -> None:
    assert decide(RateLimitError("429", status=429), "submit", 1, POLICY) == "retry"
    assert decide(RateLimitError("3001", code=3001, retryable=True), "submit", 2, POLICY) == "retry"


@pytest.mark.parametrize(
    "error",
    [
        TransportError("reset after send"),
        TransportError("timeout", sent=True),
        ServerError("503", status=503),
        MalformedResponseError("truncated JSON", status=200),
    ],
)
def test_a_lost_submit_answer_is_unknown_never_retried(error: Exception) -> None:
    assert answer_lost(error)  # type: ignore[arg-type]
    assert decide(error, "submit", 1, POLICY) == "unknown"  # type: ignore[arg-type]
    assert decide(error, "run", 1, POLICY) == "unknown"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("x", status=401),
        InvalidParameterError("x", status=400),
        ContentRejectedError("x", code=2406),
        GenerationFailedError("x", code=212200, retryable=True),
    ],
)
def test_explicit_rejections_of_a_submit_are_raised(error: Exception) -> None:
    assert decide(error, "submit", 1, POLICY) == "raise"  # type: ignore[arg-type]


def test_synchronous_calls_retry_the_vendors_retryable_failure_codes() -> None:
    failed = GenerationFailedError("generation failed", code=212200, retryable=True)
    assert decide(failed, "run", 1, POLICY) == "retry"
    panic = ServerError("panic", code=500, retryable=True, status=200)
    assert not answer_lost(panic)
    assert decide(panic, "run", 1, POLICY) == "retry"
    assert decide(GenerationFailedError("x", code=99, retryable=False), "run", 1, POLICY) == "raise"


def test_transient_classification() -> None:
    assert is_transient(ServerError("x")) and is_transient(RateLimitError("x"))
    assert is_transient(GenerationFailedError("x", retryable=True))
    assert not is_transient(GenerationFailedError("x"))


def test_backoff_grows_with_full_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= backoff(attempt, base=0.5, cap=8.0, rng=rng) <= ceiling


def test_retry_after_wins_but_is_capped() -> None:
    assert backoff(1, retry_after=4.0) == 4.0
    assert backoff(1, retry_after=400.0, cap=30.0) == 30.0
    assert backoff(1, retry_after=-3) == 0.0


def test_jitter() -> None:
    rng = random.Random(3)
    assert all(0.9 <= jittered(1.0, 0.1, rng) <= 1.1 for _ in range(100))
    assert jittered(2.0, 0.0) == 2.0
