"""Fault injection, provider by provider: every fault at submit/run and at poll/query.

Each case runs against a fresh emulator and a client with a journal, then checks the two
invariants that matter most:

- zero lost tasks: every task the emulator created was returned to the caller, or is in
  the journal with its task id, or stands behind a journal entry in state `unknown`;
- zero duplicate submits: the emulator saw exactly as many submit/run requests as the
  retry rules allow (1 for a lost answer, 1 + retries for an explicit rejection).

What every provider must do, whatever its catalog (each catalog code to its error class, each
status word to its state, a lost submit never retried), the conformance suite checks
(`mediagen.testing.conformance`, run on the built-ins by tests/conformance/); this file keeps
the fault kinds and retry counts it does not cover.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import mediagen
from mediagen.defaults import RetryPolicy, Timeouts
from mediagen.engine import AsyncTaskHandle
from mediagen.errors import (
    AuthenticationError,
    CallError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidParameterError,
    MalformedResponseError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknownError,
    TransportError,
)
from mediagen.journal import Entry, Journal
from mediagen.results import Result
from mediagen.testing import Emulator, Fault

POLICY = RetryPolicy(attempts=4, base=0.01, cap=0.05)
TIMEOUTS = Timeouts(request=30.0)
"""Generous: a loaded machine must not turn an ordinary answer into a timeout."""
SLOW_TIMEOUTS = Timeouts(request=1.0)
"""For the cases with a slow answer, which must time out: still ample for the ordinary ones."""
DURATION = 0.1
TRANSIENT = POLICY.attempts - 1
"""The most consecutive failures a read must survive within one call."""
RETRY_AFTER = 0.05
SLOW = 1.5
"""Seconds a slow answer takes: past SLOW_TIMEOUTS.request. The emulator runs on the client's
event loop, so the client's deadline (set first, and earlier) always fires first."""


def timeouts_for(spec: dict[str, Any]) -> dict[str, Timeouts]:
    """The client's timeouts for a case: short only where the fault is a slow answer."""
    return {"timeouts": SLOW_TIMEOUTS if spec["kind"] == "slow" else TIMEOUTS}


# -- what we call -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    provider: str
    operation: str
    phase: str
    """The emulator phase of the write: submit (a task) or run (synchronous)."""
    invoke: Callable[[mediagen.AsyncClient], Awaitable[Any]]

    @property
    def creates_tasks(self) -> bool:
        return self.phase == "submit"


TARGETS = {
    "mediaio": Target(
        "mediaio", "imagen_4", "submit", lambda c: c.mediaio.imagen_4(prompt="a red fox")
    ),
    "tomoviee": Target(
        "tomoviee",
        "text_to_music",
        "submit",
        lambda c: c.tomoviee.text_to_music(prompt="calm piano", duration=10, qty=1),
    ),
    "edrawmax": Target(
        "edrawmax", "flowchart", "run", lambda c: c.edrawmax.flowchart(prompt="a login flow")
    ),
}
TASK_PROVIDERS = ("mediaio", "tomoviee")
REASON_FIELD = {"mediaio": False, "tomoviee": True}
"""Whether the provider's task protocol carries a failure reason (catalog reason_field)."""


# -- one emulator, one client, one journal per case -------------------------------------------


