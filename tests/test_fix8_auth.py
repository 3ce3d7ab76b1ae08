"""A plugin's auth strategy that fails: refused before anything is journaled or sent, with the
credential masked everywhere and the error located at the provider and operation.

The plugin here replaces Media.io's auth with one that fails as a third-party plugin's may:
a `KeyError` of the key itself, an `AuthenticationError` quoting it, an error from `query()`,
or a failure on its second request only. Calls go to the emulator on loopback, the journal
is a real SQLite file, and the CLI runs through its `main()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST_RETRY

import mediagen
from mediagen import registry as registry_module
from mediagen.catalog.ir import Provider
from mediagen.cli import main
from mediagen.errors import AuthenticationError, AuthStrategyError, MediagenError
from mediagen.hookspecs import hookimpl
from mediagen.journal import Journal
from mediagen.protocol import CatalogAuth
from mediagen.registry import Registry
from mediagen.testing import Emulator, EmulatorThread, Fault

SECRET = "sk-live-SUPERSECRET-123"
LEAK = "SUPERSECRET"
"""Searched for instead of the whole key: a clipped or partly masked key shows it too."""

KNOWN_KEYS: dict[str, str] = {}
"""The keys the `keyerror` strategy has a signing key for: none."""


class FailingAuth:
    """Media.io's catalog auth behind a plugin's strategy that fails as `mode` says."""

    def __init__(self, provider: Provider, mode: str) -> None:
        self.inner = CatalogAuth(provider)
        self.mode = mode
        self.calls = 0

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        self.calls += 1
        key = credentials["api_key"]
        if self.mode == "keyerror":
            return {"X-Signature": KNOWN_KEYS[key]}  # KeyError('sk-live-...')
        if self.mode == "authentication":
            raise AuthenticationError(f"token {key} was refused")
        if self.mode == "second" and self.calls == 2:
            raise ValueError(f"signing key {key} has expired")
        return self.inner.headers(credentials)

    def query(self, credentials: Mapping[str, str]) -> dict[str, str]:
        if self.mode == "query":
            raise RuntimeError(f"cannot put {credentials['api_key']} in a query string")
        return self.inner.query(credentials)


class FailingAuthPlugin:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    @hookimpl
    def mediagen_auth(self, provider: Provider) -> FailingAuth | None:
        return FailingAuth(provider, self.mode) if provider.name == "mediaio" else None


def failing_registry(mode: str) -> Registry:
    registry = Registry(entry_points=False)
    registry.register(FailingAuthPlugin(mode), name="failing-auth")
    return registry


@pytest.fixture(scope="module")
def emulator_registry() -> Registry:
    """The emulator's own registry: it checks the requests as Media.io would."""
    return Registry(entry_points=False)


def leaks(error: BaseException) -> list[str]:
    """Where the error, or anything chained to it, shows the key."""
    found = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts = {
            "str": str(current),
            "repr": repr(current),
            "args": repr(current.args),
            "attributes": repr(vars(current)),
        }
        found += [f"{type(current).__name__} {k}" for k, v in texts.items() if LEAK in v]
        current = current.__cause__ or current.__context__
    if LEAK in "".join(traceback.format_exception(error)):
        found.append("the formatted traceback")
    return found


def files_holding_the_key(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and LEAK.encode() in p.read_bytes()
    )


