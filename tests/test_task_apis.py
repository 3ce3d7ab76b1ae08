"""Providers described only by the catalog (format /2), served by the emulator from the
catalog alone and called through the client end to end: an acme-style job API (bearer, no
envelope, string states and error codes), Replicate's predictions API (body wrapped under
`input`, URL or list of URLs) and an API that puts everything in the query string."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from conftest import TESTS, CatalogDir

import mediagen
from mediagen.catalog import load_catalog
from mediagen.catalog.ir import Operation, Provider
from mediagen.codegen.schema import pascal
from mediagen.defaults import PollSchedule
from mediagen.engine import next_poll_delay
from mediagen.errors import (
    AuthenticationError,
    ConfigurationError,
    GenerationFailedError,
    InsufficientCreditsError,
    NotFoundError,
)
from mediagen.hookspecs import hookimpl
from mediagen.journal import Journal
from mediagen.params import ParamsModel
from mediagen.protocol import CatalogResults, CatalogTaskStrategy
from mediagen.provider_plugin import ProviderPlugin
from mediagen.registry import Registry
from mediagen.testing import Emulator, Fault
from mediagen.testing.artifacts import sniff

FIXTURES = TESTS / "fixtures" / "task_apis"
NAMES = ("acme", "keyq", "replicate")


@pytest.fixture(scope="module")
def models() -> dict[str, SimpleNamespace]:
    """Parameter models for the fixture operations, built from the IR (the generated ones are
    what codegen makes of any catalog, tested in test_codegen; these keep this file fast)."""
    catalog = load_catalog(FIXTURES)
    return {
        name: SimpleNamespace(
            **{
                f"{pascal(op.id)}Params": params_model(op)
                for op in catalog.provider(name).operations
            }
        )
        for name in NAMES
    }


def params_model(op: Operation) -> type[ParamsModel]:
    fields = {
        p.name: attrs.field(default=p.default if p.has_default else None, kw_only=True)
        for p in op.params
    }
    model = attrs.make_class(f"{pascal(op.id)}Params", fields, bases=(ParamsModel,))
    model.OPERATION = op.qualified_id
    return model


def fixture_registry() -> Registry:
    """The fixture catalog with one catalog-only plugin per provider: no emulator profile, so
    the emulator derives everything from the catalog."""
    registry = Registry(catalog=load_catalog(FIXTURES), entry_points=False)
    for name in NAMES:
        registry.register(ProviderPlugin(name, results=CatalogResults, emulator=None), name=name)
    return registry


def serve(body: Any, **emulator: Any) -> None:
    async def go() -> None:
        emu = await Emulator(registry=fixture_registry(), **emulator).start()
        try:
            async with mediagen.AsyncClient(**emu.client_options()) as client:
                await body(emu, client)
        finally:
            await emu.stop()

    asyncio.run(go())


def test_the_fixture_catalog_speaks_the_new_vocabulary() -> None:
    catalog = load_catalog(FIXTURES)
    acme, keyq, replicate = (catalog.provider(n) for n in NAMES)
    assert acme.auth.kind == "bearer" and acme.auth.credential == "token"
    assert acme.response.envelope is None
    assert acme.response.error_code is not None and acme.response.error_code.text == "error.code"
    assert acme.task is not None and acme.task.poll.method == "GET"
    assert [c.code for c in acme.vendor_codes][:2] == ["unauthorized", "insufficient_credits"]
    assert replicate.request.wrap == "input" and replicate.task is not None
    assert replicate.task.state_of("canceled") == "cancelled"
    assert keyq.auth.location == "query" and keyq.auth.key_name == "key"
    assert keyq.response.envelope is not None and keyq.response.envelope.success == ("OK",)
    assert keyq.task is not None and keyq.task.vendor_status("failed") == -1
    speak = keyq.operation("speak")
    assert {p.location for p in speak.params} == {"query"}
    assert speak.result_count_param == "qty"
    assert acme.operation("text_to_image").result_count_param == "n"


def test_acme_job_api_end_to_end(models: dict[str, SimpleNamespace], tmp_path: Path) -> None:
    params = models["acme"].TextToImageParams(prompt="three cats", n=3)

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        task = await client.submit(params)
        result = await task.wait(timeout=30)
        assert [a.kind for a in result.artifacts] == ["image"] * 3
        assert len({a.url for a in result.artifacts}) == 3
        files = await client.download(result, tmp_path)
        assert [sniff(p.read_bytes()) for p in files] == ["png"] * 3

        (submit,) = emu.requests_for("acme", "submit")
        assert (submit.method, submit.path) == ("POST", "/acme/v1/jobs")
        assert submit.body == {"prompt": "three cats", "n": 3}  # flat
        assert submit.headers["Authorization"] == "Bearer emulator-acme-token"
        polls = emu.requests_for("acme", "poll")
        assert polls and {(p.method, p.path) for p in polls} == {
            ("GET", f"/acme/v1/jobs/{task.task_id}")
        }
        assert result.raw["status"] == "done" and result.raw["id"] == task.task_id

        listed = await client.query(models["acme"].JobsParams(status="done"))
        assert listed == {}
        (query,) = emu.requests_for("acme", "query")
        assert (query.method, query.body, query.query) == ("GET", None, {"status": ["done"]})

    serve(body)


def test_acme_errors_are_http_statuses_with_string_codes(
    models: dict[str, SimpleNamespace],
) -> None:
    params = models["acme"].TextToImageParams(prompt="x")

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        bad = mediagen.AsyncClient(
            **{**emu.client_options(), "credentials": {"acme": {"token": "wrong"}}}
        )
        async with bad:
            with pytest.raises(AuthenticationError) as info:
                await bad.submit(params)
        assert (info.value.status, info.value.code) == (401, "unauthorized")
        assert "Invalid token" in str(info.value)

        emu.set_outcome("acme.text_to_image", "failed", reason="the prompt was refused")
        task = await client.submit(params)
        with pytest.raises(GenerationFailedError) as failed:
            await task.wait(timeout=30)
        assert failed.value.vendor_message == "the prompt was refused"
        assert failed.value.state == "failed"

        with pytest.raises(NotFoundError) as missing:
            await client.task("acme", "text_to_image", "no-such-job").result()
        assert (missing.value.status, missing.value.code) == (404, "not_found")

        emu.inject(
            Fault("vendor_code", provider="acme", phase="submit", code="insufficient_credits")
        )
        with pytest.raises(InsufficientCreditsError) as broke:
            await client.submit(params)
        assert (broke.value.status, broke.value.code) == (402, "insufficient_credits")

    serve(body)


def test_replicate_predictions_end_to_end(models: dict[str, SimpleNamespace]) -> None:
    flux = models["replicate"].FluxSchnellParams

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        several = await (await client.submit(flux(prompt="a fox", num_outputs=2))).wait(timeout=30)
        single = await (await client.submit(flux(prompt="a fox"))).wait(timeout=30)
        assert len(several.artifacts) == 2 and isinstance(several.raw["output"], list)
        assert len(single.artifacts) == 1 and isinstance(single.raw["output"], str)

        first = emu.requests_for("replicate", "submit")[0]
        assert first.path == "/replicate/v1/models/black-forest-labs/flux-schnell/predictions"
        assert first.body == {"input": {"prompt": "a fox", "num_outputs": 2, "aspect_ratio": "1:1"}}
        assert first.headers["Authorization"] == "Bearer emulator-replicate-api_token"
        poll = emu.requests_for("replicate", "poll")[0]
        assert poll.method == "GET" and poll.path.startswith("/replicate/v1/predictions/")

        emu.set_outcome("replicate.flux_schnell", "cancelled")
        with pytest.raises(GenerationFailedError) as cancelled:
            await (await client.submit(flux(prompt="x"))).wait(timeout=30)
        assert cancelled.value.state == "cancelled"

        bad = mediagen.AsyncClient(
            **{**emu.client_options(), "credentials": {"replicate": {"api_token": "nope"}}}
        )
        async with bad:
            with pytest.raises(AuthenticationError) as info:
                await bad.submit(flux(prompt="x"))
        assert info.value.status == 401 and "authentication failed" in str(info.value)

    serve(body)


def test_everything_in_the_query_string(
    models: dict[str, SimpleNamespace], caplog: pytest.LogCaptureFixture
) -> None:
    speak = models["keyq"].SpeakParams
    caplog.set_level(logging.DEBUG)

    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        params = speak(text="hi there", speed=1.5, loud=True, tags=["a", "b"], qty=2)
        task = await client.submit(params)
        result = await task.wait(timeout=30)
        assert [a.kind for a in result.artifacts] == ["audio", "audio"]

        (submit,) = emu.requests_for("keyq", "submit")
        assert (submit.method, submit.path, submit.body) == ("GET", "/keyq/speak", None)
        assert submit.query == {
            "text": ["hi there"],
            "speed": ["1.5"],
            "loud": ["true"],
            "tags": ["a", "b"],
            "qty": ["2"],
            "key": ["emulator-keyq-api_key"],
        }
        poll = emu.requests_for("keyq", "poll")[0]
        assert (poll.path, poll.query["id"]) == ("/keyq/status", [task.task_id])

        bad = mediagen.AsyncClient(
            **{**emu.client_options(), "credentials": {"keyq": {"api_key": "wrong-key"}}}
        )
        async with bad:
            with pytest.raises(AuthenticationError) as info:
                await bad.submit(speak(text="x"))
        assert (info.value.status, info.value.code) == (200, "E_AUTH")
        with pytest.raises(NotFoundError):
            await client.task("keyq", "speak", "gone").result()

    serve(body)
    # A key in the query string never reaches the logs (URLs are logged without it).
    assert "emulator-keyq-api_key" not in caplog.text and "wrong-key" not in caplog.text


def test_the_emulator_checks_query_parameters_against_the_catalog() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        import aiohttp

        key = emu.credentials["keyq"]["api_key"]
        async with aiohttp.ClientSession() as session:
            url = f"{emu.url}/keyq/speak"
            async with session.get(url, params={"key": key, "text": "x", "qty": "many"}) as resp:
                answer = await resp.json()
            async with session.get(url, params={"key": key, "txt": "x"}) as resp:
                unknown = await resp.json()
        assert answer["result"]["code"] == "E_PARAM" and "qty='many'" in answer["result"]["message"]
        assert unknown["result"]["code"] == "E_PARAM" and "txt" in unknown["result"]["message"]

    serve(body)


def test_client_options_route_every_provider_to_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With real keys and base URLs in the environment, a client built from the emulator's
    options still sends every provider's requests, with fake credentials, to the emulator."""
    for var in ("ACME_TOKEN", "REPLICATE_API_TOKEN", "KEYQ_KEY", "MEDIAIO_API_KEY"):
        monkeypatch.setenv(var, "real-secret")
    monkeypatch.setenv("MEDIAGEN_ACME_BASE_URL", "https://api.acme.test")

    async def go(registry: Registry) -> None:
        async with Emulator(registry=registry) as emu:
            client = mediagen.AsyncClient(**emu.client_options())
            async with client:
                engine = client._engine
                for provider in registry.catalog.providers:
                    assert engine.target(provider).base_url == f"{emu.url}/{provider.name}"
                    creds = engine.credentials.resolve(provider)
                    assert set(creds) == {c.name for c in provider.auth.credentials}
                    assert all(v.startswith("emulator-") for v in creds.values())

    asyncio.run(go(fixture_registry()))
    asyncio.run(go(Registry(entry_points=False)))


