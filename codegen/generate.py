"""`mediagen generate`: compile a catalog directory into the `generated/` package.

Output is a pure function of the catalog (no timestamps, stable ordering), so `--check` can
compare byte for byte and name every file that is stale, missing or left over.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from mediagen.catalog import Catalog, load_catalog
from mediagen.catalog.errors import DuplicateName
from mediagen.catalog.snapshot import SNAPSHOT_FILE, render_snapshot

from .models import render_models
from .schema import model_class, provider_class
from .stubs import render_endpoints, render_index, render_provider_init


@attrs.frozen
class Drift:
    stale: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.stale or self.missing or self.extra)

    def lines(self) -> list[str]:
        return (
            [f"stale:   {p}" for p in self.stale]
            + [f"missing: {p}" for p in self.missing]
            + [f"extra:   {p}" for p in self.extra]
        )


def render(catalog: Catalog) -> dict[str, str]:
    """Every generated file, relative path -> content."""
    _check_names(catalog)
    files = {"__init__.py": render_index(catalog)}
    for provider in catalog.providers:
        files[f"{provider.name}/__init__.py"] = render_provider_init(provider)
        files[f"{provider.name}/models.py"] = render_models(provider)
        files[f"{provider.name}/endpoints.py"] = render_endpoints(provider)
    files[SNAPSHOT_FILE] = render_snapshot(catalog)  # what the next generate compares against
    return dict(sorted(files.items()))


def _check_names(catalog: Catalog) -> None:
    classes: dict[str, str] = {}
    for provider in catalog.providers:
        owner = classes.setdefault(provider_class(provider), provider.name)
        if owner != provider.name:
            raise DuplicateName(
                provider.name, f"class name {provider_class(provider)} also used by {owner}"
            )
        seen: dict[str, str] = {}
        for op in provider.operations:
            name = model_class(op)
            if name in seen:
                raise DuplicateName(
                    provider.name,
                    f"operations {seen[name]!r} and {op.id!r} both generate class {name}",
                    expected="operation ids that differ in more than underscores",
                )
            seen[name] = op.id


def existing_files(out_dir: Path) -> set[str]:
    if not out_dir.is_dir():
        return set()
    found = {
        p.relative_to(out_dir).as_posix()
        for p in out_dir.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    return found | ({SNAPSHOT_FILE} if (out_dir / SNAPSHOT_FILE).is_file() else set())


def check(catalog_dir: Path, out_dir: Path) -> Drift:
    wanted = render(load_catalog(catalog_dir))
    present = existing_files(out_dir)
    stale = [
        p for p in wanted if p in present and (out_dir / p).read_text(encoding="utf-8") != wanted[p]
    ]
    return Drift(
        stale=tuple(stale),
        missing=tuple(p for p in wanted if p not in present),
        extra=tuple(sorted(present - set(wanted))),
    )


def write(catalog_dir: Path, out_dir: Path) -> Drift:
    """Bring out_dir in line with the catalog; returns what had to change."""
    drift = check(catalog_dir, out_dir)
    wanted = render(load_catalog(catalog_dir))
    for rel in (*drift.stale, *drift.missing):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(wanted[rel], encoding="utf-8", newline="\n")
    for rel in drift.extra:
        (out_dir / rel).unlink()
    return drift