@dataclass
class Session:
    emu: Emulator
    client: mediagen.AsyncClient
    handles: list[AsyncTaskHandle] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)

    @property
    def journal(self) -> Journal:
        journal = self.client.journal
        assert journal is not None
        return journal

    def entries(self, provider: str | None = None) -> list[Entry]:
        return [e for e in self.journal.entries() if provider in (None, e.provider)]

    def inject(self, kind: str, provider: str, phase: str, **spec: Any) -> Fault:
        fault = Fault(kind, provider=provider, phase=phase, **spec)  # type: ignore[arg-type]
        return self.emu.inject(fault)

    async def call(self, target: Target) -> Any:
        """The client-level call; whatever it returns is what the caller holds."""
        out = await target.invoke(self.client)
        if isinstance(out, AsyncTaskHandle):
            self.handles.append(out)
        elif isinstance(out, Result):
            self.results.append(out)
        return out

    def requests(self, provider: str, phase: str) -> int:
        return len(self.emu.requests_for(provider, phase))

    def tasks(self, provider: str) -> list[str]:
        return [t for t, task in self.emu.tasks.items() if task.operation.provider == provider]

    async def settle(self, provider: str, count: int) -> None:
        """Wait (briefly) until the emulator has created `count` tasks: a slow answer's task
        is created after the client gave up on it."""
        deadline = time.monotonic() + SLOW + 1.0
        while len(self.tasks(provider)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


def session(tmp_path: Path, body: Callable[[Session], Awaitable[None]], **options: Any) -> None:
    async def go() -> None:
        async with Emulator(duration=DURATION) as emu:
            merged = {
                **emu.client_options(),
                "retry": POLICY,
                "timeouts": TIMEOUTS,
                "journal": tmp_path / "j.sqlite3",
                **options,
            }
            async with mediagen.AsyncClient(**merged) as client:
                s = Session(emu, client)
                await body(s)
                assert_no_lost_tasks(s)

    asyncio.run(go())


def assert_no_lost_tasks(s: Session) -> None:
    """Every task the emulator created is held by the caller, journaled by id, or stands
    behind an `unknown` journal entry; and no intent is left pending."""
    entries = s.entries()
    assert [e for e in entries if e.state == "pending"] == [], "an intent was never resolved"
    journaled = {e.task_id for e in entries if e.task_id}
    for handle in s.handles:
        assert handle.task_id in journaled, f"returned task {handle.task_id} is not journaled"
    held = {h.task_id for h in s.handles} | {r.task_id for r in s.results if r.task_id}
    lost = [t for t in s.emu.tasks if t not in held and t not in journaled]
    unknown = [e for e in entries if e.state == "unknown" and e.task_id is None]
    assert len(lost) <= len(unknown), (
        f"tasks {lost} were created by the vendor but neither returned nor journaled "
        f"(only {len(unknown)} unknown journal entries)"
    )


def assert_submits(s: Session, target: Target, *, requests: int, tasks: int) -> None:
    """Zero duplicate submits: exactly `requests` writes reached the vendor, `tasks` tasks."""
    assert s.requests(target.provider, target.phase) == requests
    if target.creates_tasks:
        assert len(s.tasks(target.provider)) == tasks
    else:
        assert s.emu.tasks == {}


# -- faults at submit / run -------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    error: type[CallError] | None = None
    """None: the call succeeds."""
    requests: int = 1
    """Submit/run requests the emulator must see."""
    created: bool = False
    """For a lost answer: whether the vendor did create the task."""
    cause: type[CallError] | None = None
    """For SubmitOutcomeUnknownError: the error behind it."""
    code: int | None = None
    min_seconds: float = 0.0
    """A lower bound on the call's duration (Retry-After honoured)."""


LOST = SubmitOutcomeUnknownError

COMMON_WRITE_FAULTS: list[tuple[str, dict[str, Any], Expect]] = [
    ("http500", {"kind": "status", "status": 500}, Expect(LOST, cause=ServerError)),
    ("http502", {"kind": "status", "status": 502}, Expect(LOST, cause=ServerError)),
    ("http503", {"kind": "status", "status": 503}, Expect(LOST, cause=ServerError)),
    ("reset", {"kind": "reset"}, Expect(LOST, cause=TransportError)),
    ("reset_after", {"kind": "reset_after"}, Expect(LOST, cause=TransportError, created=True)),
    ("slow", {"kind": "slow", "delay": SLOW}, Expect(LOST, cause=TransportError, created=True)),
    ("malformed", {"kind": "malformed"}, Expect(LOST, cause=MalformedResponseError)),
    ("truncated", {"kind": "truncated"}, Expect(LOST, cause=MalformedResponseError)),
    ("html502", {"kind": "html", "status": 502}, Expect(LOST, cause=ServerError)),
    ("html503", {"kind": "html", "status": 503}, Expect(LOST, cause=ServerError)),
    # HTTP 200, success code, empty data: an answer of the wrong shape, unreadable like
    # malformed JSON (no task id, no result): the vendor may have acted.
    ("empty-data", {"kind": "status", "code": 0}, Expect(LOST, cause=MalformedResponseError)),
    ("http429x2", {"kind": "status", "status": 429, "times": 2}, Expect(requests=3)),
    (
        "http429x2-retry-after",
        {"kind": "status", "status": 429, "times": 2, "retry_after": RETRY_AFTER},
        Expect(requests=3, min_seconds=2 * RETRY_AFTER),
    ),
    ("html429x1", {"kind": "html", "status": 429}, Expect(requests=2)),
    (
        "http429-exhausted",
        {"kind": "status", "status": 429, "times": 10, "retry_after": RETRY_AFTER},
        Expect(RateLimitError, requests=POLICY.attempts, min_seconds=3 * RETRY_AFTER),
    ),
    ("http413", {"kind": "status", "status": 413}, Expect(PayloadTooLargeError)),
]

# Which error class each catalog code and HTTP status maps to is the conformance suite's
# check (tests/conformance/test_builtins.py, test_error_code_maps_to_its_error_class); these
# are what it does not check: how often a write the vendor refused for load is tried again.
PROVIDER_WRITE_FAULTS: dict[str, list[tuple[str, dict[str, Any], Expect]]] = {
    "mediaio": [],
    "tomoviee": [],
    "edrawmax": [
        ("code3001x2", {"kind": "vendor_code", "code": 3001, "times": 2}, Expect(requests=3)),
        ("code212200x1", {"kind": "vendor_code", "code": 212200}, Expect(requests=2)),
        ("code212201x3", {"kind": "vendor_code", "code": 212201, "times": 3}, Expect(requests=4)),
        ("code500x2", {"kind": "vendor_code", "code": 500, "times": 2}, Expect(requests=3)),
        (
            "code3001-exhausted",
            {"kind": "vendor_code", "code": 3001, "times": 10},
            Expect(RateLimitError, requests=POLICY.attempts, code=3001),
        ),
        (
            "code212200-exhausted",
            {"kind": "vendor_code", "code": 212200, "times": 10},
            Expect(GenerationFailedError, requests=POLICY.attempts, code=212200),
        ),
    ],
}


def _write_cases() -> list[Any]:
    cases = []
    for provider in TARGETS:
        for name, spec, expect in COMMON_WRITE_FAULTS + PROVIDER_WRITE_FAULTS[provider]:
            cases.append(pytest.param(provider, spec, expect, id=f"{provider}-{name}"))
    return cases


@pytest.mark.parametrize(("provider", "spec", "expect"), _write_cases())
def test_fault_at_submit_or_run(
    tmp_path: Path, provider: str, spec: dict[str, Any], expect: Expect
) -> None:
    target = TARGETS[provider]
    message = f"injected {spec['kind']} for {provider}"

    async def body(s: Session) -> None:
        s.inject(provider=provider, phase=target.phase, message=message, **spec)
        started = time.monotonic()
        if expect.error is None:
            out = await s.call(target)
            assert time.monotonic() - started >= expect.min_seconds
            result = await out.wait() if isinstance(out, AsyncTaskHandle) else out
            assert result.artifacts
            assert_submits(s, target, requests=expect.requests, tasks=1)
            [entry] = s.entries(provider)
            assert entry.state == "succeeded"
            assert entry.task_id == result.task_id
            return
        with pytest.raises(expect.error) as info:
            await s.call(target)
        assert time.monotonic() - started >= expect.min_seconds
        err = info.value
        assert (err.provider, err.operation) == (provider, target.operation)
        [entry] = s.entries(provider)
        assert entry.task_id is None
        if expect.error is SubmitOutcomeUnknownError:
            assert expect.cause is not None and isinstance(err.__cause__, expect.cause)
            if isinstance(err.__cause__, TransportError):
                assert err.__cause__.sent is not False
            created = int(expect.created and target.creates_tasks)
            await s.settle(provider, created)
            assert_submits(s, target, requests=1, tasks=created)
            assert entry.state == "unknown"
            assert entry.error and "may have created" in entry.error
        else:
            assert not isinstance(err, SubmitOutcomeUnknownError)
            assert_submits(s, target, requests=expect.requests, tasks=0)
            assert entry.state == "rejected"
            assert err.vendor_message == message
            assert message in str(err) and message in (entry.error or "")
            if expect.code is not None:
                assert err.code == expect.code
            if isinstance(err, RateLimitError) and "retry_after" in spec:
                assert err.retry_after == spec["retry_after"]

    session(tmp_path, body, **timeouts_for(spec))


def test_connection_refused_submits_are_retried_then_rejected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused before sending: provably no task, so every provider retries the write, and
    the journal says rejected (no task exists), not unknown."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def body(s: Session) -> None:
        for provider, target in TARGETS.items():
            caplog.clear()
            with (
                caplog.at_level(logging.INFO, logger="mediagen.engine"),
                pytest.raises(TransportError) as info,
            ):
                await s.call(target)
            assert not isinstance(info.value, SubmitOutcomeUnknownError)
            assert info.value.sent is False
            retries = [r for r in caplog.records if "retry" in r.getMessage()]
            assert len(retries) == POLICY.attempts - 1, provider
            [entry] = s.entries(provider)
            assert (entry.state, entry.task_id) == ("rejected", None)
        assert s.emu.requests == []

    session(tmp_path, body, base_urls=dict.fromkeys(TARGETS, closed))


@pytest.mark.parametrize("provider", list(TARGETS))
def test_caller_cancelling_a_slow_submit_leaves_it_unknown(tmp_path: Path, provider: str) -> None:
    """The caller gives up (cancels the call) while the vendor is still working: the answer
    is lost, the journal says unknown, and the task the vendor then creates is not lost."""
    target = TARGETS[provider]

    async def body(s: Session) -> None:
        s.inject("slow", provider, target.phase, delay=0.5)
        call = asyncio.ensure_future(s.call(target))
        while not s.requests(provider, target.phase):  # given up once the vendor has it
            await asyncio.sleep(0.005)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        created = int(target.creates_tasks)
        await s.settle(provider, created)
        assert_submits(s, target, requests=1, tasks=created)
        [entry] = s.entries(provider)
        assert (entry.state, entry.task_id) == ("unknown", None)

    session(tmp_path, body)


# -- faults at poll ---------------------------------------------------------------------------

TRANSIENT_READ_FAULTS: list[tuple[str, dict[str, Any], type[CallError]]] = [
    ("http500", {"kind": "status", "status": 500}, ServerError),
    ("http502", {"kind": "status", "status": 502}, ServerError),
    ("http503", {"kind": "status", "status": 503}, ServerError),
    ("http429", {"kind": "status", "status": 429}, RateLimitError),
    (
        "http429-retry-after",
        {"kind": "status", "status": 429, "retry_after": RETRY_AFTER},
        RateLimitError,
    ),
    ("reset", {"kind": "reset"}, TransportError),
    ("reset_after", {"kind": "reset_after"}, TransportError),
    ("slow", {"kind": "slow", "delay": SLOW}, TransportError),
    ("malformed", {"kind": "malformed"}, MalformedResponseError),
    ("truncated", {"kind": "truncated"}, MalformedResponseError),
    ("html502", {"kind": "html", "status": 502}, ServerError),
    ("html503", {"kind": "html", "status": 503}, ServerError),
]


POLL_ONLY_FAULTS: list[tuple[str, dict[str, Any], type[CallError]]] = [
    # HTTP 200 with a success code but no task status in its data: unreadable, so retried
    # like malformed JSON (for a query, an empty data object is a valid answer).
    ("empty-data", {"kind": "status", "code": 0}, MalformedResponseError),
]


def _transient_poll_cases() -> list[Any]:
    return [
        pytest.param(provider, spec, id=f"{provider}-{name}")
        for provider in TASK_PROVIDERS
        for name, spec, _ in TRANSIENT_READ_FAULTS + POLL_ONLY_FAULTS
    ]


@pytest.mark.parametrize(("provider", "spec"), _transient_poll_cases())
def test_transient_fault_at_poll_recovers(
    tmp_path: Path, provider: str, spec: dict[str, Any]
) -> None:
    """A poll survives attempts-1 consecutive failures within one status() call, and wait()
    rides through them too; the task is submitted once and journaled to its result."""
    target = TARGETS[provider]
    spec = {**spec, "times": TRANSIENT}

    async def body(s: Session) -> None:
        task = await s.call(target)
        s.inject(provider=provider, phase="poll", **spec)
        started = time.monotonic()
        status = await task.status()
        if "retry_after" in spec:
            assert time.monotonic() - started >= TRANSIENT * RETRY_AFTER
        assert status.state in ("queued", "running", "succeeded")
        assert s.requests(provider, "poll") == TRANSIENT + 1
        s.inject(provider=provider, phase="poll", **spec)
        result = await task.wait(timeout=20)
        assert result.task_id == task.task_id and result.artifacts
        assert_submits(s, target, requests=1, tasks=1)
        [entry] = s.entries(provider)
        assert (entry.state, entry.task_id) == ("succeeded", task.task_id)

    session(tmp_path, body, **timeouts_for(spec))


@pytest.mark.parametrize(
    ("provider", "spec", "error"),
    [
        pytest.param(provider, spec, error, id=f"{provider}-{name}")
        for provider in TASK_PROVIDERS
        for name, spec, error in TRANSIENT_READ_FAULTS
        if name in ("http503", "reset", "malformed", "http429")
    ],
)
def test_persistent_fault_at_poll_gives_up_after_the_policy(
    tmp_path: Path, provider: str, spec: dict[str, Any], error: type[CallError]
) -> None:
    """One more failure than the policy allows: status() raises the read's own error after
    exactly `attempts` polls; the task stays journaled by id and can still be waited on."""
    target = TARGETS[provider]

    async def body(s: Session) -> None:
        task = await s.call(target)
        s.inject(provider=provider, phase="poll", **{**spec, "times": POLICY.attempts})
        with pytest.raises(error) as info:
            await task.status()
        assert not isinstance(info.value, SubmitOutcomeUnknownError)
        assert info.value.task_id == task.task_id
        assert s.requests(provider, "poll") == POLICY.attempts
        [entry] = s.entries(provider)
        assert (entry.state, entry.task_id) == ("queued", task.task_id)
        assert (await task.wait(timeout=20)).artifacts
        assert_submits(s, target, requests=1, tasks=1)

    session(tmp_path, body)


@pytest.mark.parametrize("provider", TASK_PROVIDERS)
def test_wait_rides_through_failed_polls_up_to_wait_failures(tmp_path: Path, provider: str) -> None:
    """wait() retries whole polls (each with its own retries): it survives two exhausted
    polls, and gives up on the wait_failures-th one, after exactly that many requests."""
    target = TARGETS[provider]

    async def body(s: Session) -> None:
        task = await s.call(target)
        s.inject("status", provider, "poll", status=503, times=2 * POLICY.attempts)
        assert (await task.wait(timeout=20)).artifacts
        assert s.requests(provider, "poll") > 2 * POLICY.attempts
        again = s.client.task(provider, target.operation, task.task_id)
        before = s.requests(provider, "poll")
        s.inject("status", provider, "poll", status=503, times=1000)
        with pytest.raises(ServerError) as info:
            await again.wait(timeout=20)
        assert info.value.task_id == task.task_id
        assert s.requests(provider, "poll") - before == POLICY.attempts * POLICY.wait_failures
        assert_submits(s, target, requests=1, tasks=1)
        [entry] = s.entries(provider)
        assert (entry.state, entry.task_id) == ("succeeded", task.task_id)

    session(tmp_path, body)


# Not found (40003, HTTP 404) right after a submit is the vendor's read-after-write lag, polled
# again for a while: tests/test_recovery_files.py covers it.
PERMANENT_POLL_FAULTS: list[Any] = [
    pytest.param(
        "mediaio",
        {"kind": "vendor_code", "code": 374004},
        AuthenticationError,
        id="mediaio-code374004",
    ),
    pytest.param(
        "mediaio",
        {"kind": "vendor_code", "code": 40001},
        AuthenticationError,
        id="mediaio-code40001",
    ),
    pytest.param(
        "tomoviee", {"kind": "status", "status": 401}, AuthenticationError, id="tomoviee-http401"
    ),
    pytest.param(
        "tomoviee", {"kind": "status", "status": 400}, InvalidParameterError, id="tomoviee-http400"
    ),
]


@pytest.mark.parametrize(("provider", "spec", "error"), PERMANENT_POLL_FAULTS)
def test_permanent_fault_at_poll_is_raised_at_once(
    tmp_path: Path, provider: str, spec: dict[str, Any], error: type[CallError]
) -> None:
    target = TARGETS[provider]
    message = f"injected permanent {spec['kind']} for {provider}"

    async def body(s: Session) -> None:
        task = await s.call(target)
        s.inject(provider=provider, phase="poll", message=message, times=2, **spec)
        with pytest.raises(error) as by_status:
            await task.status()
        assert s.requests(provider, "poll") == 1
        with pytest.raises(error) as by_wait:
            await task.wait(timeout=20)
        assert s.requests(provider, "poll") == 2
        for err in (by_status.value, by_wait.value):
            assert err.vendor_message == message and message in str(err)
            assert err.task_id == task.task_id
            if "code" in spec:
                assert err.code == spec["code"]
        assert_submits(s, target, requests=1, tasks=1)
        [entry] = s.entries(provider)
        assert entry.task_id == task.task_id  # the task is still findable by id

    session(tmp_path, body)


# -- faults at query (Media.io credits and task_result) ---------------------------------------


@pytest.mark.parametrize(
    "spec",
    [pytest.param(spec, id=name) for name, spec, _ in TRANSIENT_READ_FAULTS],
)
def test_transient_fault_at_query_recovers(tmp_path: Path, spec: dict[str, Any]) -> None:
    async def body(s: Session) -> None:
        s.inject(provider="mediaio", phase="query", **{**spec, "times": TRANSIENT})
        assert await s.client.mediaio.credits() == {"credits": 1000}
        assert s.requests("mediaio", "query") == TRANSIENT + 1
        assert s.entries() == []  # a plain query is not journaled

    session(tmp_path, body, **timeouts_for(spec))


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        pytest.param(spec, error, id=name)
        for name, spec, error in TRANSIENT_READ_FAULTS
        if name in ("http502", "reset_after", "truncated", "http429-retry-after")
    ],
)
def test_persistent_fault_at_query_gives_up_after_the_policy(
    tmp_path: Path, spec: dict[str, Any], error: type[CallError]
) -> None:
    async def body(s: Session) -> None:
        s.inject(provider="mediaio", phase="query", **{**spec, "times": POLICY.attempts})
        with pytest.raises(error) as info:
            await s.client.mediaio.credits()
        assert (info.value.provider, info.value.operation) == ("mediaio", "credits")
        assert s.requests("mediaio", "query") == POLICY.attempts
        if isinstance(info.value, RateLimitError):
            assert info.value.retry_after == RETRY_AFTER

    session(tmp_path, body)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        pytest.param({"code": 374004}, AuthenticationError, id="code374004"),
        pytest.param({"code": 40002}, AuthenticationError, id="code40002"),
        pytest.param({"code": 490505}, InsufficientCreditsError, id="code490505"),
        pytest.param({"code": 40003}, NotFoundError, id="code40003"),
    ],
)
def test_vendor_code_at_query_is_raised_at_once(
    tmp_path: Path, spec: dict[str, Any], error: type[CallError]
) -> None:
    message = f"injected vendor code {spec['code']}"

    async def body(s: Session) -> None:
        s.inject("vendor_code", "mediaio", "query", message=message, **spec)
        with pytest.raises(error) as info:
            await s.client.mediaio.credits()
        assert info.value.code == spec["code"]
        assert info.value.vendor_message == message and message in str(info.value)
        assert s.requests("mediaio", "query") == 1

    session(tmp_path, body)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(spec, id=name)
        for name, spec, _ in TRANSIENT_READ_FAULTS
        if name in ("http503", "reset", "malformed", "html502")
    ],
)
def test_task_result_query_recovers_from_faults_on_the_task_endpoint(
    tmp_path: Path, spec: dict[str, Any]
) -> None:
    """Media.io's task_result shares the task endpoint: the emulator sees a poll, the client
    a query; either way a read, retried."""
    target = TARGETS["mediaio"]

    async def body(s: Session) -> None:
        task = await s.call(target)
        await task.wait(timeout=20)
        polls = s.requests("mediaio", "poll")
        s.inject(provider="mediaio", phase="poll", **{**spec, "times": TRANSIENT})
        data = await s.client.mediaio.task_result(task_id=task.task_id)
        assert data["task_id"] == task.task_id and data["status"] in ("completed", "succeeded")
        assert s.requests("mediaio", "poll") == polls + TRANSIENT + 1
        assert_submits(s, target, requests=1, tasks=1)

    session(tmp_path, body)


