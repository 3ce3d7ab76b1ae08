"""Check that the provider's generated package is what its catalog compiles to.

A catalog edited without `mediagen generate` is not caught by the other checks: the registry
then reads the catalog files (so `describe` shows the edit) while the typed models that
validate calls are the old generated ones (so calls refuse what `describe` allows). This
check makes the comparison `mediagen generate --check` makes, in-process, when the code
generator is installed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from ...catalog import CatalogError, Provider
from ...catalog.folders import PROVIDER_FILE
from ...cli.common import UsageError
from ...cli.generate_command import CODE_GENERATOR_MODULES, tool_config
from ...contributions import load_contributed
from ...registry import Registry
from ._base import CheckBase
from ._harness import ConformanceFailure


class GeneratedChecks(CheckBase):
    def test_generated_package_is_up_to_date(self) -> None:
        """The provider's generated package matches its catalog, file for file (skipped
        without the code generator, or for a provider registered without a catalog folder)."""
        missing = _missing_code_generator()
        if missing:
            pytest.skip(
                f"the code generator is not installed ({', '.join(missing)} missing): cannot "
                "compare the generated package with the catalog; pip install 'mediagen[codegen]'"
            )
        ctx = self._context()
        name = ctx.provider.name
        found = registered_sources(ctx.registry, name)
        if isinstance(found, str):
            pytest.skip(found)
        catalog_dir, out_dir = found
        drift = _drift(catalog_dir, out_dir, _fingerprint(catalog_dir, out_dir))
        if drift:
            listed = "; ".join(drift)
            raise ConformanceFailure(
                f"{name}: generated package up to date: generated package is stale: run "
                f"{_generate_command(catalog_dir, out_dir)} ({listed})"
            )


@functools.lru_cache(maxsize=16)
def _drift(catalog_dir: Path, out_dir: Path, fingerprint: tuple[Any, ...]) -> tuple[str, ...]:
    """What `mediagen generate --check` reports, one "stale: path" line per file. Rendering
    takes seconds: once per folders and file version (the built-ins share one catalog)."""
    from ...codegen.generate import check

    drift = check(catalog_dir, out_dir)
    # An installed copy of the package holds its modules but maybe not its data files
    # (catalog-snapshot.json is not package data): only a missing module counts.
    missing = tuple(p for p in drift.missing if p.endswith(".py"))
    return tuple(
        [f"stale: {p}" for p in drift.stale]
        + [f"missing: {p}" for p in missing]
        + [f"extra: {p}" for p in drift.extra]
    )


def _fingerprint(*folders: Path) -> tuple[Any, ...]:
    """Names, sizes and modification times of every file under the folders."""
    out = []
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                stat = p.stat()
                out.append((str(p), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def _missing_code_generator() -> list[str]:
    missing = []
    for module in CODE_GENERATOR_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


def registered_sources(registry: Registry, provider: str) -> tuple[Path, Path] | str:
    """The catalog folder (holding the provider's folder) and the generated package's folder
    that the provider was registered with: the folders `mediagen generate` compiles between.
    A string says why there are none to compare."""
    calls: list[tuple[Any, str]] = []

    def record(catalog: Any, *, generated: str, **_strategies: Any) -> None:
        calls.append((catalog, generated))

    # The plugins' hooks only describe what they contribute; asked again, they load nothing.
    registry.pm.hook.mediagen_providers(register=record)
    for catalog, generated in calls:
        if isinstance(catalog, Provider):
            if catalog.name == provider:
                return f"{provider} is registered as a loaded catalog, not a catalog folder"
            continue
        path = Path(catalog)
        folder = path.parent if path.name == PROVIDER_FILE else path
        try:
            if load_contributed(folder, generated).name != provider:
                continue
        except CatalogError:
            continue
        spec = importlib.util.find_spec(generated)
        if spec is None or spec.origin is None or not spec.submodule_search_locations:
            return f"{provider}'s generated package {generated!r} is not an importable package"
        # Through its __init__.py, resolved: an editable install's links lead to the source.
        return folder.resolve().parent, Path(spec.origin).resolve().parent
    return f"{provider} is not contributed by a plugin with a catalog folder"


def _generate_command(catalog_dir: Path, out_dir: Path) -> str:
    """`mediagen generate` in the project root that names these folders, else with both."""
    for folder in (catalog_dir, *catalog_dir.parents):
        try:
            config = tool_config(folder / "pyproject.toml")
        except UsageError:
            continue
        if config is not None and (folder / config["catalog"]).resolve() == catalog_dir:
            return f"`mediagen generate` in {folder}"
    return f"`mediagen generate --catalog {catalog_dir} --out {out_dir}`"
