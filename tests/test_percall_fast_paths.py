"""The per-call fast paths (issue 11, part 4) keep every outcome of the general paths they
skip: whether a request may have left, the answer-size cap, credentials read on each call, a
plugin's own auth asked on each request, Retry-After in any header mapping, JSON in any
encoding, field paths, one_of and the request path checks; since round 3 also JSON scanned
and encoded by the C codecs, plain URLs split without urllib, kinds by extension, path
templates split once, one-key field paths and success codes looked up, optional choices,
request bodies from a per-operation plan and the poll's Retry-After hint."""

from __future__ import annotations

import asyncio
import codecs
import copy
import gzip
import json
import pickle
import random
import re
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import aiohttp
import attrs
import pytest
from aiohttp import web
from helpers import held_answers, local_server
from multidict import CIMultiDict, CIMultiDictProxy

import mediagen
from mediagen import records
from mediagen import transport as transport_module
from mediagen import urls as urls_module
from mediagen.catalog import Provider
from mediagen.catalog.paths import parse_path
from mediagen.defaults import MAX_ANSWER_DEPTH, USER_AGENT, RetryPolicy, Timeouts
from mediagen.engine import (
    PollHint,
    _AskedListeners,
    _downloadable,
    _event_listeners,
    destination,
)
from mediagen.errors import (
    AuthenticationError,
    CallError,
    ConfigurationError,
    MalformedResponseError,
    ParamError,
    TransportError,
)
from mediagen.events import TaskEvent
from mediagen.generated.mediaio.models import CreditsParams
from mediagen.hookspecs import hookimpl
from mediagen.hosts import Target
from mediagen.nesting import nested_deeper_than
from mediagen.params import (
    WIRE_NAME,
    ParamsModel,
    all_of,
    in_range,
    is_empty,
    is_type,
    is_url,
    max_length,
    min_length,
    one_of,
    optional,
)
from mediagen.protocol import (
    _EXTENSIONS,
    _URL,
    CatalogAuth,
    CatalogErrorClassifier,
    CatalogTaskStrategy,
    _kind_of_path,
    _stripped_strings,
    fill_path,
    kind_for,
    output_kind,
    retry_after,
    unique_artifacts,
)
from mediagen.registry import Registry
from mediagen.results import Artifact, Result, new_artifact, new_result
from mediagen.secrets import MARKER, Scrubber
from mediagen.strategies import (
    Call,
    HttpRequest,
    HttpResponse,
    TaskStatus,
    new_call,
    new_request,
    new_response,
    new_status,
)
from mediagen.testing import Emulator
from mediagen.transport import SecretHeaders, Transport, _json_bytes
from mediagen.urls import host_of, split_plain


def test_the_sent_mark_belongs_to_its_own_request() -> None:
    """The mark is per request (a context variable), not per transport: while one request is
    on the wire (sent), another that fails before sending still says nothing was sent, and
    the one on the wire, cut off by its deadline, still says it may have been sent."""

    async def go() -> None:
        async with held_answers() as held:
            transport = Transport(Timeouts(request=0.5))
            try:
                on_wire = asyncio.create_task(transport.request("POST", f"{held.base}/", json={}))
                await held.entered.wait()
                with pytest.raises(TransportError) as before_sending:
                    await transport.request("POST", "http://127.0.0.1:99999/x", json={})
                assert before_sending.value.sent is False
                with pytest.raises(TransportError, match="no answer") as lost:
                    await on_wire
                assert lost.value.sent is not False
            finally:
                held.release.set()
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


# -- round 3: the fast paths below each keep the outcome of the general path they skip -----


@pytest.mark.parametrize(
    "body",
    [
        b' {"a": 1}',
        b'{"a": 1}\n',
        b'{"a": 1} x',
        b'{"a": 1}{"b": 2}',
        b"[1,]",
        b'{"a": }',
        b"nul",
        b'"text"',
        b"12",
    ],
)
def test_an_answer_is_decoded_or_refused_as_json_loads_does(body: bytes) -> None:
    """The JSON scanned straight from its first character falls back on json.loads for
    anything that is not exactly one value: the same value, or the same error text."""
    try:
        expected: Any = json.loads(body.decode())
    except ValueError as exc:
        with pytest.raises(MalformedResponseError) as refused:
            HttpResponse(200, {}, body).json()
        assert f"({exc})" in str(refused.value)
    else:
        assert HttpResponse(200, {}, body).json() == expected


@pytest.mark.parametrize(
    "value",
    [{}, {"data": {"prompt": "caf\u00e9 \u2603", "n": [1, 2.5, -0.0, None, True]}}, [], "x", 1e300],
)
def test_a_json_body_is_the_bytes_json_dumps_gives(value: Any) -> None:
    assert _json_bytes(value) == json.dumps(value).encode()


def test_a_body_json_cannot_encode_is_refused_before_sending_as_before() -> None:
    """A circular or unencodable body: the errors json.dumps raises, as a TransportError that
    says nothing was sent (the C encoder keeps dumps' circular-reference check)."""
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference detected"):
        _json_bytes(circular)
    with pytest.raises(TypeError, match="is not JSON serializable"):
        _json_bytes({"a": object()})

    async def go() -> None:
        transport = Transport(Timeouts())
        try:
            with pytest.raises(TransportError, match="Circular reference") as refused:
                await transport.request("POST", "http://127.0.0.1:9/x", json={"a": circular})
            assert refused.value.sent is False
        finally:
            await transport.close()

    asyncio.run(go())


def test_a_plain_url_is_split_as_urlsplit_splits_it() -> None:
    """`split_plain` reads a URL only where it reads it exactly as urlsplit does (scheme,
    netloc, path, hostname); anything else is left to urlsplit (thousands of awkward URLs)."""
    pieces = [*"hH:/?#.@[]%-_aZ9 \t", "http://", "https://", "://", ":80", ":99999", "\u00e9"]
    chosen = random.Random(5)
    read = 0
    for _ in range(20000):
        url = "".join(chosen.choice(pieces) for _ in range(chosen.randint(1, 8)))
        if chosen.random() < 0.8:
            url = chosen.choice(["http://", "https://", "HtTpS://"]) + url
        plain = split_plain(url)
        if plain is None:
            continue
        read += 1
        parts = urlsplit(url)
        assert plain == (parts.scheme, parts.netloc, parts.path), url
        assert host_of(plain[1]) == parts.hostname, url
    assert read > 1000


