"""What each check runs on: the steering plugin, a session (emulator + client) and the
assertion helpers that word a failure.

The steering plugin wraps the provider's emulator profile (a pluggy wrapper on
`mediagen_emulator_profile`, so a plugin's own profile stays underneath): a check can make
the emulator answer a given vendor status word and progress, or pass every success answer
through a mutation (the fuzz check). Everything else is the emulator as users run it.
"""

from __future__ import annotations

import collections
import copy
import json
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import attrs

from ...catalog.ir import Operation, Provider
from ...catalog.paths import put
from ...client import AsyncClient
from ...defaults import RetryPolicy, Timeouts
from ...emulation import CatalogEmulatorProfile
from ...engine import AsyncTaskHandle
from ...errors import ParamError
from ...hookspecs import hookimpl
from ...registry import Registry
from ...results import Result
from ...strategies import EmulatedTask, EmulatorProfile
from ..emulator import FAST_POLLING, Emulator, check_params
from ._params import minimal_params, wire_names

POLICY = RetryPolicy(attempts=3, wait_failures=2, base=0.001, cap=0.01)
"""Retries as the engine makes them, with near-zero pauses."""
TIMEOUTS = Timeouts(connect=5.0, request=5.0, download=10.0)
WAIT = 10.0
"""The longest a check waits for one task: a bound, never reached by a conforming provider."""
PENDING = 60.0
"""The duration of a task a check keeps unfinished (it is never waited for)."""


class _TaskId:
    def __repr__(self) -> str:
        return "TASK_ID"


TASK_ID: Any = _TaskId()
"""Put as a query's task id in `params`: the suite submits a task first and uses its id."""


class ConformanceFailure(AssertionError):
    """A provider breaks one of the suite's checks; the message says where and what."""


def fail(where: str, check: str, expected: str, seen: str) -> NoReturn:
    """Raise a failure naming the provider.operation, the check, what was expected and seen."""
    raise ConformanceFailure(f"{where}: {check}: expected {expected}; saw {seen}")


def expect(ok: bool, where: str, check: str, expected: str, seen: str) -> None:
    if not ok:
        fail(where, check, expected, seen)


