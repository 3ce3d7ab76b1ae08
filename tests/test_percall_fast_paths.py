"""The per-call fast paths (issue 11, part 4) keep every outcome of the general paths they
skip: whether a request may have left, the answer-size cap, credentials read on each call, a
plugin's own auth asked on each request, Retry-After in any header mapping, JSON in any
encoding, field paths, one_of and the request path checks."""

from __future__ import annotations

import asyncio
import codecs
import gzip
import json
import random
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from helpers import local_server
from multidict import CIMultiDict, CIMultiDictProxy

import mediagen
from mediagen.catalog import Provider
from mediagen.catalog.paths import parse_path
from mediagen.defaults import RetryPolicy, Timeouts
from mediagen.engine import destination
from mediagen.errors import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    ParamError,
    TransportError,
)
from mediagen.hookspecs import hookimpl
from mediagen.hosts import Target
from mediagen.params import one_of
from mediagen.protocol import CatalogAuth, retry_after
from mediagen.registry import Registry
from mediagen.strategies import HttpResponse
from mediagen.testing import Emulator
from mediagen.transport import Transport


def test_the_sent_mark_belongs_to_its_own_request() -> None:
    """The mark is per request (a context variable), not per transport: while one request is
    on the wire (sent), another that fails before sending still says nothing was sent, and
    the one on the wire, cut off by its deadline, still says it may have been sent."""

    async def go() -> None:
        entered = asyncio.Event()
        release = asyncio.Event()

        async def hold(request: web.Request) -> web.Response:
            entered.set()
            await release.wait()
            return web.json_response({})

        async with local_server([web.post("/", hold)]) as base:
            transport = Transport(Timeouts(request=0.5))
            try:
                on_wire = asyncio.create_task(transport.request("POST", f"{base}/", json={}))
                await entered.wait()
                with pytest.raises(TransportError) as before_sending:
                    await transport.request("POST", "http://127.0.0.1:99999/x", json={})
                assert before_sending.value.sent is False
                with pytest.raises(TransportError, match="no answer") as lost:
                    await on_wire
                assert lost.value.sent is not False
            finally:
                release.set()
                await transport.close()

    asyncio.run(go())


def test_a_json_body_goes_out_as_aiohttps_json_payload_would() -> None:
    """The body is encoded once by the transport: the same bytes and Content-Type as
    aiohttp's `json=`, whether the caller's headers name a Content-Type or not."""
    body = {"data": {"prompt": "caf\u00e9 \u2603", "n": [1, 2.5, None, True]}}

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "type": request.headers.getall("Content-Type"),
                "body": (await request.read()).decode(),
            }
        )

    async def go() -> None:
        async with local_server([web.post("/", echo)]) as base:
            transport = Transport(Timeouts())
            try:
                for headers in (None, {"content-type": "application/json"}, {"X-A": "b"}):
                    answer = (
                        await transport.request("POST", f"{base}/", json=body, headers=headers)
                    ).json()
                    assert answer == {"type": ["application/json"], "body": json.dumps(body)}
            finally:
                await transport.close()

    asyncio.run(go())


def test_a_compressed_answer_is_capped_as_it_is_inflated() -> None:
    """A gzip answer declares its compressed length: the read that trusts a declared length
    must not let it past the cap once inflated."""
    cap = 64 * 1024
    inflated = b" " * (cap * 4)

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(inflated), headers={"Content-Encoding": "gzip"})

    async def go() -> None:
        async with local_server([web.get("/", answer)]) as base:
            transport = Transport(Timeouts(), max_response_bytes=cap)
            try:
                with pytest.raises(MalformedResponseError, match=f"over the {cap}-byte cap"):
                    await transport.request("GET", f"{base}/")
                small = Transport(Timeouts(), max_response_bytes=len(inflated))
                try:
                    assert (await small.request("GET", f"{base}/")).body == inflated
                finally:
                    await small.close()
            finally:
                await transport.close()

    asyncio.run(go())