class PatientPolling(CatalogTaskStrategy):
    def poll_schedule(self, op: Operation) -> PollSchedule:
        return PollSchedule(initial=30, maximum=30, jitter=0)


class PatientPlugin:
    @hookimpl
    def mediagen_task_strategy(self, provider: Provider) -> PatientPolling | None:
        return PatientPolling(provider) if provider.name == "acme" else None


def test_the_emulator_keeps_a_plugins_poll_schedule(models: dict[str, SimpleNamespace]) -> None:
    """client_options() no longer replaces the plugin's schedule; the emulator's Retry-After
    hints make even a 30-second schedule finish an emulated task at once."""
    registry = fixture_registry()
    registry.register(PatientPlugin(), name="patient")

    async def go() -> None:
        async with Emulator(registry=registry) as emu:
            options = emu.client_options()
            assert "polling" not in options
            async with mediagen.AsyncClient(**options) as client:
                assert client._engine.schedule("acme", "text_to_image").initial == 30
                task = await client.submit(models["acme"].TextToImageParams(prompt="x"))
                result = await task.wait(timeout=20)
                assert len(result.artifacts) == 1

    asyncio.run(go())


def test_next_poll_delay_follows_a_hint_within_the_schedule() -> None:
    schedule = PollSchedule(initial=2.0, maximum=8.0, factor=2.0, jitter=0.0)
    assert next_poll_delay(schedule, 0, None) == 2.0
    assert next_poll_delay(schedule, 5, None) == 8.0
    assert next_poll_delay(schedule, 0, 0.05) == 0.05
    assert next_poll_delay(schedule, 0, 60.0) == 8.0  # never beyond the schedule's maximum
    assert next_poll_delay(schedule, 0, 0.0) > 0.0  # never a busy loop


