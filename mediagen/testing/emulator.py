"""A local emulator of every catalog provider: one aiohttp server on loopback.

Each provider's wire behaviour comes from its plugin's emulator profile, so third-party
providers can be emulated too. The emulator checks auth headers and body shapes, validates
parameters against the catalog (the same generated models the client uses), runs a task
lifecycle with configurable durations and outcomes, serves small valid artifact files, and
injects faults on request.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import re
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
from aiohttp import web

from ..catalog import Catalog, default_catalog
from ..catalog.ir import TERMINAL_STATES, Operation, Provider
from ..catalog.paths import merge, put
from ..defaults import PollSchedule
from ..emulation import CatalogEmulatorProfile, fake_credential
from ..errors import ParamError
from ..hosts import is_loopback
from ..registry import Registry, default_registry
from ..strategies import EmulatedTask, EmulatorProfile
from . import admin, artifacts, vendor_wording
from .artifact_specs import file_bytes
from .callbacks import CALLBACK_PARAM, PASSTHROUGH_PARAM, CallbackSender, callback_problem
from .catalog_params import check_catalog_params
from .scenario import Fault, FaultKind, Outcome, Phase, Scenario, StatusWords, TerminalState
from .scenario_file import load_scenario, parse_rule, parse_scenario, parse_status_words

__all__ = [
    "FAST_POLLING",
    "POLL_HINT",
    "Emulator",
    "Fault",
    "FaultKind",
    "Phase",
    "RecordedRequest",
    "TerminalState",
    "check_params",
    "emulator_credentials",
]

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
    code: int | str | None = None
    """A non-zero envelope code its poll answers carry once finished (with their data)."""
    serial: int = 0
    """The provider's task count when it was made: picks the status word when rotating."""


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

    What it is told to do (durations, outcomes, faults, status words) lives in one
    `Scenario` (`emu.scenario`), set from Python (`inject`, `set_outcome`, `set_scenario`),
    from a scenario file (`mediagen emulate --scenario FILE`) or over HTTP under
    `/__mediagen__/` (see docs/emulator.md).

    Args:
        duration: seconds each task takes (queued for the first quarter, then running).
        durations: per-operation overrides, keyed "provider.operation".
        credentials: what the emulator accepts, per provider (default: a fake value for each
            catalog credential, see `emulator_credentials`; given ones replace those).
        poll_hint: the longest Retry-After sent with submits and unfinished polls, which
            clients honour as their next poll delay; None sends none, so the client's own
            poll schedule alone decides (to try a plugin's polling).
        host, port: where to listen (port 0: any free port).
        scenario: a scenario to start with: a `Scenario`, a document (mapping) or a file path.
        artifact_origin: where the artifact URLs point, e.g. "http://localhost" or
            "http://127.0.0.1:9100" (plain http on loopback; no port: the emulator's own);
            the emulator serves the files there too. Default: the emulator's own URL.
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
        scenario: Scenario | Mapping[str, Any] | Path | None = None,
        artifact_origin: str | None = None,
    ) -> None:
        self.registry = registry or default_registry()
        self._initial = Scenario(duration=duration, durations=dict(durations or {}))
        self.scenario = Scenario(duration=duration, durations=dict(durations or {}))
        if scenario is not None:
            self.set_scenario(scenario)
        # What clear_scenario() goes back to: a copy, as rules count down in use.
        self._start = copy.deepcopy(self.scenario)
        self.poll_hint = poll_hint
        self.credentials = emulator_credentials(self.registry.catalog)
        for provider, values in (credentials or {}).items():
            self.credentials.setdefault(provider, {}).update(values)
        self.host = host
        self.port = port
        self.artifact_origin = artifact_origin
        problem = origin_problem(artifact_origin) if artifact_origin is not None else None
        if problem:
            raise ValueError(problem)
        self.requests: list[RecordedRequest] = []
        self.tasks: dict[str, EmulatedTask] = {}
        self._tasks: dict[str, _Task] = {}
        self._files: dict[str, tuple[bytes | Callable[[], bytes], str, str]] = {}
        """Artifacts by file name: (their bytes, or what makes them when first downloaded;
        content type; provider)."""
        self._profiles: dict[str, EmulatorProfile] = {}
        self._serials: dict[str, int] = {}
        self.downloads: list[str] = []
        """Names of the artifact files served, in order (failed attempts included)."""
        self.callbacks = CallbackSender()
        """Task callbacks sent (`emu.callbacks.sent`)."""
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
        origin = urlsplit(self.files_origin)
        if origin.port != self.port:
            # Artifacts on another loopback port: the same app answers there.
            try:
                await web.TCPSite(self._runner, origin.hostname, origin.port).start()
            except OSError:
                await self.stop()
                raise
        log.info("emulator listening on %s", self.url)
        return self

    async def stop(self) -> None:
        await self.callbacks.close()
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
    def files_origin(self) -> str:
        """Where artifact URLs point: `artifact_origin` (its port defaulting to the
        emulator's), else the emulator's own URL."""
        if self.artifact_origin is None:
            return self.url
        parts = urlsplit(self.artifact_origin)
        if parts.port is not None:
            return f"http://{parts.netloc}"
        return f"http://{parts.netloc}:{self.port}"

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

    @property
    def faults(self) -> list[Fault]:
        """The scenario's faults, first match first (append to add one)."""
        return self.scenario.faults

    @property
    def duration(self) -> float:
        return self.scenario.duration

    @duration.setter
    def duration(self, value: float) -> None:
        self.scenario.duration = value

    @property
    def durations(self) -> dict[str, float]:
        return self.scenario.durations

    @durations.setter
    def durations(self, value: Mapping[str, float]) -> None:
        self.scenario.durations = dict(value)

    def inject(self, fault: Fault) -> Fault:
        self.scenario.faults.append(fault)
        return fault

    def set_outcome(
        self,
        operation: str,
        state: TerminalState,
        reason: str | None = None,
        *,
        times: int = 1,
        result: Any = ...,
        code: int | str | None = None,
    ) -> Outcome:
        """The next `times` tasks of "provider.operation" (or of any operation of "provider")
        end in `state`. `result`, when given, is the raw result value a succeeded task answers
        with instead of its generated files (encoded as the vendor encodes it, e.g. a JSON
        string for Tomoviee). `code`: a non-zero envelope code the finished task's poll
        answers carry beside their data (as Tomoviee answers a failed task)."""
        provider, _, op_id = operation.partition(".")
        task = self.registry.catalog.provider(provider).task
        if task is None or state not in task.states.values():
            known = sorted(set(task.states.values())) if task else []
            raise ValueError(
                f"{provider} has no vendor status for {state!r}; it has {', '.join(known)}"
            )
        if op_id:
            self.registry.catalog.provider(provider).operation(op_id)  # KeyError names known ones
        override = None if result is ... else (result,)
        outcome = Outcome(state, provider, op_id or None, reason, times, override, code)
        self.scenario.outcomes.append(outcome)
        return outcome

    def set_status_words(self, provider: str, words: StatusWords) -> None:
        """Answer `provider`'s task states with these vendor words ({"queued": "pending",
        "succeeded": "succeeded"} for Media.io's export wording), or "rotate": each new task
        takes the next of the vendor's synonyms for each state."""
        self.scenario.status_words[provider] = parse_status_words(
            self.registry.catalog, provider, words
        )

    def set_scenario(self, scenario: Scenario | Mapping[str, Any] | Path) -> Scenario:
        """Replace what the emulator is told to do: a `Scenario`, a scenario document or a
        scenario file (raises ScenarioError, a ValueError, naming what is wrong)."""
        catalog = self.registry.catalog
        if isinstance(scenario, Path):
            scenario = load_scenario(scenario, catalog, self._initial)
        elif not isinstance(scenario, Scenario):
            scenario = parse_scenario(scenario, catalog, self._initial)
        self.scenario = scenario
        return scenario

    def add_rule(self, rule: Fault | Outcome | Mapping[str, Any]) -> Fault | Outcome:
        """Add one rule: a Fault, an Outcome, or a rule document as a scenario file has it."""
        if isinstance(rule, Mapping):
            rule = parse_rule(rule, self.registry.catalog)
        if isinstance(rule, Fault):
            self.scenario.faults.append(rule)
        else:
            self.scenario.outcomes.append(rule)
        return rule

    def clear_scenario(self) -> None:
        """Back to the scenario the emulator was made with (its `scenario` argument, e.g. a
        `--scenario` file, with every count whole again; else no rules at all)."""
        self.scenario = copy.deepcopy(self._start)

    def reset(self) -> None:
        """`clear_scenario()`, and forget every request, task, file, download and callback."""
        self.clear_scenario()
        self.requests.clear()
        self.tasks.clear()
        self._tasks.clear()
        self._files.clear()
        self.downloads.clear()
        self.callbacks.sent.clear()

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
        if request.path.startswith(admin.PREFIX):
            return await admin.handle(self, request)
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
        return self.scenario.take_fault(route.provider.name, route.phase, op)

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
        provider = route.provider
        if fault.kind == "redirect":
            status = fault.status if 300 <= fault.status < 400 else 307
            location = {"Location": fault.location} if fault.location is not None else None
            message = fault.message or vendor_wording.message_for(provider, None, status)
            payload = profile.vendor_error(status, message)[1]
            return web.json_response(payload, status=status, headers=location)
        if fault.kind == "huge":
            return await _stream_huge(fault, request)
        if fault.kind == "vendor_code":
            code = fault.code or 500
            status, payload = profile.vendor_error(
                code, fault.message or vendor_wording.message_for(provider, code, 200)
            )
            return web.json_response(payload, status=status)
        message = fault.message or vendor_wording.message_for(provider, fault.code, fault.status)
        status, payload = (
            profile.vendor_error(fault.code, message)
            if fault.code is not None
            else (fault.status, profile.vendor_error(fault.status, message)[1])
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
            return self._auth_error(route, problem)
        if route.phase == "poll":
            return self._poll(route, path_params, body, query)
        op = route.operation
        assert op is not None
        try:
            params = profile.request_params(op, body, path_params, query)
            check_params(op, params, self.registry)
        except (ValueError, ParamError) as exc:
            return self._error(
                profile, "invalid_param", vendor_wording.param_message(provider, exc)
            )
        callback = params.get(CALLBACK_PARAM) if op.kind == "task" else None
        refused = callback_problem(callback) if callback not in (None, "") else None
        if refused:
            return self._error(profile, "invalid_param", refused)
        if op.kind == "task":
            task_id = uuid.uuid4().hex
            entry = self._create_task(provider, op, task_id, params)
            if isinstance(callback, str) and callback:
                self._schedule_callback(entry, callback)
            return web.json_response(
                profile.success(profile.submit_data(task_id)), headers=self._hint(entry)
            )
        if op.kind == "sync":
            urls = self._make_files(profile, op, uuid.uuid4().hex, params)
            return web.json_response(profile.success(profile.sync_data(op, urls)))
        try:
            self._refresh_all()
            mine = {k: t for k, t in self.tasks.items() if t.operation.provider == provider.name}
            data = profile.query_data(op, params, mine)
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
        known = None if task_id is None else self._tasks.get(task_id)
        if known is None or known.task.operation.provider != route.provider.name:
            # Another vendor's task is unknown here too, as on the real services.
            # Clients poll an unknown task again for a while (read-after-write lag): soon.
            hint = None if self.poll_hint is None else {"Retry-After": f"{self.poll_hint:.3f}"}
            # The vendors' words: the id is in the error already (the CLI prints it once).
            message = "task not found"
            if vendor_wording.knows(route.provider):
                code = next(
                    (e.code for e in route.provider.vendor_codes if e.category == "not_found"), None
                )
                message = vendor_wording.message_for(route.provider, code, 404)
            return self._error(profile, "not_found", message, hint)
        entry = known
        self._refresh(entry)
        body = profile.success(self._task_data(route.provider, entry))
        envelope = route.provider.response.envelope
        finished = entry.code is not None and entry.task.state in TERMINAL_STATES
        if finished and envelope is not None and isinstance(body, dict):
            # A finished task answered with a non-zero code *and* its data (Tomoviee).
            merge(body, envelope.code.build(entry.code))
            if envelope.message is not None:
                merge(body, envelope.message.build(entry.task.reason or ""))
        return web.json_response(body, headers=self._hint(entry))

    def _task_data(self, provider: Provider, entry: _Task) -> Any:
        """A task's poll data: the profile's, with an overridden result and status word."""
        profile = self._profiles[provider.name]
        data = profile.poll_data(entry.task.operation, entry.task)
        proto = provider.task
        if proto is None or not isinstance(data, dict):
            return data
        if entry.result is not None and entry.task.state == "succeeded":
            if proto.result_field is not None:
                put(data, proto.result_field, entry.result[0])
            elif isinstance(entry.result[0], Mapping):
                merge(data, dict(entry.result[0]))
        word = self._status_word(provider, entry)
        if word is not None:
            put(data, proto.status_field, word)
        return data

    def _status_word(self, provider: Provider, entry: _Task) -> Any:
        """The vendor word the scenario picks for the task's state (None: the default)."""
        chosen = self.scenario.status_words.get(provider.name)
        proto = provider.task
        if chosen is None or proto is None:
            return None
        state = entry.task.state
        if chosen == "rotate":
            synonyms = [w for w, s in proto.states.items() if s == state]
            return synonyms[entry.serial % len(synonyms)] if synonyms else None
        return chosen.get(state)

    def _auth_error(self, route: _Route, problem: str) -> web.Response:
        provider = route.provider
        code = vendor_wording.auth_code(provider, route.operation, problem.startswith("missing"))
        if code is not None:
            status, payload = route.profile.vendor_error(
                code, vendor_wording.message_for(provider, code, 401)
            )
            return web.json_response(payload, status=status)
        return self._error(route.profile, "auth", f"authentication failed: {problem}")

    def _schedule_callback(self, entry: _Task, url: str) -> None:
        provider = self.registry.catalog.provider(entry.task.operation.provider)

        def payload() -> Any:
            self._refresh(entry)
            data = self._task_data(provider, entry)
            passthrough = entry.task.params.get(PASSTHROUGH_PARAM)
            if isinstance(data, dict) and passthrough is not None:
                data[PASSTHROUGH_PARAM] = passthrough
            return data

        self.callbacks.schedule(entry.duration, url, payload)

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
        rule = self.scenario.take_outcome(provider.name, op.id)
        duration = self.scenario.duration_for(op.qualified_id)
        serial = self._serials[provider.name] = self._serials.get(provider.name, -1) + 1
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
            task,
            time.monotonic(),
            duration,
            rule.state if rule else "succeeded",
            rule.reason if rule else None,
            rule.result if rule else None,
            rule.code if rule else None,
            serial,
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
            make = functools.partial(
                file_bytes, kind, op.output, dict(params), seed, f"{op.qualified_id} {stem}"
            )
            # A PNG (a few ms to draw and compress) is made when first downloaded: most tasks'
            # files never are. The other kinds are cheap, and made now, as their sizes can be
            # refused (a video's frame size) when the call finishes.
            data: bytes | Callable[[], bytes] = make if kind == "png" else make()
            ext, content_type = artifacts.MEDIA_TYPES[kind]
            name = f"{stem}-{index}{ext}"
            self._files[name] = (data, content_type, op.provider)
            key, n = kind, 0
            while key in urls:
                n += 1
                key = f"{kind}-{n}"
            urls[key] = f"{self.files_origin}/_files/{name}"
        return urls

    def _artifact(self, name: str) -> tuple[bytes, str, str] | None:
        """An artifact file by name: (its bytes, content type, provider), drawn on first use."""
        found = self._files.get(name)
        if found is None:
            return None
        data, content_type, provider = found
        if callable(data):
            data = data()
            self._files[name] = (data, content_type, provider)
        return data, content_type, provider

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.path.rsplit("/", 1)[-1]
        self.downloads.append(name)
        found = self._artifact(name)
        if found is None:
            return web.Response(status=404, text="no such file")
        data, content_type, provider = found
        # Only faults aimed at downloads: phase="any" keeps meaning the API calls.
        fault = next(
            (
                f
                for f in self.scenario.faults
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
                text = fault.message or vendor_wording.message_for_status(fault.status)
                return web.Response(status=fault.status, text=text, headers=headers)
        return web.Response(body=data, content_type=content_type)


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


ECHO_TEXT = "echoed by the mediagen emulator"
"""What an echo fault writes when it is given no message."""


def origin_problem(origin: str) -> str | None:
    """Why an artifact origin cannot be used, or None."""
    allowed = "allowed: http://HOST[:PORT] with HOST a loopback name or address (localhost, 127.0.0.1, [::1])"
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return f"artifact origin {origin!r} is not a URL; {allowed}"
    if parts.scheme != "http" or not is_loopback(parts.hostname or ""):
        return (
            f"artifact origin {origin!r}: the emulator serves files itself, on loopback; {allowed}"
        )
    if parts.path.strip("/") or parts.query or parts.fragment or port == 0:
        return f"artifact origin {origin!r} is not just scheme, host and port; {allowed}"
    return None


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
        node[last] = fault.message if fault.message is not None else ECHO_TEXT
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
