"""pluggy as pluggy: wrappers, ordering, misspelt hooks, bad strategies, providers by register.

Plugins here are registered in code or through stand-in entry points (with a distribution),
never from the environment.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Dist, StandInEntryPoint

from mediagen.cli.plugins_command import plugins_report
from mediagen.errors import ConfigurationError
from mediagen.events import TaskEvent
from mediagen.plugin import (
    Artifact,
    CatalogTaskStrategy,
    Operation,
    PollSchedule,
    Provider,
    Register,
    ResultParser,
    hookimpl,
)
from mediagen.registry import Registry

GOLDEN_CATALOG = Path(__file__).resolve().parent / "fixtures" / "golden_catalog"


class Tagged:
    """A result parser that wraps another one (what a wrapper plugin might return)."""

    def __init__(self, inner: ResultParser) -> None:
        self.inner = inner

    def artifacts(self, op: Operation, payload: Any) -> tuple[Artifact, ...]:
        return self.inner.artifacts(op, payload)


class NewStyleWrapper:
    @hookimpl(wrapper=True)
    def mediagen_result_parser(self, provider: Provider) -> Generator[None, Any, Any]:
        inner = yield
        return Tagged(inner) if provider.name == "mediaio" and inner is not None else inner


class OldStyleWrapper:
    @hookimpl(hookwrapper=True)
    def mediagen_result_parser(self, provider: Provider) -> Generator[None, Any, None]:
        outcome = yield
        if provider.name == "tomoviee":
            outcome.force_result(Tagged(outcome.get_result()))


class Polls(CatalogTaskStrategy):
    interval = 0.0

    def poll_schedule(self, op: Operation) -> PollSchedule:
        return PollSchedule(initial=self.interval, maximum=self.interval)


def polls(interval: float, **marks: bool) -> object:
    """A plugin answering the task hook for tomoviee with a schedule we can recognise."""

    class Plugin:
        @hookimpl(**marks)
        def mediagen_task_strategy(self, provider: Provider) -> Polls | None:
            if provider.name != "tomoviee":
                return None
            strategy = Polls(provider)
            strategy.interval = interval
            return strategy

    return Plugin()


def initial_poll(registry: Registry) -> float:
    op = registry.catalog.provider("tomoviee").operation("text_to_video")
    return registry.strategies("tomoviee").task.poll_schedule(op).initial


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[StandInEntryPoint]]:
    installed: list[StandInEntryPoint] = []
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: list(installed))
    monkeypatch.delenv("MEDIAGEN_PLUGINS", raising=False)
    yield installed


class Contributes:
    """A plugin bringing providers through register()."""

    def __init__(self, *catalogs: Path, generated: str = "golden") -> None:
        self.catalogs = catalogs
        self.generated = generated

    @hookimpl
    def mediagen_providers(self, register: Register) -> None:
        for catalog in self.catalogs:
            register(catalog, generated=self.generated, results=lambda p: Tagged(Tagged(None)))  # type: ignore[arg-type]


def test_a_new_style_wrapper_sees_and_replaces_the_answer() -> None:
    registry = Registry(entry_points=False)
    registry.register(NewStyleWrapper(), name="wrapping")
    strategies = registry.strategies("mediaio")
    assert isinstance(strategies.results, Tagged)  # not the wrapper's generator
    assert type(strategies.results.inner).__name__ == "CatalogResults"
    assert strategies.sources["results"] == "wrapping"
    assert type(registry.strategies("edrawmax").results).__name__ == "DiagramResults"


def test_an_old_style_hookwrapper_can_force_a_result() -> None:
    registry = Registry(entry_points=False)
    registry.register(OldStyleWrapper(), name="old-wrapper")
    assert isinstance(registry.strategies("tomoviee").results, Tagged)
    assert not isinstance(registry.strategies("mediaio").results, Tagged)


def test_tryfirst_and_trylast_order_answers_as_pluggy_documents() -> None:
    registry = Registry(entry_points=False)
    registry.register(polls(1.0, tryfirst=True), name="first")
    registry.register(polls(2.0), name="later")  # later plugins are asked first...
    assert initial_poll(registry) == 1.0  # ...unless an earlier one is tryfirst
    registry = Registry(entry_points=False)
    registry.register(polls(3.0), name="plain")
    registry.register(polls(4.0, trylast=True), name="last")
    assert initial_poll(registry) == 3.0
    assert registry.strategies("tomoviee").sources["task"] == "plain"
    assert registry.strategies("tomoviee").replaces["task"] == "tomoviee"


class Misspelt:
    @hookimpl
    def mediagen_result_parsr(self, provider: Provider) -> None:
        return None


def test_a_misspelt_hook_registered_in_code_is_an_error_naming_the_plugin() -> None:
    registry = Registry(entry_points=False)
    with pytest.raises(ConfigurationError, match=r"'typo'.*mediagen_result_parsr.*hooks are:"):
        registry.register(Misspelt(), name="typo")
    assert "typo" not in registry.plugin_names()  # not left half-registered


def test_an_installed_plugin_with_a_misspelt_hook_is_reported_once_and_disabled(
    entry_points: list[StandInEntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    entry_points.append(StandInEntryPoint("typo-ep", Misspelt(), Dist("mediagen-typo", "1.0")))
    entry_points.append(StandInEntryPoint("patient", polls(5.0), Dist("mediagen-patient", "2")))
    with caplog.at_level(logging.WARNING, logger="mediagen"):
        registry = Registry()
        registry.register(polls(1.0, trylast=True), name="another")  # check again: no repeat
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "'typo-ep' (distribution mediagen-typo) implements a hook that does not" in warning
    assert "mediagen_result_parsr" in warning and "the plugin is disabled" in warning
    assert "object at 0x" not in warning
    assert "typo-ep" not in registry.plugin_names()
    assert initial_poll(registry) == 5.0  # the other installed plugin still works
    assert registry.strategies("mediaio").results is not None  # and the built-ins
    assert plugins_report(registry)["problems"] == [warning]


def test_the_plugins_command_runs_and_shows_a_plugin_disabled_at_load(
    entry_points: list[StandInEntryPoint],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mediagen import registry as registry_module
    from mediagen.cli import main

    entry_points.append(StandInEntryPoint("typo-ep", Misspelt(), Dist("mediagen-typo", "1.0")))
    monkeypatch.setattr(registry_module, "_default", None)
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "mediaio (mediagen" in out and "typo-ep (" not in out
    assert "problems:\n  the mediagen plugin 'typo-ep' (distribution mediagen-typo)" in out


def test_a_hook_with_wrong_arguments_is_a_configuration_error() -> None:
    class WrongArgs:
        @hookimpl
        def mediagen_auth(self, provider: Provider, extra: int) -> None:
            return None

    with pytest.raises(ConfigurationError, match=r"'wrong-args' does not fit the hooks.*extra"):
        Registry(entry_points=False).register(WrongArgs(), name="wrong-args")


def test_a_strategy_that_misses_its_protocol_names_plugin_hook_and_what_is_missing() -> None:
    class NotAParser:
        def parse(self, payload: Any) -> None: ...

    class Bad:
        @hookimpl
        def mediagen_result_parser(self, provider: Provider) -> object:
            return NotAParser()

    registry = Registry(entry_points=False)
    registry.register(Bad(), name="bad")
    with pytest.raises(
        ConfigurationError,
        match=r"'bad' returned NotAParser from mediagen_result_parser for provider 'mediaio', "
        r"which is not a ResultParser: it lacks artifacts",
    ):
        registry.strategies("mediaio")


def test_a_bad_registered_factory_names_the_plugin_and_register() -> None:
    class Contributor:
        @hookimpl
        def mediagen_providers(self, register: Register) -> None:
            register(GOLDEN_CATALOG / "acme", generated="golden", results=lambda p: object())

    registry = Registry(entry_points=False)
    registry.register(Contributor(), name="contributor")
    with pytest.raises(
        ConfigurationError, match=r"'contributor' returned object from register\(\.\.\., results"
    ):
        registry.strategies("acme")


def test_contributed_providers_join_the_one_catalog() -> None:
    registry = Registry(entry_points=False)
    registry.register(Contributes(GOLDEN_CATALOG / "acme"), name="golden-plugin")
    assert [p.name for p in registry.catalog.providers][-1] == "acme"
    assert registry.contribution("acme").plugin == "golden-plugin"
    assert registry.model_for("acme.paint").__name__ == "PaintParams"
    assert registry.endpoints_class("acme", blocking=True).__name__ == "Acme"
    assert registry.strategies("acme").sources["auth"] == "golden-plugin"


def clash_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_provider_name_clash_names_both_distributions_and_the_first_keeps_it(
    entry_points: list[StandInEntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    entry_points.append(
        StandInEntryPoint("one", Contributes(GOLDEN_CATALOG / "acme"), Dist("acme-one", "1"))
    )
    entry_points.append(
        StandInEntryPoint("two", Contributes(GOLDEN_CATALOG / "acme"), Dist("acme-two", "2"))
    )
    with caplog.at_level(logging.WARNING, logger="mediagen"):
        registry = Registry()
        registry.register(polls(1.0), name="another")  # providers are collected again: no repeat
    (message,) = clash_errors(caplog)
    assert "provider 'acme' is contributed twice" in message
    assert "acme-one" in message and "acme-two" in message and "MEDIAGEN_PLUGINS" in message
    assert "the one by plugin 'two' (distribution acme-two) is disabled" in message
    assert registry.contribution("acme").plugin == "one"  # the plugin loaded first keeps it
    assert registry.strategies("mediaio").results is not None  # the rest still works
    assert plugins_report(registry)["problems"] == [message]


def test_a_clash_with_a_builtin_provider_leaves_the_builtin_in_place(
    entry_points: list[StandInEntryPoint], catalog_dir: Any, caplog: pytest.LogCaptureFixture
) -> None:
    folder = catalog_dir.root / "mediaio"
    catalog_dir.folder.rename(folder)
    catalog_dir.folder = folder
    catalog_dir.replace("provider.yaml", "name: acme", "name: mediaio")
    entry_points.append(
        StandInEntryPoint(
            "impostor",
            Contributes(folder, generated="mediagen.generated"),
            Dist("mediagen-impostor", "0.1"),
        )
    )
    with caplog.at_level(logging.WARNING, logger="mediagen"):
        registry = Registry()
    (message,) = clash_errors(caplog)
    assert "provider 'mediaio' is contributed twice" in message
    assert "(distribution mediagen)" in message
    assert "the one by plugin 'impostor' (distribution mediagen-impostor) is disabled" in message
    assert registry.contribution("mediaio").plugin == "mediaio"  # a built-in always wins
    assert [p.name for p in registry.catalog.providers] == ["edrawmax", "mediaio", "tomoviee"]


def test_a_broken_contributed_catalog_disables_that_plugin_only(
    entry_points: list[StandInEntryPoint],
    catalog_dir: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog_dir.replace("provider.yaml", "done: succeeded", "done: finished")
    folder = catalog_dir.folder
    entry_points.append(
        StandInEntryPoint(
            "broken",
            Contributes(GOLDEN_CATALOG / "acme", folder),  # one good, one broken provider
            Dist("mediagen-broken", "0.3"),
        )
    )
    with caplog.at_level(logging.WARNING, logger="mediagen"):
        registry = Registry()
        registry.register(polls(1.0), name="another")  # providers are collected again: no repeat
    assert [p.name for p in registry.catalog.providers] == ["edrawmax", "mediaio", "tomoviee"]
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "'broken' (distribution mediagen-broken)" in message
    assert str(folder / "provider.yaml") in message
    assert "task.states" in message and "expected one of queued" in message
    assert "its providers are disabled" in message
    assert registry.strategies("mediaio").results is not None  # built-ins unaffected


def test_a_plugin_that_raises_is_reported_once_by_name(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    class Flaky:
        @hookimpl
        def mediagen_event(self, event: TaskEvent) -> None:
            raise RuntimeError("observer bug")

        @hookimpl
        def mediagen_providers(self, register: Register) -> None:
            raise RuntimeError("contributor bug")

        @hookimpl
        def mediagen_auth(self, provider: Provider) -> None:
            raise RuntimeError("auth bug")

    class Listener:
        @hookimpl
        def mediagen_event(self, event: TaskEvent) -> None:
            seen.append(event.kind)

    registry = Registry(entry_points=False)
    with caplog.at_level(logging.WARNING, logger="mediagen"):
        registry.register(Listener(), name="listener")
        registry.register(Flaky(), name="flaky")
        for _ in range(3):
            registry.emit(TaskEvent("submitted", "mediaio", "imagen_4", "t1", "queued"))
    assert seen == ["submitted"] * 3  # the other observer still hears every event
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("'flaky' raised in mediagen_event" in w for w in warnings) == 1
    assert sum("'flaky' raised in mediagen_providers" in w for w in warnings) == 1
    assert [p.name for p in registry.catalog.providers] == ["edrawmax", "mediaio", "tomoviee"]
    auth_bug = r"'flaky' raised in mediagen_auth: .*auth bug"
    with (
        caplog.at_level(logging.WARNING, logger="mediagen"),
        pytest.raises(ConfigurationError, match=auth_bug),
    ):
        registry.strategies("mediaio")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert not any("mediagen_auth" in w for w in warnings)  # the error alone reports it


def test_the_plugins_report_names_overrides_and_what_they_replace() -> None:
    registry = Registry(entry_points=False)
    registry.register(polls(1.0), name="patient")
    report = plugins_report(registry)
    patient = next(p for p in report["plugins"] if p["name"] == "patient")
    assert patient == {
        "name": "patient",
        "distribution": None,
        "version": None,
        "builtin": False,
        "providers": [],
        "overrides": [{"provider": "tomoviee", "strategy": "task", "replaces": "tomoviee"}],
        "problems": [],
    }
    tomoviee = next(p for p in report["plugins"] if p["name"] == "tomoviee")
    assert tomoviee["providers"] == ["tomoviee"] and tomoviee["builtin"] is True


def test_a_registry_of_a_given_catalog_serves_providers_no_plugin_registered() -> None:
    from mediagen.catalog import load_catalog
    from mediagen.plugin import ProviderPlugin

    registry = Registry(load_catalog(GOLDEN_CATALOG), entry_points=False)
    assert [p.name for p in registry.catalog.providers] == ["acme"]
    assert registry.strategies("acme").sources["results"] == "<catalog>"
    registry.register(ProviderPlugin("acme", results=lambda p: Tagged(Tagged(None))))  # type: ignore[arg-type]
    strategies = registry.strategies("acme")
    assert isinstance(strategies.results, Tagged)
    assert type(strategies.auth).__name__ == "CatalogAuth"
    with pytest.raises(KeyError, match="no generated provider 'acme'"):
        registry.model_for("acme.paint")
    with pytest.raises(ConfigurationError, match="catalog alone"):
        registry.endpoints_class("acme", blocking=False)