def test_an_artifacts_kind_is_its_extensions_as_before() -> None:
    """The kind read from the text after the path's last dot: what the loop over every
    extension with `endswith` gave."""

    def by_endswith(path: str, default: str) -> str:
        for ext, kind in _EXTENSIONS.items():
            if path.lower().endswith(ext):
                return kind if default not in ("mask", "diagram") else default
        return default

    pieces = ["", ".", "png", ".png", ".PNG", "a", "/", ".jpeg", ".jpg", "x.", ".svg", "..", ".Mp4"]
    chosen = random.Random(7)
    for _ in range(5000):
        path = "/" + "".join(chosen.choice(pieces) for _ in range(chosen.randint(0, 4)))
        for default in ("image", "video", "mask", "diagram", "other"):
            expected = by_endswith(path, default)
            assert kind_for(f"https://h.test{path}?q=.png", default) == expected  # type: ignore[arg-type]
            # A path as a plugin may pass it, without its leading slash.
            assert _kind_of_path(path[1:], default) == by_endswith(path[1:], default)  # type: ignore[arg-type]


def test_a_path_template_is_filled_as_the_placeholder_regex_filled_it() -> None:
    """Templates split once: the same text as the regex substitution quoting each value."""
    placeholder = re.compile(r"\{([^{}]+)\}")

    def by_regex(template: str, values: dict[str, Any]) -> str:
        return placeholder.sub(
            lambda m: quote(str(values[m.group(1)]).encode("utf-8", "surrogatepass"), safe=""),
            template,
        )

    chosen = random.Random(3)
    chars = [*"ab/.~-_%?#{} \u00e9", "\ud800", "..", "A9"]
    templates = ["/a/{x}", "/a/{x}/b/{y}", "{x}", "/{x}{y}", "/a/{x}}", "/a/{{x}", "/a/{x}/{x}"]
    for template in templates:
        for _ in range(300):
            x = "".join(chosen.choice(chars) for _ in range(chosen.randint(0, 6)))
            values = {"x": x, "y": chosen.choice([1, 2.5, True, "q r", x])}
            assert fill_path(template, values) == by_regex(template, values)


class _Doc(Mapping[str, Any]):
    """A mapping that is not a dict: read by the field paths' general walk."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize(
    "data",
    [
        {"status": "completed", "result": ["https://h.test/a.png"], "reason": ""},
        {"status": " FAILED ", "reason": "nope"},
        {"status": 3},
        {"status": "processing", "progress": "42.5"},
        {"other": 1},
        {"status": ["completed"]},
    ],
)
@pytest.mark.parametrize("provider", ["mediaio", "tomoviee"])
def test_a_status_read_by_dict_lookups_is_what_the_field_paths_read(
    provider: str, data: dict[str, Any]
) -> None:
    """Plain dicts are read with one-key lookups: the same status (or error) as a mapping
    read by the field paths' own walk."""
    strategies = Registry(entry_points=False).strategies(provider)
    op = next(op for op in strategies.provider.operations if op.kind == "task")

    def outcome(doc: Any) -> Any:
        try:
            status = strategies.task.status(op, doc)
        except Exception as exc:
            return type(exc), str(exc)
        return attrs.evolve(status, raw=None)

    assert outcome(data) == outcome(_Doc(data))


@pytest.mark.parametrize("code", [0, False, 0.0, "0", None, 1, [0], {"a": 0}, True])
def test_an_answers_code_is_a_success_exactly_as_the_envelope_says(code: Any) -> None:
    """The success codes looked up as (type, value) pairs, unhashable codes included: the
    verdict of `Envelope.succeeded`, and the same data or error as a non-dict mapping."""
    strategies = Registry(entry_points=False).strategies("mediaio")
    op = strategies.provider.operation("imagen_4")
    call = Call(strategies.provider, op, "submit")
    body = {"code": code, "msg": "m", "data": {"task_id": "t"}}
    envelope = strategies.provider.response.envelope
    assert envelope is not None

    def outcome(answer: Any) -> Any:
        try:
            return strategies.errors.check(call, HttpResponse(200, {}, json.dumps(answer).encode()))
        except Exception as exc:
            return type(exc), str(exc)

    checked = outcome(body)
    assert (checked == {"task_id": "t"}) is envelope.succeeded(code)
    assert strategies.errors.data_of(_Doc(body)) == strategies.errors.data_of(body)


def test_optional_one_of_accepts_and_refuses_as_one_of_does() -> None:
    class Model:
        OPERATION = "p.o"

    class Field:
        name = "f"

    def outcome(check: Any, value: Any) -> str | None:
        try:
            check(Model(), Field(), value)
        except ParamError as exc:
            return str(exc)
        return None

    plain = one_of("1", 2, True)
    fast = optional([one_of("1", 2, True)])
    for value in ("1", 2, True, 1, "2", 1.0, False, ["1"], {"x": 1}, ""):
        assert outcome(fast, value) == outcome(plain, value)
    assert outcome(fast, None) is None


def test_a_request_body_from_the_operations_plan_is_the_providers_request_body() -> None:
    """Every operation of every built-in provider, with its params (and an unknown key): the
    submit's body is what `Provider.request_body` makes."""
    registry = Registry(entry_points=False)
    for name in ("mediaio", "tomoviee", "edrawmax"):
        strategies = registry.strategies(name)
        for op in strategies.provider.operations:
            params = {p.name: f"v-{p.name}" for p in op.params}
            for given in (params, {**params, "extra": 1}):
                request = strategies.task.submit_request(op, given)
                expected = (
                    None
                    if op.method in ("GET", "HEAD")
                    else strategies.provider.request_body(op, given)
                )
                assert request.json == expected, op.qualified_id


def test_a_polls_retry_after_is_forgotten_when_the_next_answer_has_none() -> None:
    """The hint read from aiohttp's headers without a search: an answer without Retry-After
    clears what an earlier attempt's said, as the full read does."""
    hint = PollHint()
    hint.read(CIMultiDictProxy(CIMultiDict({"retry-after": "4"})))
    assert hint.seconds == 4.0
    hint.read(CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"})))
    assert hint.seconds is None
    hint.read({"RETRY-AFTER": "2"})
    assert hint.seconds == 2.0


# -- round 4 ------------------------------------------------------------------------------

SCRUBBED_SECRETS = ["emulator-mediaio-api_key", "clé+secrète/ünï=çødé", "Tab\tkey with spaces/+"]


def _scrubbed_by_pattern(scrubber: Scrubber, body: bytes) -> bytes:
    """What `Scrubber.raw` gave before its byte search: the pattern over the decoded text."""
    assert scrubber._pattern is not None
    text = body.decode("utf-8", "surrogateescape")
    if not scrubber._pattern.search(text):
        return body
    return scrubber._pattern.sub(MARKER, text).encode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("secrets", "searched_as_bytes"),
    [
        (["emulator-mediaio-api_key"], True),
        (["clé+sec"], True),
        (SCRUBBED_SECRETS, False),  # more forms than SECRET_BYTE_SEARCHES: the pattern
    ],
)
def test_an_answer_holds_a_secret_exactly_when_the_pattern_finds_one(
    secrets: list[str], searched_as_bytes: bool
) -> None:
    """Bodies are searched as bytes for the forms that hold no shorter one: a body holding any
    form (whole, cut by bytes that are not UTF-8, next to stray continuation bytes) is
    scrubbed as the pattern scrubs its text, and one holding none is returned as it is."""
    scrubber = Scrubber(secrets)
    assert (scrubber._needles is not None) is searched_as_bytes
    rng = random.Random(4)
    junk = [b"\x80", b"\xbf", b"\xc3", b"\xe2\x82", b"\xff", b"{", b'"', b"\\", b"a", "é".encode()]
    forms = [form.encode() for form in scrubber._forms]
    found = 0
    for _ in range(2000):
        pieces = [rng.choice(junk) for _ in range(rng.randrange(0, 6))]
        if rng.random() < 0.6:
            form = rng.choice(forms)
            if rng.random() < 0.3:  # a form with a byte cut out: no secret any more
                cut = rng.randrange(len(form))
                form = form[:cut] + form[cut + 1 :]
            pieces.insert(rng.randrange(len(pieces) + 1), form)
        body = b"".join(pieces)
        expected = _scrubbed_by_pattern(scrubber, body)
        got = scrubber.raw(body)
        assert got == expected, body
        if expected is body:
            assert got is body  # untouched: the same object, as before
        else:
            found += 1
    assert 500 < found < 1500