def test_task_result_of_an_unknown_task_is_not_found(tmp_path: Path) -> None:
    async def body(s: Session) -> None:
        with pytest.raises(NotFoundError) as info:
            await s.client.mediaio.task_result(task_id="no-such-task")
        assert info.value.code == 40003
        assert "task not found" in (info.value.vendor_message or "").lower()
        assert s.requests("mediaio", "poll") == 1

    session(tmp_path, body)


# -- terminal task states ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "state", "poll_fault"),
    [
        # Every status word to its state (timed_out, cancelled too) is the conformance suite's
        # check; these follow a failure into the error, the journal and the handle.
        pytest.param("mediaio", "failed", None, id="mediaio-failed"),
        pytest.param("tomoviee", "failed", None, id="tomoviee-failed"),
        pytest.param(
            "mediaio", "failed", {"kind": "status", "status": 503}, id="mediaio-failed-after-503"
        ),
        pytest.param(
            "tomoviee", "cancelled", {"kind": "reset"}, id="tomoviee-cancelled-after-reset"
        ),
    ],
)
def test_terminal_failure_state(
    tmp_path: Path, provider: str, state: str, poll_fault: dict[str, Any] | None
) -> None:
    target = TARGETS[provider]
    reason = f"emulated {state} of {provider}: the model gave up"

    async def body(s: Session) -> None:
        s.emu.set_outcome(f"{provider}.{target.operation}", state, reason)  # type: ignore[arg-type]
        task = await s.call(target)
        if poll_fault is not None:
            s.inject(provider=provider, phase="poll", times=TRANSIENT, **poll_fault)
        with pytest.raises(GenerationFailedError) as info:
            await task.wait(timeout=20)
        err = info.value
        assert err.state == state
        assert (err.provider, err.operation, err.task_id) == (
            provider,
            target.operation,
            task.task_id,
        )
        if REASON_FIELD[provider]:
            assert reason in str(err) and err.vendor_message == reason
        assert_submits(s, target, requests=1, tasks=1)
        [entry] = s.entries(provider)
        assert (entry.state, entry.task_id) == (state, task.task_id)
        assert entry.error and str(err) == entry.error
        # The handle keeps answering with the same typed error.
        with pytest.raises(GenerationFailedError):
            await task.result()

    session(tmp_path, body)


# -- several clients' calls in one session ----------------------------------------------------


def test_mixed_faults_across_providers_lose_nothing(tmp_path: Path) -> None:
    """One session, every provider, a lost answer and a rejection each, then clean calls:
    the journal holds exactly one entry per client-level call, in the right state."""

    async def body(s: Session) -> None:
        expected: list[tuple[str, str]] = []
        for provider, target in TARGETS.items():
            s.inject("reset_after", provider, target.phase)
            with pytest.raises(SubmitOutcomeUnknownError):
                await s.call(target)
            expected.append((provider, "unknown"))
            s.inject("status", provider, target.phase, status=429, times=1)
            out = await s.call(target)
            result = await out.wait(timeout=20) if isinstance(out, AsyncTaskHandle) else out
            assert result.artifacts
            expected.append((provider, "succeeded"))
            assert s.requests(provider, target.phase) == 3
            assert len(s.tasks(provider)) == (2 if target.creates_tasks else 0)
        assert [(e.provider, e.state) for e in s.entries()] == expected

    session(tmp_path, body)