@pytest.mark.parametrize(
    ("call", "count"),
    [
        (lambda c: c.tomoviee.text_to_sound_effect(prompt="rain", duration=5, qty=3), 3),
        (lambda c: c.tomoviee.text_to_music(prompt="x", duration=10, qty=2), 2),
        (lambda c: c.mediaio.imagen_4(prompt="x", counts="4"), 4),
    ],
)
def test_count_parameters_give_that_many_files(call: Any, count: int) -> None:
    async def go() -> None:
        async with Emulator() as emu, mediagen.AsyncClient(**emu.client_options()) as client:
            result = await (await call(client)).wait(timeout=30)
            assert len({a.url for a in result.artifacts}) == count

    asyncio.run(go())


def test_served_from_the_catalog_alone_without_a_plugin() -> None:
    """A provider no plugin knows is still served: routes, auth and answers from its catalog."""
    registry = Registry(catalog=load_catalog(FIXTURES), entry_points=False)

    async def go() -> None:
        async with Emulator(registry=registry) as emu:
            import aiohttp

            token = emu.credentials["acme"]["token"]
            async with aiohttp.ClientSession() as session:
                url = f"{emu.url}/acme/v1/jobs"
                async with session.post(url, json={"prompt": "x"}) as resp:
                    assert resp.status == 401
                    assert (await resp.json())["error"]["code"] == "unauthorized"
                headers = {"Authorization": f"Bearer {token}"}
                async with session.post(url, json={"prompt": "x"}, headers=headers) as resp:
                    assert resp.status == 200 and "Retry-After" in resp.headers
                    job = await resp.json()
                # Checked against the catalog: names, types, bounds (no generated model here).
                for bad, words in [
                    ({"n": 2}, "missing the required parameter prompt"),
                    ({"prompt": 5}, "prompt=5 is not accepted; allowed: a string"),
                    ({"prompt": "x", "n": 99}, "n=99 is not accepted; allowed: <= 8"),
                    ({"prompt": "x", "n": True}, "allowed: an integer"),
                ]:
                    async with session.post(url, json=bad, headers=headers) as resp:
                        assert resp.status == 422
                        error = (await resp.json())["error"]
                        assert error["code"] == "invalid_params" and words in error["message"]
                async with session.get(f"{url}/{job['id']}", headers=headers) as resp:
                    assert (await resp.json())["status"] in ("queued", "running", "done")

    asyncio.run(go())


