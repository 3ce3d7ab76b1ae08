"""The async runtime behind generated stubs: one engine per client.

It resolves a provider's strategies (cached, through the plugin registry), checks
credentials before any network call, sends requests over the client's pooled session and
turns answers into task handles, results or typed errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .catalog import Operation, Provider
from .credentials import CredentialStore, SecretMapping
from .defaults import (
    MAX_DOWNLOAD_BYTES,
    MAX_RESPONSE_BYTES,
    WAIT_TIMEOUT,
    PollSchedule,
    RetryPolicy,
    Timeouts,
)
from .download import save_result
from .errors import (
    CallError,
    ConfigurationError,
    GenerationFailedError,
    NotFoundError,
    SubmitOutcomeUnknownError,
    TaskTimeoutError,
)
from .events import TaskEvent
from .hosts import Target, resolve_target
from .journal import Journal
from .params import ParamsModel
from .registry import ProviderStrategies, Registry, default_registry
from .results import Result
from .retired import retired_operation
from .retry import backoff, decide, jittered
from .secrets import scrubber_for, secret_values
from .strategies import Call, HttpRequest, TaskStatus
from .transport import Transport

log = logging.getLogger(__name__)

ProgressCallback = Callable[[TaskStatus], None]


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
        return clone

    def __repr__(self) -> str:
        return f"Engine(base_urls={self.base_urls!r}, credentials={self.credentials!r}, journal={self.journal!r})"

    async def close(self) -> None:
        await self.transport.close()

    # -- resolution -------------------------------------------------------------------------

    def strategies(self, provider: str) -> ProviderStrategies:
        return self.registry.strategies(provider)

    def target(self, provider: Provider) -> Target:
        if provider.name not in self._targets:
            self._targets[provider.name] = resolve_target(provider, self.base_urls)
        return self._targets[provider.name]

    def operation(
        self, provider: str, operation: str, *, retired_ok: bool = False
    ) -> tuple[ProviderStrategies, Operation]:
        """The operation and its provider's strategies. With `retired_ok` (polling a task), an
        operation that left the catalog is a stand-in when the task can be finished by id."""
        strategies = self.strategies(provider)
        try:
            return strategies, strategies.provider.operation(operation)
        except KeyError as exc:
            if not retired_ok:
                raise ConfigurationError(exc.args[0]) from None
        key = (provider, operation)
        if key not in self._retired:
            self._retired[key] = retired_operation(strategies.provider, operation)
            log.warning("operation %s.%s is retired; finishing task by id", provider, operation)
        return strategies, self._retired[key]

    def _for_params(self, params: ParamsModel, kind: str) -> tuple[ProviderStrategies, Operation]:
        provider, _, op_id = type(params).OPERATION.partition(".")
        strategies, op = self.operation(provider, op_id)
        if op.kind != kind:
            raise ConfigurationError(f"{op.qualified_id} is a {op.kind} operation, not {kind}")
        return strategies, op

    # -- calls ------------------------------------------------------------------------------

    async def send(
        self,
        strategies: ProviderStrategies,
        call: Call,
        request: HttpRequest,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """One request; returns the response's data (through `parse`, which may raise a
        MalformedResponseError), or raises a located CallError with no secret in it."""
        provider = strategies.provider
        credentials, url = self.preflight(strategies, request)
        auth = SecretMapping(strategies.auth.headers(credentials))
        headers = SecretMapping({"Content-Type": "application/json", **auth, **request.headers})
        # A vendor may echo a key back anywhere (errors, reasons, results, trace ids): the
        # answer is scrubbed once, here, so nothing downstream ever holds one.
        scrubber = scrubber_for(secret_values(provider, credentials, auth))
        try:
            response = await self.transport.request(
                request.method, url, json=request.json, headers=headers
            )
            data = scrubber.data(strategies.errors.check(call, response))
            return parse(data) if parse is not None else data
        except CallError as exc:
            exc.locate(provider.name, call.operation.id, call.task_id)
            raise scrubber.error(exc) from None

    def preflight(
        self, strategies: ProviderStrategies, request: HttpRequest
    ) -> tuple[SecretMapping, str]:
        """Everything that can fail before the network, checked before anything is journaled:
        the client is open, credentials exist, the URL stays on the provider's host."""
        if self.transport.closed:
            raise ConfigurationError("the client is closed")
        credentials = self.credentials.resolve(strategies.provider)
        return credentials, destination(self.target(strategies.provider), request.path)

    async def call(
        self,
        strategies: ProviderStrategies,
        call: Call,
        request: HttpRequest,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """send() with the retry policy: reads retry transient failures (unreadable answers
        included); writes retry only when the vendor provably did nothing, and turn a lost or
        unreadable answer into SubmitOutcomeUnknownError."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.send(strategies, call, request, parse)
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
        self, params: ParamsModel, *, journal_id: int | None = None
    ) -> AsyncTaskHandle:
        """Submit a task. With a journal, the intent is written first (or `journal_id`, a
        planned entry, is used), then the task id or what became of the submit."""
        strategies, op = self._for_params(params, "task")
        task_id, entry = await self._write(
            strategies,
            op,
            "submit",
            params,
            journal_id,
            lambda data: strategies.task.task_id(op, data),
        )
        self._journal(entry, "record_submitted", task_id)
        self.registry.emit(TaskEvent("submitted", op.provider, op.id, task_id, "queued"))
        return AsyncTaskHandle(self, op.provider, op.id, task_id, journal_id=entry, fresh=True)

    async def run(self, params: ParamsModel, *, journal_id: int | None = None) -> Result:
        """A synchronous operation: the answer is the result."""
        strategies, op = self._for_params(params, "sync")
        (data, artifacts), entry = await self._write(
            strategies,
            op,
            "run",
            params,
            journal_id,
            lambda data: (data, strategies.results.artifacts(op, data)),
        )
        result = Result(provider=op.provider, operation=op.id, artifacts=artifacts, raw=data)
        self._journal(entry, "record_result", result)
        self.registry.emit(
            TaskEvent("finished", op.provider, op.id, None, "succeeded", 100.0, detail=result)
        )
        return result

    async def _write(
        self,
        strategies: ProviderStrategies,
        op: Operation,
        phase: str,
        params: ParamsModel,
        journal_id: int | None,
        parse: Callable[[Any], Any],
    ) -> tuple[Any, int | None]:
        """A request that may create something at the vendor, journaled around it: the intent
        first; after it, rejected (nothing exists) or unknown (the answer was lost or cut off)."""
        call = Call(strategies.provider, op, phase)
        request = strategies.task.submit_request(op, params.to_dict())
        self.preflight(strategies, request)  # what fails here is not an intent: nothing was sent
        entry = self._intent(op, params, journal_id)
        try:
            value = await self.call(strategies, call, request, parse)
        except SubmitOutcomeUnknownError as exc:
            self._journal(entry, "record_unknown", str(exc))
            raise
        except CallError as exc:
            self._journal(entry, "record_rejected", str(exc))
            raise
        except BaseException:
            # Cancelled or interrupted mid-request: the outcome is unknown, and stays so.
            self._journal(entry, "record_unknown", "interrupted while submitting")
            raise
        return value, entry

    def _intent(self, op: Operation, params: ParamsModel, journal_id: int | None) -> int | None:
        if self.journal is None:
            return None
        if journal_id is not None:
            if not self.journal.claim(journal_id):
                raise ConfigurationError(
                    f"journal entry {journal_id} is not planned any more (another process took it)"
                )
            return journal_id
        return self.journal.record_intent(op.provider, op.id, params.to_dict())

    def _journal(self, entry: int | None, method: str, *args: Any) -> None:
        """Journal.<method>(entry, *args); a failing journal is logged and the task goes on."""
        if self.journal is None or entry is None:
            return
        try:
            getattr(self.journal, method)(entry, *args)
        except Exception:
            log.exception("could not write to the task journal %s", self.journal.path)

    async def query(self, params: ParamsModel, *, journal_id: int | None = None) -> dict[str, Any]:
        """A query (credits, a task's raw state). Journaled only as part of a batch."""
        strategies, op = self._for_params(params, "query")
        call = Call(strategies.provider, op, "query")
        request = strategies.task.submit_request(op, params.to_dict())
        self.preflight(strategies, request)
        entry = self._intent(op, params, journal_id) if journal_id is not None else None
        try:
            data = await self.call(strategies, call, request)
        except CallError as exc:
            self._journal(entry, "record_failure", "failed", str(exc))
            raise
        out = {} if data is None else dict(data) if isinstance(data, Mapping) else {"value": data}
        self._journal(
            entry,
            "record_result",
            Result(provider=op.provider, operation=op.id, artifacts=(), raw=out),
        )
        return out

    async def poll(self, provider: str, operation: str, task_id: str) -> TaskStatus:
        strategies, op = self.operation(provider, operation, retired_ok=True)
        call = Call(strategies.provider, op, "poll", task_id)
        status: TaskStatus = await self.call(
            strategies,
            call,
            strategies.task.poll_request(op, task_id),
            lambda data: strategies.task.status(op, data),
        )
        return status

    def schedule(self, provider: str, operation: str) -> PollSchedule:
        strategies, op = self.operation(provider, operation, retired_ok=True)
        return self.polling or strategies.task.poll_schedule(op)

    def result_of(self, provider: str, operation: str, task_id: str, status: TaskStatus) -> Result:
        """The Result of a finished task, or the error its terminal state means."""
        strategies, op = self.operation(provider, operation, retired_ok=True)
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
            artifacts = strategies.results.artifacts(op, status.payload)
        except CallError as exc:
            raise exc.locate(provider, operation, task_id) from None
        return Result(
            provider=provider,
            operation=operation,
            artifacts=artifacts,
            raw=status.raw,
            task_id=task_id,
        )

    async def download(
        self,
        result: Result,
        directory: str | Path,
        *,
        overwrite: bool = False,
        journal_id: int | None = None,
    ) -> list[Path]:
        provider = self.strategies(result.provider).provider
        paths = await save_result(
            self.transport,
            provider,
            self.target(provider),
            result,
            Path(directory),
            overwrite=overwrite,
            max_bytes=self.max_download_bytes,
        )
        if journal_id is None and self.journal is not None and result.task_id:
            found = self.journal.find(result.provider, result.task_id)
            journal_id = found.id if found else None
        pairs = [(a.url, str(p.resolve())) for a, p in zip(result.artifacts, paths, strict=False)]
        self._journal(journal_id, "record_files", pairs)
        return paths

    def task(self, provider: str, operation: str, task_id: str) -> AsyncTaskHandle:
        _, op = self.operation(provider, operation, retired_ok=True)
        if op.kind != "task":
            raise ConfigurationError(f"{op.qualified_id} is a {op.kind} operation: it has no tasks")
        if not task_id or not task_id.strip():
            raise ConfigurationError("a task id is required")
        task_id = task_id.strip()
        entry = None
        if self.journal is not None:
            try:
                entry = self.journal.adopt(provider, operation, task_id)
            except Exception:
                log.exception("could not read the task journal %s", self.journal.path)
        return AsyncTaskHandle(self, provider, operation, task_id, journal_id=entry)


class AsyncTaskHandle:
    """A submitted task: poll it, wait for it, fetch its result. Rebuild one from its id alone
    with `client.task(provider, operation, task_id)`."""

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
        self.last_status: TaskStatus | None = None
        self._fresh = fresh
        self._result: Result | None = None

    def __repr__(self) -> str:
        state = self.last_status.state if self.last_status else "unknown"
        return f"<Task {self.provider}.{self.operation} {self.task_id} {state}>"

    async def status(self) -> TaskStatus:
        """Poll once."""
        status = await self._engine.poll(self.provider, self.operation, self.task_id)
        previous = self.last_status
        self.last_status = status
        if previous is None or (previous.state, previous.progress) != (
            status.state,
            status.progress,
        ):
            if not status.terminal:  # terminal states are journaled with their result or error
                self._engine._journal(
                    self.journal_id, "record_state", status.state, status.progress
                )
            self._engine.registry.emit(
                TaskEvent(
                    "state_changed",
                    self.provider,
                    self.operation,
                    self.task_id,
                    status.state,
                    status.progress,
                    detail=status,
                )
            )
        return status

    async def result(self) -> Result:
        """The result now: polls once; raises if the task failed, or is not finished yet."""
        status = await self.status()
        if not status.terminal:
            raise TaskTimeoutError(
                f"the task is still {status.state}",
                provider=self.provider,
                operation=self.operation,
                task_id=self.task_id,
            )
        return self._finish(status)

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
        polls = failures = 0
        policy = self._engine.retry
        if self._fresh and self.last_status is None:
            # Just submitted: nothing can be done yet, so the first poll waits one interval.
            await asyncio.sleep(min(jittered(schedule.interval(0), schedule.jitter), limit))
            polls = 1
        while True:
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.001)):
                    status = await self.status()
                failures = 0
            except TimeoutError:
                raise self._timeout(limit) from None
            except CallError as exc:
                failures += 1
                if decide(exc, "poll", 1, policy) != "retry" or failures >= policy.wait_failures:
                    if isinstance(exc, NotFoundError):  # the vendor does not know this task
                        self._engine._journal(self.journal_id, "record_failure", "failed", str(exc))
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
                delay = jittered(schedule.interval(polls), schedule.jitter)
                polls += 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout(limit)
            await asyncio.sleep(min(delay, remaining))

    def _timeout(self, limit: float) -> TaskTimeoutError:
        state = self.last_status.state if self.last_status else "unknown"
        return TaskTimeoutError(
            f"stopped waiting after {limit:g}s; the task is still {state}",
            provider=self.provider,
            operation=self.operation,
            task_id=self.task_id,
        )

    def _finish(self, status: TaskStatus) -> Result:
        if self._result is not None:
            return self._result
        engine = self._engine
        try:
            result = engine.result_of(self.provider, self.operation, self.task_id, status)
        except CallError as exc:
            engine._journal(self.journal_id, "record_failure", status.state, str(exc))
            engine.registry.emit(
                TaskEvent(
                    "finished",
                    self.provider,
                    self.operation,
                    self.task_id,
                    status.state,
                    status.progress,
                    error=str(exc),
                )
            )
            raise
        engine._journal(self.journal_id, "record_result", result)
        self._result = result
        engine.registry.emit(
            TaskEvent(
                "finished",
                self.provider,
                self.operation,
                self.task_id,
                "succeeded",
                status.progress,
                detail=result,
            )
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


def destination(target: Target, path: str) -> str:
    """base URL + path, refusing any path that would leave the provider's host."""
    url = target.base_url + path
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "@" in path.split("?", 1)[0]
        or "\\" in path
    ):
        raise ConfigurationError(
            f"refusing request path {path!r}: it must be a plain path under {target.base_url}"
        )
    if urlsplit(url).netloc != urlsplit(target.base_url).netloc:
        raise ConfigurationError(f"refusing request path {path!r}: it leaves {target.base_url}")
    return url
