"""`ProviderPlugin`: one provider's plugin, from its catalog folder and strategy factories.

Most providers need catalog-driven strategies for all but one or two concerns, so a plugin
module is a few lines:

    plugin = ProviderPlugin(
        "acme",
        catalog=Path(__file__).parent / "catalog" / "acme",
        generated="acme_mediagen.generated",
        results=AcmeResults,
    )

and an entry point names the object ("acme = acme_mediagen.plugin:plugin"). With `catalog`
and `generated` it contributes the provider through `mediagen_providers`, and other plugins
can still override any of its strategies. Without them it supplies strategies for a provider
that is in the catalog already, by answering the strategy hooks for that name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .catalog.ir import Provider
from .contributions import Factory, Register
from .hookspecs import hookimpl


class ProviderPlugin:
    """Contributes the provider `name` (or, without a catalog, supplies its strategies)."""

    def __init__(
        self,
        name: str,
        *,
        results: Factory | None = None,
        catalog: str | Path | Provider | None = None,
        generated: str | None = None,
        auth: Factory | None = None,
        task: Factory | None = None,
        errors: Factory | None = None,
        emulator: Factory | None = None,
    ) -> None:
        if (catalog is None) != (generated is None):
            raise TypeError(
                f"ProviderPlugin({name!r}): give both catalog= and generated= (a provider it "
                "contributes) or neither (strategies for a provider in the catalog already)"
            )
        self.name = name
        self.catalog = catalog
        self.generated = generated
        self.results = results
        self.auth, self.task, self.errors, self.emulator = auth, task, errors, emulator

    def __repr__(self) -> str:
        return f"ProviderPlugin({self.name!r})"

    @hookimpl
    def mediagen_providers(self, register: Register) -> None:
        if self.catalog is None or self.generated is None:
            return
        register(
            self.catalog,
            generated=self.generated,
            results=self.results,
            auth=self.auth,
            task=self.task,
            errors=self.errors,
            emulator=self.emulator,
        )

    def _answer(self, factory: Factory | None, provider: Provider) -> Any:
        """Only without a catalog of its own: a contributed provider's strategies are the
        registered ones (the registry answers with them, after every plugin)."""
        if self.catalog is not None or factory is None or provider.name != self.name:
            return None
        return factory(provider)

    @hookimpl
    def mediagen_auth(self, provider: Provider) -> Any:
        return self._answer(self.auth, provider)

    @hookimpl
    def mediagen_task_strategy(self, provider: Provider) -> Any:
        return self._answer(self.task, provider)

    @hookimpl
    def mediagen_result_parser(self, provider: Provider) -> Any:
        return self._answer(self.results, provider)

    @hookimpl
    def mediagen_error_classifier(self, provider: Provider) -> Any:
        return self._answer(self.errors, provider)

    @hookimpl
    def mediagen_emulator_profile(self, provider: Provider) -> Any:
        return self._answer(self.emulator, provider)