def described(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def conformance_credentials(provider: Provider, tag: str = "ok") -> dict[str, str]:
    """Distinctive fake credentials: long enough to be scrubbed, easy to find in any text."""
    return {
        c.name: f"conformance-{provider.name}-{c.name}-{tag}-7f3a9c"
        for c in provider.auth.credentials
    }


# -- the steering plugin ------------------------------------------------------------------


@attrs.define
class Steering:
    """The suite's own plugin. Between checks everything is off: the emulator answers as the
    provider's profile says."""

    provider: str
    status: tuple[Any] | None = None
    """(vendor status word,) every poll answers with."""
    progress: float | None = None
    """The progress every poll answers with (at the catalog's progress_field)."""
    mutate: Callable[[Any], Any] | None = None
    """Applied to every success answer's body."""
    results: dict[str | None, Any] = attrs.field(factory=dict)
    """The data of each answer that carried a finished call's files, as the profile shaped
    it: by task id (None: the last synchronous call's), to tell which files it served."""

    def reset(self) -> None:
        self.status, self.progress, self.mutate = None, None, None
        self.results.clear()

    @hookimpl(wrapper=True)
    def mediagen_emulator_profile(self, provider: Provider) -> Generator[None, Any, Any]:
        inner = yield
        if provider.name != self.provider:
            return inner
        return SteeredProfile(inner or CatalogEmulatorProfile(provider), provider, self)


class SteeredProfile:
    """The provider's emulator profile, with what `Steering` says applied to its answers."""

    def __init__(self, inner: EmulatorProfile, provider: Provider, steering: Steering) -> None:
        self.inner, self.provider, self.steering = inner, provider, steering

    def check_auth(
        self, headers: Mapping[str, str], credentials: Mapping[str, str], query: Mapping[str, str]
    ) -> str | None:
        return self.inner.check_auth(headers, credentials, query)

    def request_params(
        self,
        op: Operation,
        body: Any,
        path_params: Mapping[str, str],
        query: Mapping[str, list[str]],
    ) -> dict[str, Any]:
        return self.inner.request_params(op, body, path_params, query)

    def poll_task_id(
        self, body: Any, path_params: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> str | None:
        return self.inner.poll_task_id(body, path_params, query)

    def success(self, data: Any) -> Any:
        body = self.inner.success(data)
        mutate = self.steering.mutate
        return mutate(copy.deepcopy(body)) if mutate is not None else body

    def error(self, category: str, message: str) -> tuple[int, Any]:
        return self.inner.error(category, message)

    def vendor_error(self, code: int | str, message: str) -> tuple[int, Any]:
        return self.inner.vendor_error(code, message)

    def submit_data(self, task_id: str) -> Any:
        return self.inner.submit_data(task_id)

    def poll_data(self, op: Operation, task: EmulatedTask) -> Any:
        data = self.inner.poll_data(op, task)
        proto = self.provider.task
        if proto is None or not isinstance(data, dict):
            return data
        if self.steering.status is not None:
            put(data, proto.status_field, self.steering.status[0])
        if self.steering.progress is not None and proto.progress_field is not None:
            put(data, proto.progress_field, self.steering.progress)
        if task.urls:
            self.steering.results[task.task_id] = copy.deepcopy(data)
        return data

    def sync_data(self, op: Operation, urls: Mapping[str, str]) -> Any:
        data = self.inner.sync_data(op, urls)
        self.steering.results[None] = copy.deepcopy(data)
        return data

    def query_data(
        self, op: Operation, params: Mapping[str, Any], tasks: Mapping[str, EmulatedTask]
    ) -> Any:
        return self.inner.query_data(op, params, tasks)

    def file_kinds(self, op: Operation, params: Mapping[str, Any]) -> tuple[str, ...]:
        return self.inner.file_kinds(op, params)


# -- a session: one emulator, clients on it -----------------------------------------------


class Session:
    """`async with Session(...) as s:` a fresh emulator (its own recorded requests, tasks and
    faults) serving the registry's providers, and a client on it with quick retries."""

    def __init__(
        self,
        registry: Registry,
        provider: Provider,
        params: Mapping[str, Mapping[str, Any]],
        steering: Steering,
        *,
        journal: Path | None = None,
        durations: Mapping[str, float] | None = None,
    ) -> None:
        self.registry, self.provider, self.params = registry, provider, params
        self.steering = steering
        self.credentials = conformance_credentials(provider)
        self.emulator = Emulator(
            registry=registry,
            duration=0.0,
            durations=durations,
            credentials={provider.name: self.credentials},
        )
        self.journal = journal
        self._clients: list[AsyncClient] = []

    async def __aenter__(self) -> Session:
        await self.emulator.start()
        self.client = self.new_client(journal=self.journal)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients:
            await client.close()
        await self.emulator.stop()

    def new_client(
        self, *, credentials: Mapping[str, str] | None = None, journal: Path | None = None
    ) -> AsyncClient:
        options = self.emulator.client_options()
        if credentials is not None:
            options["credentials"] = {
                **options["credentials"],
                self.provider.name: dict(credentials),
            }
        options.update(
            polling=FAST_POLLING,
            retry=POLICY,
            timeouts=TIMEOUTS,
            journal=journal if journal is not None else False,
        )
        client = AsyncClient(**options)
        self._clients.append(client)
        return client

    def requests(self, phase: str | None = None) -> list[Any]:
        return self.emulator.requests_for(self.provider.name, phase)

    async def params_for(
        self, op: Operation, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Minimal valid params, the class's overrides on top; a query that reads a task by
        id gets the id of a task submitted (and finished) first."""
        given = {**self.params.get(op.id, {}), **(extra or {})}
        params = minimal_params(op, given)
        name = self.provider.task.poll.task_id_param if self.provider.task else ""
        reads_a_task = op.kind == "query" and name in params
        if reads_a_task and (params[name] is TASK_ID or name not in wire_names(op, given)):
            params[name] = await self.finished_task_id(op)
        try:
            check_params(op, params, self.registry)
        except ParamError as exc:
            fail(
                op.qualified_id,
                "minimal params (derived from the catalog, then the class's `params`)",
                "params the operation accepts",
                f"{exc}; give valid ones in the class: params = {{{op.id!r}: {{...}}}}",
            )
        return params

    async def finished_task_id(self, query: Operation) -> str:
        task_op = next((o for o in self.provider.operations if o.kind == "task"), None)
        if task_op is None:
            fail(query.qualified_id, "a task for the query", "a task operation", "none")
        handle = await self.call(self.client, task_op, await self.params_for(task_op))
        assert isinstance(handle, AsyncTaskHandle)
        await handle.wait(timeout=WAIT)
        return handle.task_id

    async def call(
        self, client: AsyncClient, op: Operation, params: Mapping[str, Any]
    ) -> AsyncTaskHandle | Result | dict[str, Any]:
        """Submit, run or query the operation, as its kind says, from wire params."""
        model = self.registry.model_for(op.qualified_id).from_dict(params)
        if op.kind == "task":
            return await client.submit(model)
        if op.kind == "sync":
            return await client.run(model)
        return await client.query(model)

    async def complete(
        self, client: AsyncClient, op: Operation, params: Mapping[str, Any], wait: float = WAIT
    ) -> Result | dict[str, Any]:
        """The call through to its end: a task's result, a run's result, a query's data."""
        out = await self.call(client, op, params)
        if isinstance(out, AsyncTaskHandle):
            return await out.wait(timeout=wait)
        return out

    def served(self, result: Result) -> list[str]:
        """The file URLs the emulator served in the answer that finished `result`'s call (its
        task's, or the last synchronous call's), in document order, each once."""
        data = self.steering.results.get(result.task_id)
        return served_urls(data, self.emulator.files_origin) if data is not None else []

    async def download(self, op: Operation, result: Result, folder: Path) -> None:
        """Download the result's files, after refusing any URL the emulator did not serve:
        the suite sends nothing off loopback, whatever a result parser makes up."""
        served = set(self.served(result))
        for artifact in result.artifacts:
            if artifact.url not in served:
                fail(
                    op.qualified_id,
                    "downloading the result's files",
                    "only files the emulator served (the suite sends nothing off loopback)",
                    f"{artifact.url} in the parsed result, which the emulator never served: "
                    "refused before any request",
                )
        await self.client.download(result, folder)


def served_urls(data: Any, files_origin: str) -> list[str]:
    """The emulator's file URLs in an answer's data, in document order, each once: found in
    its JSON text, so a result the vendor nests as a JSON string counts too."""
    text = json.dumps(data, default=str)
    found = re.findall(re.escape(f"{files_origin}/_files/") + r'[^"\\\s]+', text)
    return list(dict.fromkeys(found))


def artifact_problems(served: Sequence[str], parsed: Sequence[str]) -> str | None:
    """What a parser made of the served file URLs, when it is not exactly them in document
    order, each once: the URLs lost, duplicated, invented, or the order it gave them in."""
    counts = collections.Counter(parsed)
    problems = [
        f"{what}: {', '.join(urls)}"
        for what, urls in (
            ("lost", [u for u in served if u not in counts]),
            ("duplicated", [u for u, n in counts.items() if n > 1]),
            ("invented (never served)", [u for u in counts if u not in served]),
        )
        if urls
    ]
    if not problems and list(parsed) != list(served):
        problems.append(f"another order: {', '.join(parsed)}")
    return "; ".join(problems) or None