def test_credentials_from_the_environment_are_read_on_every_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The catalog auth worked out once per set of credentials follows a changed key."""

    async def go() -> None:
        async with Emulator() as emu:
            options = {**emu.client_options(), "credentials": {}}
            right = emu.credentials["mediaio"]["api_key"]
            for name in ("MEDIAIO_API_KEY", "API_KEY"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("MEDIAIO_API_KEY", "sk-wrong-key-for-the-emulator")
            async with mediagen.AsyncClient(**options, retry=RetryPolicy(attempts=1)) as client:
                with pytest.raises(AuthenticationError):
                    await client.mediaio.imagen_4(prompt="x")
                monkeypatch.setenv("MEDIAIO_API_KEY", right)
                task = await client.mediaio.imagen_4(prompt="x")
                monkeypatch.setenv("MEDIAIO_API_KEY", "sk-wrong-key-again-for-the-emulator")
                with pytest.raises(AuthenticationError):
                    await task.status()

    asyncio.run(go())


class _CountingAuth(CatalogAuth):
    """A plugin's auth strategy (here the catalog's, counted): asked on every request."""

    asked = 0

    def headers(self, credentials: Any) -> dict[str, str]:
        type(self).asked += 1
        return super().headers(credentials)


def test_a_plugins_auth_strategy_is_asked_on_every_request() -> None:
    class Plugin:
        @hookimpl
        def mediagen_auth(self, provider: Provider) -> CatalogAuth | None:
            return _CountingAuth(provider) if provider.name == "mediaio" else None

    registry = Registry(entry_points=False)
    registry.register(Plugin(), name="counting-auth")

    async def go() -> None:
        async with (
            Emulator(registry=registry) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="x")
            await task.status()
            await task.status()

    asyncio.run(go())
    assert _CountingAuth.asked == 3


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "3"},
        {"RETRY-AFTER": "3", "Content-Type": "application/json"},
        CIMultiDictProxy(CIMultiDict({"retry-after": "3"})),
        CIMultiDictProxy(CIMultiDict({"Retry-After": "3"})),
    ],
)
def test_retry_after_is_found_in_any_header_mapping(headers: Any) -> None:
    assert retry_after(headers) == 3.0
    assert retry_after({k: v for k, v in headers.items() if k.lower() != "retry-after"}) is None
    assert retry_after(CIMultiDictProxy(CIMultiDict({"Content-Type": "x"}))) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\u00e9", "b": [1, 2.5, null]}',
        codecs.BOM_UTF8 + b'{"a": 1}',
        '{"a": "\u00e9"}'.encode("utf-16"),
        '{"a": "\u00e9"}'.encode("utf-32-le"),
        b'{"a": "\xed\xa0\x80"}',  # a lone surrogate, as json.loads(bytes) lets it through
    ],
)
def test_an_answer_decodes_as_json_loads_decodes_its_bytes(body: bytes) -> None:
    assert HttpResponse(200, {}, body).json() == json.loads(body)


@pytest.mark.parametrize("body", [b'{"a": "\xff"}', codecs.BOM_UTF8 + b"{", b"\0{}", b""])
def test_an_unreadable_answer_is_refused_as_before(body: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="expected JSON"):
        HttpResponse(200, {}, body).json()


@pytest.mark.parametrize(
    ("path", "doc"),
    [
        ("data.task_id", {"data": {"task_id": "t"}}),
        ("data.task_id", {"data": {"other": 1}}),
        ("data.task_id", {"data": ["task_id"]}),
        ("data.task_id", {"data": None}),
        ("data", [{"data": 1}]),
        ("items[0].url", {"items": [{"url": "u"}]}),
        ("items[*].url", {"items": [{"x": 1}, {"url": "v"}]}),
        ("a.b", CIMultiDictProxy(CIMultiDict({"a": "x"}))),
    ],
)
def test_a_field_path_finds_what_its_full_walk_finds(path: str, doc: Any) -> None:
    parsed = parse_path(path)
    assert parsed is not None
    found = parsed.values(doc)
    assert parsed.first(doc) == (found[0] if found else None)


def test_one_of_compares_types_and_takes_unhashable_values() -> None:
    class Model:
        OPERATION = "p.o"

    class Field:
        name = "f"

    check = one_of("1", 2, True)
    for good in ("1", 2, True):
        check(Model(), Field(), good)  # type: ignore[arg-type]
    for bad in (1, "2", 1.0, False, ["1"], {"x": 1}):
        with pytest.raises(ParamError):
            check(Model(), Field(), bad)  # type: ignore[arg-type]
    lists = one_of(["a"], "b")
    lists(Model(), Field(), ["a"])  # type: ignore[arg-type]
    with pytest.raises(ParamError):
        lists(Model(), Field(), ["b"])  # type: ignore[arg-type]


BASES = [
    "http://127.0.0.1:8080",
    "https://api.example.com/v1",
    "http://[::1]:9000/x",
    "https://h.example?x",
    "https://h.example#f",
]


@pytest.mark.parametrize("base", BASES)
def test_a_request_path_never_moves_the_host(base: str) -> None:
    """`destination` checks the path's text alone: any path it lets through leaves the host
    of the base URL as the standard parser reads it (here, thousands of awkward paths)."""
    target = Target(base_url=base, overridden=True)
    pieces = [*"/?#@[]:%.\\ ab", "\t", "\n", "\r", "\0", "//", "\u3002", "\uff0f", "%2f"]
    chosen = random.Random(11)
    allowed = 0
    for _ in range(5000):
        path = "/" + "".join(chosen.choice(pieces) for _ in range(chosen.randint(0, 8)))
        try:
            url = destination(target, path)
        except ConfigurationError:
            assert path.startswith("//") or "\\" in path or "@" in path.split("?")[0]
            continue
        allowed += 1
        assert url == base + path
        assert urlsplit(url).netloc == urlsplit(base).netloc, path
    assert allowed > 1000
    for bad in ["//evil.example/x", "@evil.example/x", "evil/x", "/x\\@evil.example", ""]:
        with pytest.raises(ConfigurationError, match="refusing request path"):
            destination(target, bad)
