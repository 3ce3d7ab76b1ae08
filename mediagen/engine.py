"""The async runtime behind generated stubs: one engine per client.

It resolves a provider's strategies (cached, through the plugin registry), checks
credentials before any network call, sends requests over the client's pooled session and
turns answers into task handles, results or typed errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import attrs

from .auth_failures import auth_failure
from .catalog import Operation, Provider
from .catalog.ir import TERMINAL_STATES
from .credentials import CredentialStore, SecretMapping
from .defaults import (
    DOWNLOAD_ORIGINS_KEPT,
    MAX_DOWNLOAD_BYTES,
    MAX_RESPONSE_BYTES,
    WAIT_TIMEOUT,
    PollSchedule,
    RetryPolicy,
    Timeouts,
)
from .download import save_result
from .errors import (
    AuthStrategyError,
    CallError,
    ConfigurationError,
    GenerationFailedError,
    MediagenError,
    NotFoundError,
    SubmitOutcomeUnknownError,
    TaskTimeoutError,
    UnknownTaskStatusError,
)
from .events import TaskEvent
from .hosts import Target, download_allowed, resolve_target
from .journal import Entry, Journal
from .params import ParamsModel
from .polling import DurationModel, first_poll_at, next_delay, next_poll_delay, stagger
from .protocol import CatalogAuth, retry_after
from .registry import ProviderStrategies, Registry, default_registry
from .results import Artifact, Result, new_result
from .retired import retired_operation
from .retry import backoff, decide, not_found_is_transient
from .secrets import Scrubber, scrubber_for, secret_values
from .strategies import Call, HttpRequest, HttpResponse, TaskStatus, new_call, query_pairs
from .transport import SecretHeaders, Transport
from .urls import split_plain

log = logging.getLogger(__name__)

ProgressCallback = Callable[[TaskStatus], None]

RESULT_WARNING = "mediagen_result_warning"
"""Set on the log records of `Result.warnings`, for callers that show those warnings
themselves (the CLI) and filter the records out."""


_NO_JOURNAL_CALLER = contextlib.nullcontext()
"""`Engine._journal_caller` without a journal (it holds no state: one serves every call)."""

_BACKSLASH = ord("\\")
_NUL = 0
"""Byte values an answer's body is tested for (`value in body`): a JSON escape, a NUL."""

NOTHING_SENT = "cancelled before its submit was sent: nothing was sent, no task exists"
"""The error of an entry whose submit was cancelled while its intent was being committed."""


