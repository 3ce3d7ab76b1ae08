"""A whole workload at DEBUG level: no secret in any log, output, error, repr, journal or file."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import traceback
from pathlib import Path

import pytest
from cli_zygote import Zygote

import mediagen
from mediagen.errors import MediagenError
from mediagen.testing import Emulator, EmulatorThread, Fault

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

MEDIAIO_KEY = "sk-mediaio-Zq7xSECRET-31337"
TOMOVIEE_SECRET = "tomoviee-app-secret-Q9SECRET"
APP_KEY = "public-app-key"
BASIC = base64.b64encode(f"{APP_KEY}:{TOMOVIEE_SECRET}".encode()).decode()
SECRETS = (MEDIAIO_KEY, TOMOVIEE_SECRET, BASIC)
CREDENTIALS = {
    "mediaio": {"api_key": MEDIAIO_KEY},
    "tomoviee": {"app_key": APP_KEY, "app_secret": TOMOVIEE_SECRET},
    "edrawmax": {},
}


def assert_clean(label: str, text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    for secret in SECRETS:
        assert secret.encode() not in data, f"a secret leaked into {label}"


async def workload(emu: Emulator, out: Path, journal: Path, texts: list[str]) -> None:
    async with mediagen.AsyncClient(**{**emu.client_options(), "journal": journal}) as client:
        texts.append(repr(client))
        task = await client.mediaio.imagen_4(prompt="a cat")
        texts += [repr(task), repr(await task.status())]
        result = await task.wait()
        texts.append(repr(result))
        await client.download(result, out)
        sound = await (await client.tomoviee.text_to_sound_effect(prompt="rain", duration=5)).wait()
        await client.download(sound, out)
        await client.download(await client.edrawmax.flowchart(prompt="x"), out)
        texts.append(repr(await client.mediaio.credits()))
        await client.batch(
            [mediagen.generated.load("mediaio").models.Imagen4Params(prompt="b")], output=out
        )
        # Failures: a vendor that echoes the key back, lost answers, failed tasks, retries.
        emu.inject(
            Fault(
                "vendor_code",
                provider="mediaio",
                code=40001,
                message=f"Invalid API key {MEDIAIO_KEY}",
            )
        )
        emu.inject(Fault("reset_after", provider="tomoviee", phase="submit"))
        emu.inject(Fault("status", provider="tomoviee", phase="poll", status=503, times=2))
        emu.set_outcome("tomoviee.text_to_music", "failed", reason="no music today")
        for call in (
            lambda: client.mediaio.imagen_4(prompt="x"),
            lambda: client.tomoviee.text_to_video(prompt="x"),
        ):
            try:
                await call()
            except MediagenError as exc:
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        try:
            await (await client.tomoviee.text_to_music(prompt="x", duration=5, qty=1)).wait()
        except MediagenError as exc:
            texts += [str(exc), "".join(traceback.format_exception(exc))]
    bad = mediagen.AsyncClient(
        **{
            **emu.client_options(),
            "credentials": {"mediaio": {"api_key": MEDIAIO_KEY + "x"}},
            "journal": journal,
        }
    )
    try:
        await bad.mediaio.imagen_4(prompt="x")
    except MediagenError as exc:
        texts += [str(exc), "".join(traceback.format_exception(exc)), repr(bad)]
    await bad.close()


def test_no_secret_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    journal = tmp_path / "journal" / "tasks.sqlite3"
    out = tmp_path / "out"
    try:

        async def go() -> None:
            async with Emulator(duration=0.1, credentials=CREDENTIALS) as emu:
                await workload(emu, out, journal, texts)
                # The emulator did receive the credentials: the search below is not vacuous.
                seen = json.dumps([dict(r.headers) for r in emu.requests])
                assert MEDIAIO_KEY in seen and BASIC in seen

        asyncio.run(go())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    captured = capsys.readouterr()
    assert log_file.stat().st_size > 0
    assert_clean("the DEBUG log", log_file.read_bytes())
    assert_clean("stdout/stderr", captured.out + captured.err)
    for i, text in enumerate(texts):
        assert_clean(f"error/repr #{i}", text)
    for path in [*journal.parent.iterdir(), *out.rglob("*")]:
        if path.is_file():
            assert_clean(str(path), path.read_bytes())


def test_no_secret_in_cli_output(tmp_path: Path, cli_zygote: Zygote) -> None:
    """Each command in a process of its own, forked from the zygote (cli_zygote: the CLI's
    start-up is not what is checked here; each command has own-process tests elsewhere)."""
    with EmulatorThread(duration=0.1, credentials=CREDENTIALS) as emu:
        env = {
            **os.environ,
            "MEDIAGEN_LOG": "debug",
            "MEDIAGEN_JOURNAL": str(tmp_path / "j.sqlite3"),
            "MEDIAIO_API_KEY": MEDIAIO_KEY,
            "TOMOVIEE_APP_KEY": APP_KEY,
            "TOMOVIEE_APP_SECRET": TOMOVIEE_SECRET,
        }
        env.update({f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()})
        batch = tmp_path / "b.jsonl"
        batch.write_text(
            json.dumps(
                {"provider": "tomoviee", "operation": "text_to_speech", "params": {"text": "hi"}}
            )
            + "\n",
            encoding="utf-8",
        )
        outputs = []
        for args in (
            ["run", "mediaio", "imagen_4", "prompt=x", "--json"],
            [
                "run",
                "tomoviee",
                "image_to_image",
                "prompt=x",
                "reference_image=https://x.test/a.png",
                "control_type=1",
                "width=512",
                "height=512",
                "batch_size=1",
                "control_intensity=0.5",
            ],
            ["batch", str(batch), "--json"],
            ["tasks", "--json"],
            ["resume"],
            ["plugins"],
        ):
            proc = cli_zygote.run(*args, cwd=tmp_path, env=env)
            assert proc.returncode == 0, proc.stderr
            outputs.append(proc.stdout + proc.stderr)
        emu.inject(
            Fault(
                "vendor_code", provider="mediaio", code=40002, message=f"key {MEDIAIO_KEY} expired"
            )
        )
        failing = cli_zygote.run("run", "mediaio", "imagen_4", "prompt=x", cwd=tmp_path, env=env)
        assert failing.returncode == 1 and "expired" in failing.stderr
        outputs.append(failing.stdout + failing.stderr)
    assert "DEBUG" in "".join(outputs)  # the logs really were at debug level
    for i, text in enumerate(outputs):
        assert_clean(f"CLI run #{i}", text)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "b.jsonl":
            assert_clean(str(path), path.read_bytes())
