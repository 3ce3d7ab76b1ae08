"""Providers contributed by plugins: what `register(...)` records, and loading their catalogs.

A plugin's `mediagen_providers(register)` hook calls `register` once per provider. The record
keeps the provider's catalog entry (loaded here, once per folder and file version), the
generated package that holds its typed endpoints and parameter models, the strategy factories
the provider comes with, and who supplied it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .catalog import CatalogError, Provider
from .catalog.compiled import provider_from
from .catalog.folders import PROVIDER_FILE
from .catalog.frozen import Record

Factory = Callable[[Provider], Any]
"""Builds one strategy for a provider: usually the strategy class itself."""

STRATEGY_KEYS: tuple[str, ...] = ("auth", "task", "results", "errors", "emulator")


class Register(Protocol):
    """The callback `mediagen_providers` receives: one call per contributed provider."""

    def __call__(
        self,
        catalog: str | Path | Provider,
        *,
        generated: str,
        results: Factory | None = None,
        auth: Factory | None = None,
        task: Factory | None = None,
        errors: Factory | None = None,
        emulator: Factory | None = None,
    ) -> None:
        """Contribute one provider.

        :param catalog: the provider's catalog folder (holding `provider.yaml`), that file, or
            an already loaded `Provider`.
        :param generated: the import name of the package `mediagen generate` wrote for the
            catalog (its index module, e.g. "acme_mediagen.generated"); the provider's
            endpoints live in `<generated>.<provider name>`.
        :param results, auth, task, errors, emulator: strategy factories (usually the class,
            called with the `Provider`); None uses the catalog-driven ones (`CatalogResults`,
            `CatalogAuth`, `CatalogTaskStrategy`, `CatalogErrorClassifier`,
            `CatalogEmulatorProfile`).
        """
        ...


class ProviderContribution(Record):
    """One provider as a plugin registered it."""

    provider: Provider
    generated: str | None
    """Import name of the generated index package; the provider's module is `<generated>.<name>`
    (None: a provider from a catalog alone, see `Registry(catalog=...)`)."""
    factories: Mapping[str, Factory | None]
    """Strategy key (auth, task, results, errors, emulator) -> factory."""
    plugin: str
    """The plugin that registered it."""
    distribution: str | None = None
    """The distribution that installed that plugin (None for plugins registered in code)."""

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def supplier(self) -> str:
        """`plugin` (distribution), for messages."""
        return f"plugin {self.plugin!r}" + (
            f" (distribution {self.distribution})" if self.distribution else ""
        )


def load_contributed(catalog: str | Path | Provider, generated: str | None = None) -> Provider:
    """The provider a `register(catalog=..., generated=...)` call names: as `mediagen generate`
    compiled it into `generated` when that is up to date, else read from the catalog files
    (raising `CatalogError` naming the file)."""
    if isinstance(catalog, Provider):
        return catalog
    path = Path(catalog)
    file = path if path.name == PROVIDER_FILE else path / PROVIDER_FILE
    if not file.is_file():
        raise CatalogError(file, "not found", expected=f"a provider folder holding {PROVIDER_FILE}")
    folder = file.parent.resolve()
    return _load_cached(folder, _fingerprint(folder), generated)


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times: a changed catalog file is loaded again."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_file():
            stat = p.stat()
            out.append((p.name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _load_cached(
    folder: Path, fingerprint: tuple[tuple[str, int, int], ...], generated: str | None
) -> Provider:
    # Built-in catalogs are loaded by every registry (tests make many): load each version once.
    return provider_from(folder, generated)