class Engine:
    def __init__(
        self,
        *,
        registry: Registry | None = None,
        credentials: CredentialStore | None = None,
        base_urls: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        polling: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
        journal: Journal | None = None,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.registry = registry or default_registry()
        self.retry = retry or RetryPolicy()
        self.journal = journal
        self.credentials = credentials or CredentialStore()
        self.base_urls = dict(base_urls or {})
        self.timeouts = timeouts or Timeouts()
        self.polling = polling
        self.max_download_bytes = max_download_bytes
        self.transport = Transport(self.timeouts, max_response_bytes=max_response_bytes)
        self._targets: dict[str, Target] = {}
        self._retired: dict[tuple[str, str], Operation] = {}
        self._operations: dict[tuple[str, str], tuple[ProviderStrategies, Operation]] = {}
        self._auth: dict[str, _RequestAuth] = {}
        self._origins: dict[str, tuple[ProviderStrategies, str | None]] = {}
        self._plans: dict[tuple[str, str], _OpPlan] = {}
        self._download_origins: dict[tuple[str, str, str], tuple[Provider, Target]] = {}
        """(provider, scheme, host and port) of artifact URLs found downloadable, with the
        provider and target that said so: the verdict depends on nothing else."""
        self._listeners = _event_listeners(self.registry)
        """Whether any plugin implements `mediagen_event` (truthy): asked before an event is
        built, on every call. Pluggy's live list, so a plugin registered later counts."""
        self.durations = DurationModel(journal)
        """How long this client's operations took lately (see mediagen.polling)."""

    def with_options(
        self,
        *,
        timeouts: Timeouts | None = None,
        polling: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
    ) -> Engine:
        """A copy with other policies, sharing this engine's session, journal and plugins."""
        clone = Engine(
            registry=self.registry,
            credentials=self.credentials,
            base_urls=self.base_urls,
            timeouts=timeouts or self.timeouts,
            polling=polling or self.polling,
            retry=retry or self.retry,
            journal=self.journal,
            max_download_bytes=self.max_download_bytes,
            max_response_bytes=self.transport.max_response_bytes,
        )
        if timeouts is None:
            clone.transport = self.transport
        clone._targets = self._targets
        clone._retired = self._retired
        clone._operations = self._operations
        clone._auth = self._auth
        clone._origins = self._origins
        clone._plans = self._plans
        clone._download_origins = self._download_origins
        clone.durations = self.durations
        return clone

    def event(self, *args: Any, **fields: Any) -> None:
        """Broadcast TaskEvent(*args, **fields) to observer plugins; with none implementing
        `mediagen_event` (the usual case), nothing is built or called."""
        if self._listeners:
            self.registry.emit(TaskEvent(*args, **fields))

    def __repr__(self) -> str:
        return f"Engine(base_urls={self._base_urls_in_effect()!r}, credentials={self.credentials!r}, journal={self.journal!r})"

    def _base_urls_in_effect(self) -> dict[str, str]:
        """The overridden base URLs, from the arguments or the environment (a repr that
        showed only the arguments would hide where the requests really go)."""
        shown = {}
        for provider in self.registry.catalog.providers:
            try:
                target = self.target(provider)
            except ConfigurationError:  # a bad override: show what was given; it fails on use
                target = None
            url = target.base_url if target is not None else self.base_urls.get(provider.name)
            if url and (target is None or target.overridden):
                shown[provider.name] = url
        return shown

    async def close(self) -> None:
        await self.transport.close()
        if self.journal is not None:  # what is queued lands, its writer thread ends
            try:
                self.journal.drain()
            except Exception:
                log.exception("could not write to the task journal %s", self.journal.path)

    # -- resolution -------------------------------------------------------------------------

    def strategies(self, provider: str) -> ProviderStrategies:
        return self.registry.strategies(provider)

    def target(self, provider: Provider) -> Target:
        known = self._targets.get(provider.name)
        if known is None:
            known = self._targets[provider.name] = resolve_target(provider, self.base_urls)
        return known

    def origin(self, provider: str) -> str | None:
        """Where this engine sends `provider`'s tasks, as the journal keys them: the base URL,
        or None for the catalog's default (task ids are unique per vendor host)."""
        strategies = self.registry._cache.get(provider) or self.registry.strategies(provider)
        known = self._origins.get(provider)
        if known is not None and known[0] is strategies:  # the same plugins resolved it
            return known[1]
        spec = strategies.provider
        base_url = self.target(spec).base_url
        origin = None if base_url == spec.base_url.rstrip("/") else base_url
        self._origins[provider] = (strategies, origin)
        return origin

    def operation(
        self, provider: str, operation: str, *, retired_ok: bool = False
    ) -> tuple[ProviderStrategies, Operation]:
        """The operation and its provider's strategies. With `retired_ok` (polling a task), an
        operation that left the catalog is a stand-in when the task can be finished by id."""
        strategies = self.registry.strategies(provider)
        key = (provider, operation)
        known = self._operations.get(key)
        if known is not None and known[0] is strategies:  # the same plugins resolved it
            return known
        try:
            known = strategies, strategies.provider.operation(operation)
        except KeyError as exc:
            if not retired_ok:
                raise ConfigurationError(exc.args[0]) from None
        else:
            self._operations[key] = known
            return known
        if key not in self._retired:
            self._retired[key] = retired_operation(strategies.provider, operation)
            log.warning(
                "operation %s.%s is not in the catalog (retired%s); finishing task by id",
                provider,
                operation,
                _close_match(operation, [op.id for op in strategies.provider.operations]),
            )
        return strategies, self._retired[key]

    def _plan(self, provider: str, operation: str, *, retired_ok: bool = False) -> _OpPlan:
        """`operation`, with what every call of the operation reuses (see `_OpPlan`)."""
        # The registry's cache read here, as `strategies` reads it first: one call less.
        strategies = self.registry._cache.get(provider) or self.registry.strategies(provider)
        key = (provider, operation)
        known = self._plans.get(key)
        if known is not None and known.strategies is strategies:
            return known
        strategies, op = self.operation(provider, operation, retired_ok=retired_ok)
        made = _OpPlan(strategies, op)
        if op is not self._retired.get(key):  # a catalog operation
            self._plans[key] = made
        return made

    def _for_params(self, params: ParamsModel, kind: str) -> _OpPlan:
        provider, _, op_id = type(params).OPERATION.partition(".")
        plan = self._plan(provider, op_id)
        op = plan.op
        if op.kind != kind:
            raise ConfigurationError(f"{op.qualified_id} is a {op.kind} operation, not {kind}")
        return plan

    # -- calls ------------------------------------------------------------------------------

    def request_auth(
        self,
        strategies: ProviderStrategies,
        credentials: SecretMapping,
        operation: str | None = None,
    ) -> _RequestAuth:
        """What these credentials put on a request of the provider, and the scrubber for its
        answers. The catalog's own auth is a function of the credentials alone: worked out
        once per provider and set of credentials (asked again when either changes). Any other
        auth strategy (a plugin's signature over a timestamp) is asked on every request.

        Whatever the strategy raises comes out as a MediagenError located at the provider and
        `operation`, with no credential in it and nothing of the original chained to it (see
        mediagen.auth_failures)."""
        name = strategies.provider.name
        known = self._auth.get(name)
        if (
            known is not None
            and known.strategies is strategies
            and known.credentials == credentials
        ):
            return known
        try:
            # A copy for the strategy: `credentials` may be the store's shared mapping.
            auth = SecretMapping(strategies.auth.headers(SecretMapping(credentials)))
            auth_query = getattr(strategies.auth, "query", None)
            query = SecretMapping(auth_query(SecretMapping(credentials)) if auth_query else {})
        except Exception as exc:
            failure = auth_failure(
                exc, strategies.auth, strategies.provider, credentials, operation
            )
        else:
            made = _RequestAuth(
                strategies,
                credentials,
                headers=SecretMapping({"Content-Type": "application/json", **auth}),
                query=query,
                scrubber=scrubber_for(secret_values(strategies.provider, credentials, auth)),
            )
            if type(strategies.auth) is CatalogAuth:
                self._auth[name] = made
            return made
        raise failure  # outside the except block: the original is no context of it

    def preflight(
        self, strategies: ProviderStrategies, request: HttpRequest, operation: str | None = None
    ) -> tuple[SecretMapping, str, _RequestAuth]:
        """Everything that can fail before the network, checked before anything is journaled:
        the client is open, credentials exist, the URL stays on the provider's host, the auth
        strategy gives the request's auth (`call`'s first attempt sends it: a plugin's auth is
        asked once per attempt, not twice for the first)."""
        if self.transport.closed:
            raise ConfigurationError("the client is closed")
        provider = strategies.provider
        credentials = self.credentials.resolve_shared(provider)
        target = self._targets.get(provider.name) or self.target(provider)
        url = destination(target, request.path)
        auth = self._auth.get(provider.name)
        if (
            auth is None
            or auth.strategies is not strategies
            or (auth.credentials is not credentials and auth.credentials != credentials)
        ):
            auth = self.request_auth(strategies, credentials, operation)
        return credentials, url, auth

    async def call(
        self,
        strategies: ProviderStrategies,
        call: Call,
        request: HttpRequest,
        parse: Callable[[Any], Any] | None = None,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
        prepared: tuple[SecretMapping, str, _RequestAuth] | None = None,
    ) -> Any:
        """One request, with the retry policy; returns the response's data (through `parse`,
        which may raise a MalformedResponseError), or raises a located CallError with no
        secret in it. `on_headers` sees the headers of every answer the vendor gave (an
        error's too). `prepared` is what `preflight` gave for this request, when it was
        already asked.

        Reads retry transient failures (unreadable answers included); writes retry only when
        the vendor provably did nothing, and turn a lost or unreadable answer into
        SubmitOutcomeUnknownError. One coroutine for all of it: each layer awaited here
        would be one more frame to make and resume on every request."""
        credentials, url, auth = prepared or self.preflight(strategies, request, call.operation.id)
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and self._auth.get(strategies.provider.name) is not auth:
                # Asked again for each retry (the first attempt has preflight's): a plugin's
                # auth, never cached, may sign the time.
                auth = self.request_auth(strategies, credentials, call.operation.id)
            headers: Mapping[str, str] = auth.wire_headers
            if request.headers:
                headers = SecretMapping({**auth.headers, **request.headers})
            params = None
            if request.query or auth.query:
                params = query_pairs(request.query) if request.query else []
                if auth.query:
                    params += auth.query.items()
            response: HttpResponse | None = None
            try:
                try:
                    response = await self.transport.request(
                        request.method,
                        url,
                        json=request.json,
                        headers=headers,
                        params=params or None,
                    )
                    # The answer, read here rather than by a helper (one call less per
                    # request). A vendor may echo a key back anywhere (errors, reasons,
                    # results, trace ids): the answer is scrubbed once, here, so nothing
                    # downstream ever holds one.
                    scrubber = auth.scrubber
                    body = scrubber.raw(response.body)  # before any error snippet is cut
                    clean = body is response.body
                    if not clean:
                        response = attrs.evolve(response, body=body)
                    data = strategies.errors.check(call, response)
                    # When every string decoded from the body appears in it as is (UTF-8,
                    # as UTF-16 and UTF-32 JSON always hold NUL bytes, with no backslash
                    # escape), the raw scan that found no secret has checked every decoded
                    # string too; else they are scanned as well. (A byte's value, not a
                    # one-byte bytes, as the operand of `in`: bytes' `in` tries its operand
                    # as an int first, and a bytes one raises inside before the search.)
                    if not clean or _BACKSLASH in body or _NUL in body:
                        data = scrubber.data(data)
                    value = parse(data) if parse is not None else data
                    if on_headers is not None:
                        on_headers(response.headers)
                    return value
                except CallError as exc:
                    exc.locate(strategies.provider.name, call.operation.id, call.task_id)
                    if on_headers is not None and response is not None:
                        on_headers(response.headers)
                    raise auth.scrubber.error(exc) from None
            except CallError as exc:
                verdict = decide(exc, call.phase, attempt, self.retry)
                if verdict == "raise":
                    raise
                if verdict == "unknown":
                    raise SubmitOutcomeUnknownError(
                        f"the answer to the submit was lost ({exc.detail}); the vendor may have created the task",
                        provider=exc.provider,
                        operation=exc.operation,
                        status=exc.status,
                        code=exc.code,
                    ) from exc
                delay = backoff(
                    attempt,
                    base=self.retry.base,
                    cap=self.retry.cap,
                    retry_after=getattr(exc, "retry_after", None),
                )
                log.info(
                    "%s of %s failed (%s); retry %d in %.2fs",
                    call.phase,
                    call.operation.qualified_id,
                    type(exc).__name__,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)

    async def submit(
        self, params: ParamsModel, *, journal_id: int | None = None, output: str | None = None
    ) -> AsyncTaskHandle:
        """Submit a task. With a journal, the intent is written first (or `journal_id`, a
        planned entry, is used), then the task id or what became of the submit. `output` is
        journaled with the intent: the folder `resume` downloads the result into."""
        plan = self._for_params(params, "task")
        strategies, op = plan.strategies, plan.op
        poll_hint = PollHint()
        if self.journal is None:
            # Nothing to journal around the request (`_write`'s work): the request alone,
            # checked by `call` before it is sent (nothing happens in between).
            request = strategies.task.submit_request(op, params.to_dict())
            task_id = await self.call(
                strategies, plan.submit_call, request, plan.task_id_of, poll_hint.read
            )
            if self._listeners:
                self.event("submitted", op.provider, op.id, task_id, "queued")
            handle = AsyncTaskHandle(self, op.provider, op.id, task_id, fresh=True)
            handle.first_poll_after = poll_hint.seconds
            return handle
        with self.journal.caller():
            task_id, entry = await self._write(
                strategies,
                op,
                "submit",
                params,
                journal_id,
                plan.task_id_of,
                poll_hint.read,
                output=output,
                call=plan.submit_call,
            )
            if entry is not None and not await self._journal_committed(
                entry, "record_submitted", task_id
            ):
                # The task exists and is paid for: keep its id where a person finds it (the
                # entry's error, if that write still works, and the log), never a silent
                # `unknown`.
                advice = f"`mediagen wait {op.provider} {op.id} {task_id}` picks it up"
                log.error(
                    "task %s (%s) was created but the journal could not record its id: %s",
                    task_id,
                    op.qualified_id,
                    advice,
                )
                self._journal(
                    entry,
                    "record_unknown",
                    f"created as task {task_id!r}, id not recorded; {advice}",
                )
            if self._listeners:
                self.event("submitted", op.provider, op.id, task_id, "queued")
            handle = AsyncTaskHandle(
                self, op.provider, op.id, task_id, journal_id=entry, fresh=True
            )
            handle.first_poll_after = poll_hint.seconds
            return handle

    def _journal_caller(self) -> contextlib.AbstractContextManager[None]:
        return self.journal.caller() if self.journal is not None else _NO_JOURNAL_CALLER

    async def run(
        self, params: ParamsModel, *, journal_id: int | None = None, output: str | None = None
    ) -> Result:
        """A synchronous operation: the answer is the result."""
        plan = self._for_params(params, "sync")
        strategies, op = plan.strategies, plan.op
        with self._journal_caller():
            (data, artifacts), entry = await self._write(
                strategies,
                op,
                "run",
                params,
                journal_id,
                lambda data: (data, strategies.results.artifacts(op, data)),
                output=output,
            )
            result = Result(
                provider=op.provider,
                operation=op.id,
                artifacts=artifacts,
                raw=data,
                journal_id=entry,
            )
            # A synchronous answer exists nowhere else: committed before it is returned.
            await self._journal_committed(entry, "record_result", result)
        self.event("finished", op.provider, op.id, None, "succeeded", 100.0, detail=result)
        return result

    async def _write(
        self,
        strategies: ProviderStrategies,
        op: Operation,
        phase: str,
        params: ParamsModel,
        journal_id: int | None,
        parse: Callable[[Any], Any],
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
        *,
        output: str | None = None,
        call: Call | None = None,
    ) -> tuple[Any, int | None]:
        """A request that may create something at the vendor, journaled around it: the intent
        first; after it, rejected (nothing exists) or unknown (the answer was lost or cut off).
        `call`: the operation's Call for `phase`, when the caller has it made already."""
        if call is None:
            call = Call(strategies.provider, op, phase)
        request = strategies.task.submit_request(op, params.to_dict())
        # What fails here is not an intent: nothing was sent.
        prepared = self.preflight(strategies, request, op.id)
        entry = (
            await self._intent(op, params, journal_id, output) if self.journal is not None else None
        )
        try:
            value = await self.call(strategies, call, request, parse, on_headers, prepared)
        except SubmitOutcomeUnknownError as exc:
            self._journal(entry, "record_unknown", str(exc))
            raise
        except (CallError, AuthStrategyError) as exc:
            # An AuthStrategyError comes before a request is sent: the auth strategy failing
            # on a retry (retried only when the attempt before it provably created nothing).
            # Any other ConfigurationError (a task strategy's, reading an answer) stays
            # unknown below: something may exist.
            self._journal(entry, "record_rejected", str(exc))
            raise
        except BaseException:
            # Cancelled or interrupted mid-request: the outcome is unknown, and stays so.
            self._journal(entry, "record_unknown", "interrupted while submitting")
            raise
        return value, entry

    async def _intent(
        self, op: Operation, params: ParamsModel, journal_id: int | None, output: str | None
    ) -> int | None:
        """The entry the request is journaled in, committed before the request is sent."""
        journal = self.journal
        if journal is None:
            return None
        if journal_id is not None:
            if not journal.claim(journal_id, origin=self.origin(op.provider)):
                raise ConfigurationError(
                    f"journal entry {journal_id} is not planned any more (another process took it)"
                )
            return journal_id
        # Committed in one batch with whatever else is queued (other tasks' intents too).
        entry, committed = journal.commit_now(
            "record_intent",
            op.provider,
            op.id,
            params.to_dict(),
            origin=self.origin(op.provider),
            output=output,
        )
        if committed is None:  # committed at once (a submit alone): nothing to wait for
            return int(entry)
        try:
            # Not shielded: cancelling this task does not cancel the commit's future (see
            # Journal.commit), so the CancelledError comes once the intent is committed.
            return int(await committed)
        except asyncio.CancelledError:
            # Cancelled before the submit was sent: the intent is committed (above), and says
            # so.
            if committed.done() and not committed.exception():
                self._journal(committed.result(), "record_rejected", NOTHING_SENT)
            raise

    async def _journal_committed(self, entry: int | None, method: str, *args: Any) -> bool:
        """`_journal`, returning once the write is committed (batched with other writes)."""
        if self.journal is None or entry is None:
            return True
        try:
            _, committed = self.journal.commit_now(method, entry, *args)
            if committed is not None:  # batched with other submits' writes
                await committed
        except Exception:
            log.exception("could not write to the task journal %s", self.journal.path)
            return False
        return True

    def _journal_later(self, entry: int | None, method: str, *args: Any) -> None:
        """`_journal` for a write nobody waits for (a state change, a task's outcome): committed
        with the next batch; a failure is logged by the journal."""
        if self.journal is not None and entry is not None:
            self.journal.defer(method, entry, *args)

    def _journal(self, entry: int | None, method: str, *args: Any) -> bool:
        """Journal.<method>(entry, *args); a failing journal is logged and the task goes on.
        False when the write failed."""
        if self.journal is None or entry is None:
            return True
        try:
            getattr(self.journal, method)(entry, *args)
        except Exception:
            log.exception("could not write to the task journal %s", self.journal.path)
            return False
        return True

    async def query(self, params: ParamsModel, *, journal_id: int | None = None) -> dict[str, Any]:
        """A query (credits, a task's raw state). Journaled only as part of a batch."""
        plan = self._for_params(params, "query")
        strategies, op = plan.strategies, plan.op
        call = Call(strategies.provider, op, "query")
        request = strategies.task.submit_request(op, params.to_dict())
        prepared = self.preflight(strategies, request, op.id)
        entry = await self._intent(op, params, journal_id, None) if journal_id is not None else None
        try:
            data = await self.call(strategies, call, request, prepared=prepared)
        except (CallError, ConfigurationError) as exc:  # the latter: the auth, on a retry
            self._journal(entry, "record_failure", "failed", str(exc))
            raise
        out = {} if data is None else dict(data) if isinstance(data, Mapping) else {"value": data}
        self._journal(
            entry,
            "record_result",
            Result(provider=op.provider, operation=op.id, artifacts=(), raw=out),
        )
        return out

    async def poll(
        self, provider: str, operation: str, task_id: str, hint: PollHint | None = None
    ) -> TaskStatus:
        """Poll once. `hint` collects the answer's Retry-After (a failed poll's too)."""
        hint = hint or PollHint()
        status = await self.call(*self._poll_call(provider, operation, task_id), hint.read)
        return hint.apply(status)

    def _poll_call(
        self, provider: str, operation: str, task_id: str, plan: _OpPlan | None = None
    ) -> tuple[ProviderStrategies, Call, HttpRequest, Callable[[Any], TaskStatus]]:
        """What `call` takes to poll a task (but the headers' reader): `poll`, awaited by a
        task handle without `poll` in between (one coroutine less per poll). `plan`: the
        operation's, when the caller has it (`_plan(provider, operation, retired_ok=True)`)."""
        if plan is None:
            plan = self._plan(provider, operation, retired_ok=True)
        strategies, op = plan.strategies, plan.op
        call = new_call(strategies.provider, op, "poll", task_id)
        try:
            request = strategies.task.poll_request(op, task_id)
        except MediagenError:
            raise
        except Exception as exc:
            # A plugin's bug, or an id it cannot put in a URL: a located error, never retried
            # (it fails the same way every time), rather than a bare exception out of wait().
            raise CallError(
                f"cannot build the poll request ({type(exc).__name__}: {exc})",
                provider=provider,
                operation=operation,
                task_id=task_id,
            ) from None
        return strategies, call, request, plan.status_of

    def schedule(self, provider: str, operation: str) -> PollSchedule:
        strategies, op = self.operation(provider, operation, retired_ok=True)
        return self.polling or strategies.task.poll_schedule(op)

    def first_poll_at(self, provider: str, operation: str, schedule: PollSchedule) -> float | None:
        """Seconds after its submit a new task of this operation is first polled (staggered:
        see mediagen.polling); its later polls count from there. None: the schedule decides."""
        if not schedule.learn:
            return None
        recent = self.durations.durations(provider, operation, self.origin(provider))
        first = first_poll_at(schedule, recent)
        return None if first is None else stagger(first, schedule)

    def result_of(
        self,
        provider: str,
        operation: str,
        task_id: str,
        status: TaskStatus,
        *,
        journal_id: int | None = None,
        plan: _OpPlan | None = None,
    ) -> Result:
        """The Result of a finished task (journaled in entry `journal_id`, if given), or the
        error its terminal state means. `plan`: the one the task's status was read with, when
        the caller has it (else the operation's current one)."""
        if plan is None:
            plan = self._plan(provider, operation, retired_ok=True)
        strategies, op = plan.strategies, plan.op
        if status.state != "succeeded":
            what = {
                "failed": "the task failed",
                "cancelled": "the task was cancelled",
                "timed_out": "the vendor timed the task out",
            }.get(status.state, f"the task is {status.state}")
            raise GenerationFailedError(
                f"{what}: {status.reason}" if status.reason else what,
                state=status.state,
                provider=provider,
                operation=operation,
                task_id=task_id,
                vendor_message=status.reason,
            )
        try:
            found = strategies.results.artifacts(op, status.payload)
        except CallError as exc:
            raise exc.locate(provider, operation, task_id) from None
        spec = strategies.provider
        artifacts, skipped, warning = _downloadable(
            spec,
            self._targets.get(spec.name) or self.target(spec),
            op,
            found,
            status.raw,
            self._download_origins,
        )
        if warning:
            # The raw result stays out of the log: it is on the Result and in the journal.
            log.warning(
                "%s task %s: %s", op.qualified_id, task_id, warning, extra={RESULT_WARNING: True}
            )
            warning += f"; raw result kept: {_clip(status.raw)}"
        return new_result(
            provider,
            operation,
            artifacts,
            status.raw,
            task_id,
            skipped,
            (warning,) if warning else (),
            journal_id,
        )

    async def download(
        self,
        result: Result,
        directory: str | Path,
        *,
        overwrite: bool = False,
        journal_id: int | None = None,
    ) -> list[Path]:
        """Save the result's artifacts into directory; returns their paths in artifact order
        (then any diagram source files).

        With a journal entry (`journal_id`, or the one holding the result's task id) each file
        is recorded as soon as it is in place, and an artifact recorded earlier whose file still
        exists is not downloaded again: its recorded path is returned instead.
        """
        provider = self.strategies(result.provider).provider
        journal_id = journal_id if journal_id is not None else result.journal_id
        if journal_id is None and self.journal is not None and result.task_id:
            try:
                found = self.journal.find(
                    result.provider, result.task_id, origin=self.origin(result.provider)
                )
            except Exception:
                log.exception("could not read the task journal %s", self.journal.path)
                found = None
            journal_id = found.id if found else None

        def record(url: str, path: Path) -> None:
            self._journal(journal_id, "record_files", [(url, str(path.resolve()))])

        try:
            return await save_result(
                self.transport,
                provider,
                self.target(provider),
                result,
                Path(directory),
                overwrite=overwrite,
                max_bytes=self.max_download_bytes,
                retry=self.retry,
                saved=self._saved_files(journal_id),
                on_saved=record,
            )
        except CallError as exc:
            # A file host may echo our key too (a redirect's Location, an error page).
            raise self._download_scrubber(result.provider).error(exc) from None

    def _download_scrubber(self, provider: str) -> Scrubber:
        """The provider's scrubber; a client with no credentials for it (download-only) has
        sent none, so there is nothing to scrub."""
        strategies = self.strategies(provider)
        try:
            credentials = self.credentials.resolve(strategies.provider)
        except MediagenError:
            return scrubber_for(frozenset())
        try:
            auth = strategies.auth.headers(credentials)
        except Exception:  # a failing auth strategy sent nothing: the credentials alone
            auth = {}
        return scrubber_for(secret_values(strategies.provider, credentials, auth))

    def _saved_files(self, journal_id: int | None) -> dict[str, Path]:
        """Artifact URL -> the file an earlier download of this entry placed, if still there."""
        if self.journal is None or journal_id is None:
            return {}
        try:
            files = self.journal.get(journal_id).files
        except Exception:
            log.exception("could not read the task journal %s", self.journal.path)
            return {}
        return {url: Path(path) for url, path in files if Path(path).is_file()}

    def task(
        self, provider: str, operation: str, task_id: str, *, journal: bool = True
    ) -> AsyncTaskHandle:
        if task_id is not None and not isinstance(task_id, str):  # an int from a vendor's JSON
            raise ConfigurationError(f"a task id is a string, not {type(task_id).__name__}")
        if not task_id or not task_id.strip():
            raise ConfigurationError("a task id is required")
        task_id = task_id.strip()
        op, known = self._task_operation(provider, operation, task_id)
        if op.kind != "task":
            raise ConfigurationError(f"{op.qualified_id} is a {op.kind} operation: it has no tasks")
        known = known or self._journaled_as(op, task_id)
        entry = known.id if known is not None and journal else None
        if self.journal is not None and journal and known is None:
            try:  # in one transaction: two processes adopting the same id share one entry
                entry = self.journal.adopt(
                    provider, operation, task_id, origin=self.origin(provider)
                )
            except Exception:
                log.exception("could not read the task journal %s", self.journal.path)
        return AsyncTaskHandle(self, provider, operation, task_id, journal_id=entry)

    def check_provider(self, provider: str) -> None:
        """A ConfigurationError for a provider name no plugin contributes, closest names
        first."""
        try:
            self.registry.catalog.provider(provider)
        except KeyError as exc:  # its text names the closest names (names.unknown_name)
            raise ConfigurationError(exc.args[0]) from None

    def _task_operation(
        self, provider: str, operation: str, task_id: str
    ) -> tuple[Operation, Entry | None]:
        """The operation of a task picked up by id (with its journal entry when looking it up
        told it), or a ConfigurationError naming the known names, before the journal is
        written. An operation the catalog lacks is a typo, unless the journal holds this task
        as that operation: then it left the catalog since (see mediagen.retired)."""
        self.check_provider(provider)
        spec = self.strategies(provider).provider
        try:
            return spec.operation(operation), None
        except KeyError as exc:
            unknown = exc.args[0]  # closest names first (names.unknown_name)
        known = self._journal_entry(provider, task_id)
        if known is not None and known.operation == operation:
            return self.operation(provider, operation, retired_ok=True)[1], known
        why = (
            f"{provider} answers synchronously: there is no task to pick up"
            if spec.task is None
            else "an operation that left the catalog is accepted only for a task the journal"
            " recorded under it"
        )
        raise ConfigurationError(
            f"{unknown}; {why}",
            provider=provider,
            operation=operation,
        )

    def _journaled_as(self, op: Operation, task_id: str) -> Entry | None:
        """The journal's entry for the task, if it holds one: which must be of `op`, as a task
        is resumed as the operation it was submitted as (under another one its files would be
        named, and journaled, as that operation's)."""
        known = self._journal_entry(op.provider, task_id)
        if known is not None and known.operation != op.id:
            raise ConfigurationError(
                f"task {task_id!r} was submitted as {op.provider}.{known.operation} (journal"
                f" entry {known.id}), not {op.qualified_id}; allowed: {op.provider}."
                f"{known.operation}"
            )
        return known

    def _journal_entry(self, provider: str, task_id: str) -> Entry | None:
        """The journal's entry for the provider's task (from this client's origin), if there is
        a journal and it holds one; a journal that cannot be read is logged and holds none."""
        if self.journal is None:
            return None
        try:
            return self.journal.find(provider, task_id, origin=self.origin(provider))
        except Exception:
            log.exception("could not read the task journal %s", self.journal.path)
            return None


class AsyncTaskHandle:
    """A submitted task: poll it, wait for it, fetch its result. Rebuild one from its id alone
    with `client.task(provider, operation, task_id)`."""

    # What every new handle starts with, as class defaults (one handle per call: a store
    # each less in __init__); each is set on the handle when it changes.
    last_status: TaskStatus | None = None
    first_poll_after: float | None = None
    """When the submit answer said to poll first (Retry-After), if it did."""
    _result: Result | None = None
    _unknown: tuple[UnknownTaskStatusError, int] | None = None
    """The unknown status word the last polls answered, and how many polls in a row."""
    _warned_unknown = False

    def __init__(
        self,
        engine: Engine,
        provider: str,
        operation: str,
        task_id: str,
        *,
        journal_id: int | None = None,
        fresh: bool = False,
    ) -> None:
        self._engine = engine
        self.provider = provider
        self.operation = operation
        self.task_id = task_id
        self.journal_id = journal_id
        self._poll_hint = _NO_HINT
        """The last poll answer's Retry-After (a not-found answer's too)."""
        self._fresh = fresh
        self._submitted_at = time.time() if fresh else None

    def __repr__(self) -> str:
        state: str
        if self.last_status is not None:
            state = self.last_status.state
        else:  # submitted here: queued, as the journal says; known only by id: not polled yet
            state = "queued" if self._submitted_at is not None else "not polled yet"
        return f"<Task {self.provider}.{self.operation} {self.task_id} {state}>"

    async def status(self) -> TaskStatus:
        """Poll once."""
        engine = self._engine
        self._poll_hint = hint = PollHint()
        # engine.poll, without awaiting it: one coroutine less per poll.
        polled = engine._poll_call(self.provider, self.operation, self.task_id)
        status = hint.apply(await engine.call(*polled, hint.read))
        self._observe(status)
        return status

    def _observe(self, status: TaskStatus) -> None:
        """Keep a poll's status; journal and announce a change."""
        previous = self.last_status
        self.last_status = status
        if previous is None or (previous.state, previous.progress) != (
            status.state,
            status.progress,
        ):
            # Terminal states are journaled with their result or error; a fresh task's first
            # "queued" is what its submit journaled already.
            if status.state not in TERMINAL_STATES and (
                previous is not None
                or not self._fresh
                or (status.state, status.progress) != ("queued", None)
            ):
                self._engine._journal_later(
                    self.journal_id, "record_state", status.state, status.progress
                )
            if self._engine._listeners:
                self._engine.event(
                    "state_changed",
                    self.provider,
                    self.operation,
                    self.task_id,
                    status.state,
                    status.progress,
                    detail=status,
                )

    async def result(self) -> Result:
        """The result now: polls once; raises if the task failed, or is not finished yet."""
        # As status() does, without awaiting it: one coroutine less per call.
        engine = self._engine
        self._poll_hint = hint = PollHint()
        # The plan that reads the answer reads the result too (one lookup less per call).
        plan = engine._plan(self.provider, self.operation, retired_ok=True)
        polled = engine._poll_call(self.provider, self.operation, self.task_id, plan)
        status = hint.apply(await engine.call(*polled, hint.read))
        self._observe(status)
        if status.state not in TERMINAL_STATES:
            raise TaskTimeoutError(
                f"the task is still {status.state}",
                provider=self.provider,
                operation=self.operation,
                task_id=self.task_id,
            )
        return self._finish(status, plan)

    async def wait(
        self, timeout: float | None = None, on_progress: ProgressCallback | None = None
    ) -> Result:
        """Poll adaptively until the task finishes; returns its Result or raises its error.

        Transient poll failures are retried with backoff; a TaskTimeoutError leaves the task
        running at the vendor, to be waited on again by id.
        """
        loop = asyncio.get_running_loop()
        schedule = self._engine.schedule(self.provider, self.operation)
        _, op = self._engine.operation(self.provider, self.operation, retired_ok=True)
        limit = (
            timeout if timeout is not None else WAIT_TIMEOUT.get(op.output, WAIT_TIMEOUT["none"])
        )
        deadline = loop.time() + limit
        polls = failures = not_found = 0
        policy = self._engine.retry
        submitted_at = self._submit_time()
        first_poll = self._engine.first_poll_at(self.provider, self.operation, schedule)
        if self._fresh and self.last_status is None:
            # Just submitted: nothing can be done yet, so the first poll waits, at least until
            # it pays (see mediagen.polling).
            until_first = next_delay(
                schedule,
                polls=0,
                elapsed=self._elapsed(),
                hint=self.first_poll_after,
                first=first_poll,
            )
            await asyncio.sleep(min(until_first, limit))
            polls = 1
        while True:
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.001)):
                    status = await self.status()
                failures = 0
                self._unknown = None
            except TimeoutError:
                raise self._timeout(limit) from None
            except NotFoundError as exc:
                not_found += 1
                since = None if submitted_at is None else time.time() - submitted_at
                if not not_found_is_transient(since, not_found):
                    # The vendor does not know this task, past any read-after-write lag.
                    self._engine._journal(self.journal_id, "record_failure", "failed", str(exc))
                    raise
                self._unknown = None
                log.info("%s not found yet (%s); polling again", self.task_id, exc.detail)
                delay = next_poll_delay(schedule, polls, self._poll_hint.seconds)
                polls += 1
            except UnknownTaskStatusError as exc:
                # Maybe a state the catalog does not know yet: polled again on the schedule,
                # but said out loud, and bounded like any failing poll.
                failures += 1
                self._note_unknown(exc)
                if failures >= policy.wait_failures:
                    raise self._unknown_exhausted(exc) from None
                delay = next_poll_delay(schedule, polls, self._poll_hint.seconds)
                polls += 1
            except CallError as exc:
                failures += 1
                self._unknown = None
                if decide(exc, "poll", 1, policy) != "retry" or failures >= policy.wait_failures:
                    raise
                log.info("polling %s keeps failing (%s); trying again", self.task_id, exc)
                delay = backoff(
                    failures,
                    base=policy.base,
                    cap=policy.cap,
                    retry_after=getattr(exc, "retry_after", None),
                )
            else:
                if on_progress is not None:
                    on_progress(status)
                if status.terminal:
                    return self._finish(status)
                delay = next_delay(
                    schedule,
                    polls=polls,
                    elapsed=self._elapsed(),
                    progress=status.progress,
                    hint=status.poll_after,
                    first=first_poll,
                )
                polls += 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout(limit)
            await asyncio.sleep(min(delay, remaining))

    def _elapsed(self) -> float | None:
        """Seconds since this handle's submit; None for a task resumed or known by id."""
        return None if self._submitted_at is None else time.time() - self._submitted_at

    def _submit_time(self) -> float | None:
        """When this task was last known to be at the vendor (epoch seconds): the submit, for
        a handle from submit(); for a resumed one, its journal entry's last update (the submit,
        or a state seen since). None for a task known only by id (adopted into the journal,
        never submitted from it): a mistyped id must not buy a minute of polling."""
        journal = self._engine.journal
        if self._submitted_at is not None or journal is None or self.journal_id is None:
            return self._submitted_at
        try:
            entry = journal.get(self.journal_id)
            first = journal.events(self.journal_id)[:1]
        except Exception:
            log.exception("could not read the task journal %s", journal.path)
            return None
        submitted_here = [state for state, _ in first] in (["planned"], ["pending"])
        return entry.updated_at if submitted_here else None

    def _note_unknown(self, error: UnknownTaskStatusError) -> None:
        """Count a poll that answered an unknown status word; warn once per task."""
        count = 1 if self._unknown is None else self._unknown[1] + 1
        self._unknown = (error, count)
        if not self._warned_unknown:
            self._warned_unknown = True
            log.warning(
                "%s.%s task %s: the vendor answered an unknown task status %s (known: %s); "
                "polling on, but the catalog or plugin needs this word",
                self.provider,
                self.operation,
                self.task_id,
                error.word,
                ", ".join(error.known),
            )

    def _unknown_answers(self) -> str | None:
        """What the last polls answered, when it was an unknown status word."""
        if self._unknown is None:
            return None
        error, count = self._unknown
        polls = "the last poll" if count == 1 else f"the last {count} polls"
        return f"{polls} answered an unknown task status {error.word} (known: {', '.join(error.known)})"

    def _unknown_exhausted(self, error: UnknownTaskStatusError) -> UnknownTaskStatusError:
        """The error that ends a wait whose polls kept answering an unknown status word."""
        error.detail = f"stopped waiting: {self._unknown_answers()}"
        error.args = (error._compose(),)
        return error

    def _timeout(self, limit: float) -> TaskTimeoutError:
        unknown = self._unknown_answers()
        # Not polled yet: as the journal and --json say, a submitted task is queued.
        state = self.last_status.state if self.last_status else "queued"
        return TaskTimeoutError(
            f"stopped waiting after {limit:g}s; "
            + (unknown if unknown is not None else f"the task is still {state}"),
            provider=self.provider,
            operation=self.operation,
            task_id=self.task_id,
        )

    def _finish(self, status: TaskStatus, plan: _OpPlan | None = None) -> Result:
        if self._result is not None:
            return self._result
        engine = self._engine
        try:
            result = engine.result_of(
                self.provider,
                self.operation,
                self.task_id,
                status,
                journal_id=self.journal_id,
                plan=plan,
            )
        except CallError as exc:
            engine._journal_later(self.journal_id, "record_failure", status.state, str(exc))
            engine.event(
                "finished",
                self.provider,
                self.operation,
                self.task_id,
                status.state,
                status.progress,
                error=str(exc),
            )
            raise
        if self.journal_id is not None:
            engine._journal_later(self.journal_id, "record_result", result)
        self._result = result
        elapsed = self._elapsed()
        if elapsed is not None:  # what the next tasks of this operation may expect
            engine.durations.record(
                self.provider, self.operation, engine.origin(self.provider), elapsed
            )
        if engine._listeners:
            engine.event(
                "finished",
                self.provider,
                self.operation,
                self.task_id,
                "succeeded",
                status.progress,
                detail=result,
            )
        return result

    async def download(self, directory: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Wait for the result if needed, then save its artifacts into directory."""
        status = self.last_status
        result = (
            self._finish(status) if status is not None and status.terminal else await self.wait()
        )
        return await self._engine.download(
            result, directory, overwrite=overwrite, journal_id=self.journal_id
        )


def _downloadable(
    provider: Provider,
    target: Target,
    op: Operation,
    found: tuple[Artifact, ...],
    raw: Any,
    allowed: dict[tuple[str, str, str], tuple[Provider, Target]],
) -> tuple[tuple[Artifact, ...], tuple[str, ...], str | None]:
    """(the artifacts we may download, the URLs we may not, a warning when something is off):
    a result that promises files but has none to download must not pass as a quiet success.
    `allowed` keeps the origins of plain URLs found downloadable (see Engine.__init__); a
    refusal is worked out each time (its reason names the URL)."""
    kept: list[Artifact] = []
    refused: dict[str, str] = {}
    name = provider.name
    for artifact in found:
        url = artifact.url
        # An origin already remembered is found without the pattern: the text up to the
        # first `/` after `://` is a remembered (scheme, netloc) exactly when `split_plain`
        # would read those (they are plain, and end where the path starts), and the rest
        # reads as a plain path, query and fragment when it holds no whitespace.
        scheme, _, rest = url.partition("://")
        cut = rest.find("/")
        netloc, tail = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
        known = allowed.get((name, scheme, netloc))
        if (
            known is not None
            and known[0] is provider
            and known[1] is target
            # No whitespace in the tail: printable text holds none but the space (a test with
            # no list to make); anything else is split to tell.
            and (not tail or (" " not in tail and tail.isprintable()) or tail.split() == [tail])
        ):
            kept.append(artifact)
            continue
        plain = split_plain(url)
        key = (name, plain[0], plain[1]) if plain is not None else None
        known = allowed.get(key) if key is not None else None
        if known is not None and known[0] is provider and known[1] is target:
            reason = None
        else:
            reason = download_allowed(provider, target, artifact.url)
            if reason is None and key is not None:
                if len(allowed) >= DOWNLOAD_ORIGINS_KEPT:  # many hosts (one per bucket?)
                    allowed.clear()
                allowed[key] = (provider, target)
        if reason:
            refused[artifact.url] = reason
        else:
            kept.append(artifact)
    artifacts = tuple(kept)
    if not refused and artifacts:  # the usual result: every artifact downloadable
        return artifacts, (), None
    skipped = tuple(refused)
    reasons = "; ".join(refused.values())
    if not artifacts and (skipped or op.output != "none"):
        why = f" ({reasons})" if skipped else ""
        return artifacts, skipped, f"the vendor's result has no downloadable file{why}"
    if skipped:
        return (
            artifacts,
            skipped,
            f"{len(skipped)} URL(s) in the result are not downloaded: {reasons}",
        )
    return artifacts, skipped, None


def _clip(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class _OpPlan:
    """What every call of one operation, through one set of strategies, reuses: the submit's
    `Call` (it names no task) and the bound readers of its submit and poll answers."""

    __slots__ = ("op", "status_of", "strategies", "submit_call", "task_id_of")

    def __init__(self, strategies: ProviderStrategies, op: Operation) -> None:
        self.strategies = strategies
        self.op = op
        self.submit_call = Call(strategies.provider, op, "submit")
        self.task_id_of = partial(strategies.task.task_id, op)
        self.status_of = partial(strategies.task.status, op)


class _AskedListeners:
    """The `mediagen_event` implementations, asked of pluggy each time (a pluggy without the
    live list `_event_listeners` reads)."""

    __slots__ = ("caller",)

    def __init__(self, caller: Any) -> None:
        self.caller = caller

    def __bool__(self) -> bool:
        return bool(self.caller.get_hookimpls())


def _event_listeners(registry: Registry) -> Any:
    """Something true exactly while a plugin implements `mediagen_event`: pluggy's own list of
    the hook's implementations (changed in place as plugins come and go), else an object
    that asks."""
    caller = registry.pm.hook.mediagen_event
    live = getattr(caller, "_hookimpls", None)
    return live if type(live) is list else _AskedListeners(caller)


class _RequestAuth:
    """What one set of credentials puts on a provider's requests (`Engine.request_auth`):
    the headers (Content-Type and auth), the auth query parameters, and the scrubber of the
    answers. Shown without a value: it holds the credentials."""

    __slots__ = ("credentials", "headers", "query", "scrubber", "strategies", "wire_headers")

    def __init__(
        self,
        strategies: ProviderStrategies,
        credentials: SecretMapping,
        *,
        headers: SecretMapping,
        query: SecretMapping,
        scrubber: Scrubber,
    ) -> None:
        self.strategies = strategies
        self.credentials = credentials
        self.headers = headers
        self.wire_headers = SecretHeaders(headers)
        """The same headers as aiohttp takes them without a copy (see SecretHeaders)."""
        self.query = query
        self.scrubber = scrubber

    def __repr__(self) -> str:
        return f"<request auth for {self.strategies.provider.name}: {self.headers!r}>"


class PollHint:
    """Collects a successful answer's Retry-After: the vendor saying when to poll next."""

    seconds: float | None = None  # a class default: making one runs no __init__ (3 per call)

    def read(self, headers: Mapping[str, str]) -> None:
        self.seconds = retry_after(headers)

    def apply(self, status: TaskStatus) -> TaskStatus:
        """The status with the Retry-After its answer carried, if any."""
        return status if self.seconds is None else attrs.evolve(status, poll_after=self.seconds)


_NO_HINT = PollHint()
"""A handle's hint before its first poll (each poll reads into a new one): never read into."""


def destination(target: Target, path: str) -> str:
    """base URL + path, refusing any path that would leave the provider's host.

    A path that starts with one `/` cannot move the host: a URL's authority ends at the first
    `/`, `?` or `#` after `//`, and the base URL's own authority ends before the path does
    (`urlsplit` drops tabs and newlines, never a `/`). What is refused besides: `//` (read as
    a host by some clients), `@` before the query (user info) and backslashes (a `/` to
    browsers and some proxies)."""
    if (
        path[:1] != "/"
        or path[1:2] == "/"
        or "\\" in path
        or ("@" in path and "@" in path.split("?", 1)[0])
    ):
        raise ConfigurationError(
            f"refusing request path {path!r}: it must be a plain path under {target.base_url}"
        )
    return target.base_url + path


def _close_match(name: str, known: list[str]) -> str:
    """The hint `, or a misspelt X?` when an operation id X is close to `name` (a typo looks
    like a retired operation: both are names the catalog lacks); "" otherwise."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f", or a misspelt {close[0]}?" if close else ""
