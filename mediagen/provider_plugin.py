"""`ProviderPlugin`: a plugin that contributes one provider, from its catalog and factories.

Most providers need catalog-driven strategies for all but one or two concerns, so a plugin
module is a few lines:

    plugin = ProviderPlugin(
        "acme",
        catalog=Path(__file__).parent / "catalog" / "acme",
        generated="acme_mediagen.generated",
        results=AcmeResults,
    )

and an entry point names the object ("acme = acme_mediagen.plugin:plugin"). Its one hook,
`mediagen_providers`, registers the provider; other plugins can still override any of its
strategies through the strategy hooks.
"""

from __future__ import annotations

from pathlib import Path

from .catalog.ir import Provider
from .contributions import Factory, Register
from .hookspecs import hookimpl


class ProviderPlugin:
    """Contributes the provider `name`: its catalog entry, generated package and strategies."""

    def __init__(
        self,
        name: str,
        *,
        catalog: str | Path | Provider,
        generated: str,
        results: Factory,
        auth: Factory | None = None,
        task: Factory | None = None,
        errors: Factory | None = None,
        emulator: Factory | None = None,
    ) -> None:
        self.name = name
        self.catalog = catalog
        self.generated = generated
        self.results = results
        self.auth, self.task, self.errors, self.emulator = auth, task, errors, emulator

    def __repr__(self) -> str:
        return f"ProviderPlugin({self.name!r})"

    @hookimpl
    def mediagen_providers(self, register: Register) -> None:
        register(
            self.catalog,
            generated=self.generated,
            results=self.results,
            auth=self.auth,
            task=self.task,
            errors=self.errors,
            emulator=self.emulator,
        )