class SignedAuth:
    """A scheme the catalog cannot describe: what `auth: {kind: custom}` leaves to a plugin."""

    def headers(self, credentials: dict[str, str]) -> dict[str, str]:
        return {"X-Signature": "signed:" + credentials["api_key"][::-1]}


def test_custom_auth_comes_from_a_plugins_hook(catalog_dir: CatalogDir, tmp_path: Path) -> None:
    text = (catalog_dir.folder / "provider.yaml").read_text()
    start, end = text.index("auth:\n"), text.index("response:\n")
    custom = "auth:\n  kind: custom\n  credentials:\n    - {name: api_key, env: [ACME_KEY]}\n"
    catalog_dir.write("provider.yaml", text[:start] + custom + text[end:])
    catalog = load_catalog(catalog_dir.root)
    draw = params_model(catalog.provider("acme").operation("draw"))(prompt="x")

    def registry(**factories: Any) -> Registry:
        reg = Registry(catalog=catalog, entry_points=False)
        reg.register(ProviderPlugin("acme", results=CatalogResults, **factories), name="acme")
        return reg

    async def go() -> None:
        async with Emulator(registry=registry()) as emu:
            journal = tmp_path / "j.sqlite3"
            options = {**emu.client_options(), "journal": journal}
            async with mediagen.AsyncClient(**options) as client:
                with pytest.raises(ConfigurationError, match="'custom' needs a plugin"):
                    await client.submit(draw)
            # Refused before anything: no request, and no intent left behind as "unknown".
            assert emu.requests == [] and Journal(journal).entries() == []
        async with Emulator(registry=registry(auth=lambda p: SignedAuth())) as emu:
            async with mediagen.AsyncClient(**emu.client_options()) as client:
                result = await (await client.submit(draw)).wait(timeout=30)
            assert len(result.artifacts) == 1
            (submit,) = emu.requests_for("acme", "submit")
            assert submit.headers["X-Signature"] == "signed:yek_ipa-emca-rotalume"

    asyncio.run(go())
