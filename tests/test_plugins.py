"""The plugin contract: a third-party plugin registered in a fixture overrides one strategy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import mediagen
from mediagen.catalog.ir import Operation, Provider
from mediagen.defaults import PollSchedule
from mediagen.events import TaskEvent
from mediagen.hookspecs import hookimpl
from mediagen.protocol import CatalogTaskStrategy
from mediagen.registry import Registry
from mediagen.results import Artifact
from mediagen.testing import Emulator


class TaggingResults:
    """Overrides Media.io's result parser: keeps only .png URLs and marks them as masks."""

    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]:
        urls = [i["url"] for i in payload.get("images", [])]
        return tuple(Artifact(url=u, kind="mask") for u in urls if u.endswith(".png"))


class ResultOverride:
    calls = 0

    @hookimpl
    def mediagen_result_parser(self, provider: Provider) -> TaggingResults | None:
        type(self).calls += 1
        return TaggingResults() if provider.name == "mediaio" else None


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[TaskEvent] = []

    @hookimpl
    def mediagen_event(self, event: TaskEvent) -> None:
        self.events.append(event)


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = Registry(entry_points=False)
    plugin = ResultOverride()
    reg.register(plugin, name="test-override")
    yield reg
    reg.unregister(plugin)


def test_a_plugin_overrides_one_strategy_of_a_builtin_provider(registry: Registry) -> None:
    strategies = registry.strategies("mediaio")
    assert isinstance(strategies.results, TaggingResults)
    assert strategies.sources["results"] == "test-override"
    assert strategies.sources["auth"] == "mediaio"  # the rest stays built in
    assert registry.strategies("tomoviee").sources["results"] == "tomoviee"

    async def go() -> None:
        async with (
            Emulator(registry=registry) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            result = await (await client.mediaio.imagen_4(prompt="x")).wait()
            assert [a.kind for a in result.artifacts] == ["mask"]

    asyncio.run(go())


def test_strategies_are_resolved_once_and_cached(registry: Registry) -> None:
    ResultOverride.calls = 0
    first = registry.strategies("mediaio")
    for _ in range(5):
        assert registry.strategies("mediaio") is first
    assert ResultOverride.calls == 1


def test_plugins_registered_later_win_and_can_be_removed() -> None:
    reg = Registry(entry_points=False)

    class SlowPolls(CatalogTaskStrategy):
        def poll_schedule(self, op: Operation) -> PollSchedule:
            return PollSchedule(initial=42, maximum=42)

    class Plugin:
        @hookimpl
        def mediagen_task_strategy(self, provider: Provider) -> SlowPolls | None:
            return SlowPolls(provider) if provider.name == "tomoviee" else None

    plugin = Plugin()
    reg.register(plugin, name="slow")
    op = reg.catalog.provider("tomoviee").operation("text_to_video")
    assert reg.strategies("tomoviee").task.poll_schedule(op).initial == 42
    reg.unregister(plugin)
    assert reg.strategies("tomoviee").task.poll_schedule(op).initial == 5.0


def test_event_hook_sees_submit_state_changes_and_finish() -> None:
    reg = Registry(entry_points=False)
    recorder = EventRecorder()
    reg.register(recorder, name="recorder")

    async def go() -> str:
        async with (
            Emulator(registry=reg) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            task = await client.tomoviee.text_to_sound_effect(prompt="rain", duration=5)
            await task.wait()
            return task.task_id

    task_id = asyncio.run(go())
    kinds = [e.kind for e in recorder.events]
    assert kinds[0] == "submitted" and kinds[-1] == "finished"
    assert "state_changed" in kinds
    assert {e.task_id for e in recorder.events} == {task_id}
    assert recorder.events[-1].state == "succeeded"


def test_entry_point_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    class FakeEntryPoint:
        name = "acme"

        def load(self) -> Any:
            return ResultOverride()

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [FakeEntryPoint()])
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "")
    assert "acme" not in Registry().plugin_names()
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "acme")
    assert "acme" in Registry().plugin_names()
    monkeypatch.delenv("MEDIAGEN_PLUGINS")
    assert "acme" in Registry().plugin_names()


def test_a_broken_entry_point_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    from mediagen.errors import ConfigurationError

    class BrokenEntryPoint:
        name = "broken"
        value = "broken_pkg.plugin"

        def load(self) -> Any:
            raise ImportError("No module named 'broken_pkg'")

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [BrokenEntryPoint()])
    monkeypatch.delenv("MEDIAGEN_PLUGINS", raising=False)
    with pytest.raises(ConfigurationError, match=r"'broken' .* failed to load.*MEDIAGEN_PLUGINS"):
        Registry()
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "")
    assert "broken" not in Registry().plugin_names()
