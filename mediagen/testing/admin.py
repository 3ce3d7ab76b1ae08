"""The emulator's admin HTTP API, on its own port under `/__mediagen__/`: read and change the
scenario, add a rule, read the request log (secrets redacted) and the callbacks sent, reset.

Every answer is JSON; a bad body gets 400 with {"error": "..."} naming what is wrong and what
is allowed, and changes nothing. docs/emulator.md documents it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..protocol import CatalogAuth
from ..secrets import MARKER, Scrubber
from .scenario_file import ScenarioError, parse_text, rule_to_json, scenario_to_json

if TYPE_CHECKING:
    from .emulator import Emulator, RecordedRequest

PREFIX = "/__mediagen__/"
ENDPOINTS = {
    "scenario": ("GET", "PUT", "DELETE"),
    "rules": ("POST",),
    "requests": ("GET",),
    "callbacks": ("GET",),
    "reset": ("POST",),
}
ALWAYS_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


async def handle(emulator: Emulator, request: web.Request) -> web.Response:
    name = request.path[len(PREFIX) :].strip("/")
    methods = ENDPOINTS.get(name)
    if methods is None:
        listed = ", ".join(f"{PREFIX}{n}" for n in ENDPOINTS)
        return _error(404, f"no admin endpoint {request.path!r}; allowed: {listed}")
    if request.method not in methods:
        return _error(
            405, f"{request.method} {request.path} is not allowed; allowed: {', '.join(methods)}"
        )
    try:
        return await _dispatch(emulator, request, name)
    except ScenarioError as exc:
        return _error(400, str(exc))


async def _dispatch(emulator: Emulator, request: web.Request, name: str) -> web.Response:
    if name == "scenario" and request.method == "GET":
        return web.json_response(scenario_to_json(emulator.scenario))
    if name == "scenario" and request.method == "PUT":
        emulator.set_scenario(await _body(request, {}))
        return web.json_response(scenario_to_json(emulator.scenario))
    if name == "scenario":
        emulator.clear_scenario()
        return web.json_response(scenario_to_json(emulator.scenario))
    if name == "rules":
        rule = emulator.add_rule(await _body(request, None))
        return web.json_response(rule_to_json(rule), status=201)
    if name == "requests":
        provider = request.query.get("provider")
        shown = [r for r in emulator.requests if provider is None or r.provider == provider]
        return web.json_response(redacted_log(emulator, shown))
    if name == "callbacks":
        return web.json_response(
            [
                {"url": c.url, "payload": c.payload, "status": c.status}
                for c in emulator.callbacks.sent
            ]
        )
    emulator.reset()
    return web.json_response(scenario_to_json(emulator.scenario))


async def _body(request: web.Request, empty: Any) -> Any:
    raw = await request.read()
    if not raw.strip():
        if empty is None:
            raise ScenarioError("the request body is empty; allowed: a rule as JSON or YAML")
        return empty
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("the request body is not UTF-8 text; allowed: JSON or YAML") from None
    if (request.content_type or "").endswith("json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"the request body is not valid JSON ({exc.msg})") from None
    return parse_text(text, "the request body")


def redacted_log(emulator: Emulator, requests: list[RecordedRequest]) -> list[dict[str, Any]]:
    """The request log as JSON, credentials replaced by `***`: auth headers and query
    parameters by name (whatever value was sent), and the emulator's secrets anywhere."""
    headers, query = _secret_names(emulator)
    scrub = Scrubber(
        value
        for provider in emulator.registry.catalog.providers
        for cred in provider.auth.credentials
        if cred.secret
        for value in [emulator.credentials.get(provider.name, {}).get(cred.name, "")]
        if value
    )
    out = []
    for r in requests:
        out.append(
            {
                "method": r.method,
                "path": scrub.text(r.path),
                "query": {
                    k: [MARKER] * len(v) if k in query else scrub.data(v)
                    for k, v in r.query.items()
                },
                "headers": {
                    k: MARKER if k.lower() in headers else scrub.text(v)
                    for k, v in r.headers.items()
                },
                "body": scrub.data(r.body),
                "provider": r.provider,
                "phase": r.phase,
                "operation": r.operation,
            }
        )
    return out


def _secret_names(emulator: Emulator) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased header names and query names that carry a secret credential."""
    headers, query = set(ALWAYS_SECRET_HEADERS), set()
    for provider in emulator.registry.catalog.providers:
        if provider.auth.kind == "custom":
            continue
        auth = CatalogAuth(provider)
        dummy = {c.name: "x" for c in provider.auth.credentials}
        public = {c.header.lower() for c in provider.auth.credentials if not c.secret and c.header}
        headers |= {h.lower() for h in auth.headers(dummy)} - public
        query |= set(auth.query(dummy))
    return frozenset(headers), frozenset(query)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