def logs_holding_the_key(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return [formatter.format(r) for r in caplog.records if LEAK in formatter.format(r)]


def client_options(emu: Emulator, registry: Registry, journal: Path) -> dict[str, Any]:
    return {
        **emu.client_options(),
        "registry": registry,
        "journal": journal,
        "retry": FAST_RETRY,
    }


def emulator(registry: Registry) -> Emulator:
    return Emulator(duration=0.0, registry=registry, credentials={"mediaio": {"api_key": SECRET}})


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("keyerror", AuthStrategyError),
        ("authentication", AuthenticationError),
        ("query", AuthStrategyError),
    ],
)
def test_a_failing_auth_is_refused_before_the_journal_with_the_key_masked(
    mode: str,
    expected: type[MediagenError],
    emulator_registry: Registry,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    journal = tmp_path / "journal.sqlite3"

    async def go() -> tuple[BaseException, int]:
        async with emulator(emulator_registry) as emu:
            options = client_options(emu, failing_registry(mode), journal)
            async with mediagen.AsyncClient(**options) as client:
                with pytest.raises(MediagenError) as caught:
                    await client.mediaio.imagen_4(prompt="a lighthouse")
            return caught.value, len(emu.requests_for("mediaio"))

    error, sent = asyncio.run(go())
    assert type(error) is expected, repr(error)
    assert (error.provider, error.operation) == ("mediaio", "imagen_4")  # type: ignore[attr-defined]
    assert error.to_json()["provider"] == "mediaio"
    assert error.__cause__ is None and error.__context__ is None
    assert leaks(error) == []
    assert "***" in str(error)
    if isinstance(error, AuthStrategyError):
        assert "FailingAuth" in str(error) and error.strategy.endswith(".FailingAuth")
        assert error.original == {"keyerror": "KeyError", "query": "RuntimeError"}[mode]
    assert sent == 0
    # Refused before the intent: nothing journaled (so never `unknown`), no key on disk.
    reader = Journal(journal)
    try:
        assert reader.entries() == []
    finally:
        reader.close()
    assert files_holding_the_key(tmp_path) == []
    assert logs_holding_the_key(caplog) == []


def test_an_auth_failing_on_a_retry_is_journaled_rejected_with_the_key_masked(
    emulator_registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 answers the first submit (nothing created: retried); the retry's auth fails."""
    caplog.set_level(logging.DEBUG)
    journal = tmp_path / "journal.sqlite3"

    async def go() -> tuple[BaseException, int]:
        async with emulator(emulator_registry) as emu:
            emu.inject(Fault("status", provider="mediaio", phase="submit", status=429))
            options = client_options(emu, failing_registry("second"), journal)
            async with mediagen.AsyncClient(**options) as client:
                with pytest.raises(MediagenError) as caught:
                    await client.mediaio.imagen_4(prompt="a lighthouse")
            return caught.value, len(emu.requests_for("mediaio", "submit"))

    error, submits = asyncio.run(go())
    assert isinstance(error, AuthStrategyError), repr(error)
    assert (error.provider, error.operation, error.original) == (
        "mediaio",
        "imagen_4",
        "ValueError",
    )
    assert leaks(error) == []
    assert submits == 1
    reader = Journal(journal)
    try:
        [entry] = reader.entries()
    finally:
        reader.close()
    assert entry.state == "rejected"
    assert entry.error is not None and "FailingAuth" in entry.error
    assert files_holding_the_key(tmp_path) == []
    assert logs_holding_the_key(caplog) == []


def test_an_auth_failing_on_the_second_call_refuses_that_call_alone(
    emulator_registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    journal = tmp_path / "journal.sqlite3"

    async def go() -> tuple[BaseException, str]:
        async with emulator(emulator_registry) as emu:
            options = client_options(emu, failing_registry("second"), journal)
            async with mediagen.AsyncClient(**options) as client:
                first = await client.mediaio.imagen_4(prompt="a lighthouse")
                with pytest.raises(MediagenError) as caught:
                    await client.mediaio.imagen_4(prompt="a harbour")
                result = await first.wait(timeout=30)  # its polls: the third request on
            return caught.value, result.task_id or ""

    error, task_id = asyncio.run(go())
    assert isinstance(error, AuthStrategyError) and leaks(error) == []
    reader = Journal(journal)
    try:
        entries = reader.entries()
    finally:
        reader.close()
    assert [(e.task_id, e.state) for e in entries] == [(task_id, "succeeded")]
    assert files_holding_the_key(tmp_path) == []
    assert logs_holding_the_key(caplog) == []


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Any]:
    """`cli(mode, *args)`: the CLI's main() with the failing auth plugin loaded, the key in
    MEDIAIO_API_KEY and Media.io at an emulator; its exit status, stdout and stderr."""
    emu_thread = EmulatorThread(
        duration=0.0,
        registry=Registry(entry_points=False),
        credentials={"mediaio": {"api_key": SECRET}},
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDIAIO_API_KEY", SECRET)
    monkeypatch.setenv("MEDIAGEN_MEDIAIO_BASE_URL", emu_thread.emulator.base_urls["mediaio"])
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "journal.sqlite3"))
    monkeypatch.delenv("MEDIAGEN_LOG", raising=False)

    def run(mode: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(registry_module, "_default", failing_registry(mode))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    run.emulator = emu_thread.emulator  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        emu_thread.close()


@pytest.mark.parametrize(("mode", "status"), [("keyerror", 2), ("authentication", 1)])
def test_the_cli_reports_a_failing_auth_as_one_json_object_without_the_key(
    cli: Any, mode: str, status: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code, out, err = cli(mode, "run", "mediaio", "imagen_4", "prompt=x", "--json")
    assert code == status, (out, err)
    [line] = out.splitlines()
    doc = json.loads(line)
    assert (doc["provider"], doc["operation"], doc["state"]) == ("mediaio", "imagen_4", "rejected")
    error = doc["error"]
    assert (error["provider"], error["operation"]) == ("mediaio", "imagen_4")
    assert (
        error["type"]
        == {"keyerror": "AuthStrategyError", "authentication": "AuthenticationError"}[mode]
    )
    assert LEAK not in out and LEAK not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("mediagen: error: ")
    assert cli.emulator.requests_for("mediaio") == []
    code, out, err = cli(mode, "tasks", "--json")
    assert code == 0, err
    assert LEAK not in out + err
    assert json.loads(out) == []  # refused before the intent: no entry, so none `unknown`
    assert files_holding_the_key(tmp_path) == []
    assert logs_holding_the_key(caplog) == []


def test_a_batch_with_a_failing_auth_rejects_each_item_without_the_key(
    cli: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    line = json.dumps({"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "x"}})
    (tmp_path / "jobs.jsonl").write_text(f"{line}\n{line}\n")
    code, out, err = cli("keyerror", "batch", "jobs.jsonl", "--json")
    assert code != 0, (out, err)
    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["state"] for d in docs] == ["rejected", "rejected"]
    assert {d["error"]["type"] for d in docs} == {"AuthStrategyError"}
    assert LEAK not in out + err
    assert cli.emulator.requests_for("mediaio") == []
    reader = Journal(tmp_path / "journal.sqlite3")
    try:
        assert [e.state for e in reader.entries()] == ["rejected", "rejected"]
    finally:
        reader.close()
    assert files_holding_the_key(tmp_path) == []
    assert logs_holding_the_key(caplog) == []
