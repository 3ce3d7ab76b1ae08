"""`ProviderPlugin`: the five strategy hooks for one provider, from factories.

Most providers need catalog-driven strategies for all but one or two hooks; this class answers
each hook for its own provider only (returning None for others, as pluggy's firstresult
expects) so a plugin module is a few lines:

    plugin = ProviderPlugin("acme", results=AcmeResults, emulator=AcmeEmulator)

and registers `plugin` (an entry point may name the object: "my_pkg.acme:plugin").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalog.ir import Provider
from .emulation import CatalogEmulatorProfile
from .hookspecs import hookimpl
from .protocol import CatalogAuth, CatalogErrorClassifier, CatalogTaskStrategy

Factory = Callable[[Provider], Any]


class ProviderPlugin:
    def __init__(
        self,
        name: str,
        *,
        results: Factory,
        auth: Factory = CatalogAuth,
        task: Factory = CatalogTaskStrategy,
        errors: Factory = CatalogErrorClassifier,
        emulator: Factory | None = CatalogEmulatorProfile,
    ) -> None:
        self.name = name
        self._factories: dict[str, Factory | None] = {
            "auth": auth,
            "task": task,
            "results": results,
            "errors": errors,
            "emulator": emulator,
        }

    def __repr__(self) -> str:
        return f"ProviderPlugin({self.name!r})"

    def _make(self, key: str, provider: Provider) -> Any:
        factory = self._factories[key]
        return factory(provider) if factory is not None and provider.name == self.name else None

    @hookimpl
    def mediagen_auth(self, provider: Provider) -> Any:
        return self._make("auth", provider)

    @hookimpl
    def mediagen_task_strategy(self, provider: Provider) -> Any:
        return self._make("task", provider)

    @hookimpl
    def mediagen_result_parser(self, provider: Provider) -> Any:
        return self._make("results", provider)

    @hookimpl
    def mediagen_error_classifier(self, provider: Provider) -> Any:
        return self._make("errors", provider)

    @hookimpl
    def mediagen_emulator_profile(self, provider: Provider) -> Any:
        return self._make("emulator", provider)
