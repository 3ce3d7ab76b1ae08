"""A local emulator of every catalog provider: one aiohttp server on loopback.

Each provider's wire behaviour comes from its plugin's emulator profile, so third-party
providers can be emulated too. The emulator checks auth headers and body shapes, validates
parameters against the catalog (the same generated models the client uses), runs a task
lifecycle with configurable durations and outcomes, serves small valid artifact files, and
injects faults on request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
import zlib
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from aiohttp import web

from ..catalog import Catalog, default_catalog
from ..catalog.ir import TERMINAL_STATES, Operation, Provider
from ..catalog.paths import merge, put
from ..defaults import PollSchedule
from ..emulation import CatalogEmulatorProfile, fake_credential
from ..errors import ParamError
from ..registry import Registry, default_registry
from ..strategies import EmulatedTask, EmulatorProfile
from . import artifacts
from .catalog_params import check_catalog_params

log = logging.getLogger(__name__)

FAST_POLLING = PollSchedule(initial=0.02, maximum=0.1, factor=1.5, jitter=0.0)
"""A poll schedule that suits the emulator's sub-second tasks (`client_options()` does not
impose it: the emulator's Retry-After hints make any schedule fast)."""

POLL_HINT = 0.1
"""The longest Retry-After the emulator sends on a submit or an unfinished poll."""


def emulator_credentials(catalog: Catalog) -> dict[str, dict[str, str]]:
    """The credentials the emulator expects: one fake value per catalog credential."""
    return {
        p.name: {c.name: fake_credential(p.name, c.name) for c in p.auth.credentials}
        for p in catalog.providers
    }


def __getattr__(name: str) -> Any:
    # EMULATOR_CREDENTIALS: the shipped catalog's, computed on first use (loads the catalog).
    if name == "EMULATOR_CREDENTIALS":
        return emulator_credentials(default_catalog())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Phase = Literal["submit", "poll", "query", "run", "download", "any"]
FaultKind = Literal[
    "status",
    "vendor_code",
    "reset",
    "reset_after",
    "slow",
    "malformed",
    "truncated",
    "html",
    "echo",
    "redirect",
    "huge",
]
TerminalState = Literal["succeeded", "failed", "cancelled", "timed_out"]


@attrs.define
class Fault:
    """One injected misbehaviour, applied to the next `times` matching requests.

    kinds: status (HTTP `status`, vendor error body, optional Retry-After), vendor_code
    (error `code`, an int or a string: HTTP 200 in the provider's envelope, or without one
    the HTTP status of the code's category), reset (connection dropped before any processing),
    reset_after (request processed, e.g. the task created, then the connection dropped),
    slow (answer after `delay` seconds), malformed (not JSON), truncated (half a JSON
    body), html (an HTML error page with `status`), echo (the usual answer with `message`
    written at each dotted path of `fields` into its body, e.g. "trace_id", "data.reason",
    "data.result.note", "data.task_id": a vendor echoing text, such as the credentials it
    received, where nobody expects it; objects missing on the way are created), redirect
    (HTTP `status` if it is a 3xx, else 307, to `location`; no Location header when it is
    None), huge (a JSON-looking body of `size` bytes, streamed with that Content-Length, or
    chunked without one when `chunked`; `written` counts the bytes it managed to send before
    the client hung up).

    phase="download" applies to the artifact files the emulator serves (status, reset and
    slow; `file` narrows it to file names containing that text, e.g. "-1." for the second
    file of a result).
    """

    kind: FaultKind
    provider: str | None = None
    phase: Phase = "any"
    operation: str | None = None
    times: int = 1
    status: int = 503
    code: int | str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    message: str = "injected by the mediagen emulator"
    fields: tuple[str, ...] = ()
    location: str | None = None
    size: int = 20 * 1024**2
    chunked: bool = False
    written: int = attrs.field(default=0, init=False)
    file: str | None = None

    def matches(
        self, provider: str, phase: str, operation: str | None, file: str | None = None
    ) -> bool:
        return (
            self.times > 0
            and self.provider in (None, provider)
            and self.phase in ("any", phase)
            and self.operation in (None, operation)
            and (self.file is None or (file is not None and self.file in file))
        )


