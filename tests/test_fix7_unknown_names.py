"""`client.task()` with an operation or provider the catalog lacks is refused, the closest
known names first, before the journal is touched. An operation that left the catalog stays
accepted for a task the journal recorded under it, and a plugin's operations are known like the
built-in ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import TESTS
from helpers import mediagen_main

import mediagen
from mediagen.catalog import load_catalog
from mediagen.errors import ConfigurationError
from mediagen.journal import Journal
from mediagen.protocol import CatalogResults
from mediagen.provider_plugin import ProviderPlugin
from mediagen.registry import Registry
from mediagen.testing import EMULATOR_CREDENTIALS
from mediagen.testing.thread import EmulatorThread

IMAGEN4 = "no mediaio operation 'imagen4'; did you mean imagen_4? known: imagen_4, credits, "
MEDIAOI = "no provider 'mediaoi'; did you mean mediaio? known: mediaio, edrawmax, tomoviee"


@pytest.mark.parametrize("journaled", [True, False])
def test_a_misspelt_operation_is_refused_before_the_journal_is_touched(
    tmp_path: Path, journaled: bool
) -> None:
    journal = tmp_path / "tasks.sqlite3"
    with mediagen.Client(journal=journal) as client:
        with pytest.raises(ConfigurationError) as info:
            client._async.task("mediaio", "imagen4", "abc", journal=journaled)
        assert str(info.value).startswith(IMAGEN4)
        assert (info.value.to_json()["provider"], info.value.to_json()["operation"]) == (
            "mediaio",
            "imagen4",
        )
        assert "accepted only for a task the journal recorded under it" in str(info.value)
        with pytest.raises(ConfigurationError, match=r"^no mediaio operation 'zzz'; known: "):
            client.task("mediaio", "zzz", "abc")
        with pytest.raises(ConfigurationError) as provider:
            client.task("mediaoi", "imagen_4", "abc")
        assert str(provider.value) == MEDIAOI
    assert Journal(journal).entries() == []


def test_without_a_journal_an_unknown_operation_is_refused_too() -> None:
    with (
        mediagen.Client(journal=False) as client,
        pytest.raises(ConfigurationError, match=re.escape(IMAGEN4)),
    ):
        client.task("mediaio", "imagen4", "abc")


def test_a_retired_operation_the_journal_holds_is_still_picked_up(tmp_path: Path) -> None:
    journal = tmp_path / "tasks.sqlite3"
    earlier = Journal(journal)  # adopted under a catalog that still had hailuo_01
    entry = earlier.adopt("mediaio", "hailuo_01", "t-9")
    earlier.close()
    with mediagen.Client(journal=journal) as client:
        handle = client.task("mediaio", "hailuo_01", "t-9")
        assert (handle.operation, handle.task_id) == ("hailuo_01", "t-9")
        # Not another task of it: that one the journal does not hold.
        with pytest.raises(ConfigurationError, match="no mediaio operation 'hailuo_01'; did you"):
            client.task("mediaio", "hailuo_01", "t-10")
    assert [e.id for e in Journal(journal).entries()] == [entry]


def test_a_plugins_operations_are_known(tmp_path: Path) -> None:
    registry = Registry(catalog=load_catalog(TESTS / "fixtures" / "task_apis"), entry_points=False)
    registry.register(ProviderPlugin("acme", results=CatalogResults, emulator=None), name="acme")
    with mediagen.Client(registry=registry, journal=tmp_path / "tasks.sqlite3") as client:
        assert client.task("acme", "text_to_image", "job-1").task_id == "job-1"
        with pytest.raises(ConfigurationError, match=r"^no acme operation 'text_to_imag'; did you"):
            client.task("acme", "text_to_imag", "job-2")
    assert [e.task_id for e in Journal(tmp_path / "tasks.sqlite3").entries()] == ["job-1"]


def test_mediagen_wait_with_a_misspelt_operation_sends_nothing(tmp_path: Path) -> None:
    with EmulatorThread(duration=0.0) as emu:
        env = {
            "MEDIAGEN_JOURNAL": str(tmp_path / "tasks.sqlite3"),
            "MEDIAGEN_MEDIAIO_BASE_URL": emu.base_urls["mediaio"],
            "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
        }
        out = mediagen_main("wait", "mediaio", "imagen4", "abc", cwd=tmp_path, env=env)
        assert emu.requests_for("mediaio") == []
    assert out.returncode == 2, out.stderr
    assert IMAGEN4 in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert Journal(tmp_path / "tasks.sqlite3").entries() == []


def test_a_batch_file_s_misspelt_names_get_the_same_suggestions() -> None:
    """A batch line is checked against the catalog before anything is sent: its unknown
    provider or operation reads as `client.task()`'s, closest names first."""
    from mediagen.batch import BatchInputError, parse_jsonl

    lines = [
        '{"provider": "mediaoi", "operation": "imagen_4", "params": {"prompt": "x"}}',
        '{"provider": "mediaio", "operation": "imagen4", "params": {"prompt": "x"}}',
    ]
    with pytest.raises(BatchInputError) as info:
        parse_jsonl(lines)
    first, second = info.value.problems
    assert first == f"line 1: {MEDIAOI}"
    assert second.startswith(f"line 2: {IMAGEN4}")


@pytest.mark.parametrize("task_id", [123, 1.5, b"abc"])
def test_a_task_id_that_is_not_a_string_is_refused_naming_its_type(
    tmp_path: Path, task_id: object
) -> None:
    """An int from a vendor's JSON (or bytes) is not an id mediagen sends: a ConfigurationError
    naming the type, not an AttributeError from inside the engine."""
    with (
        mediagen.Client(journal=tmp_path / "tasks.sqlite3") as client,
        pytest.raises(ConfigurationError, match=r"^a task id is a string, not "),
    ):
        client.task("tomoviee", "text_to_video", task_id)  # type: ignore[arg-type]
