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

from .catalog import Operation, Provider
from .credentials import CredentialStore
from .defaults import MAX_DOWNLOAD_BYTES, WAIT_TIMEOUT, PollSchedule, Timeouts
from .download import save_result
from .errors import CallError, ConfigurationError, GenerationFailedError, TaskTimeoutError
from .events import TaskEvent
from .hosts import Target, resolve_target
from .params import ParamsModel
from .registry import ProviderStrategies, Registry, default_registry
from .results import Result
from .retry import POLL_ATTEMPTS, backoff, jittered, poll_is_retryable
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
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> None:
        self.registry = registry or default_registry()
        self.credentials = credentials or CredentialStore()
        self.base_urls = dict(base_urls or {})
        self.timeouts = timeouts or Timeouts()
        self.polling = polling
        self.max_download_bytes = max_download_bytes
        self.transport = Transport(self.timeouts)
        self._targets: dict[str, Target] = {}

    def __repr__(self) -> str:
        return f"Engine(base_urls={self.base_urls!r}, credentials={self.credentials!r})"

    async def close(self) -> None:
        await self.transport.close()

    # -- resolution -------------------------------------------------------------------------

    def strategies(self, provider: str) -> ProviderStrategies:
        return self.registry.strategies(provider)

    def target(self, provider: Provider) -> Target:
        if provider.name not in self._targets:
            self._targets[provider.name] = resolve_target(provider, self.base_urls)
        return self._targets[provider.name]

    def operation(self, provider: str, operation: str) -> tuple[ProviderStrategies, Operation]:
        strategies = self.strategies(provider)
        try:
            return strategies, strategies.provider.operation(operation)
        except KeyError as exc:
            raise ConfigurationError(exc.args[0]) from None

    def _for_params(self, params: ParamsModel, kind: str) -> tuple[ProviderStrategies, Operation]:
        provider, _, op_id = type(params).OPERATION.partition(".")
        strategies, op = self.operation(provider, op_id)
        if op.kind != kind:
            raise ConfigurationError(f"{op.qualified_id} is a {op.kind} operation, not {kind}")
        return strategies, op

    # -- calls ------------------------------------------------------------------------------

    async def send(self, strategies: ProviderStrategies, call: Call, request: HttpRequest) -> Any:
        """One request; returns the response's data or raises a located CallError."""
        provider = strategies.provider
        credentials = self.credentials.resolve(provider)  # before any network
        target = self.target(provider)
        headers = {
            "Content-Type": "application/json",
            **strategies.auth.headers(credentials),
            **request.headers,
        }
        try:
            response = await self.transport.request(
                request.method, target.base_url + request.path, json=request.json, headers=headers
            )
            return strategies.errors.check(call, response)
        except CallError as exc:
            raise exc.locate(provider.name, call.operation.id, call.task_id) from None

    async def submit(self, params: ParamsModel) -> AsyncTaskHandle:
        strategies, op = self._for_params(params, "task")
        call = Call(strategies.provider, op, "submit")
        data = await self.send(
            strategies, call, strategies.task.submit_request(op, params.to_dict())
        )
        try:
            task_id = strategies.task.task_id(op, data)
        except CallError as exc:
            raise exc.locate(op.provider, op.id) from None
        self.registry.emit(TaskEvent("submitted", op.provider, op.id, task_id, "queued"))
        return AsyncTaskHandle(self, op.provider, op.id, task_id)

    async def run(self, params: ParamsModel) -> Result:
        strategies, op = self._for_params(params, "sync")
        call = Call(strategies.provider, op, "run")
        data = await self.send(
            strategies, call, strategies.task.submit_request(op, params.to_dict())
        )
        try:
            artifacts = strategies.results.artifacts(op, data)
        except CallError as exc:
            raise exc.locate(op.provider, op.id) from None
        result = Result(provider=op.provider, operation=op.id, artifacts=artifacts, raw=data)
        self.registry.emit(
            TaskEvent("finished", op.provider, op.id, None, "succeeded", 100.0, detail=result)
        )
        return result

    async def query(self, params: ParamsModel) -> dict[str, Any]:
        strategies, op = self._for_params(params, "query")
        call = Call(strategies.provider, op, "query")
        data = await self.send(
            strategies, call, strategies.task.submit_request(op, params.to_dict())
        )
        if data is None:
            return {}
        return dict(data) if isinstance(data, Mapping) else {"value": data}

    async def poll(self, provider: str, operation: str, task_id: str) -> TaskStatus:
        strategies, op = self.operation(provider, operation)
        call = Call(strategies.provider, op, "poll", task_id)
        data = await self.send(strategies, call, strategies.task.poll_request(op, task_id))
        try:
            return strategies.task.status(op, data)
        except CallError as exc:
            raise exc.locate(provider, operation, task_id) from None

    def schedule(self, provider: str, operation: str) -> PollSchedule:
        strategies, op = self.operation(provider, operation)
        return self.polling or strategies.task.poll_schedule(op)

    def result_of(self, provider: str, operation: str, task_id: str, status: TaskStatus) -> Result:
        """The Result of a finished task, or the error its terminal state means."""
        strategies, op = self.operation(provider, operation)
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
        self, result: Result, directory: str | Path, *, overwrite: bool = False
    ) -> list[Path]:
        provider = self.strategies(result.provider).provider
        return await save_result(
            self.transport,
            provider,
            self.target(provider),
            result,
            Path(directory),
            overwrite=overwrite,
            max_bytes=self.max_download_bytes,
        )

    def task(self, provider: str, operation: str, task_id: str) -> AsyncTaskHandle:
        _, op = self.operation(provider, operation)
        if op.kind != "task":
            raise ConfigurationError(f"{op.qualified_id} is a {op.kind} operation: it has no tasks")
        if not task_id or not task_id.strip():
            raise ConfigurationError("a task id is required")
        return AsyncTaskHandle(self, provider, operation, task_id.strip())