@attrs.frozen
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    provider: str | None
    phase: str | None
    operation: str | None
    query: Mapping[str, list[str]] = attrs.field(factory=dict)
    """Query-string parameters, each with every value it was given."""


@attrs.define
class _Task:
    task: EmulatedTask
    created: float
    duration: float
    outcome: TerminalState
    reason: str | None
    result: tuple[Any] | None = None
    """(the vendor's raw result value,) when set_outcome overrode it."""


@attrs.frozen
class _Route:
    provider: Provider
    profile: EmulatorProfile
    method: str
    pattern: re.Pattern[str]
    phase: str
    operation: Operation | None


class Emulator:
    """The emulator server. `async with Emulator() as emu:` or `await emu.start()`.

    Args:
        duration: seconds each task takes (queued for the first quarter, then running).
        durations: per-operation overrides, keyed "provider.operation".
        credentials: what the emulator accepts, per provider (default: a fake value for each
            catalog credential, see `emulator_credentials`; given ones replace those).
        poll_hint: the longest Retry-After sent with submits and unfinished polls, which
            clients honour as their next poll delay; None sends none, so the client's own
            poll schedule alone decides (to try a plugin's polling).
        host, port: where to listen (port 0: any free port).
    """

    def __init__(
        self,
        *,
        registry: Registry | None = None,
        duration: float = 0.2,
        durations: Mapping[str, float] | None = None,
        credentials: Mapping[str, Mapping[str, str]] | None = None,
        poll_hint: float | None = POLL_HINT,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registry = registry or default_registry()
        self.duration = duration
        self.durations = dict(durations or {})
        self.poll_hint = poll_hint
        self.credentials = emulator_credentials(self.registry.catalog)
        for provider, values in (credentials or {}).items():
            self.credentials.setdefault(provider, {}).update(values)
        self.host = host
        self.port = port
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.tasks: dict[str, EmulatedTask] = {}
        self._tasks: dict[str, _Task] = {}
        self._outcomes: dict[str, list[tuple[TerminalState, str | None, tuple[Any] | None]]] = {}
        self._files: dict[str, tuple[bytes, str, str]] = {}
        self._profiles: dict[str, EmulatorProfile] = {}
        self.downloads: list[str] = []
        """Names of the artifact files served, in order (failed attempts included)."""
        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Emulator:
        app = web.Application(client_max_size=8 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        log.info("emulator listening on %s", self.url)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Where clients reach it: a wildcard listen address (0.0.0.0, ::) is reached on
        loopback, and an IPv6 address is bracketed."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        return {name: f"{self.url}/{name}" for name in self._providers()}

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for AsyncClient / Client to talk to this emulator: every provider
        of the catalog goes to the emulator with the emulator's credentials (never to a real
        vendor, never with the user's keys); poll schedules stay the plugins' own. The task
        journal is off: emulated tasks must not mix with real ones in the user's journal."""
        return {
            "base_urls": self.base_urls,
            "credentials": {p: dict(v) for p, v in self.credentials.items()},
            "registry": self.registry,
            "journal": False,
        }

    # -- configuration ------------------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def set_outcome(
        self,
        operation: str,
        state: TerminalState,
        reason: str | None = None,
        *,
        times: int = 1,
        result: Any = ...,
    ) -> None:
        """The next `times` tasks of "provider.operation" end in `state` (default: succeeded).
        `result`, when given, is the raw result value a succeeded task answers with instead of
        its generated files (encoded as the vendor encodes it, e.g. a JSON string for Tomoviee)."""
        provider, _, op_id = operation.partition(".")
        task = self.registry.catalog.provider(provider).task
        if task is None or state not in task.states.values():
            known = sorted(set(task.states.values())) if task else []
            raise ValueError(
                f"{provider} has no vendor status for {state!r}; it has {', '.join(known)}"
            )
        self.registry.catalog.provider(provider).operation(op_id)  # KeyError names known ones
        override = None if result is ... else (result,)
        self._outcomes.setdefault(operation, []).extend([(state, reason, override)] * times)

    def requests_for(self, provider: str, phase: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.provider == provider and (phase is None or r.phase == phase)
        ]

    # -- routing ------------------------------------------------------------------------------

    def _providers(self) -> list[str]:
        return [p.name for p in self.registry.catalog.providers]

    def profile(self, provider: Provider) -> EmulatorProfile:
        """The provider's emulator profile: a plugin's, else the one the catalog implies."""
        found = self.registry.pm.hook.mediagen_emulator_profile(provider=provider)
        return found if found is not None else CatalogEmulatorProfile(provider)

    def _build_routes(self) -> list[_Route]:
        routes: list[_Route] = []
        for provider in self.registry.catalog.providers:
            name = provider.name
            profile = self._profiles[name] = self.profile(provider)
            # The task endpoint first: where an operation shares it (Media.io's task_result),
            # its calls are polls too, and poll faults apply to them.
            if provider.task is not None:
                poll = provider.task.poll
                pattern = _regex(name, poll.path)
                routes.append(_Route(provider, profile, poll.method, pattern, "poll", None))
            for op in provider.operations:
                phase = {"task": "submit", "sync": "run", "query": "query"}[op.kind]
                routes.append(
                    _Route(provider, profile, op.method, _regex(name, op.path), phase, op)
                )
        return routes

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self._routes:
            m = route.pattern.fullmatch(path)
            if m and route.method == method:
                return route, m.groupdict()
        return None

    # -- handling -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_files/"):
            return await self._file(request)
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        found = self._match(request.method, request.path)
        route, path_params = found if found else (None, {})
        query = {k: request.query.getall(k) for k in request.query}
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                dict(request.headers),
                body,
                route.provider.name if route else None,
                route.phase if route else None,
                route.operation.id if route and route.operation else None,
                query,
            )
        )
        if route is None:
            return web.json_response(
                {"code": 404, "msg": f"no such endpoint: {request.method} {request.path}"},
                status=404,
            )
        fault = self._take_fault(route)
        if fault is not None and fault.kind not in ("reset_after", "echo"):
            early = await self._apply_fault(fault, route, request)
            if early is not None:
                return early
        response = self._respond(route, path_params, request, body, query)
        if fault is not None and fault.kind == "reset_after":
            _drop(request)
        if fault is not None and fault.kind == "echo":
            response = _echo(response, fault)
        return response

    def _take_fault(self, route: _Route) -> Fault | None:
        op = route.operation.id if route.operation else None
        for fault in self.faults:
            if fault.matches(route.provider.name, route.phase, op):
                fault.times -= 1
                return fault
        return None

    async def _apply_fault(
        self, fault: Fault, route: _Route, request: web.Request
    ) -> web.StreamResponse | None:
        profile = route.profile
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "reset":
            _drop(request)
            return web.Response(status=500)
        if fault.kind == "malformed":
            return web.Response(text="this is not json {", content_type="application/json")
        if fault.kind == "truncated":
            whole = json.dumps(profile.success({"task_id": "x" * 40}))
            return web.Response(text=whole[: len(whole) // 2], content_type="application/json")
        if fault.kind == "html":
            page = f"<html><head><title>{fault.status} Error</title></head><body>Bad Gateway</body></html>"
            return web.Response(text=page, status=fault.status, content_type="text/html")
        if fault.kind == "redirect":
            status = fault.status if 300 <= fault.status < 400 else 307
            location = {"Location": fault.location} if fault.location is not None else None
            payload = profile.vendor_error(status, "moved")[1]
            return web.json_response(payload, status=status, headers=location)
        if fault.kind == "huge":
            return await _stream_huge(fault, request)
        if fault.kind == "vendor_code":
            status, payload = profile.vendor_error(fault.code or 500, fault.message)
            return web.json_response(payload, status=status)
        status, payload = (
            profile.vendor_error(fault.code, fault.message)
            if fault.code is not None
            else (fault.status, profile.vendor_error(fault.status, fault.message)[1])
        )
        headers = (
            {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        )
        return web.json_response(
            payload, status=fault.status if fault.code is None else status, headers=headers
        )

    def _respond(
        self,
        route: _Route,
        path_params: dict[str, str],
        request: web.Request,
        body: Any,
        query: dict[str, list[str]],
    ) -> web.Response:
        profile, provider = route.profile, route.provider
        last = {k: v[-1] for k, v in query.items()}
        problem = profile.check_auth(request.headers, self.credentials.get(provider.name, {}), last)
        if problem:
            return self._error(profile, "auth", f"authentication failed: {problem}")
        if route.phase == "poll":
            return self._poll(route, path_params, body, query)
        op = route.operation
        assert op is not None
        try:
            params = profile.request_params(op, body, path_params, query)
            check_params(op, params, self.registry)
        except (ValueError, ParamError) as exc:
            return self._error(profile, "invalid_param", str(exc))
        if op.kind == "task":
            task_id = uuid.uuid4().hex
            entry = self._create_task(provider, op, task_id, params)
            return web.json_response(
                profile.success(profile.submit_data(task_id)), headers=self._hint(entry)
            )
        if op.kind == "sync":
            urls = self._make_files(profile, op, uuid.uuid4().hex, params)
            return web.json_response(profile.success(profile.sync_data(op, urls)))
        try:
            self._refresh_all()
            data = profile.query_data(op, params, self.tasks)
        except LookupError as exc:
            return self._error(profile, "not_found", str(exc.args[0] if exc.args else exc))
        return web.json_response(profile.success(data))

    def _poll(
        self,
        route: _Route,
        path_params: dict[str, str],
        body: Any,
        query: dict[str, list[str]],
    ) -> web.Response:
        profile = route.profile
        task_id = profile.poll_task_id(body, path_params, query)
        if task_id is None or task_id not in self._tasks:
            # Clients poll an unknown task again for a while (read-after-write lag): soon.
            hint = None if self.poll_hint is None else {"Retry-After": f"{self.poll_hint:.3f}"}
            # The vendors' words: the id is in the error already (the CLI prints it once).
            return self._error(profile, "not_found", "task not found", hint)
        entry = self._tasks[task_id]
        self._refresh(entry)
        data = profile.poll_data(entry.task.operation, entry.task)
        proto = route.provider.task
        if entry.result is not None and entry.task.state == "succeeded" and proto is not None:
            if proto.result_field is not None:
                put(data, proto.result_field, entry.result[0])
            elif isinstance(entry.result[0], Mapping):
                merge(data, dict(entry.result[0]))
        return web.json_response(profile.success(data), headers=self._hint(entry))

    def _hint(self, entry: _Task) -> dict[str, str] | None:
        """Retry-After: when the task changes next (queued -> running -> finished), capped."""
        if self.poll_hint is None or entry.task.state in TERMINAL_STATES:
            return None
        elapsed = time.monotonic() - entry.created
        change = entry.duration * 0.25 if elapsed < entry.duration * 0.25 else entry.duration
        return {"Retry-After": f"{max(0.0, min(change - elapsed, self.poll_hint)):.3f}"}

    def _error(
        self,
        profile: EmulatorProfile,
        category: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        status, payload = profile.error(category, message)
        return web.json_response(payload, status=status, headers=headers)

    # -- tasks and files ----------------------------------------------------------------------

    def _create_task(
        self, provider: Provider, op: Operation, task_id: str, params: Mapping[str, Any]
    ) -> _Task:
        queue = self._outcomes.get(op.qualified_id)
        outcome, reason, result = queue.pop(0) if queue else ("succeeded", None, None)
        duration = self.durations.get(op.qualified_id, self.duration)
        task = EmulatedTask(
            task_id=task_id,
            operation=op,
            state="queued",
            progress=0.0,
            urls={},
            params=dict(params),
        )
        self.tasks[task_id] = task
        entry = self._tasks[task_id] = _Task(
            task, time.monotonic(), duration, outcome, reason, result
        )
        return entry

    def _refresh_all(self) -> None:
        for entry in self._tasks.values():
            self._refresh(entry)

    def _refresh(self, entry: _Task) -> None:
        task = entry.task
        if task.state in TERMINAL_STATES:
            return
        elapsed = time.monotonic() - entry.created
        if elapsed < entry.duration * 0.25:
            task.state, task.progress = "queued", 0.0
        elif elapsed < entry.duration:
            task.state, task.progress = (
                "running",
                min(99.0, 100.0 * elapsed / max(entry.duration, 1e-9)),
            )
        else:
            task.state = entry.outcome
            task.progress = 100.0 if entry.outcome == "succeeded" else task.progress
            if entry.outcome == "succeeded":
                profile = self._profiles[task.operation.provider]
                task.urls = self._make_files(profile, task.operation, task.task_id, task.params)
            else:
                task.reason = entry.reason or f"emulated {entry.outcome.replace('_', ' ')}"

    def _make_files(
        self, profile: EmulatorProfile, op: Operation, stem: str, params: Mapping[str, Any]
    ) -> dict[str, str]:
        """Files for a finished call, named by kind: "png", then "png-1", "png-2", ..."""
        urls: dict[str, str] = {}
        for index, kind in enumerate(profile.file_kinds(op, params)):
            seed = zlib.crc32(f"{stem}/{index}".encode()) & 0xFFFF
            data = _file_bytes(kind, seed, f"{op.qualified_id} {stem}")
            ext, content_type = artifacts.MEDIA_TYPES[kind]
            name = f"{stem}-{index}{ext}"
            self._files[name] = (data, content_type, op.provider)
            key, n = kind, 0
            while key in urls:
                n += 1
                key = f"{kind}-{n}"
            urls[key] = f"{self.url}/_files/{name}"
        return urls

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.path.rsplit("/", 1)[-1]
        self.downloads.append(name)
        found = self._files.get(name)
        if found is None:
            return web.Response(status=404, text="no such file")
        data, content_type, provider = found
        # Only faults aimed at downloads: phase="any" keeps meaning the API calls.
        fault = next(
            (
                f
                for f in self.faults
                if f.phase == "download" and f.matches(provider, "download", None, name)
            ),
            None,
        )
        if fault is not None:
            fault.times -= 1
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "reset":
                _drop(request)
                return web.Response(status=500)
            else:
                headers = (
                    {"Retry-After": f"{fault.retry_after:g}"}
                    if fault.retry_after is not None
                    else None
                )
                return web.Response(status=fault.status, text=fault.message, headers=headers)
        return web.Response(body=data, content_type=content_type)


def _file_bytes(kind: str, seed: int, title: str) -> bytes:
    if kind == "png":
        return artifacts.png(seed=seed)
    if kind == "svg":
        return artifacts.svg(title=title, seed=seed)
    if kind == "mp3":
        return artifacts.mp3(1.0)
    return artifacts.mp4(seconds=1)


def _regex(provider: str, path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^{}]+\})", path)
    pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"/{re.escape(provider)}{pattern}")


def check_params(op: Operation, params: Mapping[str, Any], registry: Registry) -> None:
    """Validate a call's wire params: through the generated model when the provider has
    generated code, else against the catalog (names, types, allowed values, bounds)."""
    try:
        model = registry.model_for(op.qualified_id)
    except KeyError:
        check_catalog_params(op, params)
        return
    model.from_dict(params)


def _echo(response: web.Response, fault: Fault) -> web.Response:
    """The response with fault.message written at each of fault.fields (dotted paths)."""
    assert isinstance(response.body, bytes)
    body = json.loads(response.body)
    for field in fault.fields:
        *parents, last = field.split(".")
        node = body
        for name in parents:
            if not isinstance(node.get(name), dict):
                node[name] = {}
            node = node[name]
        node[last] = fault.message
    hint = {k: v for k, v in response.headers.items() if k == "Retry-After"}
    return web.json_response(body, status=response.status, headers=hint or None)


async def _stream_huge(fault: Fault, request: web.Request) -> web.StreamResponse:
    """fault.size bytes that start like a JSON answer, counting into fault.written what was
    sent before the client hung up."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if fault.chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = fault.size
    await response.prepare(request)
    head = b'{"code": 0, "data": {"padding": "'
    chunk = b"x" * (1 << 16)
    left = fault.size
    try:
        piece = head[:left]
        while left > 0:
            await response.write(piece)
            fault.written += len(piece)
            left -= len(piece)
            piece = chunk[:left]
        await response.write_eof()
    except ConnectionError:  # the client refused the rest, as it should
        pass
    return response


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
