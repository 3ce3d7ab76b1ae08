"""Every operation end to end through the public API, against the emulator over loopback.

Submit, poll, parse and download are real HTTP; the wire is asserted from the emulator's
record of each request: auth headers, body shape and path parameters per provider.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

import mediagen
from mediagen.catalog import Operation, default_catalog
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator
from mediagen.testing.artifacts import sniff

ALL = [pytest.param(op, id=op.qualified_id) for op in default_catalog().operations()]
EXPECTED_FILES = {
    "image": {"png"},
    "mask": {"png"},
    "video": {"mp4"},
    "audio": {"mp3"},
    "diagram": {"png", "svg"},
}


def sample_kwargs(op: Operation) -> dict[str, Any]:
    """Required params, valid values."""
    out: dict[str, Any] = {}
    for p in op.params:
        if not p.required or p.location == "path":
            continue
        if p.enum is not None:
            out[p.python_name] = p.enum[0]
        elif p.type == "array":
            out[p.python_name] = ["https://example.test/in.png"]
        elif p.type == "integer":
            out[p.python_name] = int(p.minimum if p.minimum is not None else 1)
        elif p.type == "number":
            out[p.python_name] = float(p.minimum if p.minimum is not None else 0.5)
        else:
            out[p.python_name] = (
                f"https://example.test/{p.name}"
                if p.format == "uri" or "image" in p.name or "video" in p.name
                else "a prompt"
            )
    return out


def assert_wire(emu: Emulator, op: Operation, kwargs: dict[str, Any]) -> None:
    submits = [r for r in emu.requests if r.operation == op.id and r.provider == op.provider]
    assert len(submits) == 1
    sent = submits[0]
    expected_params = {op.param(k).name: v for k, v in kwargs.items()}
    headers = {k.lower(): v for k, v in sent.headers.items()}
    if op.provider == "mediaio":
        assert headers["x-api-key"] == "emulator-mediaio-api_key"
        body_params = {k: v for k, v in expected_params.items() if op.param(k).location == "body"}
        assert sent.body == ({"data": _with_defaults(op, body_params)} if op.body_params else {})
    elif op.provider == "tomoviee":
        token = base64.b64encode(b"emulator-tomoviee-app_key:emulator-tomoviee-app_secret").decode()
        assert headers["authorization"] == f"Basic {token}"
        assert headers["x-app-key"] == "emulator-tomoviee-app_key"
        assert sent.body == _with_defaults(op, expected_params)
        assert sent.path == f"/tomoviee/v1/open/capacity/application/{op.model_code}"
    else:
        assert "authorization" not in headers and "x-api-key" not in headers
        assert sent.body == _with_defaults(op, expected_params)
        assert sent.path == f"/edrawmax/skills/generate-{op.id}"


def _with_defaults(op: Operation, params: dict[str, Any]) -> dict[str, Any]:
    return {**{p.name: p.default for p in op.params if p.has_default}, **params}


@pytest.mark.parametrize("op", ALL)
def test_operation_end_to_end(op: Operation, tmp_path: Path) -> None:
    asyncio.run(_end_to_end(op, tmp_path))


async def _end_to_end(op: Operation, out: Path) -> None:
    async with (
        Emulator(duration=0.05) as emu,
        mediagen.AsyncClient(**emu.client_options()) as client,
    ):
        endpoints = getattr(client, op.provider)
        kwargs = sample_kwargs(op)
        if op.kind == "query":
            if op.id == "task_result":
                task = await client.mediaio.imagen_4(prompt="x")
                await task.wait()
                data = await endpoints.task_result(task_id=task.task_id)
                assert data["task_id"] == task.task_id and data["status"] == "completed"
                poll = emu.requests_for("mediaio", "poll")[-1]
                assert poll.path == f"/mediaio/generation/result/{task.task_id}" and poll.body == {}
            else:
                assert await endpoints.credits() == {"credits": 1000}
                assert emu.requests_for("mediaio", "query")[0].body == {}
            return
        if op.kind == "sync":
            result = await getattr(endpoints, op.id)(**kwargs)
            assert result.task_id is None
        else:
            task = await getattr(endpoints, op.id)(**kwargs)
            assert task.task_id in emu.tasks
            states = []
            result = await task.wait(timeout=30, on_progress=lambda s: states.append(s.state))
            assert states[-1] == "succeeded"
            assert result.task_id == task.task_id
            polls = emu.requests_for(op.provider, "poll")
            assert polls
            if op.provider == "tomoviee":
                assert all(
                    p.body == {"task_id": task.task_id} and p.path == "/tomoviee/v1/open/pub/task"
                    for p in polls
                )
            else:
                assert all(
                    p.path == f"/mediaio/generation/result/{task.task_id}" and p.body == {}
                    for p in polls
                )
        assert_wire(emu, op, kwargs)
        assert {a.kind for a in result.artifacts} == {
            "diagram" if op.output == "diagram" else op.output
        }
        paths = await client.download(result, out)
        files = [p for p in paths if not p.name.endswith((".mmd", ".txt"))]
        assert {sniff(p.read_bytes()) for p in files} == EXPECTED_FILES[op.output]
        assert not list(out.glob(".*")), "no partial files left behind"
        if op.provider == "edrawmax":
            assert result.artifacts[0].source_code
            source = next(p for p in paths if "-source" in p.name)
            assert source.suffix == (".mmd" if op.id == "flowchart" else ".txt")


def test_sync_client_with_the_pytest_fixture(mediagen_emulator: Emulator, tmp_path: Path) -> None:
    with mediagen.Client(**mediagen_emulator.client_options()) as client:
        task = client.tomoviee.text_to_speech(text="hello")
        result = task.wait()
        assert result.artifacts[0].kind == "audio"
        paths = client.download(result, tmp_path)
        assert sniff(paths[0].read_bytes()) == "mp3"
        diagram = client.edrawmax.mindmap(prompt="ml", lang="en")
        assert len(diagram.artifacts) == 2
        assert client.mediaio.credits() == {"credits": 1000}
        again = client.task("tomoviee", "text_to_speech", task.task_id)
        assert again.status().state == "succeeded"


def test_resume_from_a_task_id_in_a_new_client() -> None:
    async def go() -> None:
        async with Emulator(duration=0.3) as emu:
            async with mediagen.AsyncClient(**emu.client_options()) as first:
                task = await first.mediaio.kling_2_1(image="https://example.test/a.png", prompt="p")
                task_id = task.task_id
            async with mediagen.AsyncClient(**emu.client_options()) as second:
                handle = second.task("mediaio", "kling_2_1", task_id)
                result = await handle.wait()
                assert result.task_id == task_id and result.artifacts[0].kind == "video"
            submits = emu.requests_for("mediaio", "submit")
            assert len(submits) == 1

    asyncio.run(go())


def test_many_tasks_wait_concurrently_in_one_loop() -> None:
    async def go() -> None:
        async with (
            Emulator(duration=0.2) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            tasks = await asyncio.gather(
                *(client.mediaio.imagen_4(prompt=f"cat {i}") for i in range(1000))
            )
            results = await asyncio.gather(*(t.wait(timeout=120) for t in tasks))
            assert len({r.task_id for r in results}) == 1000
            assert len(emu.requests_for("mediaio", "submit")) == 1000

    asyncio.run(go())


def test_client_reprs_show_no_secrets() -> None:
    client = mediagen.AsyncClient(
        mediaio_api_key="sk-very-secret", tomoviee_app_secret="also-secret"
    )
    text = repr(client) + repr(client._engine.credentials)
    assert "sk-very-secret" not in text and "also-secret" not in text
    asyncio.run(client.close())


def test_emulator_credentials_are_placeholders() -> None:
    values = [(p, v) for p, creds in EMULATOR_CREDENTIALS.items() for v in creds.values()]
    assert len(values) == 4 and all(v.startswith(f"emulator-{p}-") for p, v in values)