class _Listener:
    def __init__(self) -> None:
        self.events: list[TaskEvent] = []

    @hookimpl
    def mediagen_event(self, event: TaskEvent) -> None:
        self.events.append(event)


def test_a_listener_registered_after_the_client_was_made_hears_its_events() -> None:
    """Whether any plugin listens is read from pluggy's live list on every event: one
    registered after the client exists hears the next call's events, and none after it leaves."""
    registry = Registry(entry_points=False)
    listener = _Listener()

    async def go() -> None:
        async with (
            Emulator(registry=registry, duration=0) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            assert not client._engine._listeners
            await (await client.mediaio.imagen_4(prompt="before")).result()
            registry.register(listener, name="late-listener")
            assert client._engine._listeners
            await (await client.mediaio.imagen_4(prompt="during")).result()
            registry.unregister(listener)
            await (await client.mediaio.imagen_4(prompt="after")).result()

    asyncio.run(go())
    assert [e.kind for e in listener.events] == ["submitted", "state_changed", "finished"]
    assert isinstance(listener.events[-1].detail, mediagen.Result)


def test_asking_pluggy_for_listeners_says_what_its_live_list_says() -> None:
    """The fallback for a pluggy without the live list agrees with it, before and after."""
    registry = Registry(entry_points=False)
    live = _event_listeners(registry)
    asked = _AskedListeners(registry.pm.hook.mediagen_event)
    assert bool(live) is bool(asked) is False
    registry.register(_Listener(), name="listener")
    assert bool(live) is bool(asked) is True


class _GreedyAuth(CatalogAuth):
    """A plugin's auth that changes the credentials it is handed (it should not)."""

    def headers(self, credentials: Any) -> dict[str, str]:
        out = super().headers(credentials)
        credentials["api_key"] = "sk-changed-by-the-strategy"
        return out


def test_credentials_given_in_full_are_resolved_once_and_never_changed_by_a_strategy() -> None:
    """A provider whose credentials were all given resolves to one shared mapping; a
    strategy that changes what it is handed cannot change what later requests carry."""
    registry = Registry(entry_points=False)

    class Plugin:
        @hookimpl
        def mediagen_auth(self, provider: Provider) -> CatalogAuth | None:
            return _GreedyAuth(provider) if provider.name == "mediaio" else None

    registry.register(Plugin(), name="greedy-auth")

    async def go() -> None:
        async with (
            Emulator(registry=registry) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            engine = client._engine
            spec = registry.strategies("mediaio").provider
            shared = engine.credentials.resolve_shared(spec)
            assert engine.credentials.resolve_shared(spec) is shared
            assert shared == engine.credentials.resolve(spec)
            task = await client.mediaio.imagen_4(prompt="x")
            await task.status()  # accepted: the key sent is still the right one
            assert shared == emu.credentials["mediaio"]

    asyncio.run(go())


def test_a_strategy_registered_later_replaces_the_operations_plan() -> None:
    """The per-operation plan is kept only while the same strategies serve the provider."""
    registry = Registry(entry_points=False)

    class CountingTask(CatalogTaskStrategy):
        ids = 0

        def task_id(self, op: Any, data: Any) -> str:
            type(self).ids += 1
            return super().task_id(op, data)

    class Plugin:
        @hookimpl
        def mediagen_task_strategy(self, provider: Provider) -> CatalogTaskStrategy | None:
            return CountingTask(provider) if provider.name == "mediaio" else None

    async def go() -> None:
        async with (
            Emulator(registry=registry) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            await client.mediaio.imagen_4(prompt="x")
            registry.register(Plugin(), name="counting-task")
            await client.mediaio.imagen_4(prompt="x")

    asyncio.run(go())
    assert CountingTask.ids == 1


def test_the_shared_json_encoder_is_clean_after_an_error() -> None:
    """One encoder serves every body: an encoding cut short by an error leaves nothing behind
    that would make the next body (here the same dict, fixed) read as circular."""
    body = {"data": {"prompt": "x"}, "bad": object()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        _json_bytes(body)
    body["bad"] = None
    assert _json_bytes(body) == json.dumps(body).encode()


class _EncodesWhileEncoded(dict[str, Any]):
    """A body whose mapping encodes JSON of its own (and fails) while it is being encoded."""

    def items(self) -> Any:
        with pytest.raises(TypeError):
            _json_bytes([object()])
        return super().items()


def test_a_body_encoded_inside_another_does_not_disturb_it() -> None:
    body = {"data": _EncodesWhileEncoded(prompt="x", n=[1, 2])}
    assert _json_bytes(body) == json.dumps(body).encode()


def test_artifact_origins_found_downloadable_give_the_verdicts_worked_out_each_time() -> None:
    """A client remembers the (scheme, host, port) of artifact URLs it found downloadable:
    every result's kept and skipped URLs and warning are what the per-URL check gives."""
    registry = Registry(entry_points=False)
    edrawmax = registry.strategies("edrawmax").provider
    op = edrawmax.operations[0]
    catalog_target = Target(base_url=edrawmax.base_url, overridden=False)
    local = Target(base_url="http://127.0.0.1:8123/api", overridden=True)
    urls = [
        "https://files.aliyuncs.com/a.png",
        "http://files.aliyuncs.com/a.png",  # the same host, not https
        "https://FILES.aliyuncs.com:443/b.png",
        "https://files.aliyuncs.com:8443/c.png",
        "https://evil.example/a.png",
        "https://evil.example.aliyuncs.com.evil/a.png",
        "https://user@files.aliyuncs.com/a.png",  # not a plain URL: never remembered
        "http://127.0.0.1:8123/files/a.png",
        "http://127.0.0.1:8124/files/a.png",
        "http://localhost:8123/files/a.png",
        # Read without the pattern once the origin is remembered: each as the pattern reads it.
        "HTTPS://files.aliyuncs.com/a.png",
        "https://files.aliyuncs.com",
        "https://files.aliyuncs.com?sig=1/2",
        "https://files.aliyuncs.com#frag/x",
        "https://files.aliyuncs.com/a b.png",
        "https://files.aliyuncs.com/a\u2003.png",
        "https://files.aliyuncs.com/a.png?sig=a\tb",
        "https://files.aliyuncs.com/a.png\n",
        "https://files.aliyuncs.com.evil/a.png",
        "https://files.aliyuncs.com:/a.png",
        "https://files.aliyuncs.com/x://y.png",
        "http://127.0.0.1:8123",
        "http://127.0.0.1:8123/?q=a b",
    ]
    remembered: dict[Any, Any] = {}
    rng = random.Random(11)
    for _ in range(600):
        target = rng.choice([catalog_target, local])
        found = tuple(
            Artifact(url=url, kind="image") for url in rng.sample(urls, rng.randrange(1, 4))
        )
        expected = _downloadable(edrawmax, target, op, found, None, {})
        assert _downloadable(edrawmax, target, op, found, None, remembered) == expected
    assert remembered and all(
        key[1:]
        in {
            ("https", "files.aliyuncs.com"),
            ("https", "FILES.aliyuncs.com:443"),
            ("https", "files.aliyuncs.com:8443"),
            ("http", "127.0.0.1:8123"),
        }
        for key in remembered
    )


class _WrappedData(CatalogErrorClassifier):
    def data_of(self, body: Mapping[str, Any]) -> Any:
        return {"wrapped": super().data_of(body)}


@pytest.mark.parametrize("classifier", [CatalogErrorClassifier, _WrappedData])
def test_an_answers_data_is_what_the_classifiers_data_of_gives(classifier: type) -> None:
    """`check` reads the data key itself only where `data_of` is the catalog class's own."""
    provider = Registry(entry_points=False).strategies("mediaio").provider
    errors = classifier(provider)
    call = Call(provider, provider.operations[0], "poll", "t1")
    body = {"code": 0, "msg": "", "data": {"status": "completed"}}
    for _ in range(2):  # the envelope's keys are worked out on the first answer
        data = errors.check(call, HttpResponse(200, {}, json.dumps(body).encode()))
        assert data == errors.data_of(body)


# -- round 5 ------------------------------------------------------------------------------

RECORD_SAMPLES: list[tuple[type, dict[str, Any]]] = [
    (HttpRequest, {"method": "POST", "path": "/p", "json": {"a": 1}, "headers": {}, "query": {}}),
    (HttpResponse, {"status": 200, "headers": {"X": "1"}, "body": b"{}"}),
    (Call, {"provider": "p", "operation": "o", "phase": "poll", "task_id": "t"}),
    (
        TaskStatus,
        {
            "state": "succeeded",
            "progress": 100.0,
            "raw": {"status": "completed"},
            "payload": ["https://h.test/a.png"],
            "reason": None,
            "vendor_status": "completed",
            "poll_after": 3.0,
        },
    ),
    (
        Artifact,
        {
            "url": "https://h.test/a.png",
            "kind": "image",
            "source_code": None,
            "source_language": None,
        },
    ),
    (
        Result,
        {
            "provider": "mediaio",
            "operation": "imagen_4",
            "artifacts": (Artifact(url="https://h.test/a.png", kind="image"),),
            "raw": "raw",
            "task_id": "t",
            "skipped_urls": ("http://x.test/b",),
            "warnings": ("w",),
            "journal_id": 7,
        },
    ),
]


@pytest.mark.parametrize(
    ("cls", "values"), RECORD_SAMPLES, ids=lambda v: getattr(v, "__name__", "")
)
def test_a_record_from_its_maker_is_the_one_its_constructor_builds(
    cls: type, values: dict[str, Any]
) -> None:
    """The makers the call path uses (`mediagen.records`) build the public type with the same
    fields, equality, hash, repr and immutability, and attrs' own helpers work on it."""
    made = records.maker(cls)(*values.values())
    built = cls(**values)
    assert type(made) is cls
    assert made == built and repr(made) == repr(built)
    assert (
        attrs.asdict(made)
        == attrs.asdict(built)
        == values
        | (
            {"artifacts": tuple(attrs.asdict(a) for a in values["artifacts"])}
            if cls is Result
            else {}
        )
    )
    assert attrs.evolve(made, **{attrs.fields(cls)[0].name: "other"}) == attrs.evolve(
        built, **{attrs.fields(cls)[0].name: "other"}
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(made, attrs.fields(cls)[-1].name, None)
    try:
        expected = hash(built)
    except TypeError:  # a dict inside: neither hashes
        with pytest.raises(TypeError):
            hash(made)
    else:
        assert hash(made) == expected


def test_the_makers_in_use_are_those_of_their_classes() -> None:
    """Each maker the call path imports builds its own class, fields in order."""
    for cls, values in RECORD_SAMPLES:
        maker = {
            HttpRequest: new_request,
            HttpResponse: new_response,
            Call: new_call,
            TaskStatus: new_status,
            Artifact: new_artifact,
            Result: new_result,
        }[cls]
        assert maker(*values.values()) == cls(**values)


def test_a_twin_made_record_is_its_class_alone_and_stays_frozen() -> None:
    """The makers build a twin and give it its class: what they return is of the class
    itself (no twin escapes) and refuses setting and deleting a field; the makers in use take
    that path."""
    for cls, values in RECORD_SAMPLES:
        made = records.maker(cls)(*values.values())
        assert type(made) is cls and made.__class__ is cls
        name = attrs.fields(cls)[0].name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(made, name, "other")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            delattr(made, name)
        assert pickle.loads(pickle.dumps(made)) == made == copy.deepcopy(made)
        assert type(copy.copy(made)) is cls and weakref.ref(made)() is made
    # CPython with its GIL (what the suite runs on) allows the assignment: a maker falling
    # back here would be a silent loss of the fast path, so it fails the suite.
    for maker in (new_request, new_response, new_call, new_status, new_artifact, new_result):
        assert "__class__" in maker.__code__.co_names  # the twin path is the one in use


def test_a_class_whose_subclasses_run_code_gets_the_descriptor_maker() -> None:
    """A twin is a subclass: for a class with `__init_subclass__` (it would run for the twin),
    the maker sets the slots through their descriptors instead, and builds the same record."""
    made_subclasses: list[type] = []

    @attrs.frozen
    class Watched:
        x: int
        y: str

        def __init_subclass__(cls) -> None:
            made_subclasses.append(cls)

    make = records.maker(Watched)
    assert "__class__" not in make.__code__.co_names and not made_subclasses
    assert make(1, "a") == Watched(1, "a") and type(make(1, "a")) is Watched


def test_a_maker_without_the_twin_builds_the_same_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a Python refuses the twin's `__class__` assignment, the maker falls back to the
    slots' descriptors: the same records."""
    monkeypatch.setattr(records, "_twin_maker", lambda cls, names: None)
    for cls, values in RECORD_SAMPLES:
        make = records.maker(cls)
        assert "__class__" not in make.__code__.co_names
        made = make(*values.values())
        assert type(made) is cls and made == cls(**values) and repr(made) == repr(cls(**values))


def test_a_class_whose_init_does_more_gets_no_maker() -> None:
    """A maker sets the slots and nothing else, so it is refused for a class whose __init__
    validates, converts or runs a hook (it would skip that work), or has no slots."""

    @attrs.frozen
    class Validated:
        x: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Converted:
        x: int = attrs.field(converter=int)

    @attrs.frozen
    class Hooked:
        x: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen(slots=False)
    class NoSlots:
        x: int

    for cls in (Validated, Converted, Hooked, NoSlots):
        with pytest.raises(TypeError):
            records.maker(cls)


def _mediaio_answers(poll_headers: dict[str, str]) -> list[web.RouteDef]:
    """A Media.io-shaped submit and a poll answering the task done (with `poll_headers`)."""

    async def submit(request: web.Request) -> web.Response:
        return web.json_response({"code": 0, "msg": "", "data": {"task_id": "t-1"}})

    async def poll(request: web.Request) -> web.Response:
        data = {"status": "completed", "result": ["https://h.test/a.png"], "reason": ""}
        return web.json_response({"code": 0, "msg": "", "data": data}, headers=poll_headers)

    return [web.post("/generation/result/{task_id}", poll), web.post("/{tail:.*}", submit)]


def test_a_results_poll_keeps_its_answers_retry_after() -> None:
    """`result()` reads the poll's Retry-After as `status()` does: on the status it keeps."""

    async def go() -> None:
        async with (
            local_server(_mediaio_answers({"Retry-After": "7"})) as base,
            mediagen.AsyncClient(
                base_urls={"mediaio": base},
                credentials={"mediaio": {"api_key": "k"}},
                journal=False,
            ) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="x")
            await task.result()
            assert task.last_status is not None and task.last_status.poll_after == 7.0
            again = client.task("mediaio", "imagen_4", "t-1", journal=False)
            assert (await again.status()).poll_after == 7.0

    asyncio.run(go())


def test_a_poll_request_that_cannot_be_built_fails_as_a_located_call_error() -> None:
    """On `result()`'s written-out path too: a plugin's poll request that raises is a located
    CallError (nothing sent), and a mediagen error it raises goes out as it is."""
    registry = Registry(entry_points=False)

    class Broken(CatalogTaskStrategy):
        error: Exception = ValueError("no room for that id")

        def poll_request(self, op: Any, task_id: str) -> Any:
            raise type(self).error

    class Plugin:
        @hookimpl
        def mediagen_task_strategy(self, provider: Provider) -> CatalogTaskStrategy | None:
            return Broken(provider) if provider.name == "mediaio" else None

    registry.register(Plugin(), name="broken-poll")

    async def go() -> None:
        async with (
            Emulator(registry=registry) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="x")
            with pytest.raises(CallError) as caught:
                await task.result()
            assert type(caught.value) is CallError
            assert "cannot build the poll request (ValueError: no room for that id)" in str(
                caught.value
            )
            assert (caught.value.provider, caught.value.task_id) == ("mediaio", task.task_id)
            Broken.error = ConfigurationError("refused by the plugin")
            with pytest.raises(ConfigurationError, match="refused by the plugin"):
                await task.result()

    asyncio.run(go())


def test_a_submit_refuses_params_of_another_kind_once_their_plan_is_kept() -> None:
    """The submit's written-out plan lookup checks the operation's kind as `_for_params` does:
    a query's params are refused by `submit` before any request, also once the query's plan
    is kept (after the query ran)."""
    hits: list[str] = []

    async def credits(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"code": 0, "msg": "", "data": {"credits": 1}})

    async def go() -> None:
        async with (
            local_server([web.route("*", "/{tail:.*}", credits)]) as base,
            mediagen.AsyncClient(
                base_urls={"mediaio": base},
                credentials={"mediaio": {"api_key": "k"}},
                journal=False,
            ) as client,
        ):
            await client.mediaio.credits()
            assert ("mediaio", "credits") in client._engine._plans and len(hits) == 1
            with pytest.raises(ConfigurationError, match="is a query operation, not task"):
                await client._engine.submit(CreditsParams())
            assert len(hits) == 1

    asyncio.run(go())


def test_an_answer_too_short_to_nest_past_the_limit_is_not_counted_and_never_refused() -> None:
    """The bracket count is skipped for an answer of at most 2 * MAX_ANSWER_DEPTH bytes: the
    shortest JSON texts around the limit (lists and objects, compact, in UTF-8 and UTF-16)
    are refused exactly when their value nests deeper than the limit."""
    provider = Registry(entry_points=False).strategies("mediaio").provider
    call = Call(provider, provider.operation("imagen_4"), "poll", "t-1")
    classifier = CatalogErrorClassifier(provider)
    chosen = random.Random(64)
    seen = set()
    for _ in range(400):
        depth = chosen.randint(MAX_ANSWER_DEPTH - 30, MAX_ANSWER_DEPTH + 2)
        value: Any = 0 if chosen.random() < 0.5 else []
        for _ in range(depth - 1 - (value == [])):
            value = [value] if chosen.random() < 0.7 else {"": value}
        text = json.dumps({"code": 0, "data": value}, separators=(",", ":"))
        raw = text.encode(chosen.choice(["utf-8", "utf-16"]))
        deeper = nested_deeper_than(json.loads(text), MAX_ANSWER_DEPTH)
        seen.add((deeper, len(raw) <= 2 * MAX_ANSWER_DEPTH))
        if deeper:
            with pytest.raises(MalformedResponseError, match="deeper than"):
                classifier.check(call, HttpResponse(200, {}, raw))
        else:
            assert classifier.check(call, HttpResponse(200, {}, raw)) == value
    assert seen == {(True, False), (False, False), (False, True)}
    # The shortest texts at and past the limit: 128 bytes (kept) and 130 (refused).
    at_limit = b"[" * MAX_ANSWER_DEPTH + b"]" * MAX_ANSWER_DEPTH
    with pytest.raises(MalformedResponseError, match="expected a JSON object"):
        classifier.check(call, HttpResponse(200, {}, at_limit))
    with pytest.raises(MalformedResponseError, match="deeper than"):
        classifier.check(call, HttpResponse(200, {}, b"[" + at_limit + b"]"))


# -- round 6 ------------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_searched_in_its_surrogateescape_text() -> None:
    """The scan reads a body as UTF-8, or, when it is not, as the surrogateescape text the
    pattern reads: a byte that is not UTF-8 inside a form breaks the form (never dropped to
    join its halves), one beside a form leaves it found."""
    secret = "emulator-mediaio-api_key"
    scrubber = Scrubber([secret])
    form = secret.encode()
    for junk in (b"\xff", b"\x80", b"\xc3", b"\xe2\x82"):
        for cut in (1, 7, len(form) - 1):
            broken = b'{"a":"' + form[:cut] + junk + form[cut:] + b'"}'
            assert scrubber.raw(broken) is broken
        beside = b'{"a":"' + junk + form + junk + b'"}'
        assert scrubber.raw(beside) == _scrubbed_by_pattern(scrubber, beside) != beside
        assert form not in scrubber.raw(beside)


ESCAPED_KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(
    "encode",
    [
        # The key as JSON \u escapes: not in the bytes, only in the decoded string.
        lambda answer: (
            json.dumps(answer)
            .replace(ESCAPED_KEY, "".join(f"\\u{ord(c):04x}" for c in ESCAPED_KEY))
            .encode()
        ),
        # UTF-16 JSON: the key's bytes interleaved with NULs.
        lambda answer: json.dumps(answer).encode("utf-16"),
    ],
    ids=["escaped", "utf-16"],
)
def test_an_answer_whose_text_hides_a_key_from_the_byte_scan_is_scrubbed(encode: Any) -> None:
    """The escape and NUL tests on an answer's bytes (byte values, not one-byte searches)
    send a body the raw scan cannot vouch for to the decoded data's scan: an echoed key
    written as JSON escapes or in UTF-16 never reaches the task id."""

    async def submit(request: web.Request) -> web.Response:
        answer = {"code": 0, "msg": "", "data": {"task_id": f"t-{ESCAPED_KEY}"}}
        return web.Response(body=encode(answer), content_type="application/json")

    async def go() -> str:
        async with (
            local_server([web.post("/{tail:.*}", submit)]) as base,
            mediagen.AsyncClient(
                base_urls={"mediaio": base},
                credentials={"mediaio": {"api_key": ESCAPED_KEY}},
                journal=False,
            ) as client,
        ):
            task = await client.mediaio.imagen_4(prompt="a cat")
            return task.task_id

    assert asyncio.run(go()) == f"t-{MARKER}"


class _Op:
    OPERATION = "test.fused"


@attrs.define
class _Sized:
    size: Any = None


_FIELD = attrs.fields(_Sized).size


def _outcome(check: Any, value: Any) -> str | None:
    try:
        check(_Op(), _FIELD, value)
    except ParamError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class _Text(str):
    pass


FUSED_CHAINS = [
    [is_type(str), max_length(5)],
    [is_type(str), min_length(2), max_length(4)],
    [is_type(str), min_length(3)],
    [is_type(str)],
    [is_type(int), in_range(ge=1, le=10)],
    [is_type(int), in_range(ge=-3)],
    [is_type(int)],
    [is_type(bool)],
    [is_type(int), in_range(gt=1, lt=10)],  # not fused: strict bounds
    [is_type(float), in_range(ge=0, le=1)],  # not fused: a float must be finite
    [is_type(str), is_url()],  # not fused: no test passes a URL by itself
]
_EMPTY = "ParamError: test.fused: the required parameter size is empty; allowed: a non-empty string"
FUSED_VALUES = [
    None, "", "a", "ab", "abcd", "abcde", "abcdef", _Text("ab"), _Text("abcdefgh"),
    True, False, 0, 1, 5, 10, 11, -3, -4, 2**70, 0.5, 1.0, float("nan"), float("inf"),
    [], ["a"], ("a",), {"a": 1}, b"ab", "https://x.test/a.png",
]  # fmt: skip


@pytest.mark.parametrize("chain", FUSED_CHAINS, ids=range(len(FUSED_CHAINS)))
def test_fused_checks_accept_and_refuse_as_their_chain_does(chain: list[Any]) -> None:
    """`all_of` and `optional` test a value of exactly the checked type within the bounds
    once, and run the chain for anything else: every value gets the outcome (None or the
    same ParamError) running the checks in order gives."""

    def in_order(inst: Any, attribute: Any, value: Any) -> None:
        for check in chain:
            check(inst, attribute, value)

    required, maybe = all_of(chain), optional(chain)
    text = _outcome(chain[0], "x") is None  # a string chain: blank is refused first when required
    for value in FUSED_VALUES:
        expected = _outcome(in_order, value)
        blank = text and isinstance(value, str) and is_empty(value)
        assert _outcome(required, value) == (_EMPTY if blank else expected), value
        assert _outcome(maybe, value) == (None if value is None else expected), value


def test_a_subclass_with_more_fields_keeps_them_in_its_dict() -> None:
    """A subclass of a generated model adding a field gets it in its `to_dict` (wire keys,
    defaults filled in) beside the model's own."""
    from mediagen.generated.mediaio.models import Imagen4Params

    @attrs.define(kw_only=True)
    class Wider(Imagen4Params):
        extra: str = "more"

    assert Wider(prompt="a cat").to_dict() == {
        "prompt": "a cat",
        "ratio": "9:16",
        "counts": "1",
        "extra": "more",
    }


def test_a_providers_endpoints_are_asked_once_per_client_and_a_copy_gets_its_own() -> None:
    """`client.mediaio` is read from the client after its first access: the object
    `provider()` gives, bound to this client's engine; a `with_options` copy, async or
    blocking, gets endpoints of its own, bound to its engine."""
    options: dict[str, Any] = {
        "base_urls": {"mediaio": "http://127.0.0.1:9"},
        "credentials": {"mediaio": {"api_key": "k-0123456789"}},
        "journal": False,
    }

    async def go() -> None:
        async with mediagen.AsyncClient(**options) as client:
            first = client.mediaio
            assert client.mediaio is first is client.provider("mediaio")
            assert first._runtime is client._engine
            copy = client.with_options(retry=RetryPolicy(attempts=1))
            assert copy.mediaio is not first and copy.mediaio is copy.provider("mediaio")
            assert copy.mediaio._runtime is copy._engine

    asyncio.run(go())
    with mediagen.Client(**options) as blocking:
        first = blocking.mediaio
        assert blocking.mediaio is first is blocking.provider("mediaio")
        copy = blocking.with_options(retry=RetryPolicy(attempts=1))
        assert copy.mediaio is not first and copy.mediaio is copy.provider("mediaio")


def test_a_request_goes_out_byte_for_byte_as_with_plain_headers_and_bytes() -> None:
    """The request headers as a prepared multidict (SecretHeaders) and the JSON body as a
    payload made without aiohttp's constructor (`_JsonBody`) send the same header lines, in
    the same order, and the same body as a plain dict of headers and the encoded bytes."""
    body = {"data": {"prompt": "caf\u00e9 \u2603", "n": [1, 2.5, None, True]}}
    given = {"Content-Type": "application/json", "X-API-KEY": "k-123", "X-Other": "v"}
    seen: list[tuple[Any, bytes]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.raw_headers, await request.read()))
        return web.json_response({})

    async def go() -> None:
        async with local_server([web.post("/", record)]) as base:
            transport = Transport(Timeouts())
            plain = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
            try:
                await transport.request("POST", f"{base}/", json=body, headers=SecretHeaders(given))
                async with plain.post(
                    f"{base}/", data=json.dumps(body).encode(), headers=dict(given)
                ):
                    pass
            finally:
                await transport.close()
                await plain.close()

    assert transport_module._LEAN_BODY  # this aiohttp: the lean payload is in use
    asyncio.run(go())
    assert len(seen) == 2 and seen[0] == seen[1]


def test_secret_headers_never_show_a_value() -> None:
    headers = SecretHeaders({"X-API-KEY": "k-123-secret", "Content-Type": "application/json"})
    for shown in (repr(headers), str(headers), f"{headers}"):
        assert "k-123-secret" not in shown and "application/json" not in shown
        assert "'X-API-KEY'" in shown
    assert headers["x-api-key"] == "k-123-secret"  # still aiohttp's case-insensitive kind


def test_the_lean_body_is_dropped_when_aiohttps_payload_holds_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_JsonBody` is used only while it holds exactly what `BytesPayload` builds: an aiohttp
    whose constructor sets anything else (or other values) turns it off."""
    assert transport_module._lean_body_matches()
    made = aiohttp.payload.BytesPayload.__init__

    def more(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self._seekable = True

    monkeypatch.setattr(aiohttp.payload.BytesPayload, "__init__", more)
    assert not transport_module._lean_body_matches()
    monkeypatch.setattr(aiohttp.payload.BytesPayload, "__init__", made)
    monkeypatch.setattr(transport_module._JsonBody, "_encoding", "utf-8")
    assert not transport_module._lean_body_matches()


# -- round 8 -------------------------------------------------------------------------------


def test_a_request_awaited_without_aiohttps_wrapper_goes_out_and_comes_back_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`session._request` awaited directly (`_DIRECT_REQUEST`) sends the same request lines,
    headers and body, and gives the same answer, as `session.request` awaited; a 3xx is
    still refused and a refused connection still says nothing was sent."""
    seen: list[tuple[str, Any, bytes]] = []

    async def record(request: web.Request) -> web.Response:
        headers = [pair for pair in request.raw_headers if pair[0] != b"Host"]  # its port
        seen.append((request.path_qs, headers, await request.read()))
        if request.path == "/moved":
            raise web.HTTPFound("/elsewhere")
        return web.json_response({"ok": request.query.get("q")}, headers={"X-Answer": "1"})

    async def both_ways(direct: bool) -> list[Any]:
        monkeypatch.setattr(transport_module, "_DIRECT_REQUEST", direct)
        outcomes: list[Any] = []
        async with local_server([web.route("*", "/{tail:.*}", record)]) as base:
            transport = Transport(Timeouts())
            try:
                answer = await transport.request(
                    "POST",
                    f"{base}/x",
                    json={"a": 1},
                    headers=SecretHeaders({"X-API-KEY": "k-123"}),
                    params=[("q", "v w")],
                )
                outcomes.append((answer.status, answer.headers["X-Answer"], answer.body))
                for url in (f"{base}/moved", "http://127.0.0.1:9/refused"):
                    with pytest.raises(CallError) as refused:
                        await transport.request("GET", url)
                    error = refused.value
                    outcomes.append((type(error), getattr(error, "sent", None), error.status))
            finally:
                await transport.close()
        return outcomes

    assert transport_module._DIRECT_REQUEST  # this aiohttp: awaited directly
    direct = asyncio.run(both_ways(True))
    wrapped = asyncio.run(both_ways(False))
    assert direct == wrapped
    assert len(seen) == 4 and seen[:2] == seen[2:]


def test_the_direct_await_is_dropped_when_aiohttps_request_does_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_request` is awaited directly only while `ClientSession.request` is aiohttp's thin
    wrapper and the wrapper's `__await__` hands over the coroutine's own: an aiohttp whose
    `request` or wrapper does anything else is called through `request`."""
    assert transport_module._direct_request_matches()
    made = aiohttp.ClientSession.request

    def more(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", None)
        return aiohttp.client._RequestContextManager(self._request(method, url, **kwargs))

    monkeypatch.setattr(aiohttp.ClientSession, "request", more)
    assert not transport_module._direct_request_matches()
    monkeypatch.setattr(aiohttp.ClientSession, "request", made)
    wrapper = aiohttp.client._BaseRequestContextManager

    def awaits_later(self: Any) -> Any:
        return self.__aenter__().__await__()

    monkeypatch.setattr(wrapper, "__await__", awaits_later)
    assert not transport_module._direct_request_matches()


def test_a_poll_path_filled_without_fill_path_is_what_fill_path_gives() -> None:
    """A poll path with one `{task_id}` and an id `fill_path` would not quote is built by
    concatenation: the same path as fill_path's, for ids that need quoting too (those go
    through fill_path), on a template of one placeholder and on others."""
    mediaio = Registry(entry_points=False).strategies("mediaio").provider
    assert mediaio.task is not None

    def strategy_for(template: str) -> tuple[CatalogTaskStrategy, Any]:
        assert mediaio.task is not None
        poll = attrs.evolve(mediaio.task.poll, path=template)
        provider = attrs.evolve(mediaio, task=attrs.evolve(mediaio.task, poll=poll))
        return CatalogTaskStrategy(provider), provider.operations[0]

    strategy, op = strategy_for("/v1/task/{task_id}/status")
    pieces = [*"aZ9_.~-/ ?#%@\u00e9", "\ud800", "..", "{x}"]
    chosen = random.Random(8)
    for _ in range(3000):
        task_id = "".join(chosen.choice(pieces) for _ in range(chosen.randint(1, 6)))
        got = strategy.poll_request(op, task_id).path
        assert got == fill_path("/v1/task/{task_id}/status", {"task_id": task_id}), task_id
    assert strategy.poll_request(op, "abc").path == "/v1/task/abc/status"
    for template in ("/v1/fixed", "/v1/{task_id}/{task_id}", "/v1/{id}"):
        other, op = strategy_for(template)
        for task_id in ("abc", "a/b"):
            try:
                expected: Any = fill_path(template, {"task_id": task_id})
            except KeyError as exc:
                expected = repr(exc)
            for _ in range(2):  # the second time, after its template was seen
                try:
                    got = other.poll_request(op, task_id).path
                except KeyError as exc:
                    got = repr(exc)
                assert got == expected, (template, task_id)


def _to_dict_by_loop(model: Any) -> dict[str, Any]:
    """`ParamsModel.to_dict` as it was written before it was compiled per class."""
    out: dict[str, Any] = {}
    for field in attrs.fields(type(model)):
        value = getattr(model, field.name)
        if value is None:
            continue
        out[field.metadata.get(WIRE_NAME, field.name)] = (
            list(value) if isinstance(value, tuple) else value
        )
    return out


def test_a_models_compiled_to_dict_is_what_the_loop_over_its_fields_gives() -> None:
    """Every generated model's compiled `to_dict`, on values of every shape (unset, tuples,
    lists, falsy ones), is what the loop over its fields gave: wire keys, Nones left out,
    tuples as lists, in field order."""
    import importlib

    values = [None, 0, "", "x", False, (1, "a"), ["b"], {"k": (1,)}, 2.5, ()]
    chosen = random.Random(11)
    models = [
        cls
        for provider in ("mediaio", "tomoviee", "edrawmax")
        for cls in vars(importlib.import_module(f"mediagen.generated.{provider}.models")).values()
        if isinstance(cls, type) and issubclass(cls, ParamsModel) and cls is not ParamsModel
    ]
    assert len(models) > 30

    @attrs.define(kw_only=True)
    class Renamed(ParamsModel):  # wire keys other than the names, as codegen writes them
        OPERATION: ClassVar[str] = "test.renamed"
        model_id: Any = attrs.field(default=None, metadata={WIRE_NAME: "modelId"})
        items: Any = attrs.field(default=None, metadata={WIRE_NAME: "x-items"})
        plain: Any = None

    for cls in [*models, Renamed]:
        fields = attrs.fields(cls)
        for _ in range(20):
            model: Any = object.__new__(cls)  # any values: to_dict does not check them
            for field in fields:
                object.__setattr__(model, field.name, chosen.choice(values))
            got = model.to_dict()
            assert got == _to_dict_by_loop(model) and list(got) == list(_to_dict_by_loop(model))
    model = Renamed(model_id=(1, 2), items="i")
    assert model.to_dict() == {"modelId": [1, 2], "x-items": "i"}


def test_a_hand_written_model_s_post_init_and_late_rules_run() -> None:
    """A model written by hand below a rule-less one may call `super().__attrs_post_init__()`
    from its own, and RULES given to a class after it is made still run: the post-init stays
    ParamsModel's on every model (round 8 briefly opted rule-less models out, which broke
    both)."""
    ran: list[Any] = []

    @attrs.define(kw_only=True)
    class Plain(ParamsModel):
        OPERATION: ClassVar[str] = "test.plain"
        a: int = 1

    @attrs.define(kw_only=True)
    class Own(Plain):
        def __attrs_post_init__(self) -> None:
            super().__attrs_post_init__()
            ran.append(("own", self.a))

    Own(a=4)
    Plain.RULES = (lambda model: ran.append(("rule", model.a)),)
    Plain(a=5)
    assert ran == [("own", 4), ("rule", 5)]


def test_the_ascii_url_pattern_splits_as_the_case_folding_one() -> None:
    """ASCII text is split by a pattern with each case spelt out and `\\s` as its ASCII
    characters: the same (scheme, netloc, path), or the same refusal, as the re.IGNORECASE
    pattern gives; other text goes to that pattern."""

    def by_pattern(url: str) -> tuple[str, str, str] | None:
        match = urls_module._PLAIN(url)
        if match is None:
            return None
        scheme, netloc, path = match.groups()
        return scheme.lower(), netloc, path or ""

    pieces = [*"hHtTpPsS:/?#.@-_aZ9 \t\x0b\x0c\x1c\x1f\x7f\x00", "://", ":80", "\u212a", "\u00a0"]
    chosen = random.Random(12)
    read = 0
    for _ in range(30000):
        url = "".join(chosen.choice(pieces) for _ in range(chosen.randint(1, 9)))
        if chosen.random() < 0.8:
            url = chosen.choice(["http://", "https://", "HtTpS://", "HTTP://"]) + url
        expected = by_pattern(url)
        assert split_plain(url) == expected, url
        read += expected is not None
    assert read > 3000


def test_the_anywhere_scan_finds_what_it_found_through_the_url_filter() -> None:
    """Every string handed to unique_artifacts (not only those `_URL` matches) gives the same
    artifacts, in the same order: unique_artifacts drops whatever is not an http(s) URL with a
    host."""
    strategies = Registry(entry_points=False).strategies("mediaio")
    op = next(op for op in strategies.provider.operations if op.kind == "task")
    assert strategies.provider.results.anywhere
    strings = [
        "https://h.test/a.png",
        " http://h.test/b.mp4 ",
        "HTTP://H.test/c",
        "ftp://h.test/d.png",
        "https://",
        "https:// h.test/e",
        "http://[x/f",
        "https://h.test/a.png",
        "text",
        "",
        "https://h\u212a.test/g.jpg",
        "https://user@h.test/h.wav?x=1#y",
    ]
    chosen = random.Random(13)

    def payload(depth: int) -> Any:
        if depth > 3 or chosen.random() < 0.3:
            return chosen.choice([*strings, 1, 2.5, None, True])
        if chosen.random() < 0.5:
            return [payload(depth + 1) for _ in range(chosen.randint(0, 4))]
        return {f"k{i}": payload(depth + 1) for i in range(chosen.randint(0, 4))}

    kind = output_kind(op)
    found = 0
    for _ in range(500):
        doc = payload(0)
        expected = unique_artifacts(filter(_URL.match, _stripped_strings(doc)), kind)
        assert strategies.results.artifacts(op, doc) == expected
        found += len(expected)
    assert found > 100


def test_a_result_goes_through_decode_result_wherever_it_may_change_it() -> None:
    """The catalog's own decode_result on a result not sent as a JSON string is skipped (it
    gives the value as it is); a subclass's or an instance's own decode_result, and a
    provider whose results are JSON strings, still decode it."""
    registry = Registry(entry_points=False)
    mediaio = registry.strategies("mediaio").provider
    tomoviee = registry.strategies("tomoviee").provider
    data = {"status": "completed", "result": {"images": [{"url": "https://h.test/a.png"}]}}

    class Marked(CatalogTaskStrategy):
        def decode_result(self, value: Any) -> Any:
            return {"marked": value}

    op = next(op for op in mediaio.operations if op.kind == "task")
    assert CatalogTaskStrategy(mediaio).status(op, data).payload == data["result"]
    assert Marked(mediaio).status(op, data).payload == {"marked": data["result"]}
    patched = CatalogTaskStrategy(mediaio)
    patched.decode_result = lambda value: ("patched", value)  # type: ignore[method-assign]
    assert patched.status(op, data).payload == ("patched", data["result"])
    op = next(op for op in tomoviee.operations if op.kind == "task")
    assert tomoviee.task is not None
    succeeded = next(word for word, state in tomoviee.task.states.items() if state == "succeeded")
    encoded = {"status": succeeded, "result": json.dumps({"video_path": ["https://h.test/v.mp4"]})}
    status = CatalogTaskStrategy(tomoviee).status(op, encoded)
    assert status.payload == {"video_path": ["https://h.test/v.mp4"]}
