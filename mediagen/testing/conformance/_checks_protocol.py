"""Checks on the provider's protocol: status words, progress, error codes, the fault matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ...catalog.ir import TERMINAL_STATES, Operation, Provider, code_key
from ...engine import AsyncTaskHandle
from ...errors import CATEGORY_ERRORS, GenerationFailedError, SubmitOutcomeUnknownError
from ..emulator import Fault
from ._base import CheckBase, run
from ._harness import PENDING, POLICY, WAIT, Session, described, expect, fail
from ._scopes import ErrorCode, StatusWord, each

PROGRESS = 42
"""The progress the emulator reports in the progress check."""
INJECTED = "injected by the mediagen conformance suite"


class ProtocolChecks(CheckBase):
    # -- task states ----------------------------------------------------------------------

    @each("status", "task")
    def test_vendor_status_maps_to_a_state(self, case: StatusWord) -> None:
        """Each status word of the catalog's `task.states`, answered by the emulator, is read
        as its state: an unfinished one by `status()`, a finished one by `wait()` (a result,
        or GenerationFailedError carrying the state)."""
        ctx, op = self._context(), self._op(case.operation)
        where = op.qualified_id
        check_name = f"vendor status {case.word!r} (catalog: {case.state})"
        terminal = case.state in TERMINAL_STATES

        async def check() -> None:
            durations = {} if terminal else {op.qualified_id: PENDING}
            async with ctx.session(durations=durations) as s:
                params = await s.params_for(op)
                if terminal and case.state != "succeeded":
                    s.emulator.set_outcome(op.qualified_id, case.state, INJECTED)  # type: ignore[arg-type]
                ctx.steering.status = (case.word,)
                handle = await s.call(s.client, op, params)
                assert isinstance(handle, AsyncTaskHandle)
                seen: str
                try:
                    if not terminal:
                        seen = (await handle.status()).state
                    else:
                        await handle.wait(timeout=WAIT)
                        seen = "succeeded"
                except GenerationFailedError as exc:
                    seen = str(exc.state)
                except Exception as exc:
                    fail(where, check_name, f"state {case.state}", described(exc))
                expect(
                    seen == case.state, where, check_name, f"state {case.state}", f"state {seen}"
                )

        run(check())

    @each("kind", "task")
    def test_progress_is_read(self, case: str) -> None:
        """When the catalog declares a progress field, a running task's progress is read."""
        ctx, op = self._context(), self._op(case)
        task = ctx.provider.task
        if task is None or task.progress_field is None:
            pytest.skip(f"{ctx.provider.name} declares no task.progress_field")
        running = next((w for w, state in task.vendor_states if state == "running"), None)
        if running is None:
            pytest.skip(f"{ctx.provider.name} has no vendor status for running")

        async def check() -> None:
            async with ctx.session(durations={op.qualified_id: PENDING}) as s:
                params = await s.params_for(op)
                ctx.steering.status, ctx.steering.progress = (running,), PROGRESS
                handle = await s.call(s.client, op, params)
                assert isinstance(handle, AsyncTaskHandle)
                try:
                    status = await handle.status()
                except Exception as exc:
                    fail(op.qualified_id, "progress", f"a status with {PROGRESS}", described(exc))
                expect(
                    status.progress == PROGRESS,
                    op.qualified_id,
                    f"progress read (catalog task.progress_field: {task.progress_field})",
                    f"progress {PROGRESS}",
                    f"progress {status.progress!r}",
                )

        run(check())

    # -- errors ---------------------------------------------------------------------------

    @each("error")
    def test_error_code_maps_to_its_error_class(self, case: ErrorCode) -> None:
        """Each vendor code and HTTP status of the catalog's `errors` table, answered by the
        emulator (as often as the retry policy asks again), raises the error class of its
        category (for a lost submit answer, as the cause of SubmitOutcomeUnknownError)."""
        ctx, op = self._context(), self._op(case.operation)
        expected = CATEGORY_ERRORS[case.category]
        what = "vendor code" if case.source == "vendor_code" else "HTTP status"
        check_name = f"catalog {what} {case.code!r} (category {case.category})"

        async def check() -> None:
            async with ctx.session() as s:
                params = await s.params_for(op)
                times = POLICY.attempts * POLICY.wait_failures + 1
                if case.source == "vendor_code":
                    fault = Fault("vendor_code", ctx.provider.name, code=case.code, times=times)
                else:
                    fault = Fault("status", ctx.provider.name, status=int(case.code), times=times)
                fault.message = INJECTED
                s.emulator.inject(fault)
                try:
                    out = await s.complete(s.client, op, params)
                except Exception as exc:
                    found: BaseException = exc
                    if isinstance(exc, SubmitOutcomeUnknownError) and exc.__cause__ is not None:
                        found = exc.__cause__
                    if not isinstance(found, expected):
                        fail(op.qualified_id, check_name, expected.__name__, described(exc))
                    if case.source == "vendor_code":
                        code = getattr(found, "code", None)
                        expect(
                            code_key(code) == code_key(case.code),
                            op.qualified_id,
                            check_name,
                            f"the error's code {case.code!r}",
                            f"{code!r}",
                        )
                    return
                fail(op.qualified_id, check_name, expected.__name__, f"a result: {out!r:.120}")

        run(check())

    # -- the fault matrix -----------------------------------------------------------------

    @each("operation", "task", "sync")
    def test_lost_submit_answer_is_never_retried(self, case: str, tmp_path: Path) -> None:
        """An answer lost after the request was sent (the connection dropped; an HTTP 5xx)
        may hide a created task: exactly one request, SubmitOutcomeUnknownError, and the
        journal keeps the call as `unknown`."""
        ctx, op = self._context(), self._op(case)
        phase = "submit" if op.kind == "task" else "run"

        async def check(label: str, fault: Fault, journal: Path) -> None:
            name = f"a lost submit answer ({label}) is never retried"
            async with ctx.session(journal=journal) as s:
                params = await s.params_for(op)
                s.emulator.inject(fault)
                try:
                    out: Any = await s.call(s.client, op, params)
                except Exception as exc:
                    error: BaseException | None = exc
                else:
                    error = None
                sent = s.requests(phase)
                expect(
                    len(sent) == 1,
                    op.qualified_id,
                    name,
                    f"exactly 1 {phase} request",
                    f"{len(sent)} {phase} requests ({_outcome(error, out if error is None else None)})",
                )
                expect(
                    isinstance(error, SubmitOutcomeUnknownError),
                    op.qualified_id,
                    name,
                    "SubmitOutcomeUnknownError",
                    _outcome(error, out if error is None else None),
                )
                journal_ = s.client.journal
                assert journal_ is not None
                states = [e.state for e in journal_.entries() if e.operation == op.id]
                expect(
                    states == ["unknown"],
                    op.qualified_id,
                    name,
                    "one journal entry in state unknown",
                    f"journal states {states}",
                )

        for index, (label, fault) in enumerate(_lost_answers(ctx.provider, op, phase)):
            run(check(label, fault, tmp_path / f"journal-{index}.sqlite3"))

    @each("operation", "task")
    def test_lost_poll_answer_is_retried(self, case: str) -> None:
        """Polls have no side effects: dropped answers are retried within one `status()`."""
        ctx, op = self._context(), self._op(case)
        drops = POLICY.attempts - 1

        async def check() -> None:
            async with ctx.session(durations={op.qualified_id: PENDING}) as s:
                params = await s.params_for(op)
                handle = await s.call(s.client, op, params)
                assert isinstance(handle, AsyncTaskHandle)
                s.emulator.inject(Fault("reset_after", ctx.provider.name, "poll", times=drops))
                await _read(s, op, f"{drops} lost poll answers are retried", handle.status())
                polls = len(s.requests("poll"))
                expect(
                    polls == drops + 1,
                    op.qualified_id,
                    "lost poll answers are retried",
                    f"{drops + 1} poll requests",
                    f"{polls}",
                )

        run(check())

    @each("operation", "query")
    def test_lost_query_answer_is_retried(self, case: str) -> None:
        """Queries have no side effects: dropped answers are retried."""
        ctx, op = self._context(), self._op(case)
        drops = POLICY.attempts - 1

        async def check() -> None:
            async with ctx.session() as s:
                params = await s.params_for(op)
                before = len(s.requests())
                s.emulator.inject(Fault("reset_after", ctx.provider.name, times=drops))
                await _read(
                    s, op, f"{drops} lost query answers are retried", s.call(s.client, op, params)
                )
                sent = len(s.requests()) - before
                expect(
                    sent == drops + 1,
                    op.qualified_id,
                    "lost query answers are retried",
                    f"{drops + 1} requests",
                    f"{sent}",
                )

        run(check())


async def _read(s: Session, op: Operation, name: str, call: Any) -> Any:
    try:
        return await call
    except Exception as exc:
        fail(op.qualified_id, name, "an answer after the retries", described(exc))


def _lost_answers(provider: Provider, op: Operation, phase: str) -> list[tuple[str, Fault]]:
    """The ways a submit answer is lost after the request left: a dropped connection, and an
    HTTP 5xx the catalog does not call a rate limit (a 5xx may come after the vendor acted)."""
    declared = {code_key(e.code): e.category for e in provider.http_statuses}
    status = next(
        (s for s in (500, 502, 503, 504) if declared.get(code_key(s), "server") == "server"), 500
    )
    return [
        (
            "the connection dropped after the request was sent",
            Fault("reset_after", provider.name, phase, operation=op.id),  # type: ignore[arg-type]
        ),
        (
            f"HTTP {status} after the request was sent",
            Fault("status", provider.name, phase, operation=op.id, status=status),  # type: ignore[arg-type]
        ),
    ]


def _outcome(error: BaseException | None, out: Any) -> str:
    return described(error) if error is not None else f"a result: {out!r:.100}"