class AsyncTaskHandle:
    """A submitted task: poll it, wait for it, fetch its result. Rebuild one from its id alone
    with `client.task(provider, operation, task_id)`."""

    def __init__(self, engine: Engine, provider: str, operation: str, task_id: str) -> None:
        self._engine = engine
        self.provider = provider
        self.operation = operation
        self.task_id = task_id
        self.last_status: TaskStatus | None = None

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
        _, op = self._engine.operation(self.provider, self.operation)
        limit = (
            timeout if timeout is not None else WAIT_TIMEOUT.get(op.output, WAIT_TIMEOUT["none"])
        )
        deadline = loop.time() + limit
        polls = failures = 0
        while True:
            try:
                status = await self.status()
                failures = 0
            except CallError as exc:
                failures += 1
                if not poll_is_retryable(exc) or failures >= POLL_ATTEMPTS:
                    raise
                log.info("poll of %s failed (%s); retrying", self.task_id, exc)
                delay = backoff(failures, retry_after=getattr(exc, "retry_after", None))
            else:
                if on_progress is not None:
                    on_progress(status)
                if status.terminal:
                    return self._finish(status)
                delay = jittered(schedule.interval(polls), schedule.jitter)
                polls += 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TaskTimeoutError(
                    f"stopped waiting after {limit:g}s; the task is still "
                    f"{self.last_status.state if self.last_status else 'unknown'}",
                    provider=self.provider,
                    operation=self.operation,
                    task_id=self.task_id,
                )
            await asyncio.sleep(min(delay, remaining))

    def _finish(self, status: TaskStatus) -> Result:
        try:
            result = self._engine.result_of(self.provider, self.operation, self.task_id, status)
        except CallError as exc:
            self._engine.registry.emit(
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
        self._engine.registry.emit(
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
        return await self._engine.download(result, directory, overwrite=overwrite)
